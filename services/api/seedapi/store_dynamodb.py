"""Items in a DynamoDB table shared by every worker of every task.

Table layout (the stack's data role creates it with this key schema):

* partition key ``pk`` (S), sort key ``id`` (N);
* items: ``pk = "item"``, ``id`` = the item id; one partition, so a Query
  returns them in id order, which is creation order (the list order of the
  in-memory store);
* ``pk = "meta", id = 0``: ``next_id``, the id counter (atomic ``ADD``);
* ``pk = "meta", id = 1``: ``items``, the number of items, changed in the same
  transaction as the item itself so ``MAX_ITEMS`` holds across tasks.

Calls used (and so the task role's permissions): GetItem, UpdateItem, Query,
TransactWriteItems (authorised as PutItem / UpdateItem / DeleteItem per item:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).

Reads are strongly consistent: a client that created an item through one task
reads it back through any other.
"""

from __future__ import annotations

import random
import time

import boto3
import botocore.config
import botocore.exceptions

from seedapi.store import StoreFull, StoreUnavailable, _now

ITEM_PK = "item"
META_PK = "meta"
NEXT_ID_KEY = {"pk": {"S": META_PK}, "id": {"N": "0"}}
COUNT_KEY = {"pk": {"S": META_PK}, "id": {"N": "1"}}
# Concurrent transactions on the count item cancel each other
# (TransactionConflict), which botocore does not retry; a few quick retries do.
CONFLICT_ATTEMPTS = 5
# Ids already taken (a counter behind the data, e.g. restored from a backup
# older than the items) are skipped, this many at most per create.
CREATE_ATTEMPTS = 100


def _key(item_id: int) -> dict:
    return {"pk": {"S": ITEM_PK}, "id": {"N": str(item_id)}}


def _from_ddb(attrs: dict) -> dict:
    return {
        "id": int(attrs["id"]["N"]),
        "name": attrs["name"]["S"],
        "description": attrs["description"]["S"],
        "created_at": attrs["created_at"]["S"],
        "updated_at": attrs["updated_at"]["S"],
    }


def _reasons(exc: botocore.exceptions.ClientError) -> list[str]:
    return [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]


