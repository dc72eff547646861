"""Helpers shared by the codedeploy, ecs and elbv2 patches (not a patch itself).

``LOCK`` serialises the API calls of the services the CodeDeploy engine touches
with the engine's background thread: moto's backends are plain dicts and
objects, and the engine mutates listeners, task sets and deployments while
requests read them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

LOCK = threading.RLock()


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
