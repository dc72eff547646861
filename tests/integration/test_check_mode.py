"""A dry run of a stack that does not exist yet: ``site.yml --check --diff`` on an empty endpoint completes, writes
nothing (the endpoint's call log) and reports what it would make; the converge after it makes it.

The dry run of a converged stack (nothing to do, nothing written) is part of the stack's story in
tests/integration/bluegreen/test_bluegreen.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.integration.platform.inventory import snapshot
from tests.integration.platform.wiring import SERVICES

ROOT = Path(__file__).resolve().parents[2]
STACK = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())
SITE = "playbooks/site.yml"

# The default service written as a user may write it: without path_patterns, which the argument spec makes
# optional (default [], the default route). The alb role's validation once failed on it.
API, WEB = STACK["stack_services"]
SERVICES_AS_WRITTEN = [API, {k: v for k, v in WEB.items() if k != "path_patterns"}]

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


@pytest.mark.slow(minutes=2)
def test_check_on_an_empty_endpoint_plans_the_stack_and_writes_nothing(run_playbook, boto):
    plan = run_playbook(SITE, {"stack_services": SERVICES_AS_WRITTEN}, check=True, diff=True)
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

    converge = run_playbook(SITE, {"stack_services": SERVICES_AS_WRITTEN})
    assert converge.rc == 0, converge.failure_messages() or converge.stderr[-3000:]
    state = snapshot(boto)
    assert state["target_groups"] == {f"seed-{s}-{c}" for s in SERVICES for c in ("blue", "green")}
    assert len(state["load_balancers"]) == 1 and len(state["ecs_services"]) == 2

    again = run_playbook(SITE, {"stack_services": SERVICES_AS_WRITTEN}, check=True, diff=True)
    assert again.rc == 0, again.failure_messages() or again.stderr[-3000:]
    assert again.changed == 0 and again.writes == [], changed_tasks(again).keys()
