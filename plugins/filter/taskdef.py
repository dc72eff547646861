# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ECS task definition of a service of the stack description, in one place.

The ecs_service role registers task definitions, and ``roles/pipeline/files/release_artifacts.py``
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
# Names that look like credentials: their values belong in `secrets` (Secrets Manager or SSM), not in
# the task definition's plain-text environment (readable by anyone with ecs:DescribeTaskDefinition).
_CREDENTIAL_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|_KEY$|^KEY$|CREDENTIAL", re.IGNORECASE)
# Full ARNs only: the execution role is granted exactly these resources.
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
_PARAMETER_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9/_.-]+$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_SECRET_OPTIONS = ("arn", "json_key", "version_stage", "version_id", "kms_key_arn")


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


def _variable_name_problem(name):
    """Why ``name`` cannot be a container variable (environment or secret), or None."""
    if not isinstance(name, str) or not _ENVIRONMENT_NAME.match(name):
        return f"name {name!r} is not a variable name ([A-Za-z_][A-Za-z0-9_]*)"
    if _RESERVED_ENVIRONMENT.match(name):
        return f"{name} is set by ECS in every task (AWS_*, ECS_CONTAINER_METADATA_URI*); remove it"
    return None


def environment_problems(environment):
    """Why each entry of a service's ``environment`` is refused (empty list when all are fine)."""
    if environment is None:
        return []
    if not isinstance(environment, dict):
        return [f"must be a mapping of NAME: value, got {type(environment).__name__}"]
    problems = []
    for name, value in environment.items():
        problem = _variable_name_problem(name)
        if problem:
            problems.append(problem)
        if value is None or isinstance(value, (dict, list)) or not isinstance(value, (bool, int, float, str)):
            problems.append(f"{name}: value must be a string, number or boolean, got "
                            f"{'null' if value is None else type(value).__name__}")
    return problems


def _secret_spec(spec):
    """A ``secrets`` value as a dict (a bare string is the ``arn``)."""
    return {"arn": spec} if isinstance(spec, str) else dict(spec)


