"""The data role (a DynamoDB table per service with ``table: true``) and the iam role's
policy scoped to it, through ansible-playbook against the local endpoint."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = "tests/integration/test_data_role.playbook.yml"
STACK = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())
TABLE = f"{STACK['stack_name']}-api"
ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]


def _policy(iam, role: str) -> dict:
    doc = iam.get_role_policy(RoleName=role, PolicyName=role.removesuffix("-task"))["PolicyDocument"]
    return json.loads(urllib.parse.unquote(doc)) if isinstance(doc, str) else doc


@pytest.mark.slow
def test_table_converge_idempotence_check_and_destroy(run_playbook, boto):
    ddb, iam = boto("dynamodb"), boto("iam")
    assert [s["name"] for s in STACK["stack_services"] if s.get("table")] == ["api"]

    # --check on an empty account (data role alone): nothing written
    check = run_playbook(PLAYBOOK, extra_vars={"with_iam": False}, check=True)
    assert not check.failed, check.failure_messages() or check.stderr[-3000:]
    assert check.writes == []
    assert ddb.list_tables()["TableNames"] == []

    first = run_playbook(PLAYBOOK)
    assert not first.failed, first.failure_messages() or first.stderr[-3000:]
    assert ddb.list_tables()["TableNames"] == [TABLE]  # web has no table
    table = ddb.describe_table(TableName=TABLE)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {("pk", "HASH"), ("id", "RANGE")}
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["SSEDescription"]["SSEType"] == "KMS"
    pitr = ddb.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]}
    assert tags == {**STACK["stack_tags"], "stack": STACK["stack_name"],
                    "environment": STACK["stack_environment"], "service": "api"}

    # the api's task role: exactly the store's actions, on that table alone; web: no policy
    statements = _policy(iam, f"{STACK['stack_name']}-api-task")["Statement"]
    assert statements == [{"Sid": "ItemsTable", "Effect": "Allow", "Action": ACTIONS,
                           "Resource": table["TableArn"]}]
    assert iam.list_role_policies(RoleName=f"{STACK['stack_name']}-web-task")["PolicyNames"] == []

    again = run_playbook(PLAYBOOK)
    assert not again.failed, again.failure_messages()
    assert again.changed == 0, [t["task"]["name"] for p in again.plays for t in p["tasks"]
                                if any(h.get("changed") for h in t["hosts"].values())]
    assert again.writes == []

    # --check on the converged stack: no change predicted, nothing written
    check = run_playbook(PLAYBOOK, check=True)
    assert not check.failed and check.changed == 0 and check.writes == []

    # settings drift (PITR off) is put back
    ddb.update_continuous_backups(TableName=TABLE,
                                  PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    fixed = run_playbook(PLAYBOOK)
    assert not fixed.failed and fixed.changed == 1
    pitr = ddb.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    for _ in range(2):  # teardown, then teardown of nothing
        gone = run_playbook(PLAYBOOK, extra_vars={"data_state": "absent"})
        assert not gone.failed, gone.failure_messages()
        assert ddb.list_tables()["TableNames"] == []
