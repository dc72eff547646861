"""Item storage.

``ItemStore`` is the small interface the HTTP layer uses. Two implementations:

* ``MemoryItemStore`` (this module): PER PROCESS. Every worker process and
  every ECS task has its own copy, empty at start and lost on restart, so with
  it the server runs exactly one worker. For unit tests and local development.
* ``DynamoItemStore`` (``seedapi.store_dynamodb``): a DynamoDB table shared by
  every worker of every task; chosen when ``ITEMS_TABLE`` is set.

``store_from_config`` picks one; boto3 is imported only for the DynamoDB store.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from typing import Protocol


class StoreFull(Exception):
    pass


class StoreUnavailable(Exception):
    """The backing service failed (after the client's own retries)."""


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


def store_from_config(config) -> ItemStore:
    if config.items_table:
        from seedapi.store_dynamodb import DynamoItemStore

        return DynamoItemStore(config.items_table, config.max_items, config.aws_region)
    return MemoryItemStore(config.max_items)
