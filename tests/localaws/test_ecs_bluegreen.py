"""The local endpoint's ECS-native blue/green (localaws/patches/ecs_bluegreen.py), over HTTP with boto3.

Time runs at TIME_SCALE real seconds per AWS minute (the CodeDeploy emulation's clock); every wait polls
with a deadline.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localaws.conftest import TIME_SCALE, control
from tests.localaws.test_fidelity_cli import aws

ROLE = "arn:aws:iam::123456789012:role/ecs-infrastructure"
HOOK_ROLE = "arn:aws:iam::123456789012:role/ecs-hooks"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:check"
STAGES = ["PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
          "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]
FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


@dataclass
class BlueGreen:
    boto: Any
    endpoint: Any
    subnets: list[str]
    security_group: str
    blue_tg: str
    green_tg: str
    prod_rule: str
    test_rule: str
    td1: str
    td2: str
    cluster: str = "bg"
    service: str = "web"

    @property
    def ecs(self):
        return self.boto("ecs")

    @property
    def elb(self):
        return self.boto("elbv2")

    def load_balancers(self, **advanced) -> list[dict]:
        config = {"alternateTargetGroupArn": self.green_tg, "productionListenerRule": self.prod_rule,
                  "testListenerRule": self.test_rule, "roleArn": ROLE}
        config.update(advanced)
        return [{"targetGroupArn": self.blue_tg, "containerName": "app", "containerPort": 80,
                 "advancedConfiguration": {k: v for k, v in config.items() if v is not None}}]

    def create(self, deployment: dict | None = None, load_balancers: list | None = None, **extra) -> dict:
        config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}
        config.update(deployment or {})
        config = {k: v for k, v in config.items() if v is not None}
        kwargs = {"cluster": self.cluster, "serviceName": self.service, "taskDefinition": self.td1,
                  "desiredCount": 2, "launchType": "FARGATE", "deploymentController": {"type": "ECS"},
                  "deploymentConfiguration": config,
                  "loadBalancers": self.load_balancers() if load_balancers is None else load_balancers,
                  "networkConfiguration": {"awsvpcConfiguration": {"subnets": self.subnets,
                                                                   "securityGroups": [self.security_group]}}}
        kwargs.update(extra)
        return self.ecs.create_service(**kwargs)["service"]

    def deployments(self, **filters) -> list[dict]:
        return self.ecs.list_service_deployments(cluster=self.cluster, service=self.service,
                                                 **filters)["serviceDeployments"]

    def describe(self, arn: str) -> dict:
        return self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]

    def latest(self) -> str:
        return self.deployments()[0]["serviceDeploymentArn"]

    def wait(self, arn: str, statuses=FINISHED, timeout: float = 20.0, stage: str | None = None) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.describe(arn)
            if (stage is None and info["status"] in statuses) or (stage and info.get("lifecycleStage") == stage):
                return info
            time.sleep(0.02)
        raise AssertionError(f"service deployment still {info['status']} / {info.get('lifecycleStage')}")

    def release(self, task_definition: str | None = None, **extra) -> str:
        self.ecs.update_service(cluster=self.cluster, service=self.service, taskDefinition=task_definition or self.td2,
                                **extra)
        return self.latest()

    def weights(self, rule_arn: str) -> dict[str, int]:
        rule = next(r for r in self.elb.describe_rules(RuleArns=[rule_arn])["Rules"])
        action = next(a for a in rule["Actions"] if a["Type"] == "forward")
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            return {g["TargetGroupArn"]: g.get("Weight", 1) for g in groups}
        return {action["TargetGroupArn"]: 1}

    def service_info(self) -> dict:
        return self.ecs.describe_services(cluster=self.cluster, services=[self.service])["services"][0]


def register_web(ecs, image: str) -> str:
    taskdef = ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": image, "essential": True, "portMappings": [{"containerPort": 80}]}])
    return taskdef["taskDefinition"]["taskDefinitionArn"]


@pytest.fixture
def bg(endpoint, boto) -> BlueGreen:
    return build(endpoint, boto, TIME_SCALE)


def build(endpoint, boto, time_scale: float) -> BlueGreen:
    """The platform on ``endpoint``, its clock at ``time_scale`` real seconds per AWS minute."""
    control(endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": time_scale})
    ec2, elb, ecs = boto("ec2"), boto("elbv2"), boto("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"us-east-1{az}")[
        "Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]
    sg = ec2.create_security_group(GroupName="bg", Description="bg", VpcId=vpc)["GroupId"]
    lb = elb.create_load_balancer(Name="bg", Subnets=subnets, SecurityGroups=[sg], Type="application")["LoadBalancers"][0][
        "LoadBalancerArn"]
    tgs = [elb.create_target_group(Name=f"bg-{c}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
        "TargetGroups"][0]["TargetGroupArn"] for c in ("blue", "green")]
    rules = []
    for port in (80, 8080):
        listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port, DefaultActions=[
            {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])["Listeners"][0]["ListenerArn"]
        rules.append(elb.create_rule(ListenerArn=listener, Priority=1, Conditions=[
            {"Field": "path-pattern", "Values": ["/*"]}], Actions=[
            {"Type": "forward", "TargetGroupArn": tgs[0]}])["Rules"][0]["RuleArn"])
    ecs.create_cluster(clusterName="bg")
    tds = [register_web(ecs, image) for image in ("nginx:1", "nginx:2")]
    return BlueGreen(boto, endpoint, subnets, sg, tgs[0], tgs[1], rules[0], rules[1], tds[0], tds[1])


def error(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


# -- configuration -----------------------------------------------------------------------------------

def test_create_service_reports_blue_green_configuration(bg):
    hooks = [{"hookTargetArn": LAMBDA, "roleArn": HOOK_ROLE, "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]
    bg.create({"bakeTimeInMinutes": 5, "lifecycleHooks": hooks})
    service = bg.service_info()
    config = service["deploymentConfiguration"]
    assert config["strategy"] == "BLUE_GREEN"
    assert config["bakeTimeInMinutes"] == 5
    assert config["lifecycleHooks"] == hooks
    assert service["loadBalancers"][0]["advancedConfiguration"] == {
        "alternateTargetGroupArn": bg.green_tg, "productionListenerRule": bg.prod_rule,
        "testListenerRule": bg.test_rule, "roleArn": ROLE}


def _without(key: str) -> dict:
    return {key: None}


BAD_CREATES = {
    "no advancedConfiguration": ({}, "no-advanced", "advancedConfiguration is required"),
    "no alternate target group": ({}, _without("alternateTargetGroupArn"), "alternateTargetGroupArn is required"),
    "no production listener rule": ({}, _without("productionListenerRule"), "productionListenerRule is required"),
    "no role": ({}, _without("roleArn"), "roleArn is required"),
    "alternate == primary": ({}, "same-tg", "must be different from the targetGroupArn"),
    "unknown alternate target group": ({}, "unknown-tg", "does not exist"),
    "unknown production rule": ({}, "unknown-rule", "does not exist"),
    "bake time above 1440": ({"bakeTimeInMinutes": 1441}, {}, "between 0 and 1440"),
    "bake time below 0": ({"bakeTimeInMinutes": -1}, {}, "between 0 and 1440"),
    "unknown strategy": ({"strategy": "PURPLE"}, {}, "Invalid deployment strategy"),
    "hook with a bad stage": ({"lifecycleHooks": [{"hookTargetArn": LAMBDA, "roleArn": HOOK_ROLE,
                                                   "lifecycleStages": ["BAKE_TIME"]}]}, {}, "Invalid lifecycle stage"),
    "hook with no stage": ({"lifecycleHooks": [{"hookTargetArn": LAMBDA, "roleArn": HOOK_ROLE,
                                                "lifecycleStages": []}]}, {}, "at least one lifecycle stage"),
    "hook with a bad target type": ({"lifecycleHooks": [{"targetType": "SNS", "hookTargetArn": LAMBDA,
                                                         "lifecycleStages": ["PRE_SCALE_UP"]}]}, {},
                                    "Invalid lifecycle hook targetType"),
    "lambda hook without target": ({"lifecycleHooks": [{"roleArn": HOOK_ROLE, "lifecycleStages": ["PRE_SCALE_UP"]}]},
                                   {}, "hookTargetArn is required"),
    "lambda hook with a non-Lambda target": ({"lifecycleHooks": [{"hookTargetArn": "arn:aws:sns:us-east-1:1:t",
                                                                  "roleArn": HOOK_ROLE,
                                                                  "lifecycleStages": ["PRE_SCALE_UP"]}]}, {},
                                             "not a valid Lambda function ARN"),
    "lambda hook without role": ({"lifecycleHooks": [{"hookTargetArn": LAMBDA, "lifecycleStages": ["PRE_SCALE_UP"]}]},
                                 {}, "roleArn is required for an AWS_LAMBDA"),
    "pause hook with a target": ({"lifecycleHooks": [{"targetType": "PAUSE", "hookTargetArn": LAMBDA,
                                                      "lifecycleStages": ["PRE_SCALE_UP"]}]}, {},
                                 "not supported for a PAUSE"),
    "hooks on a rolling service": ({"strategy": "ROLLING", "lifecycleHooks": [
        {"targetType": "PAUSE", "lifecycleStages": ["PRE_SCALE_UP"]}]}, "plain", "only supported for the BLUE_GREEN"),
    "advancedConfiguration on a rolling service": ({"strategy": "ROLLING", "bakeTimeInMinutes": None}, {},
                                                   "only supported for services that use the BLUE_GREEN"),
}


@pytest.mark.parametrize("name", list(BAD_CREATES))
def test_create_service_refusals(bg, name):
    deployment, advanced, message = BAD_CREATES[name]
    deployment = dict(deployment)
    if advanced == "no-advanced":
        lbs = [{"targetGroupArn": bg.blue_tg, "containerName": "app", "containerPort": 80}]
    elif advanced == "plain":
        lbs = [{"targetGroupArn": bg.blue_tg, "containerName": "app", "containerPort": 80}]
        deployment["bakeTimeInMinutes"] = None
    elif advanced == "same-tg":
        lbs = bg.load_balancers(alternateTargetGroupArn=bg.blue_tg)
    elif advanced == "unknown-tg":
        lbs = bg.load_balancers(alternateTargetGroupArn=bg.green_tg[:-4] + "0000")
    elif advanced == "unknown-rule":
        lbs = bg.load_balancers(productionListenerRule=bg.prod_rule[:-4] + "0000")
    else:
        lbs = bg.load_balancers(**advanced)
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}
    config.update(deployment)
    config = {k: v for k, v in config.items() if v is not None}
    with pytest.raises(ClientError) as exc:
        bg.ecs.create_service(cluster=bg.cluster, serviceName=bg.service, taskDefinition=bg.td1, desiredCount=1,
                              launchType="FARGATE", deploymentConfiguration=config, loadBalancers=lbs)
    code, text = error(exc)
    assert code == "InvalidParameterException"
    assert message in text
    assert bg.ecs.list_services(cluster=bg.cluster)["serviceArns"] == []  # refused before any write


def test_blue_green_needs_the_ecs_controller(bg):
    with pytest.raises(ClientError) as exc:
        bg.create(deploymentController={"type": "CODE_DEPLOY"})
    assert error(exc)[0] == "InvalidParameterException"
    assert "ECS deployment controller" in error(exc)[1]


def test_update_service_to_blue_green_is_validated(bg):
    bg.create({"strategy": "ROLLING", "bakeTimeInMinutes": None},
              load_balancers=[{"targetGroupArn": bg.blue_tg, "containerName": "app", "containerPort": 80}])
    with pytest.raises(ClientError) as exc:
        bg.ecs.update_service(cluster=bg.cluster, service=bg.service,
                              deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1})
    assert error(exc)[0] == "InvalidParameterException"
    assert "advancedConfiguration is required" in error(exc)[1]
    assert bg.service_info()["deploymentConfiguration"].get("strategy") == "ROLLING"
    bg.ecs.update_service(cluster=bg.cluster, service=bg.service, loadBalancers=bg.load_balancers(),
                          deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2})
    service = bg.service_info()
    assert service["deploymentConfiguration"]["bakeTimeInMinutes"] == 2
    assert service["loadBalancers"][0]["advancedConfiguration"]["alternateTargetGroupArn"] == bg.green_tg


# -- releases ----------------------------------------------------------------------------------------

def history(bg: BlueGreen, arn: str) -> tuple[list[str], list[dict]]:
    """What the endpoint recorded of a deployment: the lifecycle stages entered and the production rule's
    weights set, each in order (/_localaws/ecs/deployments: no sampling, so nothing short is missed)."""
    found = control(bg.endpoint, f"/_localaws/ecs/deployments?serviceDeploymentArn={arn}")["serviceDeployments"]
    events = found[0]["history"]
    return ([e["lifecycleStage"] for e in events if "lifecycleStage" in e],
            [e["productionWeights"] for e in events if "productionWeights" in e])


def observe(bg: BlueGreen, arn: str, timeout: float = 20.0) -> tuple[list[str], list[dict], dict]:
    """Wait until the deployment ends: its stages and production weights in order, and its final description."""
    done = bg.wait(arn, timeout=timeout)
    stages, weights = history(bg, arn)
    return stages, weights, done


def test_release_runs_the_lifecycle_and_swaps_the_groups(bg):
    bg.create({"bakeTimeInMinutes": 2})
    first = bg.wait(bg.latest())
    assert first["status"] == "SUCCESSFUL"
    assert "sourceServiceRevisions" not in first or first["sourceServiceRevisions"] == []
    assert bg.weights(bg.prod_rule) == {bg.blue_tg: 100, bg.green_tg: 0}

    arn = bg.release()
    pending = bg.describe(arn)
    assert pending["status"] in ("PENDING", "IN_PROGRESS")
    stages, weights, done = observe(bg, arn)
    assert done["status"] == "SUCCESSFUL", done
    assert stages == STAGES  # every stage, in AWS's order (one source revision: no RECONCILE_SERVICE)
    assert weights == [{bg.green_tg: 100, bg.blue_tg: 0}]
    assert bg.weights(bg.prod_rule) == {bg.green_tg: 100, bg.blue_tg: 0}
    assert bg.weights(bg.test_rule) == {bg.green_tg: 100, bg.blue_tg: 0}
    assert done["sourceServiceRevisions"][0]["arn"] == first["targetServiceRevision"]["arn"]
    assert done["startedAt"] <= done["finishedAt"]
    assert done["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    assert done["deploymentCircuitBreaker"]["status"] == "DISABLED"
    assert done["alarms"]["status"] == "DISABLED"
    revision = bg.ecs.describe_service_revisions(serviceRevisionArns=[done["targetServiceRevision"]["arn"]])[
        "serviceRevisions"][0]
    assert revision["taskDefinition"] == bg.td2
    assert revision["resolvedConfiguration"]["loadBalancers"][0]["targetGroupArn"] == bg.green_tg
    assert bg.service_info()["taskDefinition"] == bg.td2

    # the next release goes the other way: green is now live, blue receives the new revision
    third = bg.release(bg.td1)
    _stages, weights, done = observe(bg, third)
    assert done["status"] == "SUCCESSFUL"
    assert weights == [{bg.blue_tg: 100, bg.green_tg: 0}]
    assert bg.weights(bg.prod_rule) == {bg.blue_tg: 100, bg.green_tg: 0}


def test_the_listeners_default_rules_as_production_and_test_rules(bg):
    """A service on the default route: its rules are the listeners' default rules (by their rule ARNs)."""
    defaults = {}
    for rule_arn in (bg.prod_rule, bg.test_rule):
        listener = bg.elb.describe_rules(RuleArns=[rule_arn])["Rules"][0]["RuleArn"].replace(":listener-rule/", ":listener/")
        listener = listener.rsplit("/", 1)[0]
        bg.elb.modify_listener(ListenerArn=listener, DefaultActions=[{"Type": "forward", "TargetGroupArn": bg.blue_tg}])
        bg.elb.delete_rule(RuleArn=rule_arn)
        [default] = [r for r in bg.elb.describe_rules(ListenerArn=listener)["Rules"] if r["IsDefault"]]
        defaults[listener] = default["RuleArn"]
    production_rule, test_rule = list(defaults.values())
    bg.create({"bakeTimeInMinutes": 0}, load_balancers=bg.load_balancers(
        productionListenerRule=production_rule, testListenerRule=test_rule))
    assert bg.wait(bg.latest())["status"] == "SUCCESSFUL"

    done = bg.wait(bg.release())
    assert done["status"] == "SUCCESSFUL", done
    for listener, rule_arn in defaults.items():
        assert bg.weights(rule_arn) == {bg.green_tg: 100, bg.blue_tg: 0}
        # the listener's default actions are the default rule's
        [action] = bg.elb.describe_listeners(ListenerArns=[listener])["Listeners"][0]["DefaultActions"]
        assert {g["TargetGroupArn"]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]} == \
            {bg.green_tg: 100, bg.blue_tg: 0}


