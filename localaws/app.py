"""The WSGI application: moto's dispatcher, our patches, and a call recorder."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from localaws import faults, latency

# Control endpoints that patches register (``localaws.patches._shared.control_route``):
# path -> handler(method, query, json_body) -> (status, json). Served before recording,
# so they never show in the call log.
CONTROL_ROUTES: dict[str, Callable[[str, dict, dict], tuple[int, Any]]] = {}

HEALTH_PATH = "/_localaws/health"

READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Head", "Search", "Lookup", "Check")


def classify(action: str, method: str) -> str:
    """'read' or 'write' for one AWS call: by the action's verb, or the HTTP method for REST APIs."""
    if action:
        return "read" if action.startswith(READ_PREFIXES) else "write"
    return "read" if method in ("GET", "HEAD") else "write"


class CallRecorder:
    """WSGI middleware that records every AWS call (service, action, read/write).

    Tests use it to prove that ``--check`` makes no write call and that a no-op
    converge makes only reads. It is served at ``/_localaws/calls`` (GET lists,
    DELETE clears) and is cleared by moto's ``/moto-api/reset`` too.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], on_reset: Callable[[], None]):
        self.app = app
        self.on_reset = on_reset
        self.calls: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH:
            # cheap liveness: answers without touching any backend (moto's data.json
            # serialises every backend and grows with each stack on the endpoint)
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "15")])
            return [b'{"status":"ok"}']
        if path == "/_localaws/calls":
            return self._serve_calls(method, start_response)
        if path in CONTROL_ROUTES:
            return self._serve_control(CONTROL_ROUTES[path], environ, method, start_response)
        if path.startswith("/_localaws/"):
            # a control route not registered (e.g. the data plane's, with the data plane off):
            # a plain 404, not moto's S3 answering for a bucket "_localaws", and no call logged
            return self._serve_control(lambda *_: (404, {"message": f"no control route {path}"}), environ, method,
                                       start_response)
        if path.startswith("/moto-api/reset") and method == "POST":
            self.on_reset()
            with self.lock:
                self.calls.clear()
        elif not path.startswith("/moto-api"):
            call = self._record(environ, path, method)
            latency.delay()
            fault = faults.pick(call["service"])
            if fault:
                call["fault"], body = faults.respond(fault, environ, start_response)
                return body
        return self.app(environ, start_response)

    def _record(self, environ: dict[str, Any], path: str, method: str) -> dict[str, str]:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        service = ""
        if "Credential=" in auth:
            # Credential=AKID/date/region/service/aws4_request
            parts = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
            if len(parts) >= 4:
                service = parts[3]
        action = ""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            action = target.rsplit(".", 1)[-1]
        else:
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            if "Action" in query:
                action = query["Action"][0]
            elif "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length) if length else b""
                environ["wsgi.input"] = io.BytesIO(body)
                form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                action = form.get("Action", [""])[0]
        call = {
            "service": service,
            "action": action,
            "method": method,
            "path": path,
            "kind": classify(action, method),
            "time": time.time(),  # epoch seconds: lines calls up with a run's task timings
        }
        with self.lock:
            self.calls.append(call)
        return call

    def _serve_calls(self, method: str, start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self.lock:
            if method == "DELETE":
                self.calls.clear()
            body = json.dumps(self.calls).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def _serve_control(handler: Callable[[str, dict, dict], tuple[int, Any]], environ: dict[str, Any],
                       method: str, start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            data = json.loads(raw) if raw.strip() else {}
            status, result = handler(method, query, data if isinstance(data, dict) else {"value": data})
        except (ValueError, KeyError, TypeError) as exc:
            status, result = 400, {"message": str(exc)}
        body = json.dumps(result, default=str).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "")
        start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def build_app() -> CallRecorder:
    """moto's dispatcher with every patch in :mod:`localaws.patches` applied."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from localaws import patches
    from localaws.patches._shared import control_route

    patches.apply_all()
    control_route("/_localaws/faults", faults.control)
    control_route("/_localaws/latency", latency.control)
    return CallRecorder(DomainDispatcherApplication(create_backend_app), on_reset=patches.reset_all)
