"""The data plane runs Application Auto Scaling policies: a service's tasks scale with their real CPU.

Against an endpoint of its own with ``LOCALAWS_DATAPLANE=1``: the tasks are podman containers that burn a
bounded share of a core (30 % duty, until a wall-clock deadline given in their environment, then idle);
the task runner reads their cgroups into ``AWS/ECS`` CPUUtilization, the alarm evaluator drives the
policies' alarms, and the autoscaling engine changes the service's desired count, which the task runner
follows. Nothing is set by hand: no metric is put and no alarm state is set. One AWS minute lasts
``SCALE`` real seconds.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime

import boto3
import pytest

from localaws import LocalAWS
from localaws.dataplane import images
from localaws.dataplane.podman import podman, preflight
from tests.integration.dataplane._stack import wait_for  # polls, fails naming what it waited for

pytestmark = [pytest.mark.images, pytest.mark.slow]

REGION = "us-east-1"
BASE_IMAGE = "localhost/seed-python:3.11-bookworm"
SCALE = 1.5  # real seconds per AWS minute: AlarmHigh (3 periods) in ~5 s, AlarmLow (15) in ~23 s
DEADLINE = 150  # seconds; every wait ends as soon as its state is reached
# 30 % of a core is 120 % of the task's 256 CPU units (AWS/ECS CPUUtilization is a share of the reservation).
BURNER = """\
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
until = float(os.environ["BURN_UNTIL"])
while True:
    if time.time() < until:
        end = time.time() + 0.03
        while time.time() < end:
            pass
        time.sleep(0.07)
    else:
        time.sleep(1)
