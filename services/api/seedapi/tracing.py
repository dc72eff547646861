"""AWS X-Ray: one trace segment per request, sent over UDP to the X-Ray daemon.

On only when ``AWS_XRAY_DAEMON_ADDRESS`` is set (the ecs_service role sets it, and runs the daemon as a
sidecar, when the stack description has ``stack_tracing.enabled``); without it the app is built
without this middleware, so tracing off costs nothing.

Not the aws-xray-sdk: it records every request through thread-local context, entities and emitter
objects and patches libraries at import; what the API needs is one segment document per request,
which this writes in a few microseconds (bench/services/run.sh with ``TRACING=1``), and the image
stays free of the SDK and its dependencies.

What AWS documents and this follows:

* the daemon protocol: a JSON header line ``{"format": "json", "version": 1}`` then the segment
  document, in one UDP datagram (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html);
* the segment document's fields: ``name``, ``id`` (16 hex digits), ``trace_id`` (``1-<8 hex epoch
  seconds>-<24 hex>``), ``start_time``/``end_time`` (epoch seconds), ``parent_id`` of an upstream
  caller, ``http.request``/``http.response``, ``error`` (4xx), ``throttle`` (429), ``fault`` (5xx),
  ``annotations`` (indexed for filter expressions: the request id)
  (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html);
* the tracing header ``X-Amzn-Trace-Id: Root=...;Parent=...;Sampled=0|1|?``: an upstream caller's
  trace is continued and its sampling decision kept; the response carries ``Root=<trace id>``, plus
  ``Sampled=`` when the caller asked with ``Sampled=?``, as the SDKs answer
  (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader);
* sampling without a decision from upstream: the default rule's shape, a reservoir of requests per
  second then a fixed rate of the rest (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html),
  decided locally (``XRAY_SAMPLING_RESERVOIR``, ``XRAY_SAMPLING_RATE``): no GetSamplingRules call.

Segments are best effort, as with the SDKs: a datagram the daemon does not take (no daemon, a full
socket buffer) is dropped, never retried, and never fails or slows the request.
"""

from __future__ import annotations

import json
import random
import re
import socket
import time
from json.encoder import encode_basestring

HEADER_LINE = b'{"format":"json","version":1}\n'
TRACE_HEADER = "X-Amzn-Trace-Id"
_ROOT = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
_PARENT = re.compile(r"^[0-9a-f]{16}$")
_RESOLVE_EVERY = 10.0  # seconds between attempts to resolve a daemon address that did not resolve


def parse_daemon_address(value: str) -> tuple[str, int]:
    """The UDP ``(host, port)`` of ``AWS_XRAY_DAEMON_ADDRESS``: ``host:port``, or the SDKs' two-address form
    ``tcp:host:port udp:host:port`` (either order). ValueError says what is wrong."""
    value = value.strip()
    parts = value.split()
    if len(parts) == 2:
        udp = [p[4:] for p in parts if p.startswith("udp:")]
        if len(udp) != 1 or not any(p.startswith("tcp:") for p in parts):
            raise ValueError("the two-address form is 'tcp:host:port udp:host:port'")
        value = udp[0]
    elif len(parts) != 1:
        raise ValueError("must be host:port (or 'tcp:host:port udp:host:port')")
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("must be host:port with a port 1-65535")
    return host, int(port)


def parse_trace_header(value: str) -> tuple[str, str, str]:
    """``(root, parent, sampled)`` of an ``X-Amzn-Trace-Id`` header; "" for what is absent or malformed
    (a malformed root starts a new trace)."""
    root = parent = sampled = ""
    for part in value.split(";"):
        key, _sep, val = part.strip().partition("=")
        if key == "Root" and _ROOT.match(val):
            root = val
        elif key == "Parent" and _PARENT.match(val):
            parent = val
        elif key == "Sampled" and val in ("0", "1", "?"):
            sampled = val
    return root, parent, sampled


class Sampler:
    """The default rule's shape: the first ``reservoir`` requests of each second, then ``rate`` of the rest.

    Per worker process, without a lock: under threads the count may be off by the few requests that
    race on it, which a sampling rate does not notice."""

    def __init__(self, rate: float, reservoir: int):
        self.rate = rate
        self.reservoir = reservoir
        self._second = -1
        self._taken = 0

    def __call__(self, now: float) -> bool:
        second = int(now)
        if second != self._second:
            self._second, self._taken = second, 0
        if self._taken < self.reservoir:
            self._taken += 1
            return True
        return random.random() < self.rate


