"""The load balancer data plane: every ALB listener becomes a real HTTP listener on 127.0.0.1.

A poller reads moto's elbv2 backends every :data:`POLL_SECONDS` and opens or
closes one local HTTP server per listener of each application load balancer
(CreateListener / DeleteListener / DeleteLoadBalancer). Each request is routed
as an ALB does ("Listener rules",
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html):
rules in priority order, then the default action; conditions ``path-pattern``,
``host-header``, ``http-request-method``, ``http-header``, ``query-string``,
``source-ip``; actions ``forward`` (one target group, or a weighted
``ForwardConfig``), ``fixed-response`` and ``redirect``. Rules and actions are
read from moto at each request, so CodeDeploy's traffic shifts apply at once.

A forward goes to a routable target of the chosen group (see
:mod:`localaws.dataplane.alb_health`), round robin, through a keep-alive
connection pool, with ``X-Forwarded-For/-Proto/-Port`` and ``X-Amzn-Trace-Id``
added. The load balancer's own errors follow "Troubleshoot your Application
Load Balancers" (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html):
503 when the group has no registered target (or none routable yet), 502 when
the target refuses the connection or closes it without a response, 504 when it
does not answer within the load balancer's ``idle_timeout.timeout_seconds``
(real seconds; default 60).

An HTTPS listener is served as plain HTTP locally (no certificate exists
here); requests still carry ``X-Forwarded-Proto: https``.

``GET /_localaws/dataplane/listeners`` lists the local listeners.
"""

from __future__ import annotations

import http.client
import ipaddress
import itertools
import logging
import os
import queue
import random
import re
import threading
import time
import urllib.parse
import uuid
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from localaws import dataplane
from localaws.dataplane.alb_health import GroupView, HealthChecker

LOG = logging.getLogger("localaws.dataplane.alb")
POLL_SECONDS = 0.5
HOST = "127.0.0.1"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "proxy-connection"}
TERMINAL_ACTIONS = ("forward", "fixed-response", "redirect")
REASONS = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out",
           500: "Internal Server Error", 501: "Not Implemented", 400: "Bad Request"}


# -- metrics hook (localaws.dataplane.metrics, optional) ---------------------------------------------

_metrics: Any = None
_metrics_loaded = False


def _metrics_module() -> Any:
    global _metrics, _metrics_loaded
    if not _metrics_loaded:
        _metrics_loaded = True
        try:
            from localaws.dataplane import metrics as module

            _metrics = module
        except ModuleNotFoundError as exc:
            if exc.name != "localaws.dataplane.metrics":
                raise
    return _metrics


def _record_request(lb_arn: str, tg_arn: str | None, elb_status: int, target_status: int | None,
                    elapsed: float) -> None:
    module = _metrics_module()
    if module is not None:
        try:
            module.record_request(lb_arn, tg_arn, elb_status, target_status, elapsed)
        except Exception:  # metrics must never fail a request that was served
            LOG.exception("metrics.record_request failed")


def _set_host_counts(lb_arn: str, tg_arn: str, healthy: int, unhealthy: int) -> None:
    module = _metrics_module()
    if module is not None:
        try:
            module.set_host_counts(lb_arn, tg_arn, healthy, unhealthy)
        except Exception:
            LOG.exception("metrics.set_host_counts failed")


# -- rule conditions --------------------------------------------------------------------------------

@lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern:
    """AWS wildcards: ``*`` any run of characters, ``?`` exactly one; everything else literal."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _values(condition: dict, config_key: str) -> list:
    config = condition.get(config_key) or {}
    return list(config.get("Values") or condition.get("Values") or [])


def condition_matches(condition: dict, request: dict) -> bool:
    """One rule condition against a request; the values of a condition are OR-ed."""
    field = condition.get("Field")
    if field == "path-pattern":  # case-sensitive, path only (no query string)
        return any(_wildcard(v, False).fullmatch(request["path"]) for v in _values(condition, "PathPatternConfig"))
    if field == "host-header":  # case-insensitive, without the port
        host = request["host"].rsplit(":", 1)[0] if not request["host"].endswith("]") else request["host"]
        return any(_wildcard(v, True).fullmatch(host) for v in _values(condition, "HostHeaderConfig"))
    if field == "http-request-method":
        return request["method"] in _values(condition, "HttpRequestMethodConfig")
    if field == "http-header":
        config = condition.get("HttpHeaderConfig") or {}
        header_values = request["headers"].get_all(config.get("HttpHeaderName", "")) or []
        return any(_wildcard(v, True).fullmatch(h) for v in config.get("Values") or [] for h in header_values)
    if field == "query-string":
        pairs = urllib.parse.parse_qsl(request["query"], keep_blank_values=True)
        wanted = (condition.get("QueryStringConfig") or {}).get("Values") or []
        return any(any((w.get("Key") is None or _wildcard(w["Key"], True).fullmatch(k))
                       and _wildcard(w.get("Value", ""), True).fullmatch(v) for k, v in pairs) for w in wanted)
    if field == "source-ip":
        client = ipaddress.ip_address(request["client"])
        return any(client in ipaddress.ip_network(v, strict=False) for v in _values(condition, "SourceIpConfig"))
    return False


def listener_rules(listener: Any) -> list[Any]:
    """The listener's rules in evaluation order: by priority, the default rule last."""
    rules = list(listener._non_default_rules.values())
    rules.sort(key=lambda r: int(r.priority))
    return rules + list(listener._default_rule.values())


def choose_actions(listener: Any, request: dict) -> list[dict]:
    for rule in listener_rules(listener):
        if all(condition_matches(c, request) for c in rule.conditions or []):
            return [a.data for a in rule.actions]
    return []


def terminal_action(actions: list[dict]) -> dict | None:
    """The action that answers (forward / fixed-response / redirect), after any authenticate-* ones."""
    ordered = sorted(actions, key=lambda a: int(a.get("Order") or 50000))
    return next((a for a in ordered if a.get("Type") in TERMINAL_ACTIONS), None)


