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


def _health_command(service):
    command = service.get("health_check_command")
    if command:
        return list(command)
    url = f"http://127.0.0.1:{service['container_port']}{service['health_check_path']}"
    return ["CMD-SHELL", f"curl -fsS {url} > /dev/null || exit 1"]


def ecs_task_family(service, stack_name):
    """``<stack>-<service>``: the family every revision of a service's task definition belongs to."""
    name = service["name"] if isinstance(service, dict) else service
    return f"{stack_name}-{name}"


def ecs_container_definition(service, image, log_group, region, default_user="10001", health_check_interval=30,
                             health_check_timeout=5, health_check_retries=3, health_check_start_period=15):
    """The one container of ``service`` (a stack_services entry), as RegisterTaskDefinition takes it.

    ``image`` is the full image reference (or a placeholder such as ``<IMAGE1_NAME>``),
    ``log_group`` the service's awslogs group; the rest are the ecs_service role's
    ``ecs_service_default_user`` and ``ecs_service_health_check_*`` settings.
    """
    if not isinstance(service, dict) or "name" not in service:
        raise TypeError(f"ecs_container_definition expects a stack_services entry (a dict with name), got {service!r}")
    environment = service.get("environment") or {}
    return {
        "name": service["name"],
        "image": image,
        "essential": True,
        "user": str(service.get("user") or default_user),
        "readonlyRootFilesystem": bool(service.get("read_only_root_filesystem", False)),
        "portMappings": [{"containerPort": int(service["container_port"]), "protocol": "tcp"}],
        "environment": [{"name": name, "value": str(environment[name])} for name in sorted(environment)],
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
    """seed.fargate.ecs_container_definition, ecs_task_definition, ecs_task_family."""

    def filters(self):
        return {
            "ecs_container_definition": ecs_container_definition,
            "ecs_task_definition": ecs_task_definition,
            "ecs_task_family": ecs_task_family,
        }