"""


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    problem = preflight()
    if problem:
        pytest.fail(f"the data plane cannot run here: {problem}")
    if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        pytest.fail(f"{BASE_IMAGE} is missing: run services/scripts/build-images.sh")
    log = tmp_path_factory.mktemp("localaws-autoscaling") / "server.log"
    with LocalAWS(log_path=log, env={"LOCALAWS_DATAPLANE": "1", "LOCALAWS_TIME_SCALE": str(SCALE)}) as aws:
        yield aws


@pytest.fixture
def aws(endpoint):
    endpoint.reset()
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            aws_session_token="testing", region_name=REGION)

    def client(service: str):
        return session.client(service, endpoint_url=endpoint.url)

    client.url = endpoint.url
    return client


def burning_service(aws, name: str, burn_seconds: float) -> str:
    """A FARGATE service of one task that burns CPU for ``burn_seconds`` from now; its resource id."""
    ec2, ecr, ecs, logs = (aws(s) for s in ("ec2", "ecr", "ecs", "logs"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    repo = ecr.create_repository(repositoryName=f"as/{name}")["repository"]["repositoryUri"]
    images.push_image(BASE_IMAGE, f"as/{name}", "v1", ecr_client=ecr)
    logs.create_log_group(logGroupName=f"/ecs/as-{name}")
    ecs.create_cluster(clusterName="as")
    td = ecs.register_task_definition(
        family=f"as-{name}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{
            "name": name, "image": f"{repo}:v1", "essential": True,
            "entryPoint": ["python3", "-u", "-c"], "command": [BURNER],
            "environment": [{"name": "BURN_UNTIL", "value": str(time.time() + burn_seconds)}],
            "stopTimeout": 5,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": f"/ecs/as-{name}", "awslogs-region": REGION, "awslogs-stream-prefix": "as"}},
        }],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="as", serviceName=name, taskDefinition=td, desiredCount=1, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}})
    resource = f"service/as/{name}"
    aws("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1, MaxCapacity=3)
    return resource


def running(aws, name: str) -> int:
    ecs = aws("ecs")
    arns = ecs.list_tasks(cluster="as", serviceName=name, desiredStatus="RUNNING")["taskArns"]
    tasks = ecs.describe_tasks(cluster="as", tasks=arns)["tasks"] if arns else []
    return sum(t["lastStatus"] == "RUNNING" for t in tasks)


def desired(aws, name: str) -> int:
    return aws("ecs").describe_services(cluster="as", services=[name])["services"][0]["desiredCount"]


def activities(aws, resource: str) -> list[dict]:
    url = f"{aws.url}/_localaws/dataplane/autoscaling?resource={resource}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)["ScalingActivities"]


def test_target_tracking_scales_out_on_real_cpu_and_back_in_when_it_stops(aws):
    resource = burning_service(aws, "tt", burn_seconds=45)
    policy = aws("application-autoscaling").put_scaling_policy(
        PolicyName="tt-cpu", ServiceNamespace="ecs", ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 60,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    # The policy's two alarms, as AWS makes them: above the target for 3 periods, below 90 % of it for 15.
    names = [a["AlarmName"] for a in policy["Alarms"]]
    alarms = {a["AlarmName"]: a for a in aws("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]}
    high = next(a for n, a in alarms.items() if "-AlarmHigh-" in n)
    low = next(a for n, a in alarms.items() if "-AlarmLow-" in n)
    assert (high["Threshold"], high["EvaluationPeriods"], high["ComparisonOperator"]) == (
        50.0, 3, "GreaterThanThreshold")
    assert (low["Threshold"], low["EvaluationPeriods"], low["ComparisonOperator"]) == (45.0, 15, "LessThanThreshold")
    assert {d["Name"]: d["Value"] for d in high["Dimensions"]} == {"ClusterName": "as", "ServiceName": "tt"}

    wait_for("the burning task running", lambda: running(aws, "tt") == 1, DEADLINE)
    # 120 % of the reservation against a target of 50: ceil(1 * 120 / 50) = 3, the maximum.
    wait_for("three running tasks after the scale-out", lambda: running(aws, "tt") == 3, DEADLINE)
    assert desired(aws, "tt") == 3
    ups = activities(aws, resource)
    assert ups and ups[0]["From"] == 1 and ups[-1]["To"] == 3, ups
    assert all(a["To"] > a["From"] and high["AlarmName"] in a["Cause"] for a in ups), ups

    # The burn ends: the low alarm's 15 periods below 45 % scale it back to the minimum.
    wait_for("one running task after the scale-in",
             lambda: desired(aws, "tt") == 1 and running(aws, "tt") == 1, DEADLINE)
    back = activities(aws, resource)[-1]
    assert back["From"] == 3 and back["To"] == 1 and low["AlarmName"] in back["Cause"], back
    # Writing the policy again (a converge that changed it) replaces its alarms instead of adding two.
    aws("application-autoscaling").put_scaling_policy(
        PolicyName="tt-cpu", ServiceNamespace="ecs", ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    left = aws("cloudwatch").describe_alarms(AlarmNamePrefix="TargetTracking-service/as/tt-")["MetricAlarms"]
    assert sorted(a["Threshold"] for a in left) == [63.0, 70.0], [(a["AlarmName"], a["Threshold"]) for a in left]


def test_step_scaling_adds_a_task_per_alarm_period_after_its_cooldown(aws):
    resource = burning_service(aws, "step", burn_seconds=40)
    arn = aws("application-autoscaling").put_scaling_policy(
        PolicyName="step-cpu", ServiceNamespace="ecs", ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount", PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "Cooldown": 120, "MetricAggregationType": "Average",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]})["PolicyARN"]
    aws("cloudwatch").put_metric_alarm(
        AlarmName="step-cpu-high", Namespace="AWS/ECS", MetricName="CPUUtilization", Statistic="Average",
        Dimensions=[{"Name": "ClusterName", "Value": "as"}, {"Name": "ServiceName", "Value": "step"}],
        Period=60, EvaluationPeriods=1, Threshold=50.0, ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[arn])

    wait_for("three running tasks, one step at a time", lambda: running(aws, "step") == 3, DEADLINE)
    steps = activities(aws, resource)
    assert [(a["From"], a["To"]) for a in steps[:2]] == [(1, 2), (2, 3)], steps
    assert all("step-cpu-high" in a["Cause"] for a in steps), steps
    # The cooldown (120 AWS seconds) separates the two steps.
    first, second = (datetime.fromisoformat(a["StartTime"]).timestamp() for a in steps[:2])
    assert second - first >= 120 / 60 * SCALE, steps
    assert len(steps) == 2 and desired(aws, "step") == 3  # the maximum holds
