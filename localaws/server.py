"""Serve the local endpoint in the foreground (``python -m localaws serve``)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path


def serve(host: str, port: int, ready_file: Path | None) -> None:
    # AWS managed policies (AmazonECSTaskExecutionRolePolicy, AWSCodeDeployRoleForECSLimited, ...)
    # exist in every real account; moto loads them only when asked.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from localaws import dataplane
    from localaws.app import build_app

    server = make_server(host, port, build_app(), threaded=True, request_handler=MotoRequestHandler)
    url = f"http://{host}:{server.server_port}"
    os.environ["MOTO_PORT"] = str(server.server_port)
    # The data plane (LOCALAWS_DATAPLANE=1) runs inside this process, reading moto's backends;
    # started before the ready file so that a client never sees the endpoint without it.
    if dataplane.enabled():
        dataplane.start_all()

    def stop(_signum, _frame):
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if ready_file:
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": url, "pid": os.getpid()}))
        tmp.replace(ready_file)
    print(f"localaws: serving {url}", flush=True)
    try:
        server.serve_forever()
    finally:
        dataplane.stop_all()
        if ready_file and ready_file.exists():
            ready_file.unlink()
