"""AWS X-Ray: finding the traces that PutTraceSegments stored.

moto stores segment documents (PutTraceSegments) and returns them by trace id (BatchGetTraces), but its
GetTraceSummaries answers every summary with empty ``Http``, ``Annotations`` and ``ServiceIds``, a whole-second
``Duration`` and a ``ResponseTime`` of 1, counts ``"error": false`` as an error, keeps only the traces that both
start and end strictly inside the time range, and fails any ``FilterExpression`` with an HTTP 500
(``InternalFailure``, which botocore retries). This patch answers GetTraceSummaries and BatchGetTraces after the
API reference (https://docs.aws.amazon.com/xray/latest/api/API_GetTraceSummaries.html, ``TraceSummary``,
``BatchGetTraces``) and the filter expression language
(https://docs.aws.amazon.com/xray/latest/devguide/xray-console-filters.html):

* a summary per trace: ``StartTime`` (earliest segment start), ``Duration`` (to the last segment end),
  ``ResponseTime`` (the root segment's), ``HasError``/``HasFault`` (the root segment's flags), ``HasThrottle``
  (any segment's), ``IsPartial`` (a segment in progress), ``Http`` (the root segment's request and response),
  ``Annotations`` (every segment's, with the service that recorded them), ``Users``, ``ServiceIds`` and
  ``EntryPoint`` (segment name and ``origin`` as the service's type), ``Revision`` (the segments received);
* the time range by ``TimeRangeType``: ``TraceId`` (the default: the epoch seconds in the trace id, the
  original request's start), ``Event`` (when a segment of the trace was last received) or ``Service`` (a
  segment's end time), both ends inclusive;
* ``FilterExpression``: boolean keywords ``ok``, ``error``, ``fault``, ``throttle``, ``partial`` (alone, negated
  with ``!``, or ``= true|false``); number keywords ``responsetime``, ``duration``, ``http.status``; string
  keywords ``http.url``, ``http.method``, ``http.useragent``, ``http.clientip``, ``user`` with ``=``, ``!=``,
  ``CONTAINS``, ``BEGINSWITH``, ``ENDSWITH``; ``annotation.<key>`` (or ``annotation[<key>]``) with the operators
  of its value's type; ``service("name") { filter }`` (name optional, or ``id(name: "...", type: "...")``);
  ``AND``, ``OR`` (``&&``, ``||``), ``!``, parentheses, and adjacent terms joined by AND (``ok !partial``).
  ``edge()``, ``group``, ``json``, ``rootcause`` and the other keywords are refused with
  ``InvalidRequestException`` naming the keyword, as is a malformed expression;
* a segment sent again with the same id (an in-progress segment, then the complete one) replaces the first;
* BatchGetTraces: every stored trace, in progress or not, with its id, ``Duration`` in fractional seconds and
  ``LimitExceeded: false``.

Not emulated: pagination (every match in one page, no ``NextToken``), ``Sampling``/``SamplingStrategy`` (ignored),
root causes, subsegments sent as documents of their own (``"type": "subsegment"``: moto refuses them), and the
24-hour limit on the time range.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from localaws.patches._shared import AwsError

_PATCHED = "_localaws_xray"
# moto's segment store is a dict of lists that PutTraceSegments changes while readers iterate it.
_LOCK = threading.RLock()
TIME_RANGE_TYPES = ("TraceId", "Event", "Service")


def apply() -> None:
    from moto.xray.models import SegmentCollection
    from moto.xray.responses import XRayResponse

    if getattr(XRayResponse, _PATCHED, False):
        return
    original_put = SegmentCollection.put_segment

    def put_segment(self, segment):
        with _LOCK:
            trace = self._traces[segment.trace_id]
            trace["segments"] = [s for s in trace["segments"] if s.id != segment.id]
            original_put(self, segment)
            trace["trace_id"] = segment.trace_id  # moto sets it only once the trace is complete
            trace["updated"] = time.time()
            trace["revision"] = trace.get("revision", 0) + 1

    def trace_summaries(self):
        params = self.request_params
        start, end = _timestamp(params, "StartTime"), _timestamp(params, "EndTime")
        if end < start:
            raise AwsError("InvalidRequestException", "EndTime must not be before StartTime")
        kind = params.get("TimeRangeType") or "TraceId"
        if kind not in TIME_RANGE_TYPES:
            raise AwsError("InvalidRequestException", f"TimeRangeType must be one of {', '.join(TIME_RANGE_TYPES)}")
        expression = params.get("FilterExpression")
        matches = compile_filter(expression) if expression else None
        with _LOCK:
            traces = [Trace(tid, list(t["segments"]), t.get("updated", 0.0), t.get("revision", 0))
                      for tid, t in self.xray_backend._segment_collection._traces.items() if t["segments"]]
        scanned = [t for t in traces if t.in_range(kind, start, end)]
        summaries = [t.summary() for t in sorted(scanned, key=lambda t: t.start) if matches is None or matches(t)]
        return json.dumps({"TraceSummaries": summaries, "ApproximateTime": time.time(),
                           "TracesProcessedCount": len(scanned)})

    def traces(self):
        ids = self.request_params.get("TraceIds") or []
        found, missing = [], []
        with _LOCK:
            stored = self.xray_backend._segment_collection._traces
            for tid in ids:
                segments = list(stored[tid]["segments"]) if tid in stored else []
                if not segments:
                    missing.append(tid)
                    continue
                trace = Trace(tid, segments, 0.0, 0)
                found.append({"Id": tid, "Duration": trace.duration, "LimitExceeded": False,
                              "Segments": [{"Id": s.id, "Document": s.raw} for s in segments]})
        return json.dumps({"Traces": found, "UnprocessedTraceIds": missing})

    SegmentCollection.put_segment = put_segment
    XRayResponse.trace_summaries = trace_summaries
    XRayResponse.traces = traces
    setattr(XRayResponse, _PATCHED, True)


def _timestamp(params: dict, name: str) -> float:
    """A request timestamp: botocore sends epoch seconds (rest-json's default); ISO 8601 taken too."""
    value = params.get(name)
    if value is None:
        raise AwsError("InvalidRequestException", f"{name} is required")
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        raise AwsError("InvalidRequestException", f"{name} is not a timestamp: {value!r}") from None


# -- the traces -------------------------------------------------------------------------------------------------
def _service_id(segment) -> dict[str, Any]:
    service = {"Name": segment.name, "Names": [segment.name]}
    if segment.origin:
        service["Type"] = segment.origin
    return service


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BooleanValue": value}
    if isinstance(value, int | float):
        return {"NumberValue": value}
    return {"StringValue": str(value)}


class Trace:
    """A stored trace, as GetTraceSummaries and filter expressions see it."""

    def __init__(self, trace_id: str, segments: list, updated: float, revision: int):
        self.id = trace_id
        self.segments = segments
        self.updated = updated
        self.revision = revision
        ids = {s.id for s in segments}
        # the root: the earliest segment whose parent is not in the trace (none, or a caller that is not traced)
        roots = [s for s in segments if not s.parent_id or s.parent_id not in ids] or segments
        self.root = min(roots, key=lambda s: s.start_time)
        self.start = min(s.start_time for s in segments)
        ends = [s.end_time for s in segments if s.end_time is not None]
        self.end = max(ends) if ends else self.start

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 6)

    @property
    def response_time(self) -> float:
        return round((self.root.end_time or self.root.start_time) - self.root.start_time, 6)

    @property
    def partial(self) -> bool:
        return any(s.in_progress is True or s.end_time is None for s in self.segments)

    def flag(self, name: str) -> bool:
        if name == "throttle":
            return any(s.misc.get("throttle") is True for s in self.segments)
        return self.root.misc.get(name) is True

    def http(self, segment=None) -> dict[str, Any]:
        http = (segment or self.root).http or {}
        request, response = http.get("request") or {}, http.get("response") or {}
        fields = {"HttpURL": request.get("url"), "HttpMethod": request.get("method"),
                  "UserAgent": request.get("user_agent"), "ClientIp": request.get("client_ip"),
                  "HttpStatus": response.get("status")}
        return {k: v for k, v in fields.items() if v is not None}

    def annotations(self, key: str) -> list[Any]:
        return [s.annotations[key] for s in self.segments if isinstance(s.annotations, dict) and key in s.annotations]

    def in_range(self, kind: str, start: float, end: float) -> bool:
        if kind == "TraceId":
            try:
                seconds = int(self.id.split("-")[1], 16)
            except (IndexError, ValueError):
                return False
            # the id holds whole seconds: a request in the range's first second has the second before its start
            return math.floor(start) <= seconds <= end
        if kind == "Event":
            return start <= self.updated <= end
        return any(s.end_time is not None and start <= s.end_time <= end for s in self.segments)

    def summary(self) -> dict[str, Any]:
        annotations: dict[str, list[dict]] = {}
        users: dict[str, list[dict]] = {}
        services: list[dict] = []
        for segment in self.segments:
            service = _service_id(segment)
            if service not in services:
                services.append(service)
            for key, value in (segment.annotations or {}).items():
                entries = annotations.setdefault(key, [])
                entry = next((e for e in entries if e["AnnotationValue"] == _typed(value)), None)
                if entry is None:
                    entries.append({"AnnotationValue": _typed(value), "ServiceIds": [service]})
                elif service not in entry["ServiceIds"]:
                    entry["ServiceIds"].append(service)
            if segment.user:
                ids = users.setdefault(str(segment.user), [])
                if service not in ids:
                    ids.append(service)
        return {
            "Id": self.id, "StartTime": self.start, "Duration": self.duration, "ResponseTime": self.response_time,
            "HasFault": self.flag("fault"), "HasError": self.flag("error"), "HasThrottle": self.flag("throttle"),
            "IsPartial": self.partial, "Http": self.http(), "Annotations": annotations,
            "Users": [{"UserName": name, "ServiceIds": ids} for name, ids in users.items()],
            "ServiceIds": services, "EntryPoint": _service_id(self.root), "ResourceARNs": [], "InstanceIds": [],
            "AvailabilityZones": [], "Revision": self.revision,
        }

    def for_service(self, segment) -> Trace:
        """The trace seen from one service's segment (``service(...) { filter }``): its flags, HTTP and times."""
        return Trace(self.id, [segment], self.updated, self.revision)