def test_canary_shifts_production_in_two_steps(bg):
    bg.create({"strategy": "CANARY", "bakeTimeInMinutes": 0,
               "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 2}})
    bg.wait(bg.latest())
    _stages, weights, done = observe(bg, bg.release())
    assert done["status"] == "SUCCESSFUL"
    assert weights == [{bg.blue_tg: 90, bg.green_tg: 10}, {bg.green_tg: 100, bg.blue_tg: 0}]
    assert bg.weights(bg.prod_rule) == {bg.green_tg: 100, bg.blue_tg: 0}


def test_linear_shifts_production_in_steps(bg):
    bg.create({"strategy": "LINEAR", "bakeTimeInMinutes": 0,
               "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 1}})
    bg.wait(bg.latest())
    _stages, weights, done = observe(bg, bg.release())
    assert done["status"] == "SUCCESSFUL"
    assert [w[bg.green_tg] for w in weights] == [25, 50, 75, 100]


def test_list_service_deployments_filters(bg):
    bg.create({"bakeTimeInMinutes": 0})
    first = bg.wait(bg.latest())
    between = datetime.now(UTC)
    time.sleep(0.05)
    second = bg.wait(bg.release())
    assert [d["serviceDeploymentArn"] for d in bg.deployments()] == [second["serviceDeploymentArn"],
                                                                     first["serviceDeploymentArn"]]
    assert [d["serviceDeploymentArn"] for d in bg.deployments(createdAt={"after": between})] == [
        second["serviceDeploymentArn"]]
    assert [d["serviceDeploymentArn"] for d in bg.deployments(createdAt={"before": between})] == [
        first["serviceDeploymentArn"]]
    assert bg.deployments(status=["ROLLBACK_SUCCESSFUL"]) == []
    assert len(bg.deployments(status=["SUCCESSFUL"])) == 2
    page = bg.ecs.list_service_deployments(cluster=bg.cluster, service=bg.service, maxResults=1)
    assert len(page["serviceDeployments"]) == 1 and page["nextToken"]
    brief = page["serviceDeployments"][0]
    assert brief["targetServiceRevisionArn"] == second["targetServiceRevision"]["arn"]
    with pytest.raises(ClientError) as exc:
        bg.ecs.list_service_deployments(cluster=bg.cluster, service="nope")
    assert error(exc)[0] == "ServiceNotFoundException"
    missing = bg.ecs.describe_service_deployments(serviceDeploymentArns=[first["serviceDeploymentArn"] + "x"])
    assert missing["serviceDeployments"] == [] and missing["failures"][0]["reason"] == "MISSING"


# -- stopping ----------------------------------------------------------------------------------------

def test_stop_service_deployment_rolls_back(bg):
    live, idle = _ready(bg, {"bakeTimeInMinutes": 0})
    bg.ecs.update_service(cluster=bg.cluster, service=bg.service,
                          deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 600})
    arn = bg.release()
    bg.wait(arn, stage="BAKE_TIME")
    assert bg.weights(bg.prod_rule) == {idle: 100, live: 0}
    assert bg.service_info()["taskDefinition"] == bg.td2
    bg.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert bg.describe(arn)["status"] in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL")
    done = bg.wait(arn)
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert done["rollback"]["serviceRevisionArn"] == done["sourceServiceRevisions"][0]["arn"]
    assert "StopServiceDeployment" in done["rollback"]["reason"]
    assert bg.weights(bg.prod_rule) == {live: 100, idle: 0}
    assert bg.weights(bg.test_rule) == {live: 100, idle: 0}
    assert bg.service_info()["taskDefinition"] == bg.td1

    with pytest.raises(ClientError) as exc:
        bg.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert error(exc)[0] == "ConflictException"


def test_stop_refusals(bg):
    bg.create({"bakeTimeInMinutes": 600})
    arn = bg.latest()
    with pytest.raises(ClientError) as exc:
        bg.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")
    assert error(exc)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        bg.ecs.stop_service_deployment(serviceDeploymentArn=arn + "x", stopType="ROLLBACK")
    assert error(exc)[0] == "ServiceDeploymentNotFoundException"
    assert bg.describe(arn)["status"] in ("PENDING", "IN_PROGRESS")


def _live(bg: BlueGreen) -> str:
    return next(tg for tg, w in bg.weights(bg.prod_rule).items() if w == 100)


def _ready(bg: BlueGreen, deployment: dict) -> tuple[str, str]:
    """A service with a finished first deployment and ``deployment`` as its configuration: (live tg, idle tg)."""
    bg.create(deployment)
    bg.wait(bg.latest())
    live = _live(bg)
    return live, bg.green_tg if live == bg.blue_tg else bg.blue_tg


def test_alarm_in_alarm_rolls_back(bg):
    cw = bg.boto("cloudwatch")
    cw.put_metric_alarm(AlarmName="5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
    live, idle = _ready(bg, {"bakeTimeInMinutes": 0,
                             "alarms": {"alarmNames": ["5xx"], "enable": True, "rollback": True}})
    bg.ecs.update_service(cluster=bg.cluster, service=bg.service, deploymentConfiguration={
        "strategy": "BLUE_GREEN", "bakeTimeInMinutes": 600,
        "alarms": {"alarmNames": ["5xx"], "enable": True, "rollback": True}})
    arn = bg.release()
    bg.wait(arn, stage="BAKE_TIME")
    assert bg.weights(bg.prod_rule)[idle] == 100
    assert bg.describe(arn)["alarms"]["status"] == "MONITORING"
    cw.set_alarm_state(AlarmName="5xx", StateValue="ALARM", StateReason="test")
    done = bg.wait(arn)
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert done["alarms"]["status"] == "TRIGGERED"
    assert done["alarms"]["triggeredAlarmNames"] == ["5xx"]
    assert "5xx" in done["rollback"]["reason"]
    assert bg.weights(bg.prod_rule) == {live: 100, idle: 0}
    assert bg.service_info()["taskDefinition"] == bg.td1


def test_circuit_breaker_rolls_back_on_unhealthy_targets(bg, ctl):
    live, idle = _ready(bg, {"bakeTimeInMinutes": 0,
                             "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    ctl("/_localaws/elbv2/target-health", {"targetGroupArn": idle, "state": "unhealthy"})
    done = bg.wait(bg.release())
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert done["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert done["deploymentCircuitBreaker"]["failureCount"] == done["deploymentCircuitBreaker"]["threshold"] == 3
    assert bg.weights(bg.prod_rule) == {live: 100, idle: 0}


# -- lifecycle hooks -----------------------------------------------------------------------------------

def _hook(stage: str, **extra) -> dict:
    hook = {"hookTargetArn": LAMBDA, "roleArn": HOOK_ROLE, "lifecycleStages": [stage]}
    hook.update(extra)
    return {k: v for k, v in hook.items() if v is not None}


def test_lambda_hooks_are_recorded(bg, ctl):
    hooks = [_hook("POST_TEST_TRAFFIC_SHIFT"), _hook("PRE_PRODUCTION_TRAFFIC_SHIFT")]
    bg.create({"bakeTimeInMinutes": 0, "lifecycleHooks": hooks})
    arn = bg.latest()
    done = bg.wait(arn)
    assert done["status"] == "SUCCESSFUL"
    recorded = ctl(f"/_localaws/ecs/hooks?serviceDeploymentArn={arn}")["hooks"]
    assert [h["lifecycleStage"] for h in recorded] == ["POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"]
    assert {h["status"] for h in recorded} == {"SUCCEEDED"}
    assert [h["hookId"] for h in done["lifecycleHookDetails"]] == [h["hookId"] for h in recorded]
    assert done["lifecycleHookDetails"][0]["targetArn"] == LAMBDA


def test_failing_hook_rolls_back(bg, ctl):
    live, idle = _ready(bg, {"bakeTimeInMinutes": 0, "lifecycleHooks": [_hook("POST_TEST_TRAFFIC_SHIFT")]})
    ctl("/_localaws/ecs/hooks", {"mode": "fail"})
    done = bg.wait(bg.release())
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert done["lifecycleHookDetails"][-1]["status"] == "FAILED"
    assert bg.weights(bg.prod_rule) == {live: 100, idle: 0}
    assert bg.weights(bg.test_rule)[live] == 100


def test_waiting_hook_is_answered(bg, ctl):
    long = {"timeoutInMinutes": 600, "action": "ROLLBACK"}  # 120 s at the tests' time scale
    bg.create({"bakeTimeInMinutes": 0, "lifecycleHooks": [_hook("POST_SCALE_UP", timeoutConfiguration=long)]})
    bg.wait(bg.latest())
    ctl("/_localaws/ecs/hooks", {"mode": "wait"})
    arn = bg.release()
    info = bg.wait(arn, stage="POST_SCALE_UP")
    deadline = time.monotonic() + 10
    while not info.get("lifecycleHookDetails") and time.monotonic() < deadline:
        info = bg.describe(arn)
    hook = info["lifecycleHookDetails"][0]
    assert hook["status"] == "IN_PROGRESS"
    assert bg.describe(arn)["lifecycleStage"] == "POST_SCALE_UP"
    ctl("/_localaws/ecs/hooks", {"hookId": hook["hookId"], "status": "SUCCEEDED"})
    assert bg.wait(arn)["status"] == "SUCCESSFUL"


@pytest.mark.parametrize("action,status", [("CONTINUE", "SUCCESSFUL"), ("ROLLBACK", "ROLLBACK_SUCCESSFUL")])
def test_hook_that_times_out_takes_its_timeout_action(bg, ctl, action, status):
    bg.create({"bakeTimeInMinutes": 0, "lifecycleHooks": [
        _hook("POST_TEST_TRAFFIC_SHIFT", timeoutConfiguration={"timeoutInMinutes": 1, "action": action})]})
    bg.wait(bg.latest())
    ctl("/_localaws/ecs/hooks", {"mode": "wait"})  # the Lambda never answers
    done = bg.wait(bg.release())
    assert done["status"] == status
    hook = done["lifecycleHookDetails"][-1]
    assert hook["status"] == "TIMED_OUT" and hook["timeoutAction"] == action


@pytest.mark.parametrize("action,status", [("CONTINUE", "SUCCESSFUL"), ("ROLLBACK", "ROLLBACK_SUCCESSFUL")])
def test_pause_hook_waits_for_continue(bg, action, status):
    bg.create({"bakeTimeInMinutes": 0, "lifecycleHooks": [
        {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
         "timeoutConfiguration": {"timeoutInMinutes": 600, "action": "ROLLBACK"}}]})
    bg.wait(bg.latest(), stage="POST_TEST_TRAFFIC_SHIFT")
    bg.ecs.continue_service_deployment(serviceDeploymentArn=bg.latest(), hookId=bg.describe(bg.latest())[
        "lifecycleHookDetails"][0]["hookId"])
    bg.wait(bg.latest())
    arn = bg.release()
    info = bg.wait(arn, stage="POST_TEST_TRAFFIC_SHIFT")
    deadline = time.monotonic() + 10
    while not info.get("lifecycleHookDetails") and time.monotonic() < deadline:
        info = bg.describe(arn)
    hook = info["lifecycleHookDetails"][0]
    assert hook["status"] == "AWAITING_ACTION" and hook["targetType"] == "PAUSE"
    with pytest.raises(ClientError) as exc:
        bg.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId="nope")
    assert error(exc)[0] == "InvalidParameterException"
    bg.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action=action)
    assert bg.wait(arn)["status"] == status


def test_update_without_a_new_revision_makes_no_deployment(bg):
    bg.create({"bakeTimeInMinutes": 0})
    bg.wait(bg.latest())
    bg.ecs.update_service(cluster=bg.cluster, service=bg.service, desiredCount=3)
    bg.ecs.update_service(cluster=bg.cluster, service=bg.service, taskDefinition=bg.td1)
    assert len(bg.deployments()) == 1


def test_a_new_release_stops_the_running_one(bg):
    live, idle = _ready(bg, {"bakeTimeInMinutes": 0})
    bg.ecs.update_service(cluster=bg.cluster, service=bg.service,
                          deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 600})
    first = bg.release()
    bg.wait(first, stage="BAKE_TIME")
    second = bg.release(bg.td1, forceNewDeployment=True)
    stopped = bg.describe(first)
    assert stopped["status"] == "STOPPED"
    assert second in stopped["statusReason"]
    assert bg.describe(second)["sourceServiceRevisions"][0]["arn"] == stopped["sourceServiceRevisions"][0]["arn"]
    assert bg.wait(second, stage="BAKE_TIME")["status"] == "IN_PROGRESS"
    assert bg.weights(bg.prod_rule) == {idle: 100, live: 0}  # the new release's green is the same idle group


def test_code_deploy_service_cannot_switch_to_blue_green_strategy(bg):
    bg.ecs.create_service(cluster=bg.cluster, serviceName=bg.service, taskDefinition=bg.td1, desiredCount=1,
                          launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"},
                          loadBalancers=[{"targetGroupArn": bg.blue_tg, "containerName": "app", "containerPort": 80}])
    with pytest.raises(ClientError) as exc:
        bg.ecs.update_service(cluster=bg.cluster, service=bg.service,
                              deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})
    assert error(exc)[0] == "InvalidParameterException"
    assert "ECS deployment controller" in error(exc)[1]


def test_aws_cli_reads_service_deployments(bg):
    """AWS's own CLI as a referee: it lists, describes and stops service deployments from the endpoint."""
    bg.create({"bakeTimeInMinutes": 600})
    arn = bg.latest()
    listed = aws(bg.endpoint, "ecs", "list-service-deployments", "--cluster", bg.cluster, "--service", bg.service,
                 "--output", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["serviceDeployments"][0]["serviceDeploymentArn"] == arn
    described = aws(bg.endpoint, "ecs", "describe-service-deployments", "--service-deployment-arns", arn,
                    "--output", "json")
    assert described.returncode == 0, described.stderr
    deployment = json.loads(described.stdout)["serviceDeployments"][0]
    assert deployment["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    revision = aws(bg.endpoint, "ecs", "describe-service-revisions", "--service-revision-arns",
                   deployment["targetServiceRevision"]["arn"], "--output", "json")
    assert revision.returncode == 0, revision.stderr
    assert json.loads(revision.stdout)["serviceRevisions"][0]["taskDefinition"] == bg.td1
    stopped = aws(bg.endpoint, "ecs", "stop-service-deployment", "--service-deployment-arn", arn,
                  "--stop-type", "ROLLBACK", "--output", "json")
    assert stopped.returncode == 0, stopped.stderr
    assert bg.wait(arn)["status"] == "ROLLBACK_SUCCESSFUL"
    again = aws(bg.endpoint, "ecs", "stop-service-deployment", "--service-deployment-arn", arn)
    assert again.returncode != 0 and "ConflictException" in again.stderr


def test_a_code_deploy_service_moves_to_ecs_blue_green_in_place(bg):
    bg.ecs.create_service(cluster=bg.cluster, serviceName=bg.service, taskDefinition=bg.td1, desiredCount=1,
                          launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"},
                          loadBalancers=[{"targetGroupArn": bg.blue_tg, "containerName": "app", "containerPort": 80}],
                          networkConfiguration={"awsvpcConfiguration": {"subnets": bg.subnets,
                                                                        "securityGroups": [bg.security_group]}})
    assert bg.deployments() == []  # CodeDeploy's releases are no ECS service deployments
    bg.ecs.update_service(cluster=bg.cluster, service=bg.service, deploymentController={"type": "ECS"},
                          deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0},
                          loadBalancers=bg.load_balancers())
    service = bg.service_info()
    assert service["deploymentController"] == {"type": "ECS"}
    assert service.get("taskSets", []) == []
    assert bg.wait(bg.latest())["status"] == "SUCCESSFUL"
    assert bg.weights(bg.prod_rule) == {bg.blue_tg: 100, bg.green_tg: 0}
    done = bg.wait(bg.release())
    assert done["status"] == "SUCCESSFUL"
    assert bg.weights(bg.prod_rule) == {bg.green_tg: 100, bg.blue_tg: 0}
