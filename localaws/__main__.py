"""Command line for the local endpoint.

    python -m localaws serve [--port N]     foreground (used by the launcher)
    python -m localaws start                background; state in .localaws/
    python -m localaws env                  shell exports: eval "$(python -m localaws env)"
    python -m localaws reset | stop | status    status: also the load balancers' local URLs

One state directory for every command (``.localaws/`` in the checkout, or
``LOCALAWS_STATE_DIR``), so ``make demo`` and a plain ``python -m localaws env``
talk about the same endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
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


def _listeners(aws: LocalAWS) -> list[dict] | None:
    """The data plane's local listeners (``GET /_localaws/dataplane/listeners``); None when the
    endpoint runs the control plane only (the route exists only with ``LOCALAWS_DATAPLANE=1``)."""
    try:
        return json.loads(aws._request("/_localaws/dataplane/listeners"))
    except (OSError, ValueError, EndpointError):
        return None


def _print_listeners(aws: LocalAWS) -> None:
    listeners = _listeners(aws)
    if listeners is None:
        print("localaws: data plane off (control plane only; LOCALAWS_DATAPLANE=1 runs tasks and load balancers)")
        return
    if not listeners:
        print("localaws: data plane on; no load balancer listener yet")
    for li in sorted(listeners, key=lambda li: (li["loadBalancerName"], li["port"])):
        print(f"localaws: load balancer {li['loadBalancerName']} listener {li['protocol']}:{li['port']} -> {li['localUrl']}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _stop(pid: int, timeout: float = 15.0) -> str:
    """SIGTERM, wait until the process is gone (SIGKILL after ``timeout``); say how it ended."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "was not running"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return "stopped"
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return "stopped"
    while _pid_alive(pid):
        time.sleep(0.05)
    return f"killed (did not stop within {timeout:.0f}s of SIGTERM)"


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
            _print_listeners(running)
            return 0
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        aws = LocalAWS(port=args.port, log_path=STATE_DIR / "server.log").start()
        STATE.write_text(json.dumps({"url": aws.url, "pid": aws.process.pid}))
        print(f"localaws: serving {aws.url} (log {STATE_DIR / 'server.log'})")
        _print_listeners(aws)
        return 0
    if args.command == "stop":
        if STATE.exists():
            outcome = _stop(json.loads(STATE.read_text())["pid"])
            STATE.unlink()
            print(f"localaws: {outcome}")
        else:
            print("localaws: not running")
        return 0
    if not running:
        print(f"localaws: not running (state dir {STATE_DIR}); start it with `python -m localaws start`",
              file=sys.stderr)
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
        _print_listeners(running)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EndpointError as exc:
        print(f"localaws: {exc}", file=sys.stderr)
        sys.exit(1)