# -- filter expressions ---------------------------------------------------------------------------------------
Predicate = Callable[[Trace], bool]
_TOKEN = re.compile(r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)|"""
                    r"""(?P<op>&&|\|\||<=|>=|!=|=|<|>|!|\(|\)|\{|\}|,|:)|"""
                    r"""(?P<word>[A-Za-z_][A-Za-z0-9_.\-]*(?:\[[A-Za-z0-9_.\-]+\])?))""")
BOOLEAN_KEYWORDS = ("ok", "error", "fault", "throttle", "partial")
NUMBER_KEYWORDS = ("responsetime", "duration", "http.status")
STRING_KEYWORDS = ("http.url", "http.method", "http.useragent", "http.clientip", "user")
STRING_OPERATORS = ("=", "!=", "CONTAINS", "BEGINSWITH", "ENDSWITH")
NUMBER_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")


class FilterError(ValueError):
    pass


def compile_filter(expression: str) -> Predicate:
    """The predicate of a filter expression, or InvalidRequestException saying what is wrong or not emulated."""
    try:
        return _Parser(expression).parse()
    except FilterError as exc:
        raise AwsError("InvalidRequestException", f"Invalid filter expression {expression!r}: {exc}") from None


def _tokens(expression: str) -> list[tuple[str, Any]]:
    tokens, position = [], 0
    expression = expression.rstrip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise FilterError(f"unexpected text at {expression[position:position + 20]!r}")
        position = match.end()
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "string":
            tokens.append(("value", json.loads(text)))
        elif kind == "number":
            tokens.append(("value", float(text)))
        elif kind == "op":
            tokens.append(("op", text))
        elif text.upper() in ("AND", "OR", "CONTAINS", "BEGINSWITH", "ENDSWITH"):
            tokens.append(("op", text.upper()))
        elif text in ("true", "false"):
            tokens.append(("value", text == "true"))
        else:
            tokens.append(("word", text))
    return tokens


def _compare(actual: Any, operator: str, wanted: Any) -> bool:
    if actual is None:
        return False
    if isinstance(wanted, bool) or isinstance(actual, bool):
        if operator not in ("=", "!="):
            raise FilterError(f"{operator} does not compare booleans")
        return (actual == wanted) == (operator == "=")
    if isinstance(wanted, float):
        if not isinstance(actual, int | float):
            return False
        return {"=": actual == wanted, "!=": actual != wanted, "<": actual < wanted, "<=": actual <= wanted,
                ">": actual > wanted, ">=": actual >= wanted}[operator]
    actual = str(actual)
    return {"=": actual == wanted, "!=": actual != wanted, "CONTAINS": wanted in actual,
            "BEGINSWITH": actual.startswith(wanted), "ENDSWITH": actual.endswith(wanted)}[operator]


class _Parser:
    """expression := conjunction (OR conjunction)*; conjunction := unary ((AND)? unary)*;
    unary := ! unary | ( expression ) | term."""

    def __init__(self, expression: str):
        self.tokens = _tokens(expression)
        self.position = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise FilterError("unexpected end of the expression")
        self.position += 1
        return token

    def expect(self, op: str) -> None:
        token = self.take()
        if token != ("op", op):
            raise FilterError(f"expected {op!r}, found {token[1]!r}")

    def parse(self) -> Predicate:
        predicate = self.expression()
        if self.peek() is not None:
            raise FilterError(f"unexpected {self.peek()[1]!r}")
        return predicate

    def expression(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek() in (("op", "OR"), ("op", "||")):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda t: any(p(t) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while True:
            token = self.peek()
            if token in (("op", "AND"), ("op", "&&")):
                self.take()
            elif token is None or token in (("op", "OR"), ("op", "||"), ("op", ")"), ("op", "}")):
                break
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda t: all(p(t) for p in parts))

    def unary(self) -> Predicate:
        token = self.peek()
        if token == ("op", "!"):
            self.take()
            inner = self.unary()
            return lambda t: not inner(t)
        if token == ("op", "("):
            self.take()
            inner = self.expression()
            self.expect(")")
            return inner
        return self.term()

    def operator_and_value(self, operators: tuple[str, ...], keyword: str) -> tuple[str, Any]:
        kind, operator = self.take()
        if kind != "op" or operator not in operators:
            raise FilterError(f"{keyword} takes the operators {', '.join(operators)}, not {operator!r}")
        kind, value = self.take()
        if kind != "value":
            raise FilterError(f"{keyword} {operator} needs a value, found {value!r}")
        return operator, value

    def term(self) -> Predicate:
        kind, word = self.take()
        if kind != "word":
            raise FilterError(f"expected a keyword, found {word!r}")
        if word in BOOLEAN_KEYWORDS:
            return self.boolean(word)
        if word in NUMBER_KEYWORDS:
            operator, value = self.operator_and_value(NUMBER_OPERATORS, word)
            if not isinstance(value, float):
                raise FilterError(f"{word} compares with a number")
            return lambda t: _compare(_number(t, word), operator, value)
        if word in STRING_KEYWORDS:
            operator, value = self.operator_and_value(STRING_OPERATORS, word)
            if not isinstance(value, str):
                raise FilterError(f"{word} compares with a quoted string")
            if word == "user":
                return lambda t: any(_compare(s.user, operator, value) for s in t.segments)
            field = {"http.url": "HttpURL", "http.method": "HttpMethod", "http.useragent": "UserAgent",
                     "http.clientip": "ClientIp"}[word]
            return lambda t: _compare(t.http().get(field), operator, value)
        key = _annotation_key(word)
        if key is not None:
            operator, value = self.operator_and_value(tuple(dict.fromkeys(NUMBER_OPERATORS + STRING_OPERATORS)), word)
            if isinstance(value, str) and operator not in STRING_OPERATORS:
                raise FilterError(f"{operator} does not compare strings")
            if not isinstance(value, str) and operator not in NUMBER_OPERATORS:
                raise FilterError(f"{operator} compares strings only")
            return lambda t: any(_compare(v, operator, value) for v in t.annotations(key))
        if word == "service":
            return self.service()
        raise FilterError(f"the keyword {word!r} is not emulated by the local endpoint (or not X-Ray's)")

    def boolean(self, word: str) -> Predicate:
        token = self.peek()
        wanted = True
        if token in (("op", "="), ("op", "!=")):
            self.take()
            kind, value = self.take()
            if kind != "value" or not isinstance(value, bool):
                raise FilterError(f"{word} compares with true or false")
            wanted = value if token[1] == "=" else not value
        return lambda t: _boolean(t, word) == wanted

    def service(self) -> Predicate:
        self.expect("(")
        name, kind = None, None
        token = self.take()
        if token == ("word", "id"):
            name, kind = self.service_id()
            self.expect(")")
        elif token[0] == "value" and isinstance(token[1], str):
            name = token[1]
            self.expect(")")
        elif token != ("op", ")"):
            raise FilterError(f"service() takes a quoted name or id(...), found {token[1]!r}")
        inner: Predicate | None = None
        if self.peek() == ("op", "{"):
            self.take()
            inner = self.expression()
            self.expect("}")

        def matches(trace: Trace) -> bool:
            for segment in trace.segments:
                if ((name is None or segment.name == name) and (kind is None or segment.origin == kind)
                        and (inner is None or inner(trace.for_service(segment)))):
                    return True
            return False

        return matches

    def service_id(self) -> tuple[str | None, str | None]:
        self.expect("(")
        fields: dict[str, str] = {}
        while self.peek() != ("op", ")"):
            kind, field = self.take()
            if kind != "word" or field not in ("name", "type"):
                raise FilterError(f"id() takes name: and type:, found {field!r}")
            self.expect(":")
            kind, value = self.take()
            if kind != "value" or not isinstance(value, str):
                raise FilterError(f"id({field}: ...) needs a quoted string")
            fields[field] = value
            if self.peek() == ("op", ","):
                self.take()
        self.take()
        return fields.get("name"), fields.get("type")


def _annotation_key(word: str) -> str | None:
    if word.startswith("annotation.") and len(word) > len("annotation."):
        return word[len("annotation."):]
    match = re.fullmatch(r"annotation\[([A-Za-z0-9_.\-]+)\]", word)
    return match.group(1) if match else None


def _number(trace: Trace, keyword: str) -> float | None:
    if keyword == "duration":
        return trace.duration
    if keyword == "responsetime":
        return trace.response_time
    return trace.http().get("HttpStatus")


def _boolean(trace: Trace, keyword: str) -> bool:
    if keyword == "partial":
        return trace.partial
    if keyword == "ok":
        status = trace.http().get("HttpStatus")
        if status is not None:
            return 200 <= int(status) < 300
        return not (trace.flag("error") or trace.flag("fault") or trace.flag("throttle"))
    return trace.flag(keyword)
