"""JSON logging: one JSON object per line on stdout.

Two paths write the same shape (``ts``, ``level``, ``logger``, ``msg``, then the fields):
``JsonFormatter`` for the logging module (startup, errors), and ``access_line`` for the one
line per request, which skips the logging machinery (record, handler lock, formatter walk
over the record's attributes): through it the access log costs a few microseconds, not a
third of the API's throughput (bench/services/run.sh).
"""

from __future__ import annotations

import json
import logging
import sys
import time

_STD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
_encode = json.JSONEncoder(default=str, separators=(",", ":")).encode
_second = [-1, ""]  # the last whole second formatted, and its text


def iso_ts(now: float) -> str:
    """``2026-12-02T15:29:38.519Z`` (UTC, milliseconds); the second is formatted once."""
    sec = int(now)
    if sec != _second[0]:
        _second[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _second[0] = sec
    return f"{_second[1]}.{int((now - sec) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": iso_ts(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return _encode(doc)


def access_line(logger: logging.Logger, msg: str, fields: dict) -> None:
    """One INFO line of ``logger`` with ``fields``, when the logger is enabled for INFO."""
    if not logger.isEnabledFor(logging.INFO):
        return
    doc = {"ts": iso_ts(time.time()), "level": "info", "logger": logger.name, "msg": msg}
    doc.update(fields)
    out = sys.stdout
    out.write(_encode(doc) + "\n")
    out.flush()


def setup_logging(level: str) -> None:
    root = logging.getLogger("seedapi")
    root.setLevel(level)
    if not any(getattr(h, "_seedapi", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler._seedapi = True
        root.addHandler(handler)
    root.propagate = False
