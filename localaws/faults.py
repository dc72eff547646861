"""Fault injection: answer a share of AWS calls with throttling or a server error.

``LOCALAWS_FAULT_RATE=0.2`` makes one call in five fail before it reaches moto,
half of them as throttling (HTTP 400 with the throttling code of the call's
protocol) and half as HTTP 500 ``InternalError``, both errors AWS documents as
transient and that botocore's retry modes retry ("Retry behavior", AWS SDKs and
Tools reference guide: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
``LOCALAWS_FAULT_SERVICES=ecs,logs`` limits it to those services (the signing
name in the Authorization header). ``GET/POST /_localaws/faults`` reads or sets
both at run time (``{"rate": 0.2, "services": ["ecs"]}``), so a test can build
its fixtures first and then turn faults on. Faulted calls are recorded in the
call log with ``"fault": "<code>"`` and never reach moto, so nothing is half-done.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Callable, Iterable
from typing import Any

_lock = threading.Lock()
_random = random.Random()


def _env_rate() -> float:
    try:
        rate = float(os.environ.get("LOCALAWS_FAULT_RATE", "0") or 0)
    except ValueError:
        return 0.0
    return min(max(rate, 0.0), 1.0)


class _Settings:
    def __init__(self) -> None:
        self.rate = _env_rate()
        services = os.environ.get("LOCALAWS_FAULT_SERVICES", "")
        self.services = {s.strip() for s in services.split(",") if s.strip()}


SETTINGS = _Settings()


def pick(service: str) -> str | None:
    """The fault to answer a call of ``service`` with ('throttle' or 'server'), or None."""
    if SETTINGS.rate <= 0 or (SETTINGS.services and service not in SETTINGS.services):
        return None
    with _lock:
        draw = _random.random()
    if draw >= SETTINGS.rate:
        return None
    return "throttle" if draw < SETTINGS.rate / 2 else "server"


def respond(kind: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> tuple[str, Iterable[bytes]]:
    """Answer with ``kind`` in the error shape of the call's protocol; returns (code, body).

    JSON protocols (``X-Amz-Target``) read ``__type``; the query protocols read an XML
    ``ErrorResponse`` (EC2: ``Response/Errors``). Codes are the ones botocore's retry
    handler treats as throttling (``ThrottlingException``, ``Throttling``,
    ``RequestLimitExceeded``) or a 500 ``InternalError``.
    """
    json_protocol = bool(environ.get("HTTP_X_AMZ_TARGET")) or "json" in environ.get("CONTENT_TYPE", "")
    ec2 = "/ec2/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")
    if kind == "throttle":
        status, code, message = "400 Bad Request", "Throttling", "Rate exceeded (localaws fault injection)"
        if json_protocol:
            code = "ThrottlingException"
        elif ec2:
            code = "RequestLimitExceeded"
    else:
        status, code, message = "500 Internal Server Error", "InternalError", "localaws fault injection"
    if json_protocol:
        body = json.dumps({"__type": code, "message": message}).encode()
        content_type = "application/x-amz-json-1.1"
    elif ec2:
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                f"<RequestID>localaws-fault</RequestID></Response>").encode()
        content_type = "text/xml"
    else:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>localaws-fault</RequestId></ErrorResponse>").encode()
        content_type = "text/xml"
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            ("x-amzn-ErrorType", code)])
    return code, [body]


def control(method: str, query: dict, body: dict) -> tuple[int, Any]:
    if method == "POST":
        rate = float(body.get("rate", SETTINGS.rate))
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        SETTINGS.rate = rate
        if "services" in body:
            SETTINGS.services = set(body.get("services") or [])
    elif method != "GET":
        return 405, {"message": "GET or POST"}
    return 200, {"rate": SETTINGS.rate, "services": sorted(SETTINGS.services)}


def reset() -> None:
    """Back to the environment's settings (moto's reset)."""
    fresh = _Settings()
    SETTINGS.rate, SETTINGS.services = fresh.rate, fresh.services
