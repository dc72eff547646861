"""A minimal ECS blue/green platform for the CodeDeploy module tests, made with boto3.

VPC, ALB with a production (80) and a test (8080) listener, two target groups,
an ECS cluster with a CODE_DEPLOY-controlled Fargate service running revision 1
of the ``api`` task definition (revisions 1-3 registered), and one CloudWatch
alarm. The values are the extra vars the test playbooks take. ``add_service`` adds a second
service to it (its own target groups and listeners on the same load balancer, its own group).
"""

from __future__ import annotations

import json
import time
import urllib.request

APP = "shop"
GROUP = "shop-api"
CLUSTER = "shop"
SERVICE = "api"
ROLE_ARN = "arn:aws:iam::123456789012:role/codedeploy-ecs"
ALARM = "api-5xx"


def build(boto) -> dict:
    ec2, elbv2, ecs, cloudwatch = boto("ec2"), boto("elbv2"), boto("ecs"), boto("cloudwatch")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in enumerate("ab")]
    sg = ec2.create_security_group(GroupName="cdtest", Description="cdtest", VpcId=vpc)["GroupId"]
    alb = elbv2.create_load_balancer(Name="cdtest", Subnets=subnets, Type="application")["LoadBalancers"][0]
    tgs = {color: elbv2.create_target_group(Name=f"api-{color}", Protocol="HTTP", Port=8080, VpcId=vpc,
                                            TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
           for color in ("blue", "green")}
    listeners = {name: elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tgs["blue"]}])["Listeners"][0]["ListenerArn"]
        for name, port in (("prod", 80), ("test", 8080))}
    ecs.create_cluster(clusterName=CLUSTER)
    revisions = [ecs.register_task_definition(
        family="api", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
        containerDefinitions=[{"name": "api", "image": f"example/api:{n}", "essential": True,
                               "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"] for n in (1, 2, 3)]
    ecs.create_service(
        cluster=CLUSTER, serviceName=SERVICE, taskDefinition=revisions[0], desiredCount=1, launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": tgs["blue"], "containerName": "api", "containerPort": 8080}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
    )
    cloudwatch.put_metric_alarm(AlarmName=ALARM, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    return {
        "vpc_id": vpc, "subnets": subnets, "security_group": sg, "alb_arn": alb["LoadBalancerArn"],
        "app_name": APP, "group_name": GROUP, "cluster_name": CLUSTER, "service_name": SERVICE,
        "service_role_arn": ROLE_ARN, "prod_listener_arn": listeners["prod"], "test_listener_arn": listeners["test"],
        "blue_tg_arn": tgs["blue"], "green_tg_arn": tgs["green"],
        "td_v1": revisions[0], "td_v2": revisions[1], "td_v3": revisions[2], "alarm_name": ALARM,
    }


def add_service(boto, platform: dict, name: str, ports: tuple[int, int] = (81, 8081)) -> dict:
    """A second CODE_DEPLOY service ``name`` on the platform: target groups ``<name>-blue/green``,
    production and test listeners on ``ports``, task definition family ``name`` (revisions 1-2),
    running revision 1. Returns the extra vars that point the test playbooks at it."""
    elbv2, ecs = boto("elbv2"), boto("ecs")
    tgs = {color: elbv2.create_target_group(Name=f"{name}-{color}", Protocol="HTTP", Port=8080,
                                            VpcId=platform["vpc_id"], TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
           for color in ("blue", "green")}
    listeners = {kind: elbv2.create_listener(
        LoadBalancerArn=platform["alb_arn"], Protocol="HTTP", Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tgs["blue"]}])["Listeners"][0]["ListenerArn"]
        for kind, port in zip(("prod", "test"), ports)}
    revisions = [ecs.register_task_definition(
        family=name, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
        containerDefinitions=[{"name": "api", "image": f"example/{name}:{n}", "essential": True,
                               "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"] for n in (1, 2)]
    ecs.create_service(
        cluster=CLUSTER, serviceName=name, taskDefinition=revisions[0], desiredCount=1, launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": tgs["blue"], "containerName": "api", "containerPort": 8080}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": platform["subnets"],
                                                      "securityGroups": [platform["security_group"]]}},
    )
    return {
        "group_name": f"{APP}-{name}", "service_name": name,
        "blue_target_group": f"{name}-blue", "green_target_group": f"{name}-green",
        "prod_listener_arn": listeners["prod"], "test_listener_arn": listeners["test"],
        "blue_tg_arn": tgs["blue"], "green_tg_arn": tgs["green"], "td_v1": revisions[0], "td_v2": revisions[1],
    }


def control(endpoint, path: str, body: dict) -> dict:
    """POST to one of the local endpoint's /_localaws control routes."""
    request = urllib.request.Request(endpoint.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def time_scale(endpoint, seconds_per_minute: float) -> None:
    control(endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": seconds_per_minute})


def listener_weights(boto, listener_arn: str) -> dict:
    """{target group ARN: weight} of the listener's default forward action."""
    action = boto("elbv2").describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
    if groups:
        return {g["TargetGroupArn"]: g.get("Weight", 1) for g in groups if g.get("Weight", 1)}
    return {action["TargetGroupArn"]: 1}


def primary_task_definition(boto, service_name: str = SERVICE) -> str:
    service = boto("ecs").describe_services(cluster=CLUSTER, services=[service_name])["services"][0]
    return next(ts["taskDefinition"] for ts in service.get("taskSets", []) if ts["status"] == "PRIMARY")


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")
