"""Bad stack descriptions fail in site.yml's validation step, before any AWS write,
with a message that names the variable. The cases run as the hosts of one site.yml run (run_playbook_per_case in
tests/conftest.py), each stack description as a host's variables."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STACK = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())


def services(**changes):
    """stack_services with fields of service `api` (or `web` with a `web_` prefix) changed."""
    out = copy.deepcopy(STACK["stack_services"])
    for key, value in changes.items():
        svc = out[1] if key.startswith("web_") else out[0]
        svc[key.removeprefix("web_")] = value
    return out


API = STACK["stack_services"][0]
SSM_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/seed/log-level"
WEB = STACK["stack_services"][1]

CASES = {
    "duplicate service names": ({"stack_services": [API, dict(WEB, name="api")]}, "stack_services"),
    "path pattern clash": ({"stack_services": [API, dict(API, name="admin", priority=20)] + [WEB]}, "path_patterns"),
    "cpu/memory pair Fargate refuses": ({"stack_services": services(cpu=256, memory=4096)}, "ecs_service_services"),
    "cpu not a Fargate size": ({"stack_services": services(cpu=300)}, "ecs_service_services"),
    "512 cpu with 512 memory": ({"stack_services": services(cpu=512, memory=512)}, "ecs_service_services"),
    "min above max": ({"stack_services": services(min_count=5, max_count=3, desired_count=4)}, "min_count"),
    "desired outside min..max": ({"stack_services": services(desired_count=9)}, "desired_count"),
    "unknown capacity provider": ({"ecs_cluster_default_capacity_provider_strategy": [{"capacity_provider": "EC2_SPOT"}]},
                                  "ecs_cluster_default_capacity_provider_strategy"),
    "strategy provider not attached": ({"ecs_cluster_capacity_providers": ["FARGATE"],
                                        "ecs_cluster_default_capacity_provider_strategy": [{"capacity_provider": "FARGATE_SPOT"}]},
                                       "ecs_cluster_default_capacity_provider_strategy"),
    "malformed certificate ARN": ({"stack_certificate_arn": "arn:aws:acm:us-east-1:123:cert/x"}, "alb_certificate_arn"),
    "container port out of range": ({"stack_services": services(container_port=70000)}, "container_port"),
    "container port not a number": ({"stack_services": services(container_port="http")}, "container_port"),
    "health check path without /": ({"stack_services": services(health_check_path="health")}, "health_check_path"),
    "service name not DNS-safe": ({"stack_services": services(name="API_v2")}, "stack_services"),
    "service name too long for target groups": ({"stack_services": services(name="a" * 24)}, "stack_services"),
    "two default services": ({"stack_services": services(path_patterns=[])}, "path_patterns"),
    "no default service": ({"stack_services": services(web_path_patterns=["/web/*"])}, "path_patterns"),
    "bad image tag": ({"stack_services": services(image_tag="-latest!")}, "image_tag"),
    "root user": ({"stack_services": services(user="0")}, "user"),
    "root uid spelled 00": ({"stack_services": services(user="00")}, "api: user is uid 0"),
    "root uid with gid": ({"stack_services": services(web_user="0:0")}, "web: user"),
    "user by name": ({"stack_services": services(user="root")}, "api: user"),
    "default user root": ({"ecs_service_default_user": "000"}, "ecs_service_default_user"),
    "environment value a mapping": ({"stack_services": services(environment={"CONFIG": {"a": 1}})}, "environment CONFIG"),
    "environment value null": ({"stack_services": services(environment={"LOG_LEVEL": None})}, "environment LOG_LEVEL"),
    "environment name set by ECS": ({"stack_services": services(environment={"AWS_REGION": "eu-west-1"})},
                                    "environment AWS_REGION"),
    "environment name not a variable": ({"stack_services": services(environment={"LOG-LEVEL": "info"})},
                                        "environment name 'LOG-LEVEL'"),
    "credential in plain environment": ({"stack_services": services(environment={"DB_PASSWORD": "hunter2"})},
                                        "environment DB_PASSWORD looks like a credential"),
    "secret given by name, not ARN": ({"stack_services": services(secrets={"DB_PASSWORD": "seed/db"})}, "secrets DB_PASSWORD"),
    "secret also in environment": ({"stack_services": services(secrets={"LOG_LEVEL": SSM_ARN})}, "secrets LOG_LEVEL"),
    "writable path not absolute": ({"stack_services": services(web_writable_paths=["tmp"])}, "web: writable_paths"),
    "region AWS does not have": ({"stack_region": "mars-1"}, "stack_region"),
    "stack name not DNS-safe": ({"stack_name": "Seed_Stack"}, "stack_name"),
    "missing cpu": ({"stack_services": [{k: v for k, v in API.items() if k != "cpu"}, WEB]}, "cpu"),
    "path pattern without /": ({"stack_services": services(path_patterns=["api/*"])}, "path_patterns"),
    "test listener on the production port": ({"alb_test_listener_port": 80}, "alb_test_listener_port"),
    "load balancer name AWS keeps for internal ones": ({"alb_name": "internal-seed"}, "alb_name must be"),
    "ECR KMS encryption without a key": ({"ecr_encryption_type": "KMS"}, "ecr_kms_key"),
    "ECR tag mutability not a choice": ({"ecr_image_tag_mutability": "sometimes"}, "ecr_image_tag_mutability"),
    "autoscaling target above 100": ({"ecs_service_autoscaling_cpu_target": 150}, "ecs_service_autoscaling_cpu_target"),
    "task role statement without Resource": (
        {"stack_services": services(task_role_statements=[{"Effect": "Allow", "Action": "s3:GetObject"}])},
        "task_role_statements"),
}


@pytest.fixture(scope="module")
def refused(run_playbook_per_case):
    """Every case's site.yml run: one run, a host per case."""
    return run_playbook_per_case("playbooks/site.yml", {case: given[0] for case, given in CASES.items()})


@pytest.mark.parametrize("case, variable", [(case, given[1]) for case, given in CASES.items()], ids=list(CASES))
def test_bad_input_fails_before_any_write(refused, case, variable):
    run = refused[case]
    assert run.rc != 0
    assert run.writes == []
    messages = " ".join(run.failure_messages()) or run.stderr
    assert variable in messages, messages
    assert "hunter2" not in run.stdout + run.stderr  # a refused credential's value is not echoed back


def test_destroy_refuses_a_protected_load_balancer_before_any_call(run_playbook):
    run = run_playbook("playbooks/destroy.yml", extra_vars={"stack_alb_deletion_protection": True})
    assert run.rc != 0
    assert run.calls == []
    messages = " ".join(run.failure_messages()) or run.stderr
    assert "stack_alb_deletion_protection" in messages, messages