def pick_target_group(action: dict) -> str | None:
    """A forward's target group; a weighted forward picks by weight, never one of weight 0."""
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
    weighted = [(g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups if int(g.get("Weight", 1)) > 0]
    if weighted:
        arns, weights = zip(*weighted, strict=True)
        return random.choices(arns, weights=weights)[0]
    if groups:  # every weight is 0: AWS has nowhere to send the request
        return None
    return action.get("TargetGroupArn")


# -- connections to targets ---------------------------------------------------------------------

class ConnectionPool:
    """Idle keep-alive connections per target (host, port)."""

    def __init__(self, per_target: int = 64):
        self.per_target = per_target
        self.idle: dict[tuple[str, int], queue.LifoQueue] = {}
        self.lock = threading.Lock()

    def get(self, host: str, port: int, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        with self.lock:
            idle = self.idle.setdefault((host, port), queue.LifoQueue())
        try:
            conn = idle.get_nowait()
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            return conn, True
        except queue.Empty:
            return http.client.HTTPConnection(host, port, timeout=timeout), False

    def put(self, host: str, port: int, conn: http.client.HTTPConnection) -> None:
        idle = self.idle.get((host, port))
        if idle is None or idle.qsize() >= self.per_target:
            conn.close()
            return
        idle.put(conn)

    def discard(self, host: str, port: int) -> None:
        """Close every idle connection to one target: after one of them turned out stale (the
        target restarted, or a new task got the address of an old one) the others are too."""
        with self.lock:
            idle = self.idle.pop((host, port), None)
        while idle is not None and not idle.empty():
            idle.get_nowait().close()

    def clear(self) -> None:
        with self.lock:
            pools, self.idle = list(self.idle.values()), {}
        for idle in pools:
            while not idle.empty():
                idle.get_nowait().close()


class TargetError(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


# -- the listener -----------------------------------------------------------------------------

class ListenerServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512  # many clients connect at once (load tests, browsers)

    def __init__(self, engine: Engine, backend: Any, lb: Any, listener: Any, port: int):
        self.engine, self.backend, self.lb, self.listener = engine, backend, lb, listener
        super().__init__((HOST, port), ProxyHandler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                       name=f"alb-listener-{self.server_port}", daemon=True)

    @property
    def local_url(self) -> str:
        return f"http://{HOST}:{self.server_port}"

    def idle_timeout(self) -> float:
        try:
            return float(self.lb.attrs.get("idle_timeout.timeout_seconds", 60))
        except (TypeError, ValueError):
            return 60.0

    def describe(self) -> dict:
        return {"listenerArn": self.listener.arn, "loadBalancerArn": self.lb.arn, "loadBalancerName": self.lb.name,
                "port": int(self.listener.port), "protocol": self.listener.protocol, "localUrl": self.local_url}


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive with clients
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: ListenerServer

    def version_string(self) -> str:
        return "awselb/2.0"  # the Server header of an ALB's own responses

    def setup(self) -> None:
        super().setup()
        # An idle client connection is closed after the load balancer's idle timeout.
        self.connection.settimeout(self.server.idle_timeout())

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self.handle_any()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def handle_any(self) -> None:
        started = time.monotonic()
        server = self.server
        lb_arn = server.lb.arn
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._send_error(400)
            _record_request(lb_arn, None, 400, None, time.monotonic() - started)
            return
        path, _, query = self.path.partition("?")
        request = {"path": path, "query": query, "host": self.headers.get("Host", ""), "method": self.command,
                   "headers": self.headers, "client": self.client_address[0]}
        action = terminal_action(choose_actions(server.listener, request))
        tg_arn, target_status = None, None
        if action is None:
            status = 503
            self._send_error(status)
        elif action["Type"] == "fixed-response":
            status = self._fixed_response(action.get("FixedResponseConfig") or {})
        elif action["Type"] == "redirect":
            status = self._redirect(action.get("RedirectConfig") or {}, request)
        else:
            tg_arn = pick_target_group(action)
            status, target_status = self._forward(tg_arn, body)
        _record_request(lb_arn, tg_arn, status, target_status, time.monotonic() - started)

    # -- request body -------------------------------------------------------------------------
    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        return self.rfile.read(int(length)) if length else None

    # -- actions ------------------------------------------------------------------------------
    def _fixed_response(self, config: dict) -> int:
        status = int(config.get("StatusCode") or 200)
        payload = (config.get("MessageBody") or "").encode()
        self.send_response(status)
        self.send_header("Content-Type", config.get("ContentType") or "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        return status

    def _redirect(self, config: dict, request: dict) -> int:
        """RedirectConfig with its #{protocol}/#{host}/#{port}/#{path}/#{query} placeholders.

        A redirect to another listener of this load balancer on the request's host points at that
        listener's local URL (an HTTP-to-HTTPS redirect on :80 -> :443 still works in a browser).
        """
        listener = self.server.listener
        host = request["host"].rsplit(":", 1)[0] or HOST
        values = {"protocol": listener.protocol, "host": host, "port": str(listener.port),
                  "path": request["path"].lstrip("/"), "query": request["query"]}

        def fill(template: str) -> str:
            return re.sub(r"#\{(protocol|host|port|path|query)\}", lambda m: values[m.group(1)], template)

        protocol = fill(config.get("Protocol") or "#{protocol}").upper()
        new_host = fill(config.get("Host") or "#{host}")
        port = fill(config.get("Port") or "#{port}")
        path = fill(config.get("Path") or "/#{path}")
        new_query = fill(config.get("Query") or "#{query}")
        local = self.server.engine.local_listener(self.server.lb.arn, port) if new_host == host else None
        if local is not None:
            netloc, scheme = f"{HOST}:{local.server_port}", "http"
        else:
            default = {"HTTP": "80", "HTTPS": "443"}.get(protocol)
            netloc, scheme = new_host if port == default else f"{new_host}:{port}", protocol.lower()
        location = urllib.parse.urlunsplit((scheme, netloc, path, new_query, ""))
        status = 302 if config.get("StatusCode") == "HTTP_302" else 301
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return status

    def _forward(self, tg_arn: str | None, body: bytes | None) -> tuple[int, int | None]:
        engine = self.server.engine
        view = engine.group_view(tg_arn) if tg_arn else None
        if view is None:
            self._send_error(503)
            return 503, None
        targets = engine.health.routable(view)
        if not targets:
            # no registered target, or none healthy yet (all initial): ALB answers 503
            self._send_error(503)
            return 503, None
        target = targets[next(engine.round_robin(tg_arn)) % len(targets)]
        try:
            status, headers, payload = self._exchange(target.target_id, target.port, body)
        except TargetError as exc:
            self.close_connection = True
            self._send_error(exc.status)
            return exc.status, None
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)
        return status, status

    def _exchange(self, host: str, port: int, body: bytes | None) -> tuple[int, list, bytes]:
        """Send the request to one target; (status, headers, body). Raises TargetError(502/504)."""
        pool = self.server.engine.pool
        timeout = self.server.idle_timeout()
        headers = self._upstream_headers()
        for attempt in range(2):
            conn, reused = pool.get(host, port, timeout)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
            except TimeoutError:
                conn.close()
                raise TargetError(504) from None
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine) as exc:
                conn.close()
                # A pooled connection the target had closed: the request never reached it, so one
                # fresh attempt is safe; anything else is the target's failure (502).
                if reused and attempt == 0 and not isinstance(exc, ConnectionRefusedError):
                    pool.discard(host, port)  # the retry opens a fresh connection
                    continue
                raise TargetError(502) from None
            except (OSError, http.client.HTTPException):
                conn.close()
                raise TargetError(502) from None
            if response.will_close:
                conn.close()
            else:
                pool.put(host, port, conn)
            out = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP
                   and k.lower() != "content-length"]
            if self.command == "HEAD" or response.status in (204, 304):
                length = response.getheader("Content-Length")  # describes the GET body; none sent
                if length is not None:
                    out.append(("Content-Length", length))
                elif response.status not in (204, 304):
                    out.append(("Content-Length", "0"))
            else:
                out.append(("Content-Length", str(len(payload))))
            return response.status, out, payload
        raise TargetError(502)

    def _upstream_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                continue
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        # X-Forwarded-* as an ALB sets them ("HTTP headers and Application Load Balancers",
        # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html)
        client = self.client_address[0]
        previous = headers.pop("X-Forwarded-For", None) or self.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{previous}, {client}" if previous else client
        headers["X-Forwarded-Proto"] = self.server.listener.protocol.lower()
        headers["X-Forwarded-Port"] = str(self.server.listener.port)
        if not self.headers.get("X-Amzn-Trace-Id"):
            headers["X-Amzn-Trace-Id"] = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        return headers

    def _send_error(self, status: int) -> None:
        """The load balancer's own error page (as awselb/2.0 sends it)."""
        title = f"{status} {REASONS.get(status, '')}".strip()
        payload = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
                   "</body>\r\n</html>\r\n").encode()
        try:
            self.send_response(status, REASONS.get(status))
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True


