"""The platform roles (ecr, iam, ecs_cluster, alb, ecs_service) through playbooks/site.yml
and playbooks/destroy.yml, against the local endpoint.

The lifecycle test is one sequence on one stack (converging is the slow part):
converge from empty, wiring, idempotence, --check --diff, a completed blue/green
release kept by a re-converge, destroy (twice) back to the fresh-endpoint baseline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import playbook_env
from tests.integration.platform.inventory import diff, snapshot

ROOT = Path(__file__).resolve().parents[2]
SITE = "playbooks/site.yml"
DESTROY = "playbooks/destroy.yml"
STACK = "seed"
SERVICES = {"api": 8000, "web": 8080}

pytestmark = pytest.mark.slow(minutes=12)


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
        assert c["readonlyRootFilesystem"] is (svc == "api")
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
        == ["AWSCodeDeployRoleForECS"]
    execution = iam.get_role_policy(RoleName="seed-task-execution", PolicyName="seed-task-execution")["PolicyDocument"]
    resources = {s["Sid"]: s["Resource"] for s in execution["Statement"]}
    assert resources["EcrPull"].endswith(":repository/seed/*") and resources["Logs"].endswith(":log-group:/ecs/seed/*:*")
    for svc in SERVICES:
        assert trust(f"seed-{svc}-task") == "ecs-tasks.amazonaws.com"
        assert iam.list_attached_role_policies(RoleName=f"seed-{svc}-task")["AttachedPolicies"] == []
    # api has `table: true`: its task role may use its own table and nothing else; web has no policy
    assert iam.list_role_policies(RoleName="seed-web-task")["PolicyNames"] == []
    assert iam.list_role_policies(RoleName="seed-api-task")["PolicyNames"] == ["seed-api"]
    table_policy = iam.get_role_policy(RoleName="seed-api-task", PolicyName="seed-api")["PolicyDocument"]
    resources = {r for st in table_policy["Statement"] for r in ([st["Resource"]] if isinstance(st["Resource"], str)
                                                                 else st["Resource"])}
    assert resources == {"arn:aws:dynamodb:us-east-1:123456789012:table/seed-api"}, table_policy


def release_to_green(boto) -> None:
    """What a completed CodeDeploy blue/green release leaves: production forwards to green."""
    elbv2 = boto("elbv2")
    tgs = {tg["TargetGroupName"]: tg["TargetGroupArn"] for tg in elbv2.describe_target_groups()["TargetGroups"]}
    listener = _listeners(boto)[80]
    elbv2.modify_listener(ListenerArn=listener["ListenerArn"],
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tgs["seed-web-green"]}])
    for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
        if not rule["IsDefault"]:
            elbv2.modify_rule(RuleArn=rule["RuleArn"], Actions=[{"Type": "forward", "TargetGroupArn": tgs["seed-api-green"]}])


def test_platform_lifecycle(run_playbook, boto):
    baseline = snapshot(boto)

    run = run_playbook(SITE)
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    assert_wiring(boto)
    converged = snapshot(boto)

    # Second converge: nothing to do, nothing written.
    again = run_playbook(SITE)
    assert again.rc == 0, again.failure_messages()
    assert again.changed == 0, [t for t in again.plays[0]["tasks"] if any(h.get("changed") for h in t["hosts"].values())]
    assert again.writes == []

    # --check --diff on the converged stack: no change and no write.
    check = run_playbook(SITE, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 0
    assert check.writes == []

    # A completed blue/green release moved production to green; a converge keeps it there.
    release_to_green(boto)
    after_release = run_playbook(SITE)
    assert after_release.rc == 0, after_release.failure_messages()
    assert _routing(boto, 80) == {"api": "seed-api-green", "web": "seed-web-green"}
    # Between releases the test listener may forward to either group (CodeDeploy re-points it at the
    # next release): it stays where it is, and nothing is written.
    assert _routing(boto, 9000) == {"api": "seed-api-green", "web": "seed-web-green"}
    assert after_release.changed == 0 and after_release.writes == [], after_release.writes
    assert snapshot(boto) == converged

    # Destroy: back to the fresh endpoint, and a second destroy is a no-op.
    gone = run_playbook(DESTROY)
    assert gone.rc == 0, gone.failure_messages() or gone.stderr[-3000:]
    assert diff(baseline, snapshot(boto)) == {}
    twice = run_playbook(DESTROY)
    assert twice.rc == 0, twice.failure_messages()
    assert twice.changed == 0 and twice.writes == []


def test_platform_interrupted_converge_recovers(endpoint, aws_env, run_playbook, boto):
    """Kill a converge once the first platform resources exist; the re-run ends where a clean one does."""
    env = playbook_env(aws_env)
    proc = subprocess.Popen([str(Path(sys.executable).with_name("ansible-playbook")), SITE], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if any(r["RoleName"].startswith("seed-") for r in boto("iam").list_roles()["Roles"]):
                break
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode != 0, "the converge finished before it could be interrupted"
    assert boto("ecs").list_services(cluster=STACK)["serviceArns"] == [] if boto("ecs").list_clusters()["clusterArns"] else True

    run = run_playbook(SITE)
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    assert_wiring(boto)
    state = snapshot(boto)
    assert state["target_groups"] == {f"seed-{s}-{c}" for s in SERVICES for c in ("blue", "green")}
    assert len(state["load_balancers"]) == 1 and len(state["ecs_services"]) == 2
    assert len(state["task_definitions"]) == 2
    assert len([v for v in boto("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]]) == 1
    again = run_playbook(SITE)
    assert again.changed == 0 and again.writes == []
