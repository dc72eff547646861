"""The local endpoint's data plane: engines that make deployed resources serve real traffic.

Off by default: the endpoint is then the control plane only (moto plus the
patches), fast and without background work. ``LOCALAWS_DATAPLANE=1`` switches
it on; ``localaws/server.py`` then calls :func:`start_all` once the WSGI app is
built, and :func:`stop_all` on shutdown. ``POST /moto-api/reset`` calls
:func:`reset_all` (through ``localaws.patches.reset_all``).

Each engine module (``alb``, ``tasks``, ``metrics``, ...) registers itself when
imported with :func:`register_engine`; :func:`start_all` imports the modules
listed in :data:`ENGINE_MODULES` that exist and starts what they registered,
in that order; ``LOCALAWS_DATAPLANE_ENGINES=alb,tasks`` runs only those.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

LOG = logging.getLogger("localaws.dataplane")

# Imported by start_all, in this order; a module that is not there is skipped, so each
# engine works without the others.
ENGINE_MODULES = ("metrics", "tasks", "alb", "autoscaling")


@dataclass(frozen=True)
class Engine:
    name: str
    start: Callable[[], None]
    stop: Callable[[], None]
    reset: Callable[[], None]


_ENGINES: dict[str, Engine] = {}
_STARTED: list[str] = []
_LOCK = threading.Lock()


def enabled() -> bool:
    """True when ``LOCALAWS_DATAPLANE`` is set to 1/true/yes/on."""
    return os.environ.get("LOCALAWS_DATAPLANE", "").strip().lower() in ("1", "true", "yes", "on")


def register_engine(name: str, start: Callable[[], None], stop: Callable[[], None],
                    reset: Callable[[], None]) -> None:
    """Make an engine known; registering a name again replaces it (module reloads)."""
    with _LOCK:
        _ENGINES[name] = Engine(name, start, stop, reset)


def selected() -> tuple[str, ...]:
    """The engine modules to run: ``LOCALAWS_DATAPLANE_ENGINES=alb,tasks`` or all of them."""
    wanted = [n.strip() for n in os.environ.get("LOCALAWS_DATAPLANE_ENGINES", "").split(",") if n.strip()]
    return tuple(n for n in ENGINE_MODULES if n in wanted) if wanted else ENGINE_MODULES


def _import_engines() -> None:
    for name in selected():
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise


def start_all() -> None:
    """Import the engine modules and start every registered engine not running yet."""
    _import_engines()
    names = selected()
    with _LOCK:
        engines = [e for e in _ENGINES.values() if e.name not in _STARTED and e.name in names]
    for engine in engines:
        engine.start()
        with _LOCK:
            _STARTED.append(engine.name)
        LOG.info("data plane engine %s started", engine.name)


def stop_all() -> None:
    """Stop the running engines, last started first."""
    with _LOCK:
        running = [_ENGINES[name] for name in reversed(_STARTED) if name in _ENGINES]
        _STARTED.clear()
    for engine in running:
        try:
            engine.stop()
        except Exception:  # one engine failing to stop must not keep the others running
            LOG.exception("data plane engine %s failed to stop", engine.name)


def reset_all() -> None:
    """Forget the state of every running engine (``/moto-api/reset``); a no-op when none runs."""
    with _LOCK:
        running = [_ENGINES[name] for name in _STARTED if name in _ENGINES]
    for engine in running:
        engine.reset()


def running(name: str) -> bool:
    with _LOCK:
        return name in _STARTED
