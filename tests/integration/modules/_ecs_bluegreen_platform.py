"""A minimal ECS-native blue/green platform for the ecs_service_deployment module tests, made with boto3.

VPC, ALB with a production (80) and a test (8080) listener, each with a rule forwarding to the blue target
group, an ECS cluster and ECS-controlled Fargate services (deployment controller ECS, a CANARY strategy by
default) running revision 1 of their task definition family (revisions 1-3 registered), and one
CloudWatch alarm in the services' alarm configuration (with rollback). ``add_service`` adds a service with
its own target groups and listener rules.
"""

from __future__ import annotations

import json
import time
import urllib.request

CLUSTER = "bg"
SERVICE = "web"
ROLE_ARN = "arn:aws:iam::123456789012:role/ecs-infrastructure"
HOOK_ROLE_ARN = "arn:aws:iam::123456789012:role/ecs-hooks"
HOOK_LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"
ALARM = "web-5xx"
CANARY = {"strategy": "CANARY", "bakeTimeInMinutes": 1,
          "canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 1}}


def build(boto, **service) -> dict:
    ec2, elbv2, ecs, cloudwatch = boto("ec2"), boto("elbv2"), boto("ecs"), boto("cloudwatch")
    vpc = ec2.create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.43.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in enumerate("ab")]
    sg = ec2.create_security_group(GroupName="bgtest", Description="bgtest", VpcId=vpc)["GroupId"]
    alb = elbv2.create_load_balancer(Name="bgtest", Subnets=subnets, Type="application")["LoadBalancers"][0]
    ecs.create_cluster(clusterName=CLUSTER)
    cloudwatch.put_metric_alarm(AlarmName=ALARM, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    platform = {"vpc_id": vpc, "subnets": subnets, "security_group": sg, "alb_arn": alb["LoadBalancerArn"],
                "cluster_name": CLUSTER, "alarm_name": ALARM}
    platform.update(add_service(boto, platform, SERVICE, (80, 8080), **service))
    return platform


def add_service(boto, platform: dict, name: str, ports: tuple[int, int] = (81, 8081), deployment: dict | None = None,
                hooks: list | None = None) -> dict:
    """An ECS-controlled service ``name``: target groups ``<name>-blue/green``, production and test listeners
    on ``ports`` with a rule each, task definition family ``name`` (revisions 1-3), running revision 1."""
    elbv2, ecs = boto("elbv2"), boto("ecs")
    tgs = {color: elbv2.create_target_group(Name=f"{name}-{color}", Protocol="HTTP", Port=8080,
                                            VpcId=platform["vpc_id"], TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
           for color in ("blue", "green")}
    rules = {}
    for kind, port in zip(("prod", "test"), ports):
        listener = elbv2.create_listener(
            LoadBalancerArn=platform["alb_arn"], Protocol="HTTP", Port=port,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        )["Listeners"][0]["ListenerArn"]
        rules[kind] = elbv2.create_rule(ListenerArn=listener, Priority=1,
                                        Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
                                        Actions=[{"Type": "forward", "TargetGroupArn": tgs["blue"]}])["Rules"][0]["RuleArn"]
    revisions = [ecs.register_task_definition(
        family=name, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": f"example/{name}:{n}", "essential": True,
                               "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"] for n in (1, 2, 3)]
    config = dict(CANARY if deployment is None else deployment)
    config["alarms"] = {"alarmNames": [platform["alarm_name"]], "enable": True, "rollback": True}
    if hooks:
        config["lifecycleHooks"] = hooks
    ecs.create_service(
        cluster=CLUSTER, serviceName=name, taskDefinition=revisions[0], desiredCount=2, launchType="FARGATE",
        deploymentController={"type": "ECS"}, deploymentConfiguration=config,
        loadBalancers=[{"targetGroupArn": tgs["blue"], "containerName": "app", "containerPort": 8080,
                        "advancedConfiguration": {"alternateTargetGroupArn": tgs["green"],
                                                  "productionListenerRule": rules["prod"],
                                                  "testListenerRule": rules["test"], "roleArn": ROLE_ARN}}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": platform["subnets"],
                                                      "securityGroups": [platform["security_group"]]}},
    )
    wait_for(lambda: all(d["status"] == "SUCCESSFUL" for d in ecs.list_service_deployments(
        cluster=CLUSTER, service=name)["serviceDeployments"]))
    return {"service_name": name, "blue_tg_arn": tgs["blue"], "green_tg_arn": tgs["green"],
            "prod_rule_arn": rules["prod"], "test_rule_arn": rules["test"],
            "td_v1": revisions[0], "td_v2": revisions[1], "td_v3": revisions[2]}


def control(endpoint, path: str, body: dict) -> dict:
    """POST to one of the local endpoint's /_localaws control routes."""
    request = urllib.request.Request(endpoint.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # loopback endpoint
        return json.loads(response.read() or b"{}")


def time_scale(endpoint, seconds_per_minute: float) -> None:
    control(endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": seconds_per_minute})


def rule_weights(boto, rule_arn: str) -> dict:
    """{target group ARN: weight} of the rule's forward action, weight 0 left out."""
    rule = boto("elbv2").describe_rules(RuleArns=[rule_arn])["Rules"][0]
    action = next(a for a in rule["Actions"] if a["Type"] == "forward")
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
    if groups:
        return {g["TargetGroupArn"]: g.get("Weight", 1) for g in groups if g.get("Weight", 1)}
    return {action["TargetGroupArn"]: 1}


def service(boto, name: str = SERVICE) -> dict:
    return boto("ecs").describe_services(cluster=CLUSTER, services=[name])["services"][0]


def deployments(boto, name: str = SERVICE, **filters) -> list[dict]:
    return boto("ecs").list_service_deployments(cluster=CLUSTER, service=name, **filters)["serviceDeployments"]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")
