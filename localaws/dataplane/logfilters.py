"""CloudWatch Logs metric filters that publish: moto stores them, this applies them to log events.

moto's PutMetricFilter / DescribeMetricFilters only keep the filters; no event
is ever matched. Here every batch of events ingested into a log stream --
PutLogEvents from a client or the task runner's in-process writes, both end in
``LogStream.put_log_events`` -- goes through the metric filters of its log
group, and each transformation emits into CloudWatch (:func:`metrics.record_value`)
at the event's timestamp, after "Creating metrics from log events using filters"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html)
and the filter pattern syntax
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):

* ``metricValue``: a number, or ``$.field`` of a JSON event (events where it is
  missing or not a number emit nothing); ``dimensions``: ``{"Name": "$.field"}``;
  ``unit``.
* ``defaultValue``: "the value reported to the metric filter during a period
  when logs are ingested but no matching logs are found" -- emitted once for an
  AWS minute in which the group got events and none matched.
* Patterns: empty (every event); terms (``ERROR``, ``"exact phrase"``, all must
  appear; ``?A ?B`` any of; ``-term`` must not appear; case-sensitive as AWS);
  JSON (``{ $.level = "error" }``, ``{ $.status >= 500 }``; ``=``/``!=`` with
  strings (``*`` wildcard) or numbers, ``<`` ``>`` ``<=`` ``>=`` with numbers,
  ``IS TRUE|FALSE|NULL``, ``NOT EXISTS``, ``&&``, ``||``, parentheses, nested
  ``$.a.b[0]`` selectors).

Not supported (the filter then matches nothing and the server log says so):
space-delimited patterns (``[ip, user, ...]``) and regular expressions (``%...%``).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from localaws.dataplane import metrics

log = logging.getLogger("localaws.dataplane.logfilters")

_MISSING = object()
Matcher = Callable[[str, Any], bool]  # (message, parsed JSON or _MISSING) -> matches


class PatternError(ValueError):
    pass


# -- JSON patterns -----------------------------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\)|\{|\})
  | (?P<sel>\$(?:\.[A-Za-z0-9_\-@$*]+|\[\d+\])*)
  | (?P<word>[^\s=!<>(){}&|"]+)
)""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise PatternError(f"cannot read the filter pattern at {text[pos:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _select(document: Any, selector: str) -> Any:
    value = document
    for part in re.findall(r"\.([^.\[]+)|\[(\d+)\]", selector[1:]):
        name, idx = part
        if name:
            if not isinstance(value, dict) or name not in value:
                return _MISSING
            value = value[name]
        else:
            if not isinstance(value, list) or int(idx) >= len(value):
                return _MISSING
            value = value[int(idx)]
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _condition(selector: str, op: str, operand: tuple[str, str]) -> Callable[[Any], bool]:
    kind, raw = operand
    if kind == "str":
        text: str | None = json.loads(raw)
        num = None
    else:
        text = raw
        num = _number(raw)
    if op in ("<", ">", "<=", ">="):
        if num is None:
            raise PatternError(f"{selector} {op} needs a number, got {raw}")
        cmp = {"<": float.__lt__, ">": float.__gt__, "<=": float.__le__, ">=": float.__ge__}[op]

        def numeric(doc: Any) -> bool:
            value = _number(_select(doc, selector))
            return value is not None and cmp(value, num)

        return numeric

    def equal(doc: Any) -> bool:
        value = _select(doc, selector)
        if value is _MISSING or isinstance(value, dict | list):
            return False
        if num is not None and kind != "str":
            got = _number(value)
            same = got is not None and got == num
        else:
            shown = value if isinstance(value, str) else json.dumps(value)
            same = fnmatch.fnmatchcase(shown, text or "") if "*" in (text or "") else shown == text
        return same if op == "=" else not same

    return equal


class _JsonParser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise PatternError("the filter pattern ends too early")
        self.pos += 1
        return token

    def expr(self) -> Callable[[Any], bool]:
        parts = [self.conj()]
        while self.peek() == ("op", "||"):
            self.take()
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else (lambda doc: any(p(doc) for p in parts))

    def conj(self) -> Callable[[Any], bool]:
        parts = [self.atom()]
        while self.peek() == ("op", "&&"):
            self.take()
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else (lambda doc: all(p(doc) for p in parts))

    def atom(self) -> Callable[[Any], bool]:
        kind, value = self.take()
        if (kind, value) == ("op", "("):
            inner = self.expr()
            if self.take() != ("op", ")"):
                raise PatternError("missing ')' in the filter pattern")
            return inner
        if kind != "sel":
            raise PatternError(f"expected a $.selector, got {value!r}")
        selector = value
        nxt = self.take()
        if nxt[0] == "word" and nxt[1].upper() == "IS":
            what = self.take()[1].upper()
            expected = {"TRUE": True, "FALSE": False, "NULL": None}
            if what not in expected:
                raise PatternError(f"IS {what}: expected TRUE, FALSE or NULL")
            return lambda doc: (_select(doc, selector) is expected[what]
                                if what != "NULL" else _select(doc, selector) is None)
        if nxt[0] == "word" and nxt[1].upper() == "NOT":
            if self.take()[1].upper() != "EXISTS":
                raise PatternError("expected NOT EXISTS")
            return lambda doc: _select(doc, selector) is _MISSING
        if nxt[0] != "op" or nxt[1] not in ("=", "!=", "<", ">", "<=", ">="):
            raise PatternError(f"expected a comparison after {selector}")
        return _condition(selector, nxt[1], self.take())


def _json_matcher(pattern: str) -> Matcher:
    tokens = _tokens(pattern)
    if not tokens or tokens[0] != ("op", "{") or tokens[-1] != ("op", "}"):
        raise PatternError("a JSON filter pattern is enclosed in { }")
    parser = _JsonParser(tokens[1:-1])
    test = parser.expr()
    if parser.peek() is not None:
        raise PatternError(f"unexpected {parser.peek()[1]!r} in the filter pattern")
    return lambda message, doc: doc is not _MISSING and test(doc)


# -- term patterns ---------------------------------------------------------------------------------

def _term_matcher(pattern: str) -> Matcher:
    terms = re.findall(r'([?-]?)("(?:[^"\\]|\\.)*"|\S+)', pattern)
    required, optional, excluded = [], [], []
    for prefix, term in terms:
        text = json.loads(term) if term.startswith('"') else term
        {"": required, "?": optional, "-": excluded}[prefix].append(text)

    def match(message: str, _doc: Any) -> bool:
        if any(t in message for t in excluded):
            return False
        if optional and not any(t in message for t in optional):
            return False
        return all(t in message for t in required)

    return match


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Matcher:
    """A matcher for a filter pattern; raises :class:`PatternError` for what is not supported."""
    text = (pattern or "").strip()
    if not text:
        return lambda message, doc: True
    if text.startswith("{"):
        return _json_matcher(text)
    if text.startswith("[") or (text.startswith("%") and text.endswith("%")):
        raise PatternError("space-delimited and regular-expression filter patterns are not emulated")
    return _term_matcher(text)


def _safe_matcher(pattern: str) -> Matcher | None:
    try:
        return compile_pattern(pattern)
    except PatternError as exc:
        _warn_once(pattern, str(exc))
        return None


_warned: set[str] = set()


def _warn_once(pattern: str, message: str) -> None:
    if pattern not in _warned:
        _warned.add(pattern)
        log.warning("localaws logs: metric filter pattern %r not applied: %s", pattern, message)


# -- applying filters to ingested events ------------------------------------------------------------

def _parse(message: str) -> Any:
    text = message.strip()
    if not text.startswith("{"):
        return _MISSING
    try:
        return json.loads(text)
    except ValueError:
        return _MISSING


def _transformation_value(transformation: dict, doc: Any) -> float | None:
    raw = str(transformation.get("metricValue", "1")).strip()
    if raw.startswith("$"):
        return None if doc is _MISSING else _number(_select(doc, raw))
    return _number(raw)


def _dimensions(transformation: dict, doc: Any) -> metrics.Dims | None:
    dims = transformation.get("dimensions") or {}
    out = []
    for name, selector in sorted(dims.items()):
        value = _select(doc, selector) if doc is not _MISSING and str(selector).startswith("$") else _MISSING
        if value is _MISSING or value is None:
            return None
        out.append((name, value if isinstance(value, str) else json.dumps(value)))
    return tuple(out)


def apply_filters(account: str, region: str, filters: list[dict], events: list[dict]) -> int:
    """Emit the metric values of ``filters`` for ``events`` ({timestamp ms, message}); returns matches."""
    matches = 0
    for metric_filter in filters:
        matcher = _safe_matcher(metric_filter.get("filterPattern", ""))
        if matcher is None:
            continue
        unmatched_minutes: dict[int, float] = {}
        matched_minutes: set[int] = set()
        for event in events:
            doc = _parse(event["message"])
            stamp = event["timestamp"] / 1000.0
            minute = metrics.minute_index(stamp)
            if not matcher(event["message"], doc):
                unmatched_minutes.setdefault(minute, stamp)
                continue
            matched_minutes.add(minute)
            matches += 1
            for transformation in metric_filter.get("metricTransformations") or []:
                value = _transformation_value(transformation, doc)
                dims = _dimensions(transformation, doc)
                if value is None or dims is None:
                    continue
                metrics.record_value(account, region, transformation["metricNamespace"],
                                     transformation["metricName"], dims, value, stamp, transformation.get("unit"))
        for minute, stamp in unmatched_minutes.items():
            if minute in matched_minutes:
                continue
            for transformation in metric_filter.get("metricTransformations") or []:
                default = transformation.get("defaultValue")
                if default is not None and not transformation.get("dimensions"):
                    metrics.record_value(account, region, transformation["metricNamespace"],
                                         transformation["metricName"], (), float(default), stamp,
                                         transformation.get("unit"))
    return matches


_install_lock = threading.Lock()


def install() -> None:
    """Hook moto's LogStream.put_log_events (idempotent)."""
    from moto.logs.models import LogStream, logs_backends

    with _install_lock:
        original = LogStream.put_log_events
        if getattr(original, "_localaws_dataplane", False):
            return

        def put_log_events(self, log_events):
            token = original(self, log_events)
            try:
                backend = logs_backends[self.account_id][self.region]
                filters = backend.filters.get_matching_filters(log_group_name=self.log_group.name)
                if filters and log_events:
                    apply_filters(self.account_id, self.region, filters, log_events)
            except Exception:  # a metric filter must never fail the ingestion itself
                log.exception("localaws logs: applying metric filters of %s failed", self.log_group.name)
            return token

        put_log_events._localaws_dataplane = True
        LogStream.put_log_events = put_log_events