# -- the engine ---------------------------------------------------------------------------------

class Engine:
    def __init__(self) -> None:
        self.servers: dict[str, ListenerServer] = {}
        self.groups: dict[str, GroupView] = {}
        self.health = HealthChecker(on_counts=_set_host_counts)
        self.pool = ConnectionPool()
        self._counters: dict[str, itertools.count] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        base = os.environ.get("LOCALAWS_DATAPLANE_PORT_BASE", "")
        self.port_base = int(base) if base.isdigit() else None

    def start(self) -> None:
        self.health.start()
        self.poll()
        self._thread = threading.Thread(target=self._run, name="alb-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        self.health.stop()
        self._close_all()

    def reset(self) -> None:
        self._close_all()
        self.health.reset()
        with self._lock:
            self.groups = {}
            self._counters.clear()

    def _close_all(self) -> None:
        with self._lock:
            servers, self.servers = list(self.servers.values()), {}
        for server in servers:
            server.shutdown()
            server.server_close()
        self.pool.clear()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.poll()
            except Exception:  # the poller survives a reset mid-read or a malformed resource
                LOG.exception("load balancer poll failed")

    # -- reading the control plane ------------------------------------------------------------
    def poll(self) -> None:
        from moto.elbv2.models import elbv2_backends

        from localaws.patches._shared import LOCK

        listeners: dict[str, tuple[Any, Any, Any]] = {}
        users: dict[str, set[str]] = {}
        groups: list[tuple[Any, Any]] = []
        with LOCK:
            for account in list(elbv2_backends.values()):
                for backend in list(account.values()):
                    for lb in list(backend.load_balancers.values()):
                        if getattr(lb, "type", "application") != "application":
                            continue
                        for listener in list(lb.listeners.values()):
                            listeners[listener.arn] = (backend, lb, listener)
                            for rule in listener_rules(listener):
                                for action in rule.actions:
                                    for arn in _forward_targets(action.data):
                                        users.setdefault(arn, set()).add(lb.arn)
                    groups += [(backend, tg) for tg in list(backend.target_groups.values())]
            views = {tg.arn: GroupView.of(tg, frozenset(users.get(tg.arn, ()))) for _, tg in groups}
        self.health.sync(list(views.values()))
        with self._lock:
            self.groups = views
            closing = [server for arn, server in self.servers.items() if arn not in listeners]
            new = [(arn, parts) for arn, parts in listeners.items() if arn not in self.servers]
        for server in closing:
            server.shutdown()
            server.server_close()
            with self._lock:  # listed until closed: a client that no longer sees it gets refused
                self.servers.pop(server.listener.arn, None)
        for arn, (backend, lb, listener) in new:
            server = self._open(backend, lb, listener)
            with self._lock:
                self.servers[arn] = server
            server.thread.start()
            LOG.info("listener %s (%s:%s) serving %s", arn, lb.name, listener.port, server.local_url)

    def _open(self, backend: Any, lb: Any, listener: Any) -> ListenerServer:
        if self.port_base is not None:
            wanted = self.port_base + int(listener.port)
            if wanted <= 65535:
                try:
                    return ListenerServer(self, backend, lb, listener, wanted)
                except OSError:
                    LOG.warning("port %s taken; listener %s gets a free port", wanted, listener.arn)
        return ListenerServer(self, backend, lb, listener, 0)

    # -- used by the request handlers ------------------------------------------------------------
    def group_view(self, tg_arn: str) -> GroupView | None:
        return self.groups.get(tg_arn)

    def round_robin(self, tg_arn: str) -> itertools.count:
        counter = self._counters.get(tg_arn)
        if counter is None:
            with self._lock:
                counter = self._counters.setdefault(tg_arn, itertools.count())
        return counter

    def local_listener(self, lb_arn: str, aws_port: str) -> ListenerServer | None:
        with self._lock:
            return next((s for s in self.servers.values()
                         if s.lb.arn == lb_arn and str(s.listener.port) == str(aws_port)), None)

    def listeners(self) -> list[dict]:
        with self._lock:
            return [s.describe() for s in self.servers.values()]


def _forward_targets(action: dict) -> list[str]:
    if action.get("Type") != "forward":
        return []
    groups = [g["TargetGroupArn"] for g in (action.get("ForwardConfig") or {}).get("TargetGroups") or []]
    return groups or ([action["TargetGroupArn"]] if action.get("TargetGroupArn") else [])


ENGINE: Engine | None = None


def _listeners_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    if method != "GET":
        return 405, {"message": "use GET"}
    return 200, ENGINE.listeners() if ENGINE else []


def start() -> None:
    global ENGINE
    from localaws.patches._shared import control_route

    if ENGINE is None:
        ENGINE = Engine()
        control_route("/_localaws/dataplane/listeners", _listeners_route)
        ENGINE.start()


def stop() -> None:
    global ENGINE
    if ENGINE is not None:
        ENGINE.stop()
        ENGINE = None


def reset() -> None:
    if ENGINE is not None:
        ENGINE.reset()


def describe_target_health(target_group: Any, asked: list[dict] | None, moto_results: list[Any]) -> list[Any] | None:
    """DescribeTargetHealth from the real health checks, or None when the engine is not running."""
    if ENGINE is None:
        return None
    return ENGINE.health.describe(target_group, asked, moto_results)


dataplane.register_engine("alb", start, stop, reset)
