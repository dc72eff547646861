"""Round-trip latency: ``LOCALAWS_LATENCY_MS=40`` delays every AWS call by 40 ms before it is answered.

AWS answers a call in an in-region round trip of tens of milliseconds; the local endpoint answers in about one.
A converge whose cost is its Python and not its calls looks the same either way, so the benchmarks
(``make bench``) report their figures at 0 and at a realistic latency: the ratio users feel on AWS is the latter.
``GET/POST /_localaws/latency`` reads or sets it at run time (``{"ms": 40}``). Control routes, the health check
and moto's own API are not delayed; faulted calls are (a throttled call costs its round trip too).
"""

from __future__ import annotations

import os
import time
from typing import Any


def _env_ms() -> float:
    try:
        return max(float(os.environ.get("LOCALAWS_LATENCY_MS", "0") or 0), 0.0)
    except ValueError:
        return 0.0


class _Settings:
    def __init__(self) -> None:
        self.ms = _env_ms()


SETTINGS = _Settings()


def delay() -> None:
    """Wait the configured latency (nothing at 0)."""
    if SETTINGS.ms > 0:
        time.sleep(SETTINGS.ms / 1000.0)


def control(method: str, query: dict, body: dict) -> tuple[int, Any]:
    if method == "POST":
        ms = float(body.get("ms", SETTINGS.ms))
        if not 0 <= ms <= 60000:
            raise ValueError("ms must be between 0 and 60000")
        SETTINGS.ms = ms
    elif method != "GET":
        return 405, {"message": "GET or POST"}
    return 200, {"ms": SETTINGS.ms}


def reset() -> None:
    """Back to the environment's setting (moto's reset)."""
    SETTINGS.ms = _env_ms()
