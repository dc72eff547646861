# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release controller of each service (``stack_services[].deployment_controller``) and, for an
ECS-controlled service, its ECS deployment configuration (``stack_services[].ecs_deployment``).

The names and bounds follow botocore's ECS model (DeploymentConfiguration, CanaryConfiguration,
LinearConfiguration, DeploymentLifecycleHook): canary percent 0.1-100 and linear step 3-100 in steps of 0.1,
bake times 0-1440 minutes, hook stages of the DeploymentLifecycleHookStage enum."""

from __future__ import annotations

import re

CONTROLLERS = ("codedeploy", "ecs")
STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
HOOK_STAGES = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
               "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT")
HOOK_TARGET_TYPES = ("AWS_LAMBDA", "PAUSE")
HOOK_TIMEOUT_ACTIONS = ("ROLLBACK", "CONTINUE")
BAKE_TIME_MAX = 1440
DEFAULTS = {"strategy": "BLUE_GREEN", "bake_time_minutes": 5, "alarm_rollback": True, "circuit_breaker": True,
            "use_test_listener": True, "lifecycle_hooks": []}
CANARY_KEYS = ("canary_percent", "canary_bake_time_minutes")
LINEAR_KEYS = ("linear_step_percent", "linear_step_bake_time_minutes")
_LAMBDA_ARN = r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$"
_ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/"


def deployment_controller(service):
    """``codedeploy`` or ``ecs``: the controller of one service (``codedeploy`` when unset)."""
    return (service or {}).get("deployment_controller") or "codedeploy"


def services_on_controller(services, controller):
    """The services released by ``controller`` (``codedeploy`` or ``ecs``), in their order."""
    return [s for s in services or [] if isinstance(s, dict) and deployment_controller(s) == controller]


def ecs_deployment(service):
    """The service's ``ecs_deployment`` with the defaults filled in (argument specs do not fill list entries)."""
    return dict(DEFAULTS, **{k: v for k, v in ((service or {}).get("ecs_deployment") or {}).items() if v is not None})


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tenths(value):
    return abs(round(value * 10) - value * 10) < 1e-6


def _hook_problems(where, index, hook):
    at = f"{where}.lifecycle_hooks[{index}]"
    if not isinstance(hook, dict):
        return [f"{at}: a mapping with lifecycle_stages and target_type (and hook_target_arn, role_arn for AWS_LAMBDA)"]
    problems = []
    stages = hook.get("lifecycle_stages") or []
    if not isinstance(stages, list) or not stages:
        problems.append(f"{at}.lifecycle_stages: at least one stage of {', '.join(HOOK_STAGES)}")
    else:
        bad = [s for s in stages if s not in HOOK_STAGES]
        if bad:
            problems.append(f"{at}.lifecycle_stages: {bad} are not lifecycle stages ({', '.join(HOOK_STAGES)})")
        if len(set(map(str, stages))) != len(stages):
            problems.append(f"{at}.lifecycle_stages: a stage is repeated ({stages})")
    target_type = hook.get("target_type") or "AWS_LAMBDA"
    target, role = hook.get("hook_target_arn"), hook.get("role_arn")
    if target_type not in HOOK_TARGET_TYPES:
        problems.append(f"{at}.target_type: {target_type!r} is not one of {', '.join(HOOK_TARGET_TYPES)}")
    elif target_type == "AWS_LAMBDA":
        if not target:
            problems.append(f"{at}.hook_target_arn: an AWS_LAMBDA hook needs the ARN of the Lambda function it invokes")
        elif not re.match(_LAMBDA_ARN, str(target)):
            problems.append(f"{at}.hook_target_arn: {target!r} is not a Lambda function ARN")
        if not role:
            problems.append(f"{at}.role_arn: an AWS_LAMBDA hook needs the IAM role ECS invokes the function with")
    elif target:
        problems.append(f"{at}.hook_target_arn: a PAUSE hook has no target (it waits for ContinueServiceDeployment)")
    if role and not re.match(_ROLE_ARN, str(role)):
        problems.append(f"{at}.role_arn: {role!r} is not an IAM role ARN")
    timeout = hook.get("timeout_minutes")
    if timeout is not None and not (_number(timeout) and int(timeout) == timeout and 1 <= timeout <= BAKE_TIME_MAX):
        problems.append(f"{at}.timeout_minutes: {timeout!r} is not a whole number of minutes 1-{BAKE_TIME_MAX}")
    action = hook.get("timeout_action")
    if action is not None and action not in HOOK_TIMEOUT_ACTIONS:
        problems.append(f"{at}.timeout_action: {action!r} is not one of {', '.join(HOOK_TIMEOUT_ACTIONS)}")
    return problems


