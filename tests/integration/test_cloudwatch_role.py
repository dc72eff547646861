"""The cloudwatch role against the local endpoint.

A minimal platform (VPC, ALB, blue/green target groups per service, ECS
cluster and services) is made with boto3 so the role can be tested without
the other roles; its outputs are passed to the role as the extra vars the
other roles would set.
"""

from __future__ import annotations

import functools
import json
import operator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

PLAYBOOK = "tests/integration/test_cloudwatch_role.playbook.yml"
STACK = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())
SERVICES = [s["name"] for s in STACK["stack_services"]]
PREFIX = f"{STACK['stack_name']}-{STACK['stack_environment']}-"
TOPIC = f"{PREFIX}alarms"
DASHBOARD = f"{STACK['stack_name']}-{STACK['stack_environment']}"
BUDGET = f"{PREFIX}monthly"
COLORS = ("blue", "green")
ROLE = "seed.fargate.cloudwatch : "  # how the json callback names the role's tasks


@pytest.fixture
def platform(boto):
    """ALB + two target groups per service + ECS cluster/services; returns the role's inputs."""
    ec2, elbv2, ecs = boto("ec2"), boto("elbv2"), boto("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.99.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate("ab")
    ]
    sg = ec2.create_security_group(GroupName="cwtest", Description="cwtest", VpcId=vpc)["GroupId"]
    alb = elbv2.create_load_balancer(Name="cwtest-alb", Subnets=subnets, Type="application")["LoadBalancers"][0]
    target_groups = {}
    for svc in SERVICES:
        pair = {}
        for color in COLORS:
            tg = elbv2.create_target_group(
                Name=f"cwtest-{svc}-{color}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
            )["TargetGroups"][0]
            pair[color] = {"name": tg["TargetGroupName"], "arn": tg["TargetGroupArn"]}
        pair["live"] = "blue"
        target_groups[svc] = pair
    elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_groups[SERVICES[0]]["blue"]["arn"]}],
    )
    cluster = ecs.create_cluster(clusterName="cwtest-cluster")["cluster"]["clusterName"]
    ecs.register_task_definition(
        family="cwtest",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "nginx", "essential": True}],
    )
    service_names = {}
    for svc in SERVICES:
        service_names[svc] = ecs.create_service(
            cluster=cluster,
            serviceName=f"cwtest-{svc}",
            taskDefinition="cwtest",
            desiredCount=0,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
        )["service"]["serviceName"]
    return {
        "ecs_cluster_name": cluster,
        "ecs_service_names": service_names,
        "alb_arn": alb["LoadBalancerArn"],
        "alb_target_groups": target_groups,
        "cloudwatch_budget_enabled": True,
        "cloudwatch_budget_emails": ["finance@example.com"],
        "cloudwatch_alarm_subscriptions": [{"protocol": "email", "endpoint": "oncall@example.com"}],
    }


def _facts(run, task):
    results = run.task_results(ROLE + task)
    assert results, (task, [t["task"]["name"] for p in run.plays for t in p["tasks"]])
    return results[0]["ansible_facts"]


def _suffix(arn: str, marker: str) -> str:
    """The part of an ARN after marker: ``app/<name>/<id>``, ``targetgroup/<name>/<id>``."""
    return arn.split(marker, 1)[1]


def expected_alarms(v):
    """alarm name -> (namespace, metric, dimensions, statistic key, statistic)."""
    lb = _suffix(v["alb_arn"], ":loadbalancer/")
    ns = f"{STACK['stack_name']}/{STACK['stack_environment']}"
    out = {}
    for svc in SERVICES:
        ecs_dims = {"ClusterName": v["ecs_cluster_name"], "ServiceName": v["ecs_service_names"][svc]}
        out[f"{PREFIX}{svc}-cpu-high"] = ("AWS/ECS", "CPUUtilization", ecs_dims, "Statistic", "Average")
        out[f"{PREFIX}{svc}-memory-high"] = ("AWS/ECS", "MemoryUtilization", ecs_dims, "Statistic", "Average")
        out[f"{PREFIX}{svc}-log-errors"] = (ns, f"{svc}-error-lines", {}, "Statistic", "Sum")
        out[f"{PREFIX}{svc}-log-5xx"] = (ns, f"{svc}-http-5xx", {}, "Statistic", "Sum")
        for color in COLORS:
            tg_dims = {
                "LoadBalancer": lb,
                "TargetGroup": "targetgroup/" + _suffix(v["alb_target_groups"][svc][color]["arn"], ":targetgroup/"),
            }
            out[f"{PREFIX}{svc}-target-5xx-{color}"] = (
                "AWS/ApplicationELB",
                "HTTPCode_Target_5XX_Count",
                tg_dims,
                "Statistic",
                "Sum",
            )
            out[f"{PREFIX}{svc}-unhealthy-hosts-{color}"] = (
                "AWS/ApplicationELB",
                "UnHealthyHostCount",
                tg_dims,
                "Statistic",
                "Maximum",
            )
            out[f"{PREFIX}{svc}-p99-latency-{color}"] = (
                "AWS/ApplicationELB",
                "TargetResponseTime",
                tg_dims,
                "ExtendedStatistic",
                "p99",
            )
    return out


