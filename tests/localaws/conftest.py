"""An ECS blue/green platform built with boto3 against the local endpoint, for the CodeDeploy tests.

VPC, two subnets, an ALB with a production listener (:80, default action and a
``/api/*`` rule, both to the blue target group) and a test listener (:8080),
blue and green target groups, an ECS cluster with a CODE_DEPLOY Fargate service
on task definition ``web:1``, ``web:2`` registered, and a CodeDeploy ECS
application. ``platform.group(...)`` creates a deployment group over it and
``platform.deploy(...)`` a deployment of a task definition.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest

ROLE = "arn:aws:iam::123456789012:role/codedeploy-ecs"
TIME_SCALE = 0.2  # real seconds per AWS minute in these tests


def control(endpoint, path: str, body: dict | None = None, method: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(endpoint.url + path, data=data, method=method or ("POST" if data else "GET"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@dataclass
class Platform:
    boto: Any
    endpoint: Any
    vpc_id: str
    subnets: list[str]
    security_group: str
    blue_tg: str
    green_tg: str
    prod_listener: str
    test_listener: str
    api_rule: str
    cluster: str
    service: str
    td1: str
    td2: str
    app: str = "web-app"
    role: str = ROLE
    groups: list[str] = field(default_factory=list)

    @property
    def cd(self):
        return self.boto("codedeploy")

    @property
    def elb(self):
        return self.boto("elbv2")

    @property
    def ecs(self):
        return self.boto("ecs")

    def group(self, name: str = "web-dg", config: str = "CodeDeployDefault.ECSAllAtOnce", *,
              termination_wait: int = 0, ready: dict | None = None, rollback_events: list[str] | None = None,
              alarms: list[str] | None = None, test_listener: bool = True, **extra) -> str:
        pair: dict[str, Any] = {
            "targetGroups": [{"name": "web-blue"}, {"name": "web-green"}],
            "prodTrafficRoute": {"listenerArns": [self.prod_listener]},
        }
        if test_listener:
            pair["testTrafficRoute"] = {"listenerArns": [self.test_listener]}
        blue_green: dict[str, Any] = {"terminateBlueInstancesOnDeploymentSuccess": {
            "action": "TERMINATE", "terminationWaitTimeInMinutes": termination_wait}}
        if ready:
            blue_green["deploymentReadyOption"] = ready
        kwargs: dict[str, Any] = {
            "applicationName": self.app, "deploymentGroupName": name, "deploymentConfigName": config,
            "serviceRoleArn": ROLE,
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "blueGreenDeploymentConfiguration": blue_green,
            "loadBalancerInfo": {"targetGroupPairInfoList": [pair]},
            "ecsServices": [{"serviceName": self.service, "clusterName": self.cluster}],
        }
        if rollback_events:
            kwargs["autoRollbackConfiguration"] = {"enabled": True, "events": rollback_events}
        if alarms:
            kwargs["alarmConfiguration"] = {"enabled": True, "ignorePollAlarmFailure": False,
                                            "alarms": [{"name": a} for a in alarms]}
        kwargs.update(extra)
        self.cd.create_deployment_group(**kwargs)
        self.groups.append(name)
        return name

    def appspec(self, task_definition: str, hooks: list[dict] | None = None) -> str:
        spec: dict[str, Any] = {
            "version": 0.0,
            "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
                "TaskDefinition": task_definition,
                "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 80},
                "PlatformVersion": "LATEST",
                "NetworkConfiguration": {"AwsvpcConfiguration": {
                    "Subnets": self.subnets, "SecurityGroups": [self.security_group], "AssignPublicIp": "DISABLED"}},
            }}}],
        }
        if hooks:
            spec["Hooks"] = hooks
        return json.dumps(spec)

    def deploy(self, task_definition: str, group: str = "web-dg", **kwargs) -> str:
        content = kwargs.pop("content", None) or self.appspec(task_definition, kwargs.pop("hooks", None))
        return self.cd.create_deployment(
            applicationName=self.app, deploymentGroupName=group,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
            **kwargs)["deploymentId"]

    def deployment(self, deployment_id: str) -> dict:
        return self.cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]

    def wait(self, deployment_id: str, statuses=("Succeeded", "Failed", "Stopped"), timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.deployment(deployment_id)
            if info["status"] in statuses:
                return info
            time.sleep(0.05)
        raise AssertionError(f"deployment {deployment_id} still {info['status']} after {timeout}s")

    def target(self, deployment_id: str) -> dict:
        target_id = f"{self.cluster}:{self.service}"
        return self.cd.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=[target_id])[
            "deploymentTargets"][0]["ecsTarget"]

    def forward_weights(self, listener_arn: str) -> list[dict[str, int]]:
        """For the default action and each rule of a listener: {tg arn: weight} of its forward action."""
        result = []
        for rule in sorted(self.elb.describe_rules(ListenerArn=listener_arn)["Rules"],
                           key=lambda r: (r["IsDefault"], r["Priority"])):
            for action in rule["Actions"]:
                if action["Type"] != "forward":
                    continue
                groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
                if groups:
                    result.append({g["TargetGroupArn"]: g.get("Weight", 1) for g in groups})
                else:
                    result.append({action["TargetGroupArn"]: 1})
        return result

    def serves_only(self, listener_arn: str, tg_arn: str) -> bool:
        return all({arn for arn, w in weights.items() if w > 0} == {tg_arn}
                   for weights in self.forward_weights(listener_arn))

    def service_info(self) -> dict:
        return self.ecs.describe_services(cluster=self.cluster, services=[self.service])["services"][0]


@pytest.fixture
def ctl(endpoint):
    """``ctl(path, body=None)``: call a control endpoint of the local endpoint (GET without a body)."""
    return lambda path, body=None, method=None: control(endpoint, path, body, method)


@pytest.fixture
def time_scale(endpoint):
    control(endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": TIME_SCALE})
    return TIME_SCALE


@pytest.fixture
def platform(endpoint, boto, time_scale) -> Platform:
    ec2, elb, ecs, cd = boto("ec2"), boto("elbv2"), boto("ecs"), boto("codedeploy")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{az}")[
        "Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]
    sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    lb = elb.create_load_balancer(Name="web", Subnets=subnets, SecurityGroups=[sg], Type="application")[
        "LoadBalancers"][0]["LoadBalancerArn"]
    tgs = {}
    for color in ("blue", "green"):
        tgs[color] = elb.create_target_group(Name=f"web-{color}", Protocol="HTTP", Port=80, VpcId=vpc,
                                             TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    prod = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": tgs["blue"]}])["Listeners"][0]["ListenerArn"]
    test = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8080, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": tgs["blue"]}])["Listeners"][0]["ListenerArn"]
    rule = elb.create_rule(ListenerArn=prod, Priority=10, Conditions=[
        {"Field": "path-pattern", "Values": ["/api/*"]}], Actions=[
        {"Type": "forward", "TargetGroupArn": tgs["blue"]}])["Rules"][0]["RuleArn"]

    ecs.create_cluster(clusterName="web")
    tds = []
    for image in ("nginx:1", "nginx:2"):
        tds.append(ecs.register_task_definition(
            family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": image, "essential": True,
                                   "portMappings": [{"containerPort": 80, "protocol": "tcp"}]}],
        )["taskDefinition"]["taskDefinitionArn"])
    ecs.create_service(
        cluster="web", serviceName="web", taskDefinition=tds[0], desiredCount=2, launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": tgs["blue"], "containerName": "app", "containerPort": 80}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
    )
    cd.create_application(applicationName="web-app", computePlatform="ECS")
    return Platform(boto, endpoint, vpc, subnets, sg, tgs["blue"], tgs["green"], prod, test, rule, "web", "web",
                    tds[0], tds[1])
