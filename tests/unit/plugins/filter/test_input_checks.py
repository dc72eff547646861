"""The input checks behind the ecs_service and stack roles' validation (plain functions)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "plugins" / "filter"))

import aws
import taskdef


@pytest.mark.parametrize("user", ["0", "00", "000:10001", "0:0", " 0 ", 0])
def test_uid_zero_in_any_spelling_is_root(user):
    assert "root" in taskdef.container_user_problem(user)


@pytest.mark.parametrize("user", ["root", "nginx", "1000:root", "-1", "10001:", "", None, True, 1.5])
def test_user_must_be_numbers(user):
    assert taskdef.container_user_problem(user)


@pytest.mark.parametrize("user", ["10001", "10001:10001", "1", 4242, "10001:0"])
def test_non_root_users_pass(user):
    assert taskdef.container_user_problem(user) is None


def test_environment_problems_name_each_entry():
    problems = taskdef.environment_problems({
        "OK": "x", "N": 3, "B": True, "F": 1.5,
        "CONFIG": {"a": 1}, "LIST": [1], "NULL": None, "AWS_REGION": "eu-west-1",
        "ECS_CONTAINER_METADATA_URI_V4": "x", "BAD-NAME": "x", "1ST": "x",
    })
    text = "\n".join(problems)
    for name in ("CONFIG", "LIST", "NULL", "AWS_REGION", "ECS_CONTAINER_METADATA_URI_V4", "'BAD-NAME'", "'1ST'"):
        assert name in text, name
    for fine in ("OK:", "N:", "B:", "F:"):
        assert fine not in text
    assert len(problems) == 7
    assert taskdef.environment_problems(["A=1"]) == ["must be a mapping of NAME: value, got list"]


def test_environment_values_are_converted_explicitly():
    assert [taskdef.environment_value(v) for v in ("x", 3, True, False, 1.5)] == ["x", "3", "true", "false", "1.5"]
    with pytest.raises(TypeError):
        taskdef.environment_value({"a": 1})
    service = {"name": "api", "container_port": 8000, "health_check_path": "/h", "environment": {"DEBUG": False}}
    container = taskdef.ecs_container_definition(service, "img", "/ecs/x/api", "us-east-1")
    assert container["environment"] == [{"name": "DEBUG", "value": "false"}]


def test_service_input_errors_name_service_and_field():
    services = [{"name": "api", "user": "00"}, {"name": "web", "environment": {"AWS_PROFILE": "x"}}, {"name": "ok"}]
    errors = taskdef.service_input_errors(services, default_user="10001")
    assert len(errors) == 2
    assert errors[0].startswith("api: user") and errors[1].startswith("web: environment AWS_PROFILE")
    # a root default is refused even when every service sets its own user
    assert taskdef.service_input_errors([{"name": "x", "user": "1"}], default_user="0") == [
        "ecs_service_default_user is uid 0 (root), got '0': containers must not run as root"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "cn-north-1", "us-gov-west-1"])
def test_known_regions_pass(region):
    assert aws.aws_region_problem(region) == ""


@pytest.mark.parametrize("region", ["mars-1", "us-east1", "US-EAST-1", "", None, 42])
def test_unknown_regions_are_named(region):
    assert aws.aws_region_problem(region)