def dashboard_references(body):
    """Every (dimension name, value) and alarm ARN the dashboard body refers to."""
    dims, alarms = set(), set()
    for widget in body["widgets"]:
        props = widget["properties"]
        alarms.update(props.get("alarms", []))
        for metric in props.get("metrics", []):
            plain = [m for m in metric if isinstance(m, str)]
            dims.update(zip(plain[2::2], plain[3::2]))
    return dims, alarms


@pytest.mark.slow(minutes=2.5)
def test_cloudwatch_role_converge_idempotent_check_teardown(run_playbook, boto, platform):
    cw, logs, sns, budgets = boto("cloudwatch"), boto("logs"), boto("sns"), boto("budgets")

    # -- check mode on an empty account: runs through, reports changes, writes nothing
    first_check = run_playbook(PLAYBOOK, extra_vars=platform, check=True)
    assert first_check.rc == 0, first_check.failure_messages() or first_check.stdout[-3000:]
    assert first_check.changed > 0
    assert first_check.writes == []

    run = run_playbook(PLAYBOOK, extra_vars=platform)
    assert run.rc == 0, run.failure_messages() or run.stdout[-3000:]

    # -- SNS topic, tagged, with the subscription
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{TOPIC}")]
    assert len(topics) == 1
    topic_arn = topics[0]
    topic_tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"]}
    assert topic_tags["stack"] == STACK["stack_name"] and topic_tags["environment"] == STACK["stack_environment"]
    subs = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "oncall@example.com")]

    # -- alarms: exact set, metric, namespace, dimensions, statistic, actions
    expected = expected_alarms(platform)
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]}
    assert set(alarms) == set(expected)
    for name, (namespace, metric, dims, stat_key, stat) in expected.items():
        alarm = alarms[name]
        assert alarm["Namespace"] == namespace, name
        assert alarm["MetricName"] == metric, name
        assert {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])} == dims, name
        assert alarm.get(stat_key) == stat, name
        assert alarm["AlarmActions"] == [topic_arn], name
        assert alarm["OKActions"] == [topic_arn], name
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold", name
    assert alarms[f"{PREFIX}api-p99-latency-blue"]["Threshold"] == 2.0
    assert alarms[f"{PREFIX}api-cpu-high"]["Threshold"] == 80.0

    # -- outputs for the CodeDeploy deployment groups
    facts = _facts(run, "Alarms | publish cloudwatch_alarm_names and cloudwatch_rollback_alarm_names")
    rollback = facts["cloudwatch_rollback_alarm_names"]
    assert set(rollback) == set(SERVICES)
    for svc in SERVICES:
        assert set(rollback[svc]) == {
            f"{PREFIX}{svc}-{kind}-{color}"
            for kind in ("target-5xx", "unhealthy-hosts", "p99-latency")
            for color in COLORS
        } | {f"{PREFIX}{svc}-log-errors"}
        assert set(rollback[svc]) <= set(alarms)
    assert sorted(functools.reduce(operator.iadd, facts["cloudwatch_alarm_names"].values(), [])) == sorted(expected)

    # -- log groups: retention, tags; metric filters
    for svc in SERVICES:
        group = f"/ecs/{STACK['stack_name']}/{svc}"
        found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert [g["retentionInDays"] for g in found if g["logGroupName"] == group] == [30]
        tags = logs.list_tags_log_group(logGroupName=group)["tags"]
        assert tags["service"] == svc and tags["stack"] == STACK["stack_name"] and tags["owner"] == "platform-team"
        filters = {f["filterName"]: f for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"]}
        assert filters[f"{svc}-error-lines"]["filterPattern"] == '{ $.level = "error" }'
        assert filters[f"{svc}-http-5xx"]["filterPattern"] == "{ $.status >= 500 }"
        assert filters[f"{svc}-http-5xx"]["metricTransformations"][0]["metricName"] == f"{svc}-http-5xx"

    # -- dashboard refers only to resources that exist
    body = json.loads(cw.get_dashboard(DashboardName=DASHBOARD)["DashboardBody"])
    dims, alarm_arns = dashboard_references(body)
    assert dims, "dashboard has no metric dimensions"
    real = {
        ("LoadBalancer", _suffix(platform["alb_arn"], ":loadbalancer/")),
        ("ClusterName", platform["ecs_cluster_name"]),
    }
    real |= {("ServiceName", n) for n in platform["ecs_service_names"].values()}
    real |= {
        ("TargetGroup", "targetgroup/" + _suffix(tg["arn"], ":targetgroup/"))
        for pair in platform["alb_target_groups"].values()
        for tg in (pair["blue"], pair["green"])
    }
    assert dims <= real, dims - real
    assert {d for d in real if d[0] == "TargetGroup"} <= dims  # every target group is shown
    assert {a["AlarmArn"] for a in alarms.values()} == alarm_arns

    # -- budget
    budget = budgets.describe_budget(AccountId="123456789012", BudgetName=BUDGET)["Budget"]
    assert float(budget["BudgetLimit"]["Amount"]) == 100.0
    assert budget["CostFilters"] == {"TagKeyValue": [f"user:stack${STACK['stack_name']}"]}
    notes = budgets.describe_notifications_for_budget(AccountId="123456789012", BudgetName=BUDGET)["Notifications"]
    assert sorted(n["Threshold"] for n in notes) == [80.0, 100.0]

    # -- second converge: nothing changes, no writes
    again = run_playbook(PLAYBOOK, extra_vars=platform)
    assert again.rc == 0, again.failure_messages()
    assert again.changed == 0, [
        t["task"]["name"] for p in again.plays for t in p["tasks"] if any(h.get("changed") for h in t["hosts"].values())
    ]
    assert again.writes == []

    # -- check mode on the converged stack: no writes
    check = run_playbook(PLAYBOOK, extra_vars=platform, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.writes == []
    assert check.changed == 0

    # -- check mode with drift (thresholds, retention, dashboard): reports changes, writes nothing
    drift = dict(
        platform,
        cloudwatch_log_retention_days=90,
        cloudwatch_budget_limit=250,
        cloudwatch_alarm_defaults={
            "cpu_high_percent": 90,
            "memory_high_percent": 80,
            "target_5xx_count": 10,
            "unhealthy_hosts": 0,
            "p99_latency_seconds": 2,
            "log_errors_count": 10,
            "period_seconds": 60,
            "evaluation_periods": 3,
        },
    )
    check = run_playbook(PLAYBOOK, extra_vars=drift, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.writes == []
    changed = {
        t["task"]["name"] for p in check.plays for t in p["tasks"] if any(h.get("changed") for h in t["hosts"].values())
    }
    assert {
        ROLE + "Log groups | converge one per service with its metric filters",
        ROLE + "Alarms | converge every alarm, remove the stack's alarms no longer described",
        ROLE + "Budget | converge the monthly cost budget of the stack",
    } <= changed
    assert cw.describe_alarms(AlarmNames=[f"{PREFIX}api-cpu-high"])["MetricAlarms"][0]["Threshold"] == 80.0

    # -- a service no longer described: its alarms go with the next converge, the others are left as they are
    kept, removed = SERVICES[0], SERVICES[1]
    fewer = run_playbook(PLAYBOOK, extra_vars=dict(
        platform, cloudwatch_services=[s for s in STACK["stack_services"] if s["name"] == kept]))
    assert fewer.rc == 0, fewer.failure_messages()
    assert [c for c in fewer.writes if c["action"] in ("DeleteAlarms", "PutMetricAlarm")] == [
        c for c in fewer.writes if c["action"] == "DeleteAlarms"] != []
    left = {a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]}
    assert left == {name for name in expected if name.startswith(f"{PREFIX}{kept}-")}, left
    assert not any(name.startswith(f"{PREFIX}{removed}-") for name in left)

    # -- teardown removes everything, and is idempotent
    gone = run_playbook(PLAYBOOK, extra_vars=dict(platform, cloudwatch_state="absent"))
    assert gone.rc == 0, gone.failure_messages()
    assert cw.describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"] == []
    assert cw.list_dashboards(DashboardNamePrefix=DASHBOARD)["DashboardEntries"] == []
    assert [t for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{TOPIC}")] == []
    assert logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{STACK['stack_name']}/")["logGroups"] == []
    assert budgets.describe_budgets(AccountId="123456789012").get("Budgets", []) == []
    again = run_playbook(PLAYBOOK, extra_vars=dict(platform, cloudwatch_state="absent"))
    assert again.rc == 0 and again.changed == 0 and again.writes == []
