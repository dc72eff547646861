"""The endpoint's liveness check stays cheap however many stacks the endpoint holds.

moto's ``/moto-api/data.json`` serialises every backend (seconds once a few stacks are on the
endpoint), so ``python -m localaws env|status`` and the launcher must ask ``/_localaws/health``,
which answers before moto's dispatcher. Both are checked by what was asked, not by how long it took.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from localaws.app import HEALTH_PATH, CallRecorder

ROOT = Path(__file__).resolve().parents[2]


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every GET with 200 ``{}`` and remembers the path: a stand-in for the endpoint."""

    def do_GET(self):  # http.server calls do_<METHOD>
        self.server.paths.append(self.path)
        body = b'{"status":"ok"}' if self.path == HEALTH_PATH else b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture
def recorder():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_health_route_never_reaches_moto():
    """The route answers in the middleware: moto's dispatcher (whose data.json reads every backend) is not called."""
    reached = []

    def moto(environ, start_response):
        reached.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b"{}"]

    app = CallRecorder(moto, on_reset=lambda: None)
    answered = []
    body = b"".join(app({"PATH_INFO": HEALTH_PATH, "REQUEST_METHOD": "GET"},
                        lambda status, headers: answered.append(status)))
    assert answered == ["200 OK"] and json.loads(body) == {"status": "ok"}
    assert reached == [] and app.calls == []
    # the stand-in does answer other paths: the assertion above can fail
    list(app({"PATH_INFO": "/moto-api/data.json", "REQUEST_METHOD": "GET"}, lambda *_: None))
    assert reached == ["/moto-api/data.json"]


@pytest.mark.parametrize("command", ["env", "status", "url"])
def test_cli_asks_only_the_health_route(recorder, tmp_path, command):
    """``python -m localaws env|status|url`` on a running endpoint asks the health route and nothing of moto's state."""
    url = f"http://127.0.0.1:{recorder.server_port}"
    (tmp_path / "endpoint.json").write_text(json.dumps({"url": url, "pid": os.getpid()}))
    env = dict(os.environ, LOCALAWS_STATE_DIR=str(tmp_path))
    run = subprocess.run([sys.executable, "-m", "localaws", command], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True, timeout=60)
    assert url in run.stdout
    assert HEALTH_PATH in recorder.paths
    assert not [p for p in recorder.paths if p.startswith("/moto-api")], recorder.paths
    # status also lists the data plane's listeners (a control route); env and url ask nothing else
    if command != "status":
        assert recorder.paths == [HEALTH_PATH]
