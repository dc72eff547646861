"""seed.fargate.dynamodb_tables against the local endpoint: a table made in one CreateTable (keys, on-demand,
encryption, tags) with point-in-time recovery, 3 reads for a converged table, writes only for what differs, check
mode and diff writing nothing, keys that cannot change refused, removal, and bad input failing before any call."""

from __future__ import annotations

import yaml

KEYS = {"hash_key": {"name": "pk", "type": "STRING"}, "range_key": {"name": "id", "type": "NUMBER"}}


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "tables", "seed.fargate.dynamodb_tables": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def table(**over):
    return {"name": "t-api", **KEYS, "encryption": "aws_managed", "point_in_time_recovery": True,
            "tags": {"stack": "t", "service": "api"}} | over


def result(run):
    return run.task_results("tables")[0]


def actions(calls):
    return sorted(c["action"] for c in calls)


def test_tables_lifecycle(run_playbook, boto, tmp_path):
    ddb = boto("dynamodb")
    create = playbook(tmp_path, {"tables": [table()]})

    # --check on nothing: the table to make, no ARN yet, nothing written.
    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert result(check)["tables"][0]["table_arn"] is None
    assert result(check)["diff"]["before"] == {"t-api": None}
    assert result(check)["diff"]["after"]["t-api"]["encryption"] == "aws_managed"

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    assert actions(run.writes) == ["CreateTable", "UpdateContinuousBackups"]
    described = ddb.describe_table(TableName="t-api")["Table"]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert described["SSEDescription"]["SSEType"] == "KMS"
    assert {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]} == {"HASH": "pk", "RANGE": "id"}
    backups = ddb.describe_continuous_backups(TableName="t-api")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    tags = ddb.list_tags_of_resource(ResourceArn=described["TableArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"stack": "t", "service": "api"}
    assert result(run)["tables"][0]["table_arn"] == described["TableArn"]

    # Converged: three reads, nothing written; in check mode too.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert actions(again.calls) == ["DescribeContinuousBackups", "DescribeTable", "ListTagsOfResource"]
    assert run_playbook(create, check=True, diff=True).writes == []

    # Encryption, backups and tags change: check mode shows it, then only those writes.
    change = playbook(tmp_path, {"tables": [table(encryption="aws_owned", point_in_time_recovery=False,
                                                  tags={"stack": "t", "owner": "me"})]}, "change.yml")
    check = run_playbook(change, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    diff = result(check)["diff"]
    assert diff["before"]["t-api"]["encryption"] == "aws_managed" and diff["after"]["t-api"]["encryption"] == "aws_owned"
    assert diff["after"]["t-api"]["tags"] == {"stack": "t", "owner": "me"}
    run = run_playbook(change)
    assert run.rc == 0, run.failure_messages()
    assert actions(run.writes) == ["TagResource", "UntagResource", "UpdateContinuousBackups", "UpdateTable"]
    assert run_playbook(change).writes == []

    # Without tags they are left alone; keys that differ are refused before any write.
    alone = run_playbook(playbook(tmp_path, {"tables": [table(encryption="aws_owned", point_in_time_recovery=False,
                                                              tags=None)]}, "alone.yml"))
    assert alone.changed == 0 and actions(alone.calls) == ["DescribeContinuousBackups", "DescribeTable"]
    keys = run_playbook(playbook(tmp_path, {"tables": [table(range_key=None)]}, "keys.yml"))
    assert keys.rc != 0 and keys.writes == []
    assert any("cannot change the keys" in m for m in keys.failure_messages()), keys.failure_messages()

    # Removal: check mode writes nothing; then the table goes; a second run has nothing to do.
    absent = playbook(tmp_path, {"tables": [{"name": "t-api"}], "state": "absent"}, "absent.yml")
    check = run_playbook(absent, check=True, diff=True)
    assert check.changed == 1 and check.writes == [] and result(check)["diff"]["after"] == {"t-api": None}
    run = run_playbook(absent)
    assert run.rc == 0 and actions(run.writes) == ["DeleteTable"]
    assert ddb.list_tables()["TableNames"] == []
    gone = run_playbook(absent)
    assert gone.changed == 0 and gone.writes == []


def test_bad_input_fails_before_any_call(run_playbook, tmp_path):
    bad = [
        ({"tables": [table(name="t")]}, "not a table name"),
        ({"tables": [table(), table()]}, "given twice"),
        ({"tables": [table(hash_key=None)]}, "hash_key: required"),
        ({"tables": [table(range_key={"name": "id", "type": "INT"})]}, "range_key"),
        ({"tables": [table(encryption="kms")]}, "encryption"),
    ]
    for i, (args, message) in enumerate(bad):
        run = run_playbook(playbook(tmp_path, args, f"bad{i}.yml"))
        assert run.rc != 0 and run.calls == [], run.calls
        assert any(message in m for m in run.failure_messages()), run.failure_messages()
