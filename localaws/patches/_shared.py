"""Helpers shared by the codedeploy, ecs, ecs_bluegreen and elbv2 patches (not a patch itself).

``LOCK`` serialises the API calls of the services the CodeDeploy engine touches
with the engine's background thread: moto's backends are plain dicts and
objects, and the engine mutates listeners, task sets and deployments while
requests read them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

LOCK = threading.RLock()
log = logging.getLogger(__name__)


class AwsError(JsonRESTError):
    """A JSON-protocol AWS error: ``AwsError("DeploymentGroupDoesNotExistException", "...")``."""

    code = 400

    def __init__(self, error_type: str, message: str, status: int = 400):
        super().__init__(error_type, message)
        self.code = status


def serialise_calls(*response_classes: type) -> None:
    """Run every API call of these moto response classes under :data:`LOCK` (idempotent)."""
    for cls in response_classes:
        if cls.__dict__.get("_localaws_locked"):
            continue
        original = cls.__dict__.get("call_action", BaseResponse.call_action)

        def call_action(self, _original=original):
            with LOCK:
                return _original(self)

        cls.call_action = call_action
        cls._localaws_locked = True


def control_route(path: str, handler: Callable[[str, dict, dict], tuple[int, Any]]) -> None:
    """Serve ``handler(method, query, json_body) -> (status, json)`` at ``path`` (see app.CONTROL_ROUTES)."""
    from localaws.app import CONTROL_ROUTES

    CONTROL_ROUTES[path] = handler


def parse_json(body: bytes) -> dict:
    if not body:
        return {}
    data = json.loads(body)
    if not isinstance(data, dict):
        raise TypeError("body must be a JSON object")
    return data


class Wait:
    """What a release engine's run waits for: ``minutes`` AWS minutes, or less once ``until()`` is true.
    The run's generator yields it and is sent whether the wait timed out (``until`` never held)."""

    def __init__(self, minutes: float, until: Callable[[], bool] | None = None, label: str = ""):
        self.minutes = minutes
        self.until = until
        self.label = label
        self.deadline = 0.0


class Ticker:
    """The background thread of an emulated release engine (CodeDeploy deployments, ECS service deployments):
    every ``interval`` seconds, under :data:`LOCK`, it reads the engine's clock and calls ``tick(now)`` on each run
    of ``runs`` (id -> run), dropping the runs that are ``finished``. A run whose tick raises is handed to
    ``crashed(run, exc)`` (which ends it) and logged; the thread itself never dies of it."""

    def __init__(self, name: str, runs: dict[str, Any], clock: Callable[[], float],
                 crashed: Callable[[Any, Exception], None], interval: float = 0.02) -> None:
        self.name, self.runs, self.clock, self.crashed, self.interval = name, runs, clock, crashed, interval
        self._thread: threading.Thread | None = None

    def ensure(self) -> None:
        """Start the thread unless it runs."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                with LOCK:
                    now = self.clock()
                    for ident, run in list(self.runs.items()):
                        try:
                            run.tick(now)
                        except Exception as exc:
                            log.exception("%s: run %s crashed", self.name, ident)
                            self.crashed(run, exc)
                        if run.finished:
                            self.runs.pop(ident, None)
            except Exception:
                log.exception("%s: ticker error", self.name)
