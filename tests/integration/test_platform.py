"""The default stack from empty against the local endpoint, in one story: a dry run of the stack that does not exist yet
(``site.yml --check --diff`` completes, writes nothing, reports what it would make), a converge of playbooks/site.yml
killed half-way, the re-run that ends where a clean one does, and the converged stack in sync: --check --diff and a
second converge with nothing to do, nothing written (the no-op's call budget). The plan and the converge are given the
services as a user may write them (web without path_patterns).

The stack's life with releases (converge from empty, wiring, releases, re-converges and --check --diff in sync with
the listener shapes a release leaves, destroy twice back to the fresh-endpoint baseline) is one story on one stack in
tests/integration/bluegreen/test_bluegreen.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import playbook_env
from tests.integration.platform.inventory import snapshot
from tests.integration.platform.wiring import SERVICES, STACK, assert_wiring

ROOT = Path(__file__).resolve().parents[2]
SITE = "playbooks/site.yml"
DESCRIPTION = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())

# The default services written as a user may write them: web without path_patterns, which the argument spec makes
# optional (default [], the default route; the inventory's web says [] as well). The alb role's validation once
# failed on it.
API, WEB = DESCRIPTION["stack_services"]
SERVICES_AS_WRITTEN = {"stack_services": [API, {k: v for k, v in WEB.items() if k != "path_patterns"}]}

# What the plan must report as changed: the first resource of every role, each from its own task.
PLANNED = {
    "seed.fargate.network : VPC",
    "seed.fargate.network : Subnets (public for the load balancer and NAT gateways, private for the Fargate tasks)",
    ("seed.fargate.network : Security groups | the load balancer's and the tasks' (and the VPC endpoints'), each open to the"
     " others only where needed"),
    "seed.fargate.ecr : Repositories | converge one per service",
    "seed.fargate.data : Tables | converge one per service with a table (on-demand, tagged)",
    "seed.fargate.iam : Roles | converge the task execution role, one task role per service and the CodeDeploy role",
    "seed.fargate.ecs_cluster : Cluster | converge with its capacity providers and default strategy",
    "seed.fargate.alb : Target groups | converge a blue and a green group per service",
    "seed.fargate.alb : Load balancer | under --check, the load balancer that would be created with its target groups",
    "seed.fargate.cloudwatch : Log groups | converge one per service with its metric filters",
    "seed.fargate.ecs_service : Task definitions | register a revision where no revision of the family is the desired one",
    "seed.fargate.ecs_service : Services | under --check, the services that would be created in the network still to be made",
    "seed.fargate.cloudwatch : Alarms | converge every alarm, remove the stack's alarms no longer described",
    "seed.fargate.codedeploy : Application | converge",
    "seed.fargate.codedeploy : Deployment groups | converge one per service",
}


def changed_tasks(run) -> dict[str, list[dict]]:
    """task name -> its changed results."""
    out: dict[str, list[dict]] = {}
    for play in run.plays:
        for task in play.get("tasks", []):
            for result in task.get("hosts", {}).values():
                items = result.get("results") or [result]
                changed = [r for r in items if r.get("changed")]
                if changed:
                    out.setdefault(task["task"]["name"], []).extend(changed)
    return out


pytestmark = pytest.mark.slow(minutes=5)


def test_platform_planned_interrupted_recovered_and_in_sync(endpoint, aws_env, run_playbook, boto):
    """Plan the stack on an empty endpoint; kill a converge once the first platform resources exist; the re-run ends where
    a clean one does; then nothing to do."""
    plan = run_playbook(SITE, SERVICES_AS_WRITTEN, check=True, diff=True)
    assert plan.rc == 0, plan.failure_messages() or plan.stderr[-3000:]
    assert plan.writes == [], plan.writes
    assert plan.changed > 0
    planned = changed_tasks(plan)
    assert PLANNED <= planned.keys(), sorted(PLANNED - planned.keys())
    # --diff: the plan shows what would be made, not only that something would
    groups = planned["seed.fargate.alb : Target groups | converge a blue and a green group per service"][0]
    assert {f"seed-{s}-{c}" for s in SERVICES for c in ("blue", "green")} <= set(groups["diff"]["after"]), groups["diff"]
    assert snapshot(boto)["target_groups"] == set()
    assert [v for v in boto("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []

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

    run = run_playbook(SITE, SERVICES_AS_WRITTEN)
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    assert_wiring(boto)
    state = snapshot(boto)
    assert state["target_groups"] == {f"seed-{s}-{c}" for s in SERVICES for c in ("blue", "green")}
    assert len(state["load_balancers"]) == 1 and len(state["ecs_services"]) == 2
    assert len(state["task_definitions"]) == 2
    assert len([v for v in boto("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]]) == 1
    dry = run_playbook(SITE, SERVICES_AS_WRITTEN, check=True, diff=True)
    assert dry.rc == 0, dry.failure_messages() or dry.stderr[-3000:]
    assert dry.changed == 0 and dry.writes == [], changed_tasks(dry).keys()
    again = run_playbook(SITE)
    assert again.changed == 0 and again.writes == []
    # The no-op's call budget (issue 13: <= 70; 58 since the alb role skips a converge with nothing to change;
    # tools/calls_by_task.py shows where they go): a read added to every converge has to be paid for elsewhere.
    assert len(again.calls) <= 60, sorted(f"{c['service']}:{c['action']}" for c in again.calls)

    # Out-of-band changes to the load balancer: the converge finds them in what it read (seed.fargate.alb_drift) and
    # runs amazon.aws.elb_application_lb, which puts each back; then nothing to do again.
    elbv2 = boto("elbv2")
    lb = elbv2.describe_load_balancers(Names=[STACK])["LoadBalancers"][0]
    arn = lb["LoadBalancerArn"]
    listeners = {li["Port"]: li for li in elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]}
    api_rule = next(r for r in elbv2.describe_rules(ListenerArn=listeners[80]["ListenerArn"])["Rules"] if not r["IsDefault"])
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[{"Key": "idle_timeout.timeout_seconds",
                                                                            "Value": "600"}])
    elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "added-by-hand", "Value": "yes"}])
    elbv2.delete_rule(RuleArn=api_rule["RuleArn"])
    elbv2.modify_listener(ListenerArn=listeners[9000]["ListenerArn"], DefaultActions=[{
        "Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain"}}])
    elbv2.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=8081, DefaultActions=listeners[80]["DefaultActions"])
    repaired = run_playbook(SITE)
    assert repaired.rc == 0, repaired.failure_messages() or repaired.stderr[-3000:]
    assert "seed.fargate.alb : Load balancer | converge with production and test listeners" in changed_tasks(repaired)
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
    assert attributes["idle_timeout.timeout_seconds"] == "60"
    tags = {t["Key"] for t in elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]}
    assert "added-by-hand" not in tags
    now = {li["Port"]: li for li in elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]}
    assert set(now) == {80, 9000}
    assert now[9000]["DefaultActions"][0]["Type"] == "forward"
    rules = [r for r in elbv2.describe_rules(ListenerArn=now[80]["ListenerArn"])["Rules"] if not r["IsDefault"]]
    assert [(r["Priority"], r["Conditions"][0]["Values"]) for r in rules] == [(api_rule["Priority"], ["/api/*"])]
    assert_wiring(boto)
    settled = run_playbook(SITE)
    assert settled.changed == 0 and settled.writes == [], changed_tasks(settled).keys()