def secret_problems(secrets, environment=None):
    """Why each entry of a service's ``secrets`` is refused (empty list when all are fine).

    ``secrets`` maps a variable name to a Secrets Manager secret or SSM parameter ARN, or to
    ``{arn, json_key, version_stage, version_id, kms_key_arn}`` (the three selectors only for
    Secrets Manager)."""
    if secrets is None:
        return []
    if not isinstance(secrets, dict):
        return [f"must be a mapping of NAME: ARN, got {type(secrets).__name__}"]
    problems = []
    for name, spec in secrets.items():
        problem = _variable_name_problem(name)
        if problem:
            problems.append(problem)
            if not isinstance(name, str):
                continue
        if name in (environment or {}):
            problems.append(f"{name} is also in environment: a variable comes from one or the other")
        if not isinstance(spec, (str, dict)):
            problems.append(f"{name}: must be an ARN or a mapping with arn, got {type(spec).__name__}")
            continue
        spec = _secret_spec(spec)
        unknown = sorted(set(spec) - set(_SECRET_OPTIONS))
        if unknown:
            problems.append(f"{name}: unknown keys {unknown} (allowed: {', '.join(_SECRET_OPTIONS)})")
        arn = spec.get("arn")
        if not isinstance(arn, str) or not (_SECRET_ARN.match(arn) or _PARAMETER_ARN.match(arn)):
            problems.append(f"{name}: {arn!r} is not the full ARN of a Secrets Manager secret "
                            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>) or an SSM parameter "
                            "(arn:aws:ssm:<region>:<account>:parameter/<name>)")
            continue
        selectors = [key for key in ("json_key", "version_stage", "version_id") if spec.get(key)]
        if selectors and not _SECRET_ARN.match(arn):
            problems.append(f"{name}: {', '.join(selectors)} only apply to Secrets Manager secrets, not SSM parameters")
        for key in selectors:
            if not isinstance(spec[key], str) or ":" in spec[key]:
                problems.append(f"{name}: {key} must be a string without ':', got {spec[key]!r}")
        if spec.get("version_stage") and spec.get("version_id"):
            problems.append(f"{name}: give version_stage or version_id, not both")
        key_arn = spec.get("kms_key_arn")
        if key_arn is not None and not (isinstance(key_arn, str) and _KMS_KEY_ARN.match(key_arn)):
            problems.append(f"{name}: kms_key_arn {key_arn!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
    return problems


def credential_like_names(environment):
    """The ``environment`` names that look like credentials (PASSWORD, SECRET, TOKEN, *_KEY, ...)."""
    return sorted(name for name in (environment or {}) if isinstance(name, str) and _CREDENTIAL_NAME.search(name))


def secret_value_from(spec):
    """The container definition's ``valueFrom`` of a ``secrets`` entry: the ARN, and for a Secrets
    Manager secret with a selector ``<arn>:<json_key>:<version_stage>:<version_id>``
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html)."""
    spec = _secret_spec(spec)
    selectors = [spec.get(key) or "" for key in ("json_key", "version_stage", "version_id")]
    if any(selectors):
        return ":".join([spec["arn"], *selectors])
    return spec["arn"]


def container_secrets(service):
    """The ``secrets`` of the container of ``service``, as RegisterTaskDefinition takes them, by name."""
    secrets = service.get("secrets") or {}
    return [{"name": name, "valueFrom": secret_value_from(secrets[name])} for name in sorted(secrets)]


def secret_grants(services):
    """The execution role's statements for the secrets of every service: GetSecretValue on exactly the
    secrets, GetParameters on exactly the parameters, kms:Decrypt on the keys given (none: no statement)."""
    secrets, parameters, keys = set(), set(), set()
    for service in services or []:
        for spec in ((service or {}).get("secrets") or {}).values():
            spec = _secret_spec(spec)
            (secrets if _SECRET_ARN.match(spec["arn"]) else parameters).add(spec["arn"])
            if spec.get("kms_key_arn"):
                keys.add(spec["kms_key_arn"])
    statements = []
    if secrets:
        statements.append({"Sid": "SecretsManager", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                           "Resource": sorted(secrets)})
    if parameters:
        statements.append({"Sid": "SsmParameters", "Effect": "Allow", "Action": "ssm:GetParameters",
                           "Resource": sorted(parameters)})
    if keys:
        statements.append({"Sid": "KmsDecrypt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": sorted(keys)})
    return statements


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
        environment = service.get("environment")
        errors += [f"{name}: environment {problem}" for problem in environment_problems(environment)]
        errors += [f"{name}: writable_paths {problem}" for problem in writable_path_problems(service.get("writable_paths"))]
        # ITEMS_TABLE (table: true) counts as environment too
        known = service_environment(service, "-") if isinstance(environment, (dict, type(None))) else environment
        errors += [f"{name}: secrets {problem}" for problem in secret_problems(service.get("secrets"), known)]
        if isinstance(environment, dict) and not service.get("allow_credentials_in_environment"):
            errors += [f"{name}: environment {variable} looks like a credential and would be stored in plain text in the "
                       f"task definition: give it as a secret (secrets: {{{variable}: <Secrets Manager or SSM parameter ARN>}}) "
                       "or set allow_credentials_in_environment: true on the service"
                       for variable in credential_like_names(environment)]
    return errors


def without_environment(services):
    """``services`` without their ``environment``: what roles loop over that do not build containers.

    A loop's item is printed in the task's result (``-v``) whatever its label: values a user opted to
    keep in ``environment`` (``allow_credentials_in_environment``) must not be printed by every loop over
    the services. ``secrets`` stay: they hold ARNs, not values."""
    return [{k: v for k, v in service.items() if k != "environment"} if isinstance(service, dict) else service
            for service in services or []]


_WRITABLE_PATH = re.compile(r"^(/[A-Za-z0-9._-]+)+$")


def writable_path_problems(paths):
    """Why a service's ``writable_paths`` are refused (empty list when all are fine)."""
    if paths is None:
        return []
    if not isinstance(paths, list):
        return [f"must be a list of absolute paths, got {type(paths).__name__}"]
    problems = [f"{path!r} is not an absolute path of [A-Za-z0-9._-] segments (and not /)" for path in paths
                if not isinstance(path, str) or not _WRITABLE_PATH.match(path) or "/../" in path + "/" or "/./" in path + "/"]
    if len(set(map(str, paths))) != len(paths):
        problems.append(f"lists a path twice: {paths}")
    return problems


def task_volumes(service):
    """The task's volumes for ``writable_paths``: one Fargate ephemeral-storage volume per path,
    named after it (``/var/cache/nginx`` -> ``writable-var-cache-nginx``)."""
    return [{"name": "writable-" + path.strip("/").replace("/", "-").replace(".", "_")}
            for path in service.get("writable_paths") or []]


def container_mount_points(service):
    """The container's mount points of ``task_volumes``: each writable path, read-write."""
    return [{"sourceVolume": volume["name"], "containerPath": path, "readOnly": False}
            for volume, path in zip(task_volumes(service), service.get("writable_paths") or [], strict=True)]


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


# X-Ray tracing (stack_tracing): the daemon as a sidecar of each traced service's task, which the service's
# container reaches on 127.0.0.1:2000/udp (awsvpc: a task's containers share its network namespace).
# https://docs.aws.amazon.com/xray/latest/devguide/xray-daemon-ecs.html
XRAY_CONTAINER_NAME = "xray-daemon"
XRAY_DAEMON_PORT = 2000
TRACING_DEFAULTS = {
    "enabled": False,
    "daemon_image": "public.ecr.aws/xray/aws-xray-daemon:3.x",
    "daemon_cpu": 32,
    "daemon_memory": 64,
    "sampling_rate": 0.05,
    "sampling_reservoir": 1,
    "services": [],
}
# The variables a traced service's container gets; the sampling ones are the API's (services/api), the others the
# names the X-Ray SDKs read.
TRACING_ENVIRONMENT = ("AWS_XRAY_DAEMON_ADDRESS", "AWS_XRAY_TRACING_NAME", "XRAY_SAMPLING_RATE", "XRAY_SAMPLING_RESERVOIR")
# What the daemon sends with the task role's credentials (the managed policy AWSXRayDaemonWriteAccess also grants the
# sampling reads, which only an SDK with centralized sampling needs; the API samples locally).
# https://docs.aws.amazon.com/xray/latest/devguide/security_iam_id-based-policy-examples.html
XRAY_WRITE_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]


