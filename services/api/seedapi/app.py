"""The WSGI application factory."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import uuid
from datetime import UTC, datetime

import bottle

from seedapi.config import Config
from seedapi.lifecycle import Lifecycle
from seedapi.logs import access_line
from seedapi.openapi import build_openapi
from seedapi.store import ItemStore, StoreFull, StoreUnavailable, store_from_config
from seedapi.tracing import TracingMiddleware

access_log = logging.getLogger("seedapi.access")
app_log = logging.getLogger("seedapi.app")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,128}$")
NAME_MAX = 100
DESCRIPTION_MAX = 500
LIMIT_MAX = 100
LIMIT_DEFAULT = 20
_ITEM_FIELDS = {"name", "description"}
# What gunicorn allowed (the API's server before granian) and nginx's large_client_header_buffers (8k) passes on: longer
# request lines get a JSON 414, longer header lines a JSON 431, before any routing.
REQUEST_LINE_MAX = 8190
HEADER_LINE_MAX = 8190
LOGGED_QUERY_MAX = 1024  # of a query string, in the access log

_STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_failed",
    431: "headers_too_large",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, details: list | None = None, code=None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.code = code or _STATUS_CODES.get(status, "error")


def _request_id() -> str:
    return bottle.request.environ.get("seedapi.request_id", "")


def error_body(
    status: int, message: str, details=None, code=None, request_id=""
) -> str:
    """The ONE error shape: {"error": {code, message, status, request_id, details}}."""
    return json.dumps(
        {
            "error": {
                "code": code or _STATUS_CODES.get(status, "error"),
                "message": message,
                "status": status,
                "request_id": request_id,
                "details": details or [],
            }
        }
    )


def _json_response(status: int, payload, headers=None) -> bottle.HTTPResponse:
    body = "" if payload is None else json.dumps(payload)
    resp = bottle.HTTPResponse(body=body, status=status, headers=headers or {})
    if payload is not None:
        resp.content_type = "application/json"
    return resp


class _Middleware:
    """Request id + one JSON access-log line per request, around any WSGI app."""

    def __init__(self, wsgi_app, bottle_app, config, store, lifecycle):
        self.wsgi_app = wsgi_app
        self.bottle = bottle_app
        self.config = config
        self.store = store
        self.lifecycle = lifecycle

    def __call__(self, environ, start_response):
        start = time.perf_counter()
        rid = environ.get("HTTP_X_REQUEST_ID", "")
        if not _REQUEST_ID_RE.match(rid):
            rid = uuid.uuid4().hex
        environ["seedapi.request_id"] = rid
        seen = {}
        too_large = _over_limits(environ)
        if too_large:
            status, reason, message = too_large
            seen["status"] = status
            body = error_body(status, f"{reason}: {message}", request_id=rid).encode()
            start_response(
                f"{status} {reason}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("X-Request-ID", rid)],
            )
            return _Closing([body], lambda: self._log(environ, seen, rid, start))

        def _start_response(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append(("X-Request-ID", rid))
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, _start_response)
        return _Closing(result, lambda: self._log(environ, seen, rid, start))

    def _log(self, environ, seen, rid, start):
        status = seen.get("status", 500)
        access_line(
            access_log,
            "request",
            {
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "query": environ.get("QUERY_STRING", "")[:LOGGED_QUERY_MAX],
                "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                "request_id": rid,
                "remote_addr": environ.get("REMOTE_ADDR"),
                "user_agent": environ.get("HTTP_USER_AGENT", ""),
            },
        )


def _over_limits(environ) -> tuple[int, str, str] | None:
    """(status, reason, message) when the request line or a header line is too long."""
    query = environ.get("QUERY_STRING", "")
    line = len(environ.get("REQUEST_METHOD", "")) + len(environ.get("PATH_INFO", "")) + len(query) + (1 if query else 0) + 11
    if line > REQUEST_LINE_MAX:
        return 414, "URI Too Long", f"request line of {line} bytes, at most {REQUEST_LINE_MAX}"
    for key, value in environ.items():
        if key.startswith("HTTP_") and len(key) - 3 + len(value) > HEADER_LINE_MAX:
            name = key[5:].replace("_", "-").title()
            return 431, "Request Header Fields Too Large", f"header {name} longer than {HEADER_LINE_MAX} bytes"
    return None


class _Closing:
    """Iterable wrapper that runs a callback when the server closes the body."""

    def __init__(self, result, on_close):
        self._result = result
        self._on_close = on_close

    def __iter__(self):
        return iter(self._result)

    def close(self):
        try:
            if hasattr(self._result, "close"):
                self._result.close()
        finally:
            self._on_close()


def _parse_int_param(name: str, default: int, lo: int, hi: int, problems: list) -> int:
    raw = bottle.request.query.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        problems.append({"field": name, "message": f"must be an integer {lo}..{hi}"})
        return default
    value = int(raw)
    if not lo <= value <= hi:
        problems.append({"field": name, "message": f"must be an integer {lo}..{hi}"})
    return value


def _read_json_object(config: Config) -> dict:
    req = bottle.request
    ctype = (req.content_type or "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        raise ApiError(415, "Content-Type must be application/json")
    length = req.content_length
    if length > config.max_body_bytes:
        raise ApiError(413, f"body larger than {config.max_body_bytes} bytes")
    # Bounded read straight from the server's input stream (the server has
    # already removed any chunked framing), so no body is ever read past the cap.
    stream = req.environ["wsgi.input"]
    if length >= 0:
        raw = stream.read(length)
    else:
        raw = b""
        while len(raw) <= config.max_body_bytes:
            chunk = stream.read(config.max_body_bytes + 1 - len(raw))
            if not chunk:
                break
            raw += chunk
        if len(raw) > config.max_body_bytes:
            raise ApiError(413, f"body larger than {config.max_body_bytes} bytes")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "body is not valid UTF-8 JSON") from None
    if not isinstance(doc, dict):
        raise ApiError(
            422,
            "body must be a JSON object",
            [{"field": "", "message": "expected object"}],
        )
    return doc


# What the OpenAPI schema's ``pattern: \S`` calls white space: ECMA-262's WhiteSpace and
# LineTerminator (JSON Schema patterns are ECMA-262 regexes). Python's str.strip() also strips
# U+001C-U+001F and U+0085, so it would call a name blank that the published schema accepts.
ECMA_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def validate_item(doc: dict) -> dict:
    """Validate a create/replace body; return the clean fields or raise 422."""
    problems = []
    for key in sorted(set(doc) - _ITEM_FIELDS):
        problems.append({"field": key, "message": "unknown field"})
    name = doc.get("name")
    if "name" not in doc:
        problems.append({"field": "name", "message": "is required"})
    elif not isinstance(name, str):
        problems.append({"field": "name", "message": "must be a string"})
    elif not name.strip(ECMA_WHITESPACE):
        problems.append({"field": "name", "message": "must not be blank"})
    elif len(name) > NAME_MAX:
        problems.append({"field": "name", "message": f"at most {NAME_MAX} characters"})
    description = doc.get("description", "")
    if not isinstance(description, str):
        problems.append({"field": "description", "message": "must be a string"})
    elif len(description) > DESCRIPTION_MAX:
        problems.append(
            {"field": "description", "message": f"at most {DESCRIPTION_MAX} characters"}
        )
    if problems:
        raise ApiError(422, "validation failed", problems)
    return {"name": name.strip(ECMA_WHITESPACE), "description": description}


def _task_id() -> str | None:
    uri = os.environ.get("ECS_CONTAINER_METADATA_URI_V4", "")
    return uri.rstrip("/").rsplit("/", 1)[-1] or None if uri else None


def create_app(
    config: Config,
    store: ItemStore | None = None,
    lifecycle: Lifecycle | None = None,
):
    """Build a new WSGI app. Nothing is global: each call has its own store."""
    store = store if store is not None else store_from_config(config)
    if lifecycle is None:
        lifecycle = Lifecycle()
        lifecycle.mark_ready()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    host = socket.gethostname()
    task_id = _task_id()
    openapi_doc = json.dumps(build_openapi(config))

    app = bottle.Bottle(catchall=True)

    def default_error(res: bottle.HTTPError) -> str:
        status = res.status_code
        if status >= 500:
            app_log.error(
                "unhandled error",
                extra={
                    "request_id": _request_id(),
                    "exc": getattr(res, "traceback", None),
                },
            )
            message = "internal server error"
        elif status == 404:
            message = "no such resource"
        elif status == 405:
            message = "method not allowed"
        else:
            message = str(res.body or bottle.HTTP_CODES.get(status, "error"))
        bottle.response.content_type = "application/json"
        return error_body(status, message, request_id=_request_id())

    app.default_error_handler = default_error

    def api(fn):
        """Turn ApiError into the stable JSON error shape."""

        def wrapper(*args, **kwargs):
            try:
                try:
                    return fn(*args, **kwargs)
                except StoreUnavailable as exc:
                    # the store's service is down or throttling past the client's
                    # retries: a 503 tells the client (and the ALB metrics) to retry
                    app_log.error(
                        "store unavailable",
                        extra={"request_id": _request_id(), "exc": str(exc)},
                    )
                    raise ApiError(
                        503, "item store unavailable", code="unavailable"
                    ) from None
            except ApiError as exc:
                headers = {"Connection": "close"} if exc.status == 413 else {}
                resp = bottle.HTTPResponse(
                    body=error_body(
                        exc.status, exc.message, exc.details, exc.code, _request_id()
                    ),
                    status=exc.status,
                    headers=headers,
                )
                resp.content_type = "application/json"
                return resp

        wrapper.__name__ = fn.__name__
        return wrapper

    @app.get("/api/health")
    def health():
        return _json_response(200, {"status": "ok"})

    @app.get("/api/ready")
    def ready():
        if lifecycle.ready:
            return _json_response(200, {"status": "ready"})
        return _json_response(
            503,
            {"status": lifecycle.state},
            {"Retry-After": "5", "Cache-Control": "no-store"},
        )

    @app.get("/api/version")
    def version():
        return _json_response(
            200,
            {
                "version": config.version,
                "commit": config.commit,
                "colour": config.colour,
                "host": host,
                "task_id": task_id,
                "started_at": started_at,
            },
            {"Cache-Control": "no-store"},
        )

    @app.get("/api/openapi.json")
    def openapi():
        resp = bottle.HTTPResponse(body=openapi_doc, status=200)
        resp.content_type = "application/json"
        return resp

    @app.get("/api/items")
    @api
    def list_items():
        problems: list = []
        limit = _parse_int_param("limit", LIMIT_DEFAULT, 1, LIMIT_MAX, problems)
        offset = _parse_int_param("offset", 0, 0, 10**9, problems)
        if problems:
            raise ApiError(400, "invalid query parameters", problems)
        items, total = store.list(limit, offset)
        return _json_response(
            200, {"items": items, "total": total, "limit": limit, "offset": offset}
        )

    @app.post("/api/items")
    @api
    def create_item():
        fields = validate_item(_read_json_object(config))
        try:
            item = store.create(fields)
        except StoreFull:
            raise ApiError(409, "store is full", code="store_full") from None
        return _json_response(201, item, {"Location": f"/api/items/{item['id']}"})

    @app.get("/api/items/<item_id:int>")
    @api
    def get_item(item_id):
        item = store.get(item_id)
        if item is None:
            raise ApiError(404, f"item {item_id} not found")
        return _json_response(200, item)

    @app.put("/api/items/<item_id:int>")
    @api
    def replace_item(item_id):
        fields = validate_item(_read_json_object(config))
        item = store.replace(item_id, fields)
        if item is None:
            raise ApiError(404, f"item {item_id} not found")
        return _json_response(200, item)

    @app.delete("/api/items/<item_id:int>")
    @api
    def delete_item(item_id):
        if not store.delete(item_id):
            raise ApiError(404, f"item {item_id} not found")
        return _json_response(204, None)

    if config.test_endpoints:
        # TEST ONLY (APP_TEST_ENDPOINTS=true): a slow request for drain tests
        # and a store size probe. Not in the OpenAPI document.
        @app.get("/api/_test/sleep")
        def test_sleep():
            seconds = min(float(bottle.request.query.get("seconds", "1")), 30.0)
            time.sleep(seconds)
            return _json_response(200, {"slept": seconds})

        @app.get("/api/_test/count")
        def test_count():
            return _json_response(200, {"count": store.count()})

    wsgi = _Middleware(app, app, config, store, lifecycle)
    if config.xray_daemon_address:  # X-Ray on: a segment per request; off, not even a branch per request
        return TracingMiddleware(wsgi, config)
    return wsgi