class Emitter:
    """One UDP socket per process (made on first use, after the server forked its workers)."""

    def __init__(self, address: tuple[str, int]):
        self.address = address
        self._sock: socket.socket | None = None
        self._target = None
        self._retry_at = 0.0

    def _connect(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        try:
            info = socket.getaddrinfo(*self.address, type=socket.SOCK_DGRAM)[0]
            family, target = info[0], info[4]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
        except OSError:
            self._retry_at = now + _RESOLVE_EVERY
            return False
        self._sock, self._target = sock, target
        return True

    def send(self, document: str) -> None:
        if self._sock is None and not self._connect():
            return
        try:
            self._sock.sendto(HEADER_LINE + document.encode(), self._target)
        except OSError:
            pass  # best effort: no daemon, or its socket buffer full


# Ids need to be unique, not unguessable: the random module (reseeded in each forked worker) makes them in a
# fraction of os.urandom's time (a system call each).
def new_id() -> str:
    return f"{random.getrandbits(64):016x}"


def new_trace_id(now: float) -> str:
    return f"1-{int(now):08x}-{random.getrandbits(96):024x}"


class TracingMiddleware:
    """Around the app's middleware (which sets the request id and answers every request): reads the
    tracing header, decides sampling, answers the header and sends the request's segment when the
    body is closed."""

    def __init__(self, app, config):
        self.app = app
        self._name = encode_basestring(config.xray_tracing_name)
        self._service = json.dumps({"version": config.version}, separators=(",", ":"))
        self.sampler = Sampler(config.xray_sampling_rate, config.xray_sampling_reservoir)
        self.emitter = Emitter(parse_daemon_address(config.xray_daemon_address))

    def __call__(self, environ, start_response):
        now = time.time()
        root, parent, asked = parse_trace_header(environ.get("HTTP_X_AMZN_TRACE_ID", ""))
        if not root:
            root, parent = new_trace_id(now), ""
        sampled = asked == "1" or (asked != "0" and self.sampler(now))
        answer = f"Root={root};Sampled={int(sampled)}" if asked == "?" else f"Root={root}"
        seen = {}

        def _start_response(status, headers, exc_info=None):
            seen["status"] = status
            seen["headers"] = headers
            headers = [(k, v) for k, v in headers if k.lower() != "x-amzn-trace-id"]
            headers.append((TRACE_HEADER, answer))
            return start_response(status, headers, exc_info)

        if not sampled:
            return self.app(environ, _start_response)
        try:
            result = self.app(environ, _start_response)
        except BaseException:
            self._send(environ, seen, root, parent, now, fault=True)
            raise
        return _Closing(result, lambda: self._send(environ, seen, root, parent, now))

    def _send(self, environ, seen, root, parent, start, fault=False):
        """The segment document, written as text: json.dumps of the same dict takes several times as long, and
        every value that does not come from here is escaped by json's own string encoder."""
        status = int(str(seen.get("status", "500")).split(" ", 1)[0])
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            client = f'"client_ip":{encode_basestring(forwarded.split(",", 1)[0].strip())},"x_forwarded_for":true'
        else:
            client = f'"client_ip":{encode_basestring(environ.get("REMOTE_ADDR", ""))}'
        length = ""
        for key, value in seen.get("headers") or ():
            if key.lower() == "content-length" and value.isdigit():
                length = f',"content_length":{int(value)}'
        if fault or status >= 500:
            flags = ',"fault":true'
        elif status >= 400:
            flags = ',"error":true,"throttle":true' if status == 429 else ',"error":true'
        else:
            flags = ""
        self.emitter.send(
            f'{{"name":{self._name},"id":"{new_id()}","trace_id":"{root}",'
            f'{f""""parent_id":"{parent}",""" if parent else ""}'
            f'"start_time":{start:.6f},"end_time":{time.time():.6f},"origin":"AWS::ECS::Container",'
            f'"http":{{"request":{{"method":{encode_basestring(environ.get("REQUEST_METHOD", ""))},'
            f'"url":{encode_basestring(_url(environ))},"user_agent":{encode_basestring(environ.get("HTTP_USER_AGENT", ""))},'
            f'{client}}},"response":{{"status":{status}{length}}}}},'
            f'"annotations":{{"request_id":{encode_basestring(environ.get("seedapi.request_id", ""))}}},'
            f'"service":{self._service}{flags}}}'
        )


def _url(environ) -> str:
    scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    query = environ.get("QUERY_STRING", "")
    return f"{scheme}://{host}{environ.get('PATH_INFO', '')}" + (f"?{query}" if query else "")


class _Closing:
    """The app's body, and the segment sent once the server has closed it (the whole response sent)."""

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
