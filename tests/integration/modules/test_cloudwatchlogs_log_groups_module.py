"""seed.fargate.cloudwatchlogs_log_groups against the local endpoint: one read of the groups, one tag and one filter
read per group on a converged list, writes only for what differs, groups of the prefix no longer listed deleted."""

from __future__ import annotations

import yaml

PREFIX = "/ecs/t-logs/"


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "logs", "seed.fargate.cloudwatchlogs_log_groups": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def metric_filter(svc, suffix, pattern):
    return {"name": f"{svc}-{suffix}", "pattern": pattern, "metric_name": f"{svc}-{suffix}",
            "metric_namespace": "t-logs/prod", "default_value": 0}


def group(svc, **over):
    return {"name": f"{PREFIX}{svc}", "retention_in_days": 30, "tags": {"stack": "t-logs", "service": svc},
            "metric_filters": [metric_filter(svc, "error-lines", '{ $.level = "error" }'),
                               metric_filter(svc, "http-5xx", "{ $.status >= 500 }")]} | over


def result(run):
    return run.task_results("logs")[0]


def described(logs):
    return {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix=PREFIX)["logGroups"]}


def tags(logs, name):
    return logs.list_tags_log_group(logGroupName=name)["tags"]


def filters(logs, name):
    return {f["filterName"]: f for f in logs.describe_metric_filters(logGroupName=name)["metricFilters"]}


def test_log_groups_lifecycle(run_playbook, boto, tmp_path):
    logs = boto("logs")
    logs.create_log_group(logGroupName="/other/group")  # outside the prefix: never touched
    args = {"log_groups": [group("api"), group("web")]}
    create = playbook(tmp_path, args)

    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert result(check)["written"] == [f"{PREFIX}api", f"{PREFIX}web"]
    assert described(logs) == {}

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    assert sorted(c["action"] for c in run.writes) == sorted(
        ["CreateLogGroup", "PutRetentionPolicy", "PutMetricFilter", "PutMetricFilter"] * 2)
    groups = described(logs)
    assert sorted(groups) == [f"{PREFIX}api", f"{PREFIX}web"]
    assert groups[f"{PREFIX}api"]["retentionInDays"] == 30
    assert tags(logs, f"{PREFIX}api") == {"stack": "t-logs", "service": "api"}
    found = filters(logs, f"{PREFIX}web")
    assert sorted(found) == ["web-error-lines", "web-http-5xx"]
    assert found["web-http-5xx"]["filterPattern"] == "{ $.status >= 500 }"
    assert found["web-http-5xx"]["metricTransformations"][0]["metricName"] == "web-http-5xx"
    assert [g["arn"] for g in result(run)["log_groups"]] == [f"arn:aws:logs:us-east-1:123456789012:log-group:{PREFIX}{s}"
                                                             for s in ("api", "web")]

    # Converged: one DescribeLogGroups for both, a tag read and a filter read per group, nothing written.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == [], again.writes
    assert sorted(c["action"] for c in again.calls) == sorted(
        ["DescribeLogGroups"] + ["ListTagsForResource", "DescribeMetricFilters"] * 2)

    # Retention, a tag and a filter pattern change on api; the 5xx filter goes (purged); web untouched.
    api = group("api", retention_in_days=90, tags={"stack": "t-logs", "owner": "ops"},
                metric_filters=[metric_filter("api", "error-lines", '{ $.level = "fatal" }')])
    change = playbook(tmp_path, {"log_groups": [api, group("web")]}, "change.yml")
    check = run_playbook(change, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    diff = result(check)["diff"]
    assert diff["before"][f"{PREFIX}api"]["retention_in_days"] == 30
    assert diff["after"][f"{PREFIX}api"]["retention_in_days"] == 90
    assert diff["after"][f"{PREFIX}api"]["tags"] == {"stack": "t-logs", "owner": "ops"}
    assert diff["after"][f"{PREFIX}api"]["metric_filters"]["api-http-5xx"] is None
    assert result(check)["written"] == [f"{PREFIX}api"]
    run = run_playbook(change)
    assert run.rc == 0, run.failure_messages()
    assert sorted(c["action"] for c in run.writes) == sorted(
        ["PutRetentionPolicy", "UntagResource", "TagResource", "PutMetricFilter", "DeleteMetricFilter"])
    assert described(logs)[f"{PREFIX}api"]["retentionInDays"] == 90
    assert tags(logs, f"{PREFIX}api") == {"stack": "t-logs", "owner": "ops"}
    assert sorted(filters(logs, f"{PREFIX}api")) == ["api-error-lines"]
    assert filters(logs, f"{PREFIX}api")["api-error-lines"]["filterPattern"] == '{ $.level = "fatal" }'
    assert run_playbook(change).writes == []

    # Without tags/metric_filters nothing of them is read or touched; purge_tags false keeps the others.
    keep = playbook(tmp_path, {"log_groups": [{"name": f"{PREFIX}api", "tags": {"extra": "1"}, "purge_tags": False}]},
                    "keep.yml")
    run = run_playbook(keep)
    assert run.rc == 0 and [c["action"] for c in run.writes] == ["TagResource"]
    assert tags(logs, f"{PREFIX}api") == {"stack": "t-logs", "owner": "ops", "extra": "1"}
    assert "DescribeMetricFilters" not in [c["action"] for c in run.calls]

    # state absent for one group; purge_prefix removes the rest of the prefix; the other group stays.
    absent = playbook(tmp_path, {"log_groups": [{"name": f"{PREFIX}api", "state": "absent"}]}, "absent.yml")
    check = run_playbook(absent, check=True)
    assert check.changed == 1 and check.writes == [] and result(check)["deleted"] == [f"{PREFIX}api"]
    run = run_playbook(absent)
    assert run.rc == 0 and [c["action"] for c in run.writes] == ["DeleteLogGroup"]
    assert sorted(described(logs)) == [f"{PREFIX}web"]
    assert run_playbook(absent).changed == 0

    purge = playbook(tmp_path, {"log_groups": [], "purge_prefix": PREFIX}, "purge.yml")
    check = run_playbook(purge, check=True)
    assert check.changed == 1 and check.writes == [] and result(check)["deleted"] == [f"{PREFIX}web"]
    run = run_playbook(purge)
    assert run.rc == 0 and [c["action"] for c in run.writes] == ["DeleteLogGroup"]
    assert described(logs) == {}
    assert logs.describe_log_groups(logGroupNamePrefix="/other/")["logGroups"][0]["logGroupName"] == "/other/group"


def test_bad_input_fails_before_any_call(run_playbook, tmp_path):
    bad = [
        ({"log_groups": [group("api"), group("api")]}, "names must be unique"),
        ({"log_groups": [group("api", retention_in_days=31)]}, "retention_in_days"),
        ({"log_groups": [group("api")], "purge_prefix": ""}, "purge_prefix"),
        ({"log_groups": [group("api", metric_filters=[metric_filter("api", "x", "a")] * 2)]},
         "metric filter names must be unique"),
        ({"log_groups": [group("api", metric_filters=[{"name": "x", "pattern": "a"}])]}, "metric_name"),
    ]
    for i, (args, message) in enumerate(bad):
        run = run_playbook(playbook(tmp_path, args, f"bad{i}.yml"))
        assert run.rc != 0 and run.calls == [], run.calls
        assert any(message in m for m in run.failure_messages()), run.failure_messages()
