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


def test_the_regions_read_are_botocores_own_with_or_without_its_session(monkeypatch, tmp_path):
    """The filter reads botocore's endpoints.json itself (its session's import costs 0.1 s in each worker), or through
    the session where AWS_DATA_PATH adds data paths: the partitions are botocore's either way."""
    import botocore.session  # pylint: disable=import-outside-toplevel

    botocores = botocore.session.get_session().get_data("endpoints")["partitions"]
    assert aws._partitions() == botocores  # pylint: disable=protected-access
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    assert aws._partitions() == botocores  # pylint: disable=protected-access


ASM = "arn:aws:secretsmanager:us-east-1:123456789012:secret:seed/db-AbCdEf"
SSM = "arn:aws:ssm:us-east-1:123456789012:parameter/seed/api/token"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0f3e2c1a-1111-2222-3333-444455556666"


@pytest.mark.parametrize("name", ["DB_PASSWORD", "db_passwd", "CLIENT_SECRET", "GITHUB_TOKEN", "STRIPE_KEY", "KEY",
                                  "AWS_CREDENTIALS_FILE", "SecretName"])
def test_credential_like_environment_names(name):
    assert taskdef.credential_like_names({name: "x", "LOG_LEVEL": "info"}) == [name]


@pytest.mark.parametrize("name", ["LOG_LEVEL", "KEYBOARD", "MONKEY_COUNT", "ITEMS_TABLE", "PORT"])
def test_plain_environment_names_are_not_credentials(name):
    assert taskdef.credential_like_names({name: "x"}) == []


def test_credential_like_environment_is_refused_unless_allowed():
    service = {"name": "api", "environment": {"DB_PASSWORD": "hunter2", "LOG_LEVEL": "info"}}
    errors = taskdef.service_input_errors([service])
    assert len(errors) == 1 and errors[0].startswith("api: environment DB_PASSWORD looks like a credential"), errors
    assert "hunter2" not in errors[0]  # the message names the variable, never its value
    assert taskdef.service_input_errors([dict(service, allow_credentials_in_environment=True)]) == []


def test_secret_problems_name_each_entry():
    problems = taskdef.secret_problems({
        "OK_ASM": ASM, "OK_SSM": SSM, "OK_KEY": {"arn": ASM, "json_key": "password", "kms_key_arn": KEY},
        "PARTIAL": "seed/db", "NOT_A_SECRET": "arn:aws:s3:::bucket", "BAD-NAME": ASM, "AWS_SECRET_ACCESS_KEY": ASM,
        "SSM_WITH_KEY": {"arn": SSM, "json_key": "x"}, "TWO_VERSIONS": {"arn": ASM, "version_stage": "AWSCURRENT", "version_id": "1"},
        "TYPO": {"arn": ASM, "jsonkey": "x"}, "KMS_ALIAS": {"arn": ASM, "kms_key_arn": "alias/aws/secretsmanager"},
        "NUMBER": 5, "LOG_LEVEL": SSM,
    }, environment={"LOG_LEVEL": "info"})
    text = "\n".join(problems)
    for name in ("PARTIAL", "NOT_A_SECRET", "'BAD-NAME'", "AWS_SECRET_ACCESS_KEY", "SSM_WITH_KEY", "TWO_VERSIONS",
                 "TYPO", "KMS_ALIAS", "NUMBER", "LOG_LEVEL is also in environment"):
        assert name in text, name
    assert not any(p.startswith("OK_") for p in problems), problems
    assert len(problems) == 10, problems
    assert taskdef.secret_problems([ASM]) == ["must be a mapping of NAME: ARN, got list"]


def test_a_table_service_cannot_take_items_table_from_a_secret():
    errors = taskdef.service_input_errors([{"name": "api", "table": True, "secrets": {"ITEMS_TABLE": SSM}}])
    assert errors == ["api: secrets ITEMS_TABLE is also in environment: a variable comes from one or the other"]


