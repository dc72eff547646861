"""Protocol-level errors from gunicorn (request line too long, bad headers,
malformed chunking...) in the API's one JSON error shape instead of HTML.

gunicorn's worker writes these with ``gunicorn.util.write_error`` before any
WSGI code runs; ``install()`` (called from gunicorn.conf.py) replaces it.
"""

from __future__ import annotations

import json
import uuid

_CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def json_error_response(status_int: int, reason: str, mesg: str) -> bytes:
    request_id = uuid.uuid4().hex
    body = json.dumps(
        {
            "error": {
                "code": _CODES.get(status_int, "error"),
                "message": f"{reason}: {mesg}"[:300],
                "status": status_int,
                "request_id": request_id,
                "details": [],
            }
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {request_id}\r\n\r\n"
    ).encode("latin-1")
    return head + body


def install() -> None:
    from gunicorn import util

    def write_error(sock, status_int, reason, mesg):
        util.write_nonblock(
            sock, json_error_response(int(status_int), reason, str(mesg))
        )

    util.write_error = write_error
