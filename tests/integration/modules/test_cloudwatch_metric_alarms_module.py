"""seed.fargate.cloudwatch_metric_alarms against the local endpoint: one read for a converged list, writes only
for the alarms that differ, alarms of the prefix no longer listed deleted, others never touched."""

from __future__ import annotations

import yaml

TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "alarms", "seed.fargate.cloudwatch_metric_alarms": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def alarm(name, **over):
    """An alarm's arguments; a key given as None is left out."""
    spec = {"name": name, "description": f"{name} alarm", "namespace": "AWS/ECS", "metric_name": "CPUUtilization",
            "dimensions": {"ClusterName": "seed", "ServiceName": name.split("-")[2]}, "statistic": "Average",
            "comparison": "GreaterThanThreshold", "threshold": 80, "period": 60, "evaluation_periods": 3,
            "treat_missing_data": "missing"} | over
    return {k: v for k, v in spec.items() if v is not None}


def result(run):
    return run.task_results("alarms")[0]


def described(cw, prefix="t-prod-"):
    return {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]}


def test_alarms_lifecycle(run_playbook, boto, tmp_path):
    cw = boto("cloudwatch")
    # An alarm outside the prefix: never touched, even when purging.
    cw.put_metric_alarm(AlarmName="other-alarm", Namespace="AWS/ECS", MetricName="CPUUtilization", Statistic="Average",
                        ComparisonOperator="GreaterThanThreshold", Threshold=1.0, Period=60, EvaluationPeriods=1)
    p99 = alarm("t-prod-web-p99", statistic=None, extended_statistic="p99", metric_name="TargetResponseTime",
                namespace="AWS/ApplicationELB", dimensions={"LoadBalancer": "app/seed/1"}, treat_missing_data="notBreaching")
    args = {"alarm_actions": [TOPIC], "ok_actions": [TOPIC], "purge_prefix": "t-prod-",
            "alarms": [alarm("t-prod-api-cpu"), alarm("t-prod-web-cpu"), p99]}
    create = playbook(tmp_path, args)

    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert result(check)["written"] == ["t-prod-api-cpu", "t-prod-web-cpu", "t-prod-web-p99"]

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    assert [c["action"] for c in run.writes] == ["PutMetricAlarm"] * 3
    alarms = described(cw)
    assert sorted(alarms) == ["t-prod-api-cpu", "t-prod-web-cpu", "t-prod-web-p99"]
    assert alarms["t-prod-api-cpu"]["AlarmActions"] == [TOPIC] and alarms["t-prod-api-cpu"]["OKActions"] == [TOPIC]
    assert alarms["t-prod-web-p99"]["ExtendedStatistic"] == "p99" and "Statistic" not in alarms["t-prod-web-p99"]
    names = ("t-prod-api-cpu", "t-prod-web-cpu", "t-prod-web-p99")
    assert [a["arn"] for a in result(run)["alarms"]] == [alarms[n]["AlarmArn"] for n in names]

    # Converged: reads only (one paginated read by prefix), nothing written.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert [c["action"] for c in again.calls] == ["DescribeAlarms"]

    # One threshold changes and the web service goes: one put, one delete; the other alarm stays.
    changed = dict(args, alarms=[alarm("t-prod-api-cpu", threshold=90)])
    change = playbook(tmp_path, changed, "change.yml")
    check = run_playbook(change, check=True, diff=True)
    assert check.changed == 1 and check.writes == []
    assert result(check)["diff"]["before"]["t-prod-api-cpu"]["Threshold"] == 80.0
    assert result(check)["diff"]["after"]["t-prod-api-cpu"]["Threshold"] == 90.0
    assert result(check)["deleted"] == ["t-prod-web-cpu", "t-prod-web-p99"]
    run = run_playbook(change)
    assert run.rc == 0, run.failure_messages()
    assert [c["action"] for c in run.writes] == ["PutMetricAlarm", "DeleteAlarms"]
    assert sorted(described(cw)) == ["t-prod-api-cpu"]
    assert described(cw)["t-prod-api-cpu"]["Threshold"] == 90.0
    assert "other-alarm" in described(cw, "other")

    # Without purge_prefix nothing is deleted.
    keep = playbook(tmp_path, {"alarms": [alarm("t-prod-web-cpu")], "alarm_actions": [TOPIC], "ok_actions": [TOPIC]}, "keep.yml")
    assert run_playbook(keep).rc == 0
    assert sorted(described(cw)) == ["t-prod-api-cpu", "t-prod-web-cpu"]


def test_bad_input_fails_before_any_call(run_playbook, tmp_path):
    bad = [
        ({"alarms": [alarm("t-prod-api-cpu"), alarm("t-prod-api-cpu")]}, "names must be unique"),
        ({"alarms": [alarm("t-prod-api-cpu", extended_statistic="p99")]}, "exactly one of statistic and extended_statistic"),
        ({"alarms": [alarm("t-prod-api-cpu")], "purge_prefix": ""}, "purge_prefix"),
        ({"alarms": [alarm("t-prod-api-cpu", comparison="Above")]}, "comparison"),
    ]
    for i, (args, message) in enumerate(bad):
        run = run_playbook(playbook(tmp_path, args, f"bad{i}.yml"))
        assert run.rc != 0 and run.calls == [], run.calls
        assert any(message in m for m in run.failure_messages()), run.failure_messages()
