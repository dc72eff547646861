"""Process lifecycle state shared between the server's main process and its workers.

The state lives in an anonymous shared-memory integer (multiprocessing's heap, in
/dev/shm) created in the main process (seedapi/server.py, before the workers fork) and
inherited by the forked workers, so the main process's SIGTERM handler can flip
readiness for every worker at once.
"""

from __future__ import annotations

import multiprocessing

STARTING = 0
READY = 1
DRAINING = 2
_NAMES = {STARTING: "starting", READY: "ready", DRAINING: "draining"}


class Lifecycle:
    def __init__(self, shared: bool = False):
        if shared:
            self._value = multiprocessing.RawValue("i", STARTING)
        else:
            self._value = _Local()

    @property
    def state(self) -> str:
        return _NAMES[self._value.value]

    @property
    def ready(self) -> bool:
        return self._value.value == READY

    @property
    def draining(self) -> bool:
        return self._value.value == DRAINING

    def mark_ready(self) -> None:
        # never leave DRAINING: a worker respawned during drain stays unready
        if self._value.value == STARTING:
            self._value.value = READY

    def start_draining(self) -> None:
        self._value.value = DRAINING


class _Local:
    value = STARTING


_PROCESS_LIFECYCLE: Lifecycle | None = None


def process_lifecycle() -> Lifecycle:
    """The one shared Lifecycle of this server process and its workers."""
    global _PROCESS_LIFECYCLE
    if _PROCESS_LIFECYCLE is None:
        _PROCESS_LIFECYCLE = Lifecycle(shared=True)
    return _PROCESS_LIFECYCLE
