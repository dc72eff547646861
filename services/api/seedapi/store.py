"""Item storage.

``ItemStore`` is the small interface the HTTP layer uses; ``MemoryItemStore``
is the only implementation. It is PER TASK (in fact per process): every ECS
task has its own independent copy, it is empty at start and lost on restart.
That is why gunicorn runs exactly one worker process (with threads).
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from typing import Protocol


class StoreFull(Exception):
    pass


class ItemStore(Protocol):
    def list(self, limit: int, offset: int) -> tuple[list[dict], int]: ...
    def get(self, item_id: int) -> dict | None: ...
    def create(self, fields: dict) -> dict: ...
    def replace(self, item_id: int, fields: dict) -> dict | None: ...
    def delete(self, item_id: int) -> bool: ...
    def count(self) -> int: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MemoryItemStore:
    """Thread-safe in-memory store; insertion order is list order."""

    def __init__(self, max_items: int = 10000):
        self._items: dict[int, dict] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._max = max_items

    def list(self, limit: int, offset: int) -> tuple[list[dict], int]:
        with self._lock:
            values = list(self._items.values())
        return [dict(v) for v in values[offset : offset + limit]], len(values)

    def get(self, item_id: int) -> dict | None:
        with self._lock:
            item = self._items.get(item_id)
            return dict(item) if item else None

    def create(self, fields: dict) -> dict:
        with self._lock:
            if len(self._items) >= self._max:
                raise StoreFull()
            now = _now()
            item = {
                "id": next(self._ids),
                **fields,
                "created_at": now,
                "updated_at": now,
            }
            self._items[item["id"]] = item
            return dict(item)

    def replace(self, item_id: int, fields: dict) -> dict | None:
        with self._lock:
            old = self._items.get(item_id)
            if old is None:
                return None
            item = {
                "id": item_id,
                **fields,
                "created_at": old["created_at"],
                "updated_at": _now(),
            }
            self._items[item_id] = item
            return dict(item)

    def delete(self, item_id: int) -> bool:
        with self._lock:
            return self._items.pop(item_id, None) is not None

    def count(self) -> int:
        with self._lock:
            return len(self._items)
