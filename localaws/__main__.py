"""Command line for the local endpoint.

    python -m localaws serve [--port N]     foreground (used by the launcher)
    python -m localaws start                background; state in .localaws/
    python -m localaws env                  shell exports for the running endpoint
    python -m localaws reset | stop | status
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from pathlib import Path

from localaws.launcher import ROOT, EndpointError, LocalAWS

STATE_DIR = Path(os.environ.get("LOCALAWS_STATE_DIR", ROOT / ".localaws"))
STATE = STATE_DIR / "endpoint.json"


def _running() -> LocalAWS | None:
    if not STATE.exists():
        return None
    state = json.loads(STATE.read_text())
    aws = LocalAWS()
    aws.url = state["url"]
    return aws if aws.healthy() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localaws")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--ready-file", type=Path)
    start = sub.add_parser("start")
    start.add_argument("--port", type=int, default=int(os.environ.get("LOCALAWS_PORT", "0")))
    for name in ("stop", "reset", "status", "env", "url"):
        sub.add_parser(name)
    args = parser.parse_args(argv)

    if args.command == "serve":
        from localaws.server import serve as run

        run(args.host, args.port, args.ready_file)
        return 0

    running = _running()
    if args.command == "start":
        if running:
            print(f"localaws: already serving {running.url}")
            return 0
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        aws = LocalAWS(port=args.port, log_path=STATE_DIR / "server.log").start()
        STATE.write_text(json.dumps({"url": aws.url, "pid": aws.process.pid}))
        print(f"localaws: serving {aws.url} (log {STATE_DIR / 'server.log'})")
        return 0
    if args.command == "stop":
        if STATE.exists():
            pid = json.loads(STATE.read_text())["pid"]
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            STATE.unlink()
            print("localaws: stopped")
        return 0
    if not running:
        print("localaws: not running; start it with `python -m localaws start`", file=sys.stderr)
        return 1
    if args.command == "reset":
        running.reset()
    elif args.command == "url":
        print(running.url)
    elif args.command == "env":
        for key, value in running.environment().items():
            print(f"export {key}={shlex.quote(value)}")
    else:
        print(f"localaws: serving {running.url}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EndpointError as exc:
        print(f"localaws: {exc}", file=sys.stderr)
        sys.exit(1)
