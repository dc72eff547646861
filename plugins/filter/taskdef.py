# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ECS task definition of a service of the stack description, in one place.

The ecs_service role registers task definitions, and ``tools/release_artifacts.py``
writes the ``taskdef.json`` that CodePipeline's CodeDeployToECS action registers
for a release. Both build them here, from a ``stack_services`` entry and the
ecs_service role's settings, so a release can never run a different container
definition than a converge.

Plain Python (no Ansible import): the release tool runs in CodeBuild, where
Ansible is not installed.
"""

from __future__ import annotations

import re


def _health_command(service):
    command = service.get("health_check_command")
    if command:
        return list(command)
    url = f"http://127.0.0.1:{service['container_port']}{service['health_check_path']}"
    return ["CMD-SHELL", f"curl -fsS {url} > /dev/null || exit 1"]


# ECS sets these in every Fargate container (credentials, metadata, region); a value from the
# stack description would be overwritten or, worse, shadow them.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html
_RESERVED_ENVIRONMENT = re.compile(r"^(AWS_.*|ECS_CONTAINER_METADATA_URI(_V4)?)$")
_ENVIRONMENT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UID_GID = re.compile(r"^\s*(\d+)(?::(\d+))?\s*$")


def container_user_problem(user):
    """Why ``user`` (a container's ``uid[:gid]``) is refused, or None.

    Only numbers: a name could resolve to root inside the image, and the image is
    not known here. uid 0 is refused in any spelling (``0``, ``00``, ``0:0``).
    """
    if isinstance(user, bool) or not isinstance(user, (str, int)):
        return f"must be a uid or uid:gid (numbers), got {type(user).__name__} {user!r}"
    match = _UID_GID.match(str(user))
    if not match:
        return f"must be a uid or uid:gid of numbers (names may resolve to root in the image), got {user!r}"
    if int(match.group(1)) == 0:
        return f"is uid 0 (root), got {user!r}: containers must not run as root"
    return None


def environment_value(value):
    """The string ECS gets for an environment value: strings as they are, numbers in
    decimal, booleans as ``true``/``false`` (what a shell or a JSON parser reads back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise TypeError(f"environment values must be strings, numbers or booleans, got {type(value).__name__}")


def environment_problems(environment):
    """Why each entry of a service's ``environment`` is refused (empty list when all are fine)."""
    if environment is None:
        return []
    if not isinstance(environment, dict):
        return [f"must be a mapping of NAME: value, got {type(environment).__name__}"]
    problems = []
    for name, value in environment.items():
        if not isinstance(name, str) or not _ENVIRONMENT_NAME.match(name):
            problems.append(f"name {name!r} is not a variable name ([A-Za-z_][A-Za-z0-9_]*)")
        elif _RESERVED_ENVIRONMENT.match(name):
            problems.append(f"{name} is set by ECS in every task (AWS_*, ECS_CONTAINER_METADATA_URI*); remove it")
        if value is None or isinstance(value, (dict, list)) or not isinstance(value, (bool, int, float, str)):
            problems.append(f"{name}: value must be a string, number or boolean, got "
                            f"{'null' if value is None else type(value).__name__}")
    return problems


def service_input_errors(services, default_user="10001"):
    """Every refused ``user`` and ``environment`` of the stack's services, one message each,
    naming the service and field (the ecs_service role's validation asserts it is empty)."""
    errors = []
    problem = container_user_problem(default_user)
    if problem:
        errors.append(f"ecs_service_default_user {problem}")
    for service in services or []:
        if not isinstance(service, dict):
            errors.append(f"{service!r}: not a service (a mapping with name, container_port, ...)")
            continue
        name = service.get("name", "?")
        user = service.get("user")
        problem = None if user is None else container_user_problem(user)
        if problem:
            errors.append(f"{name}: user {problem}")
        errors += [f"{name}: environment {problem}" for problem in environment_problems(service.get("environment"))]
    return errors


def ecs_task_family(service, stack_name):
    """``<stack>-<service>``: the family every revision of a service's task definition belongs to."""
    name = service["name"] if isinstance(service, dict) else service
    return f"{stack_name}-{name}"


# The variable a service with ``table: true`` finds its DynamoDB table's name in.
TABLE_ENVIRONMENT_VARIABLE = "ITEMS_TABLE"


def service_table_name(service, stack_name):
    """``<stack>-<service>``: the DynamoDB table of a service with ``table: true`` (the data role creates it)."""
    name = service["name"] if isinstance(service, dict) else service
    return f"{stack_name}-{name}"


def service_environment(service, stack_name):
    """The container environment of ``service``: its ``environment`` plus, with ``table: true``,
    ``ITEMS_TABLE`` naming the service's table."""
    environment = dict(service.get("environment") or {})
    if service.get("table"):
        environment[TABLE_ENVIRONMENT_VARIABLE] = service_table_name(service, stack_name)
    return environment


def ecs_container_definition(service, image, log_group, region, default_user="10001", health_check_interval=30,
                             health_check_timeout=5, health_check_retries=3, health_check_start_period=15,
                             stack_name=""):
    """The one container of ``service`` (a stack_services entry), as RegisterTaskDefinition takes it.

    ``image`` is the full image reference (or a placeholder such as ``<IMAGE1_NAME>``),
    ``log_group`` the service's awslogs group; the rest are the ecs_service role's
    ``ecs_service_default_user`` and ``ecs_service_health_check_*`` settings, and the
    stack name (which names the table of a service with ``table: true``).
    """
    if not isinstance(service, dict) or "name" not in service:
        raise TypeError(f"ecs_container_definition expects a stack_services entry (a dict with name), got {service!r}")
    if service.get("table") and not stack_name:
        raise ValueError(f"service {service['name']} has table: true: ecs_container_definition needs stack_name")
    environment = service_environment(service, stack_name)
    return {
        "name": service["name"],
        "image": image,
        "essential": True,
        "user": str(service.get("user") or default_user),
        "readonlyRootFilesystem": bool(service.get("read_only_root_filesystem", False)),
        "portMappings": [{"containerPort": int(service["container_port"]), "protocol": "tcp"}],
        "environment": [{"name": name, "value": environment_value(environment[name])} for name in sorted(environment)],
        "healthCheck": {
            "command": _health_command(service),
            "interval": int(health_check_interval),
            "timeout": int(health_check_timeout),
            "retries": int(health_check_retries),
            "startPeriod": int(health_check_start_period),
        },
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": service["name"],
            },
        },
    }


def ecs_task_definition(service, stack_name, execution_role_arn, task_role_arn, containers):
    """The RegisterTaskDefinition request of ``service``: Fargate, awsvpc, the service's cpu/memory."""
    return {
        "family": ecs_task_family(service, stack_name),
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": str(service["cpu"]),
        "memory": str(service["memory"]),
        "executionRoleArn": execution_role_arn,
        "taskRoleArn": task_role_arn,
        "containerDefinitions": list(containers),
    }


class FilterModule:
    """seed.fargate.ecs_container_definition, ecs_task_definition, ecs_task_family, service_table_name,
    service_environment, service_input_errors."""

    def filters(self):
        return {
            "ecs_container_definition": ecs_container_definition,
            "ecs_task_definition": ecs_task_definition,
            "ecs_task_family": ecs_task_family,
            "service_table_name": service_table_name,
            "service_environment": service_environment,
            "service_input_errors": service_input_errors,
        }
