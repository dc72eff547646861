"""stack_tracing in the task definitions (plain functions of plugins/filter/taskdef.py): the X-Ray daemon sidecar,
the traced container's environment, the task role's grants, the input checks and the digest that decides a revision."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "plugins" / "filter"))

import taskdef

API = {"name": "api", "cpu": 256, "memory": 512, "container_port": 8000, "health_check_path": "/api/health"}
WEB = {"name": "web", "cpu": 256, "memory": 512, "container_port": 8080, "health_check_path": "/healthz"}
ON = {"enabled": True}


def _definition(service, tracing):
    container = taskdef.ecs_container_definition(service, "repo/api:v2", "/ecs/seed/api", "us-east-1", stack_name="seed",
                                                 tracing=tracing)
    sidecars = taskdef.task_sidecars(service, tracing, "/ecs/seed/api", "us-east-1")
    return taskdef.ecs_task_definition(service, "seed", "arn:aws:iam::1:role/exec", "arn:aws:iam::1:role/api",
                                       [container, *sidecars])


@pytest.mark.parametrize("tracing", [None, {}, {"enabled": False, "daemon_image": "x"}, {"enabled": True, "services": ["web"]}])
def test_off_or_not_chosen_leaves_the_definition_as_it_was(tracing):
    assert _definition(API, tracing) == _definition(API, None)
    assert taskdef.tracing_grants(API, tracing) == []
    assert [e["name"] for e in _definition(API, tracing)["containerDefinitions"][0]["environment"]] == []


def test_on_adds_the_daemon_and_its_address():
    definition = _definition(API, ON)
    app, daemon = definition["containerDefinitions"]
    assert {e["name"]: e["value"] for e in app["environment"]} == {
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_TRACING_NAME": "seed-api",
        "XRAY_SAMPLING_RATE": "0.05", "XRAY_SAMPLING_RESERVOIR": "1"}
    assert daemon == {
        "name": "xray-daemon", "image": "public.ecr.aws/xray/aws-xray-daemon:3.x", "essential": False, "cpu": 32,
        "memoryReservation": 64, "user": "10001", "readonlyRootFilesystem": True, "command": ["--region", "us-east-1"],
        "portMappings": [{"containerPort": 2000, "protocol": "udp"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/seed/api", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "xray"}}}
    assert app["essential"] is True
    custom = {"enabled": True, "daemon_image": "registry.example/xray:1", "daemon_cpu": 64, "daemon_memory": 128,
              "sampling_rate": 1, "sampling_reservoir": 0, "services": ["api"]}
    app, daemon = _definition(API, custom)["containerDefinitions"]
    assert (daemon["image"], daemon["cpu"], daemon["memoryReservation"]) == ("registry.example/xray:1", 64, 128)
    assert {"name": "XRAY_SAMPLING_RATE", "value": "1"} in app["environment"]


def test_the_task_role_gets_exactly_the_daemons_writes():
    assert taskdef.tracing_grants(API, ON) == [
        {"Sid": "XRayWrite", "Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": "*"}]
    assert taskdef.tracing_grants("web", {"enabled": True, "services": ["api"]}) == []


def test_the_sidecar_is_part_of_the_digest():
    """Turning tracing on or off, or changing the daemon, registers a revision; a described revision with the
    sidecar (camelCase or snake_case, ECS's defaults added) has the digest of the request."""
    from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

    on = _definition(API, ON)
    digest = taskdef.task_definition_digest(on)
    assert digest != taskdef.task_definition_digest(_definition(API, None))
    assert digest != taskdef.task_definition_digest(_definition(API, dict(ON, daemon_memory=128)))
    assert digest != taskdef.task_definition_digest(_definition(API, dict(ON, daemon_image="registry.example/xray:1")))
    described = dict(on, status="ACTIVE", revision=2)
    described["containerDefinitions"] = [dict(c, cpu=c.get("cpu", 0)) for c in on["containerDefinitions"]]
    assert taskdef.task_definition_digest(described) == digest
    assert taskdef.task_definition_digest(camel_dict_to_snake_dict(described)) == digest


@pytest.mark.parametrize(("tracing", "message"), [
    ("yes", "must be a mapping"),
    ({"enabled": True, "sample": 1}, "unknown keys ['sample']"),
    ({"enabled": True, "sampling_rate": 5}, "sampling_rate must be a number 0..1"),
    ({"enabled": True, "sampling_reservoir": -1}, "sampling_reservoir must be an integer"),
    ({"enabled": True, "daemon_memory": 512}, "daemon_memory 512 MiB leaves nothing of service api's 512 MiB"),
    ({"enabled": True, "daemon_cpu": 256}, "daemon_cpu 256 leaves nothing"),
    ({"enabled": True, "daemon_image": "has space"}, "daemon_image 'has space' is not an image reference"),
    ({"enabled": True, "services": ["apx"]}, "services names 'apx', which is not a service of stack_services ['api', 'web']"),
])
def test_bad_settings_are_refused_naming_the_field(tracing, message):
    problems = taskdef.tracing_problems(tracing, [API, WEB])
    assert any(message in p for p in problems), problems


def test_a_traced_services_environment_may_not_set_what_tracing_sets():
    service = dict(API, environment={"XRAY_SAMPLING_RATE": "1"})
    assert taskdef.tracing_problems(ON, [service]) == [
        "service api sets ['XRAY_SAMPLING_RATE'] in its environment, which tracing sets"]
    assert taskdef.tracing_problems({"enabled": False}, [service]) == []
    assert taskdef.tracing_problems(None, [API]) == taskdef.tracing_problems(ON, [API, WEB]) == []