def deployment_input_problems(services):
    """Every refused ``deployment_controller`` / ``ecs_deployment`` of the stack's services, one message each naming
    the field as ``stack_services[<name>].<field>`` (the ecs_service role's validation asserts it is empty)."""
    problems = []
    for service in services or []:
        if not isinstance(service, dict):
            continue
        where = f"stack_services[{service.get('name', '?')}]"
        controller = service.get("deployment_controller")
        if controller is not None and controller not in CONTROLLERS:
            problems.append(f"{where}.deployment_controller: {controller!r} is not one of {', '.join(CONTROLLERS)}")
            continue
        given = service.get("ecs_deployment")
        if given is None:
            continue
        where += ".ecs_deployment"
        if not isinstance(given, dict):
            problems.append(f"{where}: a mapping (strategy, bake_time_minutes, ...), got {given!r}")
            continue
        if deployment_controller(service) != "ecs":
            problems.append(f"{where}: only for a service with deployment_controller: ecs (this one is released by "
                            f"CodeDeploy: its release settings are stack_service_deployment_configs)")
            continue
        config = ecs_deployment(service)
        strategy = config["strategy"]
        if strategy not in STRATEGIES:
            problems.append(f"{where}.strategy: {strategy!r} is not one of {', '.join(STRATEGIES)}")
        for key in ("bake_time_minutes", "canary_bake_time_minutes", "linear_step_bake_time_minutes"):
            value = config.get(key)
            if value is not None and not (_number(value) and int(value) == value and 0 <= value <= BAKE_TIME_MAX):
                problems.append(f"{where}.{key}: {value!r} is not a whole number of minutes 0-{BAKE_TIME_MAX}")
        percent = config.get("canary_percent")
        if percent is not None and not (_number(percent) and 0.1 <= percent <= 100 and _tenths(percent)):
            problems.append(f"{where}.canary_percent: {percent!r} is not a percentage 0.1-100 in steps of 0.1")
        percent = config.get("linear_step_percent")
        if percent is not None and not (_number(percent) and 3 <= percent <= 100 and _tenths(percent)):
            problems.append(f"{where}.linear_step_percent: {percent!r} is not a percentage 3-100 in steps of 0.1")
        for keys, owner in ((CANARY_KEYS, "CANARY"), (LINEAR_KEYS, "LINEAR")):
            extra = [k for k in keys if config.get(k) is not None]
            if extra and strategy in STRATEGIES and strategy != owner:
                problems.append(f"{where}: {', '.join(extra)} only apply to strategy {owner} (strategy is {strategy})")
        hooks = config.get("lifecycle_hooks")
        if not isinstance(hooks, list):
            problems.append(f"{where}.lifecycle_hooks: a list of hooks, got {hooks!r}")
            continue
        for index, hook in enumerate(hooks):
            problems += _hook_problems(where, index, hook)
    return problems


def ecs_deployment_configuration(service, alarm_names=None):
    """The ECS ``deploymentConfiguration`` (API shape) of an ECS-controlled service: strategy, bake time, canary or
    linear steps, lifecycle hooks, alarms (``alarm_names``, rolled back on unless ``alarm_rollback`` is false) and the
    deployment circuit breaker."""
    config = ecs_deployment(service)
    names = sorted(alarm_names or [])
    out = {
        "strategy": config["strategy"],
        "bakeTimeInMinutes": int(config["bake_time_minutes"]),
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "alarms": {"alarmNames": names, "enable": bool(names), "rollback": bool(names) and bool(config["alarm_rollback"])},
        "deploymentCircuitBreaker": {"enable": bool(config["circuit_breaker"]), "rollback": bool(config["circuit_breaker"])},
        "lifecycleHooks": [],
    }
    if config["strategy"] == "CANARY":
        out["canaryConfiguration"] = {"canaryPercent": float(config.get("canary_percent", 5.0)),
                                      "canaryBakeTimeInMinutes": int(config.get("canary_bake_time_minutes", 10))}
    if config["strategy"] == "LINEAR":
        out["linearConfiguration"] = {"stepPercent": float(config.get("linear_step_percent", 10.0)),
                                      "stepBakeTimeInMinutes": int(config.get("linear_step_bake_time_minutes", 6))}
    for hook in config["lifecycle_hooks"]:
        item = {"targetType": hook.get("target_type") or "AWS_LAMBDA", "lifecycleStages": list(hook["lifecycle_stages"])}
        if hook.get("hook_target_arn"):
            item["hookTargetArn"] = hook["hook_target_arn"]
        if hook.get("role_arn"):
            item["roleArn"] = hook["role_arn"]
        if hook.get("timeout_minutes") is not None or hook.get("timeout_action") is not None:
            item["timeoutConfiguration"] = {"timeoutInMinutes": int(hook.get("timeout_minutes") or 1440),
                                            "action": hook.get("timeout_action") or "ROLLBACK"}
        out["lifecycleHooks"].append(item)
    return out


class FilterModule:
    """seed.fargate.deployment_controller, services_on_controller, deployment_input_problems,
    ecs_deployment_configuration."""

    def filters(self):
        return {
            "deployment_controller": deployment_controller,
            "services_on_controller": services_on_controller,
            "deployment_input_problems": deployment_input_problems,
            "ecs_deployment_configuration": ecs_deployment_configuration,
        }
