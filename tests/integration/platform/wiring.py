"""What a converged stack must look like, checked through the AWS APIs (tests/integration/bluegreen's stack
story and test_platform's interrupted converge)."""

from __future__ import annotations

import json

from tests.integration.platform.policies import assert_policies_lint_clean

STACK = "seed"
SERVICES = {"api": 8000, "web": 8080}


def _forward_arn(actions: list[dict]) -> str:
    fwd = next(a for a in actions if a["Type"] == "forward")
    if fwd.get("ForwardConfig", {}).get("TargetGroups"):
        return max(fwd["ForwardConfig"]["TargetGroups"], key=lambda t: t.get("Weight", 0))["TargetGroupArn"]
    return fwd["TargetGroupArn"]


def _listeners(boto) -> dict[int, dict]:
    elbv2 = boto("elbv2")
    lb = next(lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == STACK)
    return {li["Port"]: li for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}


def _routing(boto, port: int) -> dict[str, str]:
    """service -> target group name the listener on ``port`` forwards it to."""
    elbv2 = boto("elbv2")
    listener = _listeners(boto)[port]
    names = {tg["TargetGroupArn"]: tg["TargetGroupName"] for tg in elbv2.describe_target_groups()["TargetGroups"]}
    out = {"web": names[_forward_arn(listener["DefaultActions"])]}
    for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
        if rule["IsDefault"]:
            continue
        patterns = [v for c in rule["Conditions"] if c["Field"] == "path-pattern" for v in c.get("Values", [])]
        assert patterns == ["/api/*"], rule
        out["api"] = names[_forward_arn(rule["Actions"])]
    return out