def tracing_settings(tracing):
    """``stack_tracing`` with every unset field at its default (``None`` or ``{}``: tracing off)."""
    settings = dict(TRACING_DEFAULTS)
    settings.update({k: v for k, v in (tracing or {}).items() if v is not None})
    return settings


def traced(service, tracing):
    """Whether ``service`` (a stack_services entry or a name) runs with the X-Ray daemon."""
    settings = tracing_settings(tracing)
    name = service["name"] if isinstance(service, dict) else service
    return bool(settings["enabled"]) and (not settings["services"] or name in settings["services"])


def tracing_problems(tracing, services):
    """Why ``stack_tracing`` is refused for these services (empty list when it is fine)."""
    if tracing is None:
        return []
    if not isinstance(tracing, dict):
        return [f"must be a mapping (enabled, daemon_image, ...), got {type(tracing).__name__}"]
    problems = []
    unknown = sorted(set(tracing) - set(TRACING_DEFAULTS))
    if unknown:
        problems.append(f"unknown keys {unknown} (allowed: {', '.join(TRACING_DEFAULTS)})")
    settings = tracing_settings(tracing)
    if not isinstance(settings["daemon_image"], str) or not re.match(r"^[a-z0-9][^\s]*$", settings["daemon_image"]):
        problems.append(f"daemon_image {settings['daemon_image']!r} is not an image reference")
    for key, low, high in (("daemon_cpu", 0, 4096), ("daemon_memory", 6, 30720), ("sampling_reservoir", 0, 100000)):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"{key} must be an integer {low}..{high}, got {value!r}")
    rate = settings["sampling_rate"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        problems.append(f"sampling_rate must be a number 0..1 (a fraction of the requests), got {rate!r}")
    names = [s.get("name") for s in services or [] if isinstance(s, dict)]
    chosen = settings["services"]
    if not isinstance(chosen, list):
        problems.append(f"services must be a list of service names, got {type(chosen).__name__}")
    else:
        problems += [f"services names {name!r}, which is not a service of stack_services {names}" for name in chosen
                     if name not in names]
    if settings["enabled"] and isinstance(chosen, list):
        for service in services or []:
            if isinstance(service, dict) and traced(service, settings):
                taken = sorted(set(TRACING_ENVIRONMENT) & set(service.get("environment") or {}))
                if taken:
                    problems.append(f"service {service.get('name')} sets {taken} in its environment, which tracing sets")
                memory, cpu = service.get("memory"), service.get("cpu")
                if isinstance(memory, int) and isinstance(settings["daemon_memory"], int) and settings["daemon_memory"] >= memory:
                    problems.append(f"daemon_memory {settings['daemon_memory']} MiB leaves nothing of service "
                                    f"{service.get('name')}'s {memory} MiB")
                if isinstance(cpu, int) and isinstance(settings["daemon_cpu"], int) and settings["daemon_cpu"] >= cpu:
                    problems.append(f"daemon_cpu {settings['daemon_cpu']} leaves nothing of service {service.get('name')}'s {cpu} CPU units")
    return problems


def tracing_environment(service, tracing, stack_name=""):
    """The variables tracing sets in the container of a traced ``service`` ({} for one that is not traced)."""
    if not traced(service, tracing):
        return {}
    settings = tracing_settings(tracing)
    name = service["name"] if isinstance(service, dict) else service
    return {
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{XRAY_DAEMON_PORT}",
        "AWS_XRAY_TRACING_NAME": f"{stack_name}-{name}" if stack_name else name,
        "XRAY_SAMPLING_RATE": settings["sampling_rate"],
        "XRAY_SAMPLING_RESERVOIR": settings["sampling_reservoir"],
    }


def xray_daemon_container(tracing, log_group, region, default_user="10001"):
    """The X-Ray daemon sidecar, as RegisterTaskDefinition takes it.

    Not essential: traces are best effort, so a daemon that stops (or never starts) leaves the service serving
    (its segments are dropped) instead of stopping the task and failing a release. Its log lines go to the
    service's log group under the stream prefix ``xray``; it runs as the services' default user on a read-only
    root filesystem (it writes nothing)."""
    settings = tracing_settings(tracing)
    return {
        "name": XRAY_CONTAINER_NAME,
        "image": settings["daemon_image"],
        "essential": False,
        "cpu": int(settings["daemon_cpu"]),
        "memoryReservation": int(settings["daemon_memory"]),
        "user": str(default_user),
        "readonlyRootFilesystem": True,
        "command": ["--region", region],
        "portMappings": [{"containerPort": XRAY_DAEMON_PORT, "protocol": "udp"}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": "xray"},
        },
    }


def task_sidecars(service, tracing, log_group, region, default_user="10001"):
    """The containers a task of ``service`` runs beside the service's own: the X-Ray daemon when it is traced."""
    return [xray_daemon_container(tracing, log_group, region, default_user)] if traced(service, tracing) else []


def tracing_grants(service, tracing):
    """The task role's statements for tracing: the daemon's X-Ray writes when ``service`` is traced (the actions
    take no resource-level permissions: Resource ``*``)."""
    if not traced(service, tracing):
        return []
    return [{"Sid": "XRayWrite", "Effect": "Allow", "Action": list(XRAY_WRITE_ACTIONS), "Resource": "*"}]


def ecs_container_definition(service, image, log_group, region, default_user="10001", health_check_interval=30,
                             health_check_timeout=5, health_check_retries=3, health_check_start_period=15,
                             stack_name="", tracing=None):
    """The one container of ``service`` (a stack_services entry), as RegisterTaskDefinition takes it.

    ``image`` is the full image reference (or a placeholder such as ``<IMAGE1_NAME>``),
    ``log_group`` the service's awslogs group; the rest are the ecs_service role's
    ``ecs_service_default_user`` and ``ecs_service_health_check_*`` settings, the
    stack name (which names the table of a service with ``table: true``) and ``stack_tracing``
    (a traced service's container gets the daemon's address: :func:`tracing_environment`).
    """
    if not isinstance(service, dict) or "name" not in service:
        raise TypeError(f"ecs_container_definition expects a stack_services entry (a dict with name), got {service!r}")
    if service.get("table") and not stack_name:
        raise ValueError(f"service {service['name']} has table: true: ecs_container_definition needs stack_name")
    environment = service_environment(service, stack_name)
    environment.update(tracing_environment(service, tracing, stack_name))
    return {
        "name": service["name"],
        "image": image,
        "essential": True,
        "user": str(service.get("user") or default_user),
        "readonlyRootFilesystem": bool(service.get("read_only_root_filesystem", True)),
        "mountPoints": container_mount_points(service),
        "portMappings": [{"containerPort": int(service["container_port"]), "protocol": "tcp"}],
        "environment": [{"name": name, "value": environment_value(environment[name])} for name in sorted(environment)],
        "secrets": container_secrets(service),
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
        "volumes": task_volumes(service),
    }


def _field(obj, camel, default=None):
    """``obj[camel]``, or its snake_case spelling (community.aws's info modules answer in snake_case)."""
    value = obj.get(camel)
    if value is None:
        value = obj.get(re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower())
    return default if value is None else value


def task_definition_digest(definition):
    """What decides whether a revision is needed: the fields of a task definition the stack description sets, in one
    shape whether ``definition`` is a RegisterTaskDefinition request (:func:`ecs_task_definition`) or a revision as
    DescribeTaskDefinition answers it (camelCase, or snake_case from community.aws.ecs_taskdefinition_info).

    ``{}`` for no revision: an empty or failed lookup, or a revision that is not ACTIVE. Two definitions with equal
    digests run the same containers, so an existing revision with the digest of the desired one is used instead of
    registering a copy (a revision registered by a run that was cut short is found, not registered again).
    """
    if not isinstance(definition, dict) or not _field(definition, "containerDefinitions"):
        return {}
    if _field(definition, "status", "ACTIVE") != "ACTIVE":
        return {}
    containers = []
    for c in _field(definition, "containerDefinitions"):
        health = _field(c, "healthCheck", {})
        options = _field(_field(c, "logConfiguration", {}), "options", {})
        containers.append({
            "name": c["name"],
            "image": c.get("image", ""),
            "user": str(c.get("user") or ""),
            "readonly": bool(_field(c, "readonlyRootFilesystem", False)),
            "mounts": [f"{_field(m, 'sourceVolume')}={_field(m, 'containerPath')}" for m in _field(c, "mountPoints", [])],
            "ports": [f"{int(_field(p, 'containerPort'))}/{p.get('protocol') or 'tcp'}" for p in _field(c, "portMappings", [])],
            "essential": c.get("essential") is not False,
            "cpu": int(c.get("cpu") or 0),
            "memory_reservation": int(_field(c, "memoryReservation", 0)),
            "command": list(c.get("command") or []),
            "environment": sorted(f"{e['name']}={e.get('value', '')}" for e in c.get("environment") or []),
            "secrets": sorted(f"{e['name']}={_field(e, 'valueFrom')}" for e in c.get("secrets") or []),
            "health_check": list(health.get("command") or []),
            "health_check_timing": [int(_field(health, key, 0)) for key in ("interval", "timeout", "retries", "startPeriod")],
            "log_options": dict(options),
        })
    return {
        "cpu": str(definition.get("cpu", "")),
        "memory": str(definition.get("memory", "")),
        "execution_role_arn": _field(definition, "executionRoleArn", ""),
        "task_role_arn": _field(definition, "taskRoleArn", ""),
        "volumes": [v["name"] for v in definition.get("volumes") or []],
        "containers": containers,
    }


class FilterModule:
    """seed.fargate.ecs_container_definition, ecs_task_definition, ecs_task_family, service_table_name,
    service_environment, service_input_errors, container_secrets, secret_grants,
    without_environment, task_volumes, task_definition_digest, secret_spec, task_sidecars, tracing_grants,
    tracing_problems."""

    def filters(self):
        return {
            "ecs_container_definition": ecs_container_definition,
            "ecs_task_definition": ecs_task_definition,
            "ecs_task_family": ecs_task_family,
            "task_sidecars": task_sidecars,
            "tracing_grants": tracing_grants,
            "tracing_problems": tracing_problems,
            "service_table_name": service_table_name,
            "service_environment": service_environment,
            "service_input_errors": service_input_errors,
            "container_secrets": container_secrets,
            "secret_grants": secret_grants,
            "without_environment": without_environment,
            "task_volumes": task_volumes,
            "task_definition_digest": task_definition_digest,
            "secret_spec": _secret_spec,
        }
