"""One role run alone from a user's playbook (tests/integration/test_roles_standalone.playbook.yml): without the
outputs of the roles it builds on, it fails before any AWS write, naming the variable it is missing and the role
(or variable) that provides it, instead of failing inside AWS (ClusterNotFoundException, ...)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STACK = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())
PLAYBOOK = "tests/integration/test_roles_standalone.playbook.yml"
ACCOUNT = "123456789012"
TG = "arn:aws:elasticloadbalancing:us-east-1:" + ACCOUNT + ":targetgroup/seed-{}-{}/0123456789abcdef"

# Everything the ecs_service role takes from the other roles, as a user would pass it; each case leaves one out.
ECS_SERVICE_INPUTS = {
    "ecs_service_cluster_name": "seed",
    "ecs_service_subnet_ids": ["subnet-0123456789abcdef0"],
    "ecs_service_security_group_ids": ["sg-0123456789abcdef0"],
    "ecs_service_execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/seed-task-execution",
    "ecs_service_task_role_arns": {s: f"arn:aws:iam::{ACCOUNT}:role/seed-{s}-task" for s in ("api", "web")},
    "ecs_service_repository_uris": {s: f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/seed/{s}" for s in ("api", "web")},
    "ecs_service_target_groups": {s: {"blue": {"name": f"seed-{s}-blue", "arn": TG.format(s, "blue")},
                                      "green": {"name": f"seed-{s}-green", "arn": TG.format(s, "green")}, "live": "blue"}
                                  for s in ("api", "web")},
}
CODEDEPLOY_INPUTS = {
    "codedeploy_service_role_arn": f"arn:aws:iam::{ACCOUNT}:role/seed-codedeploy",
    "codedeploy_cluster_name": "seed",
    "codedeploy_production_listener_arn": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/seed/0123/4567",
    "codedeploy_target_groups": ECS_SERVICE_INPUTS["ecs_service_target_groups"],
}
CLOUDWATCH_INPUTS = {
    "cloudwatch_ecs_cluster_name": "seed",
    "cloudwatch_ecs_service_names": {"api": "api", "web": "web"},
    "cloudwatch_alb_arn": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/seed/0123456789abcdef",
    "cloudwatch_target_groups": ECS_SERVICE_INPUTS["ecs_service_target_groups"],
}


def without(inputs: dict, name: str) -> dict:
    return {k: v for k, v in inputs.items() if k != name}


CASES = {
    # role alone, nothing given: the first input it checks, with the role that provides it
    "alb alone": ("alb", {}, ["alb_vpc_id", "seed.fargate.network", "network_vpc_id"]),
    "alb without subnets": ("alb", {"alb_vpc_id": "vpc-0123456789abcdef0"},
                            ["alb_subnet_ids", "network_public_subnet_ids"]),
    "alb without security group": ("alb", {"alb_vpc_id": "vpc-0123456789abcdef0", "alb_subnet_ids": ["subnet-a", "subnet-b"]},
                                   ["alb_security_group_ids", "network_alb_security_group_id"]),
    "ecs_service alone": ("ecs_service", {}, ["ecs_service_cluster_name", "seed.fargate.ecs_cluster", "ecs_cluster_name"]),
    "iam without the data role's table ARNs": ("iam", {}, ["iam_table_arns", "seed.fargate.data", "data_table_arns", "api"]),
    "cloudwatch alone": ("cloudwatch", {}, ["cloudwatch_ecs_cluster_name", "seed.fargate.ecs_cluster", "ecs_cluster_name"]),
    "codedeploy alone": ("codedeploy", {}, ["codedeploy_service_role_arn", "seed.fargate.iam", "iam_codedeploy_role_arn"]),
}
PROVIDERS = {
    "ecs_service_cluster_name": "ecs_cluster_name",
    "ecs_service_subnet_ids": "network_private_subnet_ids",
    "ecs_service_security_group_ids": "network_task_security_group_id",
    "ecs_service_execution_role_arn": "iam_task_execution_role_arn",
    "ecs_service_task_role_arns": "iam_task_role_arns",
    "ecs_service_repository_uris": "ecr_repository_uris",
    "ecs_service_target_groups": "alb_target_groups",
    "codedeploy_service_role_arn": "iam_codedeploy_role_arn",
    "codedeploy_cluster_name": "ecs_cluster_name",
    "codedeploy_production_listener_arn": "alb_production_listener_arn",
    "codedeploy_target_groups": "alb_target_groups",
    "cloudwatch_ecs_cluster_name": "ecs_cluster_name",
    "cloudwatch_ecs_service_names": "ecs_service_names",
    "cloudwatch_alb_arn": "alb_arn",
    "cloudwatch_target_groups": "alb_target_groups",
}
for _name in ECS_SERVICE_INPUTS:
    CASES[f"ecs_service without {_name}"] = ("ecs_service", without(ECS_SERVICE_INPUTS, _name), [_name, PROVIDERS[_name]])
for _name in CODEDEPLOY_INPUTS:
    CASES[f"codedeploy without {_name}"] = ("codedeploy", without(CODEDEPLOY_INPUTS, _name), [_name, PROVIDERS[_name]])
for _name in CLOUDWATCH_INPUTS:
    CASES[f"cloudwatch without {_name}"] = ("cloudwatch", without(CLOUDWATCH_INPUTS, _name), [_name, PROVIDERS[_name]])


@pytest.mark.parametrize("role, given, named", list(CASES.values()), ids=list(CASES))
def test_role_alone_names_the_missing_input_before_any_write(run_playbook, role, given, named):
    run = run_playbook(PLAYBOOK, extra_vars={"role_under_test": role, **given})
    assert run.rc != 0
    assert run.writes == [], run.writes
    messages = " ".join(run.failure_messages()) or run.stderr
    for word in named:
        assert word in messages, messages


@pytest.mark.parametrize("check", [False, True], ids=["converge", "check"])
def test_optional_service_fields_may_be_left_out(run_playbook, check):
    """The argument spec makes path_patterns optional (default [], the default route): a stack description without
    it on the default service passes the alb role's validation (which once failed on the missing attribute)."""
    api, web = STACK["stack_services"]
    services = [api, {k: v for k, v in web.items() if k != "path_patterns"}]
    given = {"role_under_test": "alb", "role_entry_point": "validate", "stack_services": services}
    run = run_playbook(PLAYBOOK, check=check, extra_vars=given)
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    assert run.calls == []