def assert_wiring(boto) -> None:
    ec2, elbv2, ecs, ecr, iam = boto("ec2"), boto("elbv2"), boto("ecs"), boto("ecr"), boto("iam")
    logs, aas = boto("logs"), boto("application-autoscaling")

    # ALB: internet-facing, in the public subnets, with its own security group.
    lb = next(lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == STACK)
    assert lb["Scheme"] == "internet-facing"
    lb_subnets = {az["SubnetId"] for az in lb["AvailabilityZones"]}
    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [lb["VpcId"]]}])["Subnets"]}
    assert len(lb_subnets) >= 2
    alb_sg = lb["SecurityGroups"]
    assert len(alb_sg) == 1
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "false"  # stack_alb_deletion_protection's default

    # Listeners: production HTTP:80 and the test listener on 9000, same routing, blue live.
    listeners = _listeners(boto)
    assert set(listeners) == {80, 9000}
    assert _routing(boto, 80) == {"api": "seed-api-blue", "web": "seed-web-blue"}
    assert _routing(boto, 9000) == {"api": "seed-api-green", "web": "seed-web-green"}

    # Target groups: ip targets, health check path per service.
    tgs = {tg["TargetGroupName"]: tg for tg in elbv2.describe_target_groups()["TargetGroups"]}
    for svc, port in SERVICES.items():
        for color in ("blue", "green"):
            tg = tgs[f"seed-{svc}-{color}"]
            assert (tg["TargetType"], tg["Port"], tg["VpcId"]) == ("ip", port, lb["VpcId"])
    assert tgs["seed-api-blue"]["HealthCheckPath"] == "/api/health"
    assert tgs["seed-web-green"]["HealthCheckPath"] == "/healthz"

    # Cluster: Container Insights, FARGATE + FARGATE_SPOT, default strategy FARGATE.
    cluster = ecs.describe_clusters(clusters=[STACK], include=["SETTINGS"])["clusters"][0]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert sorted(cluster["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert cluster["defaultCapacityProviderStrategy"][0]["capacityProvider"] == "FARGATE"

    # Services: CODE_DEPLOY, live (blue) group, private subnets, task SG, no public IP.
    services = {s["serviceName"]: s for s in ecs.describe_services(cluster=STACK, services=list(SERVICES))["services"]}
    task_sgs = set()
    for svc, port in SERVICES.items():
        s = services[svc]
        assert s["deploymentController"]["type"] == "CODE_DEPLOY"
        assert s["loadBalancers"][0]["targetGroupArn"] == tgs[f"seed-{svc}-blue"]["TargetGroupArn"]
        assert s["loadBalancers"][0]["containerPort"] == port
        vpc_cfg = s["networkConfiguration"]["awsvpcConfiguration"]
        assert vpc_cfg["assignPublicIp"] == "DISABLED"
        assert not set(vpc_cfg["subnets"]) & lb_subnets
        assert all(not subnets[sid]["MapPublicIpOnLaunch"] for sid in vpc_cfg["subnets"])
        assert s["healthCheckGracePeriodSeconds"] == 60
        assert s["capacityProviderStrategy"][0]["capacityProvider"] == "FARGATE"
        task_sgs |= set(vpc_cfg["securityGroups"])
        # Task definition: awsvpc/Fargate, non-root user, read-only root per service, awslogs.
        td = ecs.describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]
        assert td["family"] == f"seed-{svc}" and td["networkMode"] == "awsvpc"
        assert "FARGATE" in td["requiresCompatibilities"] and (td["cpu"], td["memory"]) == ("256", "512")
        c = td["containerDefinitions"][0]
        assert c["user"] == {"api": "10001", "web": "10002"}[svc]
        # read-only roots; web's nginx writes to /tmp, a task volume (Fargate ephemeral storage)
        assert c["readonlyRootFilesystem"] is True
        writable = {"api": [], "web": [("writable-tmp", "/tmp")]}[svc]
        assert [(m["sourceVolume"], m["containerPath"]) for m in c.get("mountPoints", [])] == writable, c.get("mountPoints")
        assert [v["name"] for v in td.get("volumes", [])] == [volume for volume, _path in writable]
        assert c["image"].endswith(f"/seed/{svc}:v1")
        assert c["logConfiguration"]["options"]["awslogs-group"] == f"/ecs/seed/{svc}"
        assert c["healthCheck"]["command"][0] == "CMD-SHELL"

    # Task security group: open only to the ALB security group.
    for sg in ec2.describe_security_groups(GroupIds=sorted(task_sgs))["SecurityGroups"]:
        for perm in sg["IpPermissions"]:
            assert not perm.get("IpRanges") and not perm.get("Ipv6Ranges"), perm
            assert {p["GroupId"] for p in perm["UserIdGroupPairs"]} <= set(alb_sg), perm

    # Auto scaling: min/max from the description, CPU and memory target tracking.
    targets = {t["ResourceId"]: t for t in aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]}
    assert (targets["service/seed/api"]["MinCapacity"], targets["service/seed/api"]["MaxCapacity"]) == (2, 6)
    assert (targets["service/seed/web"]["MinCapacity"], targets["service/seed/web"]["MaxCapacity"]) == (2, 4)
    policies = {p["PolicyName"]: p for p in aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]}
    assert set(policies) == {"seed-api-cpu", "seed-api-memory", "seed-web-cpu", "seed-web-memory"}
    cfg = policies["seed-api-memory"]["TargetTrackingScalingPolicyConfiguration"]
    assert cfg["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageMemoryUtilization"
    assert cfg["TargetValue"] == 75.0

    # Log groups (cloudwatch role, tasks_from: logs).
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix="/ecs/seed/")["logGroups"]}
    assert set(groups) == {"/ecs/seed/api", "/ecs/seed/web"}
    assert all(g.get("retentionInDays") for g in groups.values())

    # ECR: scan on push, immutable tags, lifecycle policy, AES256.
    for svc in SERVICES:
        repo = ecr.describe_repositories(repositoryNames=[f"seed/{svc}"])["repositories"][0]
        assert repo["imageScanningConfiguration"]["scanOnPush"] is True
        assert repo["imageTagMutability"] == "IMMUTABLE"
        assert repo["encryptionConfiguration"]["encryptionType"] == "AES256"
        rules = json.loads(ecr.get_lifecycle_policy(repositoryName=f"seed/{svc}")["lifecyclePolicyText"])["rules"]
        assert {r["selection"]["countType"] for r in rules} == {"sinceImagePushed", "imageCountMoreThan"}

    # IAM: trust and policies.
    def trust(name):
        doc = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        return doc["Statement"][0]["Principal"]["Service"]

    assert trust("seed-task-execution") == "ecs-tasks.amazonaws.com"
    assert trust("seed-codedeploy-ecs") == "codedeploy.amazonaws.com"
    assert [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="seed-codedeploy-ecs")["AttachedPolicies"]] \
        == ["AWSCodeDeployRoleForECSLimited"]
    passing = iam.get_role_policy(RoleName="seed-codedeploy-ecs", PolicyName="seed-codedeploy-ecs-pass-task-roles")[
        "PolicyDocument"]["Statement"]
    assert passing == [{"Sid": "PassTaskRoles", "Effect": "Allow", "Action": "iam:PassRole",
                        "Resource": [iam.get_role(RoleName=name)["Role"]["Arn"]
                                     for name in ("seed-task-execution", "seed-api-task", "seed-web-task")],
                        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}], passing
    execution = iam.get_role_policy(RoleName="seed-task-execution", PolicyName="seed-task-execution")["PolicyDocument"]
    resources = {s["Sid"]: s["Resource"] for s in execution["Statement"]}
    assert resources["EcrPull"].endswith(":repository/seed/*") and resources["Logs"].endswith(":log-group:/ecs/seed/*:*")
    # every inline policy, linted (parliament); no service has secrets, so the execution role has no secrets policy
    assert_policies_lint_clean(iam, {"seed-task-execution/seed-task-execution", "seed-api-task/seed-api",
                                     "seed-codedeploy-ecs/seed-codedeploy-ecs-pass-task-roles"})
    for svc in SERVICES:
        assert trust(f"seed-{svc}-task") == "ecs-tasks.amazonaws.com"
        task_trust = iam.get_role(RoleName=f"seed-{svc}-task")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
        assert task_trust["Condition"] == {"ArnLike": {"aws:SourceArn": "arn:aws:ecs:*:123456789012:*"},
                                           "StringEquals": {"aws:SourceAccount": "123456789012"}}, task_trust
        assert iam.list_attached_role_policies(RoleName=f"seed-{svc}-task")["AttachedPolicies"] == []
    # api has `table: true`: its task role may use its own table and nothing else; web has no policy
    assert iam.list_role_policies(RoleName="seed-web-task")["PolicyNames"] == []
    assert iam.list_role_policies(RoleName="seed-api-task")["PolicyNames"] == ["seed-api"]
    table_policy = iam.get_role_policy(RoleName="seed-api-task", PolicyName="seed-api")["PolicyDocument"]
    resources = {r for st in table_policy["Statement"] for r in ([st["Resource"]] if isinstance(st["Resource"], str)
                                                                 else st["Resource"])}
    assert resources == {"arn:aws:dynamodb:us-east-1:123456789012:table/seed-api"}, table_policy
