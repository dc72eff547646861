"""DynamoDB gaps met by the platform roles (data role: the API's items table).

* UpdateTable applies ``SSESpecification`` (moto ignores it). AWS: "SSESpecification
  — The new server-side encryption settings for the specified table"
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTable.html#DDB-UpdateTable-request-SSESpecification).
  ``Enabled: true`` (``SSEType`` ``KMS``, the only type UpdateTable takes) without a
  ``KMSMasterKeyId`` uses the AWS managed key ``alias/aws/dynamodb``; ``Enabled: false``
  goes back to the AWS owned key, and DescribeTable then reports no ``SSEDescription``
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_SSESpecification.html).
  The table moves at once (AWS reports ``UPDATING`` for a while).
* DescribeTable / CreateTable / UpdateTable / DeleteTable report the table's ``TableId``
  ("Unique identifier for the table", a UUID fixed at creation:
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TableDescription.html#DDB-Type-TableDescription-TableId).
  moto leaves it out and community.aws.dynamodb_table fails with ``KeyError: 'table_id'``.

Point-in-time recovery (UpdateContinuousBackups / DescribeContinuousBackups) is moto's own.
"""

from __future__ import annotations

import uuid
from typing import Any


def apply() -> None:
    _apply_table_id()
    _apply_update_table_sse()


def _apply_table_id() -> None:
    from moto.dynamodb.models.table import Table

    if Table.__dict__.get("_localaws_platform_table_id"):
        return
    original = Table.describe

    def describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
        result = original(self, base_key)
        if "_localaws_table_id" not in self.__dict__:
            self._localaws_table_id = str(uuid.uuid4())
        result[base_key].setdefault("TableId", self._localaws_table_id)
        return result

    Table.describe = describe
    Table._localaws_platform_table_id = True


def _apply_update_table_sse() -> None:
    from moto.dynamodb.responses import DynamoHandler

    if DynamoHandler.__dict__.get("_localaws_platform_sse"):
        return
    original = DynamoHandler.update_table

    def update_table(self: Any) -> Any:
        sse = self.body.get("SSESpecification")
        if sse is not None:
            table = self.dynamodb_backend.get_table(self.body["TableName"])
            if sse.get("Enabled"):
                key = sse.get("KMSMasterKeyId") or table._get_default_encryption_key(
                    table.account_id, table.region_name)
                table.sse_specification = {"Enabled": True, "SSEType": sse.get("SSEType", "KMS"),
                                           "KMSMasterKeyId": key}
            else:
                table.sse_specification = None
        return original(self)

    DynamoHandler.update_table = update_table
    DynamoHandler._localaws_platform_sse = True
