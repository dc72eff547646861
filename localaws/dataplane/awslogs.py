"""The awslogs log driver: a container's stdout/stderr as CloudWatch Logs events.

https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html:
the stream is ``<awslogs-stream-prefix>/<container name>/<task id>``; with
``awslogs-create-group: "true"`` the group is created, otherwise a missing group
keeps the task from starting (ResourceInitializationError). Events go straight
into moto's logs backend in this process (``put_log_events`` on the backend, so
anything that wraps it, such as metric filter evaluation, sees every line).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from localaws.dataplane.podman import popen

LOG = logging.getLogger("localaws.dataplane.awslogs")


class LogSetupError(RuntimeError):
    """The log group is missing; ``str()`` is the rest of ECS's ResourceInitializationError reason."""


def awslogs_target(definition: dict, task_id: str, account: str, default_region: str) -> tuple[Any, str, str] | None:
    """(logs backend, group, stream) for a container definition using awslogs, else None.

    Creates the group when ``awslogs-create-group`` is "true" and the stream always.
    """
    config = definition.get("logConfiguration") or {}
    if config.get("logDriver") != "awslogs":
        return None
    from moto.logs.models import logs_backends

    options = config.get("options") or {}
    group = options.get("awslogs-group")
    if not group:
        raise LogSetupError("failed to validate logger args: awslogs-group is required")
    region = options.get("awslogs-region") or default_region
    backend = logs_backends[account][region]
    if group not in backend.groups:
        if str(options.get("awslogs-create-group", "")).lower() != "true":
            raise LogSetupError(f"failed to validate logger args: The specified log group does not exist. "
                                f": ResourceNotFoundException: The specified log group does not exist. "
                                f"(log group {group})")
        backend.create_log_group(group, {})
    prefix = options.get("awslogs-stream-prefix")
    stream = f"{prefix}/{definition['name']}/{task_id}" if prefix else f"{definition['name']}/{task_id}"
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)
    return backend, group, stream


class LogFollower:
    """Follows ``podman logs -f`` of one container until it exits, shipping each line."""

    def __init__(self, container_id: str, backend: Any, group: str, stream: str, lock: Any):
        self.container_id = container_id
        self.backend, self.group, self.stream = backend, group, stream
        self.lock = lock
        self.thread = threading.Thread(target=self._run, name=f"awslogs-{stream}", daemon=True)
        self.lines = 0

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        import subprocess

        proc = popen("logs", "-f", self.container_id, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        for raw in proc.stdout:
            message = raw.decode("utf-8", "replace").rstrip("\n")
            if not message:
                continue
            self._put(message)
        proc.wait()

    def _put(self, message: str) -> None:
        event = {"timestamp": int(time.time() * 1000), "message": message}
        try:
            with self.lock:
                self.backend.put_log_events(self.group, self.stream, [event])
            self.lines += 1
        except Exception as exc:  # noqa: BLE001 - a deleted group (reset) ends shipping, not the task
            LOG.debug("awslogs %s/%s: %s", self.group, self.stream, exc)