class DynamoItemStore:
    """``ItemStore`` on DynamoDB. Thread-safe: botocore clients are."""

    def __init__(self, table: str, max_items: int = 10000, region: str = "", client=None):
        self._table = table
        self._max = max_items
        if client is None:
            # The endpoint comes from AWS_ENDPOINT_URL when set (botocore honours
            # it), credentials from the ECS task role (container credentials).
            client = boto3.session.Session().client(
                "dynamodb",
                region_name=region or None,
                config=botocore.config.Config(
                    connect_timeout=2,
                    read_timeout=5,
                    retries={"mode": "standard", "max_attempts": 3},
                ),
            )
        self._ddb = client

    def _call(self, method: str, **kwargs):
        try:
            return getattr(self._ddb, method)(TableName=self._table, **kwargs)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "ConditionalCheckFailedException",
                "TransactionCanceledException",
            ):
                raise
            raise StoreUnavailable(f"{method}: {exc}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise StoreUnavailable(f"{method}: {exc}") from exc

    def _transact(self, items: list[dict]) -> None:
        for attempt in range(CONFLICT_ATTEMPTS):
            for entry in items:
                next(iter(entry.values()))["TableName"] = self._table
            try:
                self._ddb.transact_write_items(TransactItems=items)
                return
            except botocore.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code != "TransactionCanceledException":
                    raise StoreUnavailable(f"TransactWriteItems: {exc}") from exc
                if "TransactionConflict" not in _reasons(exc):
                    raise
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
            except botocore.exceptions.BotoCoreError as exc:
                raise StoreUnavailable(f"TransactWriteItems: {exc}") from exc
        raise StoreUnavailable("TransactWriteItems: too many transaction conflicts")

    def _ids(self) -> list[int]:
        """Every item id, in order (keys only: the page is fetched separately)."""
        ids: list[int] = []
        kwargs = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": ITEM_PK}},
            "ProjectionExpression": "id",
            "ConsistentRead": True,
        }
        while True:
            page = self._call("query", **kwargs)
            ids.extend(int(i["id"]["N"]) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list(self, limit: int, offset: int) -> tuple[list[dict], int]:
        ids = self._ids()
        wanted = ids[offset : offset + limit]
        if not wanted:
            return [], len(ids)
        found: dict[int, dict] = {}
        kwargs = {
            "KeyConditionExpression": "pk = :pk AND id BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": ITEM_PK},
                ":lo": {"N": str(wanted[0])},
                ":hi": {"N": str(wanted[-1])},
            },
            "ConsistentRead": True,
        }
        while True:
            page = self._call("query", **kwargs)
            for attrs in page.get("Items", []):
                item = _from_ddb(attrs)
                found[item["id"]] = item
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        # an item deleted in between is left out; one created in between (an
        # id allocated before the listing, written after) is not shown
        return [found[i] for i in wanted if i in found], len(ids)

    def get(self, item_id: int) -> dict | None:
        attrs = self._call("get_item", Key=_key(item_id), ConsistentRead=True).get("Item")
        return _from_ddb(attrs) if attrs else None

    def _next_id(self) -> int:
        out = self._call(
            "update_item",
            Key=NEXT_ID_KEY,
            UpdateExpression="ADD next_id :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(out["Attributes"]["next_id"]["N"])

    def create(self, fields: dict) -> dict:
        for _attempt in range(CREATE_ATTEMPTS):
            now = _now()
            item = {"id": self._next_id(), **fields, "created_at": now, "updated_at": now}
            try:
                self._transact(
                    [
                        {
                            "Put": {
                                "Item": {
                                    **_key(item["id"]),
                                    "name": {"S": item["name"]},
                                    "description": {"S": item["description"]},
                                    "created_at": {"S": now},
                                    "updated_at": {"S": now},
                                },
                                # never overwrite: an id is used once
                                "ConditionExpression": "attribute_not_exists(id)",
                            }
                        },
                        {
                            "Update": {
                                "Key": COUNT_KEY,
                                "UpdateExpression": "ADD #items :one",
                                "ConditionExpression": "attribute_not_exists(#items) OR #items < :max",
                                "ExpressionAttributeNames": {"#items": "items"},
                                "ExpressionAttributeValues": {
                                    ":one": {"N": "1"},
                                    ":max": {"N": str(self._max)},
                                },
                            }
                        },
                    ]
                )
                return item
            except botocore.exceptions.ClientError as exc:
                reasons = _reasons(exc)
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                    raise StoreFull() from None
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    continue  # the id exists (counter behind the data): take the next
                raise StoreUnavailable(f"TransactWriteItems: {exc}") from exc
        raise StoreUnavailable(f"no free id after {CREATE_ATTEMPTS} attempts")

    def replace(self, item_id: int, fields: dict) -> dict | None:
        try:
            out = self._call(
                "update_item",
                Key=_key(item_id),
                UpdateExpression="SET #name = :name, description = :description, updated_at = :now",
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames={"#name": "name"},
                ExpressionAttributeValues={
                    ":name": {"S": fields["name"]},
                    ":description": {"S": fields["description"]},
                    ":now": {"S": _now()},
                },
                ReturnValues="ALL_NEW",
            )
        except botocore.exceptions.ClientError:
            return None  # ConditionalCheckFailed: no such item (_call re-raises only that here)
        return _from_ddb(out["Attributes"])

    def delete(self, item_id: int) -> bool:
        try:
            self._transact(
                [
                    {"Delete": {"Key": _key(item_id), "ConditionExpression": "attribute_exists(id)"}},
                    {
                        "Update": {
                            "Key": COUNT_KEY,
                            "UpdateExpression": "ADD #items :minus",
                            "ExpressionAttributeNames": {"#items": "items"},
                            "ExpressionAttributeValues": {":minus": {"N": "-1"}},
                        }
                    },
                ]
            )
        except botocore.exceptions.ClientError as exc:
            if _reasons(exc)[:1] == ["ConditionalCheckFailed"]:
                return False
            raise StoreUnavailable(f"TransactWriteItems: {exc}") from exc
        return True

    def count(self) -> int:
        attrs = self._call("get_item", Key=COUNT_KEY, ConsistentRead=True).get("Item")
        return int(attrs["items"]["N"]) if attrs else 0