def test_container_secrets_and_the_execution_role_grants():
    service = {"name": "api", "container_port": 8000, "health_check_path": "/h", "secrets": {
        "TOKEN": SSM, "DB_PASSWORD": {"arn": ASM, "json_key": "password", "kms_key_arn": KEY},
        "DB_OLD": {"arn": ASM, "version_stage": "AWSPREVIOUS"}}}
    container = taskdef.ecs_container_definition(service, "img", "/ecs/x/api", "us-east-1")
    assert container["secrets"] == [
        {"name": "DB_OLD", "valueFrom": f"{ASM}::AWSPREVIOUS:"},
        {"name": "DB_PASSWORD", "valueFrom": f"{ASM}:password::"},
        {"name": "TOKEN", "valueFrom": SSM},
    ]
    other = {"name": "web", "secrets": {"X": "arn:aws:ssm:us-east-1:123456789012:parameter/web/x"}}
    assert taskdef.secret_grants([service, other, {"name": "plain"}]) == [
        {"Sid": "SecretsManager", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [ASM]},
        {"Sid": "SsmParameters", "Effect": "Allow", "Action": "ssm:GetParameters",
         "Resource": [SSM, "arn:aws:ssm:us-east-1:123456789012:parameter/web/x"]},
        {"Sid": "KmsDecrypt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": [KEY]},
    ]
    assert taskdef.secret_grants([{"name": "plain"}]) == []


def test_writable_paths_become_task_volumes():
    service = {"name": "web", "container_port": 8080, "health_check_path": "/h", "cpu": 256, "memory": 512,
               "writable_paths": ["/tmp", "/var/cache/nginx"]}
    container = taskdef.ecs_container_definition(service, "img", "/ecs/x/web", "us-east-1")
    assert container["readonlyRootFilesystem"] is True  # the default
    assert container["mountPoints"] == [
        {"sourceVolume": "writable-tmp", "containerPath": "/tmp", "readOnly": False},
        {"sourceVolume": "writable-var-cache-nginx", "containerPath": "/var/cache/nginx", "readOnly": False}]
    assert taskdef.task_volumes(service) == [{"name": "writable-tmp"}, {"name": "writable-var-cache-nginx"}]
    assert taskdef.ecs_task_definition(service, "seed", "x", "y", [container])["volumes"] == taskdef.task_volumes(service)
    plain = taskdef.ecs_container_definition({"name": "api", "container_port": 1, "health_check_path": "/"}, "i", "/l", "r")
    assert plain["mountPoints"] == [] and plain["readonlyRootFilesystem"] is True


@pytest.mark.parametrize("paths", [["tmp"], ["/"], ["/tmp", "/tmp"], ["/a/../etc"], "/tmp", [5], ["/a b"]])
def test_bad_writable_paths_are_refused(paths):
    errors = taskdef.service_input_errors([{"name": "web", "writable_paths": paths}])
    assert errors and all(e.startswith("web: writable_paths") for e in errors), errors


# -- task_definition_digest: the desired definition and a described revision compare in one shape


def _desired(**over):
    service = {"name": "api", "cpu": 256, "memory": 512, "container_port": 8000, "health_check_path": "/api/health",
               "environment": {"B": "2", "A": 1}, "writable_paths": ["/tmp"]} | over
    container = taskdef.ecs_container_definition(service, "repo/api:v2", "/ecs/seed/api", "us-east-1", stack_name="seed")
    return taskdef.ecs_task_definition(service, "seed", "arn:aws:iam::1:role/exec", "arn:aws:iam::1:role/api", [container])


def _described(request):
    """A revision as DescribeTaskDefinition answers (ACTIVE, revision, defaults added), in community.aws's snake_case."""
    from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

    answer = dict(request, status="ACTIVE", revision=3, taskDefinitionArn="arn:aws:ecs:us-east-1:1:task-definition/seed-api:3")
    answer["containerDefinitions"] = [dict(c, cpu=0, environment=list(reversed(c["environment"])))
                                      for c in request["containerDefinitions"]]
    return camel_dict_to_snake_dict(answer)


def test_a_described_revision_has_the_digest_of_the_request_that_registered_it():
    request = _desired()
    digest = taskdef.task_definition_digest(request)
    assert digest["containers"][0]["environment"] == ["A=1", "B=2"]
    assert digest["containers"][0]["mounts"] == ["writable-tmp=/tmp"] and digest["volumes"] == ["writable-tmp"]
    assert taskdef.task_definition_digest(_described(request)) == digest
    assert taskdef.task_definition_digest(dict(request, status="ACTIVE")) == digest


@pytest.mark.parametrize("over", [{"cpu": 512, "memory": 1024}, {"environment": {"A": "1", "B": "3"}}, {"container_port": 8001},
                                  {"user": "10002"}, {"writable_paths": []}, {"read_only_root_filesystem": False}])
def test_any_field_the_description_sets_changes_the_digest(over):
    assert taskdef.task_definition_digest(_described(_desired(**over))) != taskdef.task_definition_digest(_desired())


@pytest.mark.parametrize("described", [{}, None, {"failed": True}, {"status": "INACTIVE", "container_definitions": [{"name": "x"}]}])
def test_no_revision_has_an_empty_digest(described):
    assert taskdef.task_definition_digest(described) == {}
