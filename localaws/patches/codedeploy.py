"""CodeDeploy: the API moto lacks, and ECS blue/green deployments that actually run.

moto stores applications, deployment groups and deployments, but deployments
never leave ``Created`` and half of the API is missing. This patch adds, after
AWS's CodeDeploy API reference (shapes from botocore's service model):

* UpdateApplication, DeleteApplication, UpdateDeploymentGroup (rename and every
  field), DeleteDeploymentGroup, BatchGetDeploymentGroups,
  Create/Get/Delete/ListDeploymentConfigs with the predefined Server, Lambda and
  ECS configurations, StopDeployment, ContinueDeployment,
  ListDeploymentTargets, BatchGetDeploymentTargets, GetDeploymentTarget,
  PutLifecycleEventHookExecutionStatus, and AWS's validation and error codes.
* For ECS deployment groups, a deployment engine in a background thread of the
  server: replacement task set on the idle target group, test listener
  re-pointed, lifecycle events in AWS's order, optional wait for
  ContinueDeployment, production traffic shifted by the deployment
  configuration (canary / linear / all at once, as weighted forward actions on
  every default action and rule of the production listener that forwards to
  the original target group), termination wait, original task set removed.
  CloudWatch alarms and target health are watched; failures and stops roll back
  as the group's autoRollbackConfiguration says. With the data plane on
  (``LOCALAWS_DATAPLANE=1``) the replacement must really be ready before traffic
  moves: its tasks RUNNING and their targets healthy in the load balancer's own
  checks, within 60 AWS minutes (EcsRun._await_replacement).

Time: ``LOCALAWS_TIME_SCALE`` seconds of real time per AWS minute (default 1.0);
``POST /_localaws/codedeploy/time-scale {"secondsPerMinute": 0.2}`` changes it.
Lifecycle hooks (Lambda functions named in the AppSpec) are recorded, not
invoked: by default each succeeds at once; with ``LOCALAWS_CODEDEPLOY_HOOKS=wait``
or ``POST /_localaws/codedeploy/hooks {"mode": "wait"}`` the deployment waits
for PutLifecycleEventHookExecutionStatus as AWS does (ids from
``GET /_localaws/codedeploy/hooks?deploymentId=...``).

See docs/local-endpoint.md for the table of what is emulated and how it differs.
"""

from __future__ import annotations

import copy
import logging
import os
import random
import re
import string
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import yaml

from localaws.patches import _readiness
from localaws.patches import ecs as ecs_patch
from localaws.patches import elbv2 as elbv2_patch
from localaws.patches._shared import LOCK, AwsError, Ticker, Wait, control_route, serialise_calls

log = logging.getLogger("localaws.codedeploy")

ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Ready", "Baking")
ECS_EVENTS = ("BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
              "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
HOOK_EVENTS = ("BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic")
EVENT_MINUTES = 0.05          # each lifecycle event takes 3 AWS seconds
HOOK_TIMEOUT_MINUTES = 60.0   # AWS fails a hook that does not report within an hour
# With the data plane on, Install and AllowTestTraffic wait for the replacement task set to be ready
# (tasks RUNNING, targets healthy) at most this long in AWS minutes, shared by both waits: AWS fails
# such a deployment with "The deployment timed out while waiting for the replacement task set to
# become healthy. This time out period is 60 minutes." (the error CodeDeploy reports; the wait is
# the Install step of https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html#deployment-steps-what-happens).
# The readiness rules (and FAILED_TASK_LIMIT) are localaws/patches/_readiness.py's, shared with ECS blue/green.
READY_TIMEOUT_MINUTES = _readiness.READY_TIMEOUT_MINUTES
TICK_SECONDS = 0.02
CREATED = datetime(2014, 10, 6, tzinfo=UTC)  # createTime of the predefined configs


def _predefined() -> dict[str, dict[str, Any]]:
    configs: dict[str, dict[str, Any]] = {
        "CodeDeployDefault.OneAtATime": {"computePlatform": "Server",
                                         "minimumHealthyHosts": {"type": "HOST_COUNT", "value": 1}},
        "CodeDeployDefault.HalfAtATime": {"computePlatform": "Server",
                                          "minimumHealthyHosts": {"type": "FLEET_PERCENT", "value": 50}},
        "CodeDeployDefault.AllAtOnce": {"computePlatform": "Server",
                                        "minimumHealthyHosts": {"type": "HOST_COUNT", "value": 0}},
    }
    for prefix, platform in (("Lambda", "Lambda"), ("ECS", "ECS")):
        configs[f"CodeDeployDefault.{prefix}AllAtOnce"] = {
            "computePlatform": platform, "trafficRoutingConfig": {"type": "AllAtOnce"}}
    for minutes in (5, 10, 15, 30):
        configs[f"CodeDeployDefault.LambdaCanary10Percent{minutes}Minutes"] = {
            "computePlatform": "Lambda", "trafficRoutingConfig": {
                "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": minutes}}}
    for minutes, suffix in ((1, "1Minute"), (2, "2Minutes"), (3, "3Minutes"), (10, "10Minutes")):
        configs[f"CodeDeployDefault.LambdaLinear10PercentEvery{suffix}"] = {
            "computePlatform": "Lambda", "trafficRoutingConfig": {
                "type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": minutes}}}
    for minutes in (1, 3):
        configs[f"CodeDeployDefault.ECSLinear10PercentEvery{minutes}Minutes"] = {
            "computePlatform": "ECS", "trafficRoutingConfig": {
                "type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": minutes}}}
    for minutes in (5, 15):
        configs[f"CodeDeployDefault.ECSCanary10Percent{minutes}Minutes"] = {
            "computePlatform": "ECS", "trafficRoutingConfig": {
                "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": minutes}}}
    for name, config in configs.items():
        config["deploymentConfigName"] = name
        config["deploymentConfigId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        config["createTime"] = CREATED
    return configs


PREDEFINED = _predefined()
DEFAULT_CONFIG = {"Server": "CodeDeployDefault.OneAtATime", "Lambda": "CodeDeployDefault.LambdaAllAtOnce",
                  "ECS": "CodeDeployDefault.ECSAllAtOnce"}


def err(code: str, message: str) -> AwsError:
    return AwsError(code, message)


# -- settings and the virtual clock ------------------------------------------------------------

def _env_scale() -> float:
    try:
        value = float(os.environ.get("LOCALAWS_TIME_SCALE", "1.0"))
    except ValueError:
        value = 1.0
    return value if value > 0 else 1.0


class Settings:
    def __init__(self) -> None:
        self.seconds_per_minute = _env_scale()
        self.hook_mode = "wait" if os.environ.get("LOCALAWS_CODEDEPLOY_HOOKS") == "wait" else "succeed"


class Clock:
    """AWS minutes elapsed, advanced by the ticker: real seconds / seconds-per-minute."""

    def __init__(self) -> None:
        self.minutes = 0.0
        self._last = time.monotonic()

    def advance(self, seconds_per_minute: float) -> float:
        now = time.monotonic()
        self.minutes += (now - self._last) / seconds_per_minute
        self._last = now
        return self.minutes


SETTINGS = Settings()
CLOCK = Clock()
RUNS: dict[str, EcsRun] = {}


def reset() -> None:
    global SETTINGS
    with LOCK:
        for run in RUNS.values():
            run.finished = True
        RUNS.clear()
        SETTINGS = Settings()


# Advances every deployment on the emulated clock (the ECS blue/green emulation shares the clock, not the thread).
TICKER = Ticker("localaws-codedeploy", RUNS, lambda: CLOCK.advance(SETTINGS.seconds_per_minute),
                lambda run, exc: run.internal_error(exc), TICK_SECONDS)


# -- helpers -----------------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC)


def _deployment_id() -> str:
    return "d-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=9))


def _strip(value: Any) -> Any:
    """Drop None values (recursively) so optional members are simply absent, as in AWS's answers."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _backends(account_id: str, region: str) -> tuple[Any, Any, Any]:
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends

    return (ecs_backends[account_id][region], elbv2_backends[account_id][region],
            cloudwatch_backends[account_id][region])


def _state(backend: Any) -> Any:
    """Extra per-backend state (wiped with the backend by moto's reset)."""
    if not hasattr(backend, "localaws_configs"):
        backend.localaws_configs = {}
    return backend


def _get_config(backend: Any, name: str) -> dict[str, Any]:
    config = PREDEFINED.get(name) or _state(backend).localaws_configs.get(name)
    if config is None:
        raise err("DeploymentConfigDoesNotExistException",
                  f"The deployment configuration {name} does not exist with the user or AWS account.")
    return config


def _platform(application: Any) -> str:
    return application.compute_platform or "Server"


def _get_application(backend: Any, name: str | None) -> Any:
    if not name:
        raise err("ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
    if name not in backend.applications:
        raise err("ApplicationDoesNotExistException",
                  f"The application {name} does not exist with the user or AWS account.")
    return backend.applications[name]


def _get_group(backend: Any, app_name: str | None, group_name: str | None) -> Any:
    _get_application(backend, app_name)
    if not group_name:
        raise err("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
    group = backend.deployment_groups.get(app_name, {}).get(group_name)
    if group is None:
        raise err("DeploymentGroupDoesNotExistException",
                  f"The deployment group {group_name} does not exist with the user or AWS account.")
    return group


DEPLOYMENT_ID = re.compile(r"d-[A-Z0-9]{9}")


def _get_deployment(backend: Any, deployment_id: str | None) -> Any:
    if not deployment_id:
        raise err("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    if not DEPLOYMENT_ID.fullmatch(deployment_id):
        # AWS tells a malformed id (InvalidDeploymentIdException) from a well-formed unknown one
        raise err("InvalidDeploymentIdException", f"Specified DeploymentId is not in the valid format: {deployment_id}")
    deployment = backend.deployments.get(deployment_id)
    if deployment is None:
        raise err("DeploymentDoesNotExistException",
                  f"The deployment {deployment_id} could not be found.")
    return deployment


def _ecs_blue_green_defaults(given: dict | None) -> dict:
    """``blueGreenDeploymentConfiguration`` of an ECS deployment group with what AWS fills when it is left out:
    the original task set terminated right after a successful deployment, traffic rerouted as soon as the
    replacement is ready (BlueGreenDeploymentConfiguration, BlueInstanceTerminationOption and
    DeploymentReadyOption in the CodeDeploy API reference). ``aws ecs deploy`` reads the termination wait."""
    blue_green = copy.deepcopy(given or {})
    termination = blue_green.setdefault("terminateBlueInstancesOnDeploymentSuccess", {})
    termination.setdefault("action", "TERMINATE")
    termination.setdefault("terminationWaitTimeInMinutes", 0)
    ready = blue_green.setdefault("deploymentReadyOption", {})
    ready.setdefault("actionOnTimeout", "CONTINUE_DEPLOYMENT")
    ready.setdefault("waitTimeInMinutes", 0)
    return blue_green


# -- deployment configs ------------------------------------------------------------------------

def _validate_traffic_routing(config: dict | None, platform: str) -> None:
    if platform == "Server":
        if config:
            raise err("InvalidTrafficRoutingConfigurationException",
                      "Traffic routing configuration is not supported for the Server compute platform.")
        return
    if not config or not config.get("type"):
        raise err("InvalidTrafficRoutingConfigurationException",
                  f"A traffic routing configuration is required for the {platform} compute platform.")
    kind = config["type"]
    if kind == "TimeBasedCanary":
        canary = config.get("timeBasedCanary") or {}
        pct, interval = canary.get("canaryPercentage"), canary.get("canaryInterval")
        if pct is None or interval is None or not 1 <= pct <= 99 or interval < 1:
            raise err("InvalidTrafficRoutingConfigurationException",
                      "TimeBasedCanary requires canaryPercentage between 1 and 99 and canaryInterval of at least 1.")
    elif kind == "TimeBasedLinear":
        linear = config.get("timeBasedLinear") or {}
        pct, interval = linear.get("linearPercentage"), linear.get("linearInterval")
        if pct is None or interval is None or not 1 <= pct <= 99 or interval < 1:
            raise err("InvalidTrafficRoutingConfigurationException",
                      "TimeBasedLinear requires linearPercentage between 1 and 99 and linearInterval of at least 1.")
    elif kind != "AllAtOnce":
        raise err("InvalidTrafficRoutingConfigurationException", f"Unknown traffic routing type {kind}.")


def traffic_steps(config: dict[str, Any]) -> list[tuple[int, float]]:
    """[(replacement weight %, AWS minutes to wait after reaching it)] for a traffic routing config."""
    routing = config.get("trafficRoutingConfig") or {"type": "AllAtOnce"}
    if routing.get("type") == "TimeBasedCanary":
        canary = routing["timeBasedCanary"]
        return [(int(canary["canaryPercentage"]), float(canary["canaryInterval"])), (100, 0.0)]
    if routing.get("type") == "TimeBasedLinear":
        linear = routing["timeBasedLinear"]
        step, interval = int(linear["linearPercentage"]), float(linear["linearInterval"])
        steps, weight = [], 0
        while weight + step < 100:
            weight += step
            steps.append((weight, interval))
        return [*steps, (100, 0.0)]
    return [(100, 0.0)]


# -- AppSpec -----------------------------------------------------------------------------------

def _ci(mapping: Any, key: str) -> Any:
    if not isinstance(mapping, dict):
        return None
    for k, v in mapping.items():
        if isinstance(k, str) and k.lower() == key.lower():
            return v
    return None


def _revision_content(revision: dict | None, account_id: str) -> str:
    revision = revision or {}
    kind = revision.get("revisionType")
    if kind == "AppSpecContent":
        return (revision.get("appSpecContent") or {}).get("content") or ""
    if kind == "String":
        return (revision.get("string") or {}).get("content") or ""
    if kind == "S3":
        from moto.s3.models import s3_backends

        location = revision.get("s3Location") or {}
        bucket = s3_backends[account_id]["aws"].get_bucket(location.get("bucket"))
        key = bucket.keys.get(location.get("key"))
        if key is None:
            raise ValueError(f"s3://{location.get('bucket')}/{location.get('key')} does not exist")
        return key.value.decode()
    raise ValueError(f"revision type {kind} is not supported for ECS deployments")


def parse_appspec(content: str) -> dict[str, Any]:
    """The ECS parts of an AppSpec (YAML or JSON): TargetService properties and hooks."""
    spec = yaml.safe_load(content) if content.strip() else None
    if not isinstance(spec, dict):
        raise TypeError("The AppSpec file is not valid YAML or JSON")
    target = None
    for resource in _ci(spec, "Resources") or []:
        for body in (resource or {}).values():
            if _ci(body, "Type") == "AWS::ECS::Service":
                target = _ci(body, "Properties") or {}
    if target is None:
        raise ValueError("The AppSpec file has no resource of type AWS::ECS::Service")
    task_definition = _ci(target, "TaskDefinition")
    if not task_definition:
        raise ValueError("The AppSpec file's TargetService has no TaskDefinition")
    lb_info = _ci(target, "LoadBalancerInfo") or {}
    network = _ci(_ci(target, "NetworkConfiguration"), "AwsvpcConfiguration")
    network_configuration = None
    if network:
        network_configuration = {"awsvpcConfiguration": _strip({
            "subnets": _ci(network, "Subnets"),
            "securityGroups": _ci(network, "SecurityGroups"),
            "assignPublicIp": _ci(network, "AssignPublicIp"),
        })}
    hooks: dict[str, str] = {}
    for hook in _ci(spec, "Hooks") or []:
        for name, function in (hook or {}).items():
            if name not in HOOK_EVENTS:
                raise ValueError(f"The AppSpec file has an unknown lifecycle event hook {name}")
            hooks[name] = function
    return {
        "taskDefinition": str(task_definition),
        "containerName": _ci(lb_info, "ContainerName"),
        "containerPort": _ci(lb_info, "ContainerPort"),
        "platformVersion": _ci(target, "PlatformVersion"),
        "networkConfiguration": network_configuration,
        "hooks": hooks,
    }


# -- the ECS deployment engine -----------------------------------------------------------------

class DeploymentFailure(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class EcsRun:
    """One ECS blue/green deployment, advanced by the ticker (always under LOCK)."""

    def __init__(self, backend: Any, deployment: Any, group: Any, config: dict[str, Any]):
        self.backend = backend
        self.deployment = deployment
        self.group = group
        self.config = config
        self.ecs, self.elbv2, self.cloudwatch = _backends(backend.account_id, backend.region_name)
        service = (group.ecs_services or [{}])[0]
        self.cluster_name = service.get("clusterName")
        self.service_name = service.get("serviceName")
        self.target_id = f"{self.cluster_name}:{self.service_name}"
        self.service: Any = None
        self.target_arn = None
        self.events = [{"lifecycleEventName": name, "status": "Pending"} for name in ECS_EVENTS]
        self.target_status = "Pending"
        self.last_updated = _now()
        self.hooks: list[dict[str, Any]] = []
        self.original_ts: Any = None
        self.replacement_ts: Any = None
        self.original_tg: Any = None
        self.replacement_tg: Any = None
        self.weight = 0
        self.saved_actions: list[tuple[Any, Any, list[dict]]] = []
        self.stop_request: dict | None = None
        self.continue_ready = False
        self.skip_termination = False
        self.waiting_for = ""
        self.wait: Wait | None = None
        # Data plane: the AWS minute by which the replacement must be ready, whether its real target
        # health is watched (from readiness to the end of AllowTraffic), the last reading of it.
        self.ready_deadline: float | None = None
        self.watch_health = False
        self.reading = _readiness.Reading(
            self.elbv2, self._replacement_tasks,
            lambda: int(getattr(self.replacement_ts, "computed_desired_count", 0) or 0),
            lambda: self.replacement_tg, "replacement")
        self.finished = False
        self.gen = self._process()
        self.gen_started = False

    # -- target view -----------------------------------------------------------------------
    def _task_set_info(self, task_set: Any, target_group: Any, label: str, weight: float) -> dict[str, Any]:
        count = getattr(task_set, "computed_desired_count", 0)
        return {
            "identifer": task_set.id,
            "desiredCount": count,
            "pendingCount": getattr(task_set, "pending_count", 0),
            "runningCount": getattr(task_set, "running_count", count),
            "status": task_set.status,
            "trafficWeight": float(weight),
            "targetGroup": {"name": target_group.name} if target_group is not None else None,
            "taskSetLabel": label,
        }

    def target_info(self) -> dict[str, Any]:
        task_sets = []
        if self.original_ts is not None:
            task_sets.append(self._task_set_info(self.original_ts, self.original_tg, "Blue", 100 - self.weight))
        if self.replacement_ts is not None:
            task_sets.append(self._task_set_info(self.replacement_ts, self.replacement_tg, "Green", self.weight))
        return _strip({
            "deploymentTargetType": "ECSTarget",
            "ecsTarget": {
                "deploymentId": self.deployment.deployment_id,
                "targetId": self.target_id,
                "targetArn": self.target_arn,
                "lastUpdatedAt": self.last_updated,
                "lifecycleEvents": copy.deepcopy(self.events),
                "status": self.target_status,
                "taskSetsInfo": task_sets,
            },
        })

    def _set_target(self, status: str) -> None:
        self.target_status = status
        self.last_updated = _now()
        overview = dict.fromkeys(("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready"), 0)
        overview[status] = 1
        self.deployment.deployment_overview = overview

    def _event(self, name: str) -> dict[str, Any]:
        return next(e for e in self.events if e["lifecycleEventName"] == name)

    # -- the lifecycle ---------------------------------------------------------------------
    def _run_event(self, name: str, action: Any = None):
        event = self._event(name)
        event.update(status="InProgress", startTime=_now())
        self.last_updated = _now()
        if action is not None:
            waits = action()
            if waits is not None:  # an action that waits (for the replacement to be ready) is a generator
                yield from waits
        function = self.appspec["hooks"].get(name) if name in HOOK_EVENTS else None
        if function:
            hook = {"lifecycleEventName": name, "functionName": function,
                    "lifecycleEventHookExecutionId": str(uuid.uuid4()) + str(uuid.uuid4()),
                    "status": "Pending", "invokedAt": _now().isoformat()}
            self.hooks.append(hook)
            if SETTINGS.hook_mode == "wait":
                timed_out = yield Wait(HOOK_TIMEOUT_MINUTES, until=lambda: hook["status"] != "Pending",
                                       label="hook")
                if timed_out:
                    hook["status"] = "Failed"
                    raise DeploymentFailure("HOOK_EXECUTION_FAILURE",
                                            f"The deployment timed out while waiting for the {name} lifecycle "
                                            f"event hook {function} to report its status.")
                if hook["status"] != "Succeeded":
                    raise DeploymentFailure("HOOK_EXECUTION_FAILURE",
                                            f"The {name} lifecycle event hook {function} reported {hook['status']}.")
            else:
                hook["status"] = "Succeeded"
        yield Wait(EVENT_MINUTES)
        event.update(status="Succeeded", endTime=_now())
        self.last_updated = _now()

    def _process(self):
        deployment = self.deployment
        deployment.status = "InProgress"
        deployment.start_time = _now()
        self._set_target("InProgress")
        try:
            self.service = self.ecs._get_service(self.cluster_name, self.service_name)
        except Exception as exc:
            raise DeploymentFailure("INVALID_ECS_SERVICE",
                                    f"The ECS service {self.service_name} in cluster {self.cluster_name} "
                                    f"could not be found.") from exc
        self.target_arn = self.service.arn
        try:
            content = _revision_content(deployment.revision, self.backend.account_id)
            self.appspec = parse_appspec(content)
        except Exception as exc:
            raise DeploymentFailure("INVALID_REVISION", f"The AppSpec file is invalid: {exc}") from exc
        self._resolve_target_groups()

        yield from self._run_event("BeforeInstall")
        yield from self._run_event("Install", self._install_ready)
        yield from self._run_event("AfterInstall")
        yield from self._run_event("AllowTestTraffic", self._allow_test_traffic_ready)
        yield from self._run_event("AfterAllowTestTraffic")

        ready = (self.group.blue_green_deployment_configuration or {}).get("deploymentReadyOption") or {}
        if ready.get("actionOnTimeout") == "STOP_DEPLOYMENT":
            deployment.status = "Ready"
            self._set_target("Ready")
            self.waiting_for = "READY_WAIT"
            timed_out = yield Wait(float(ready.get("waitTimeInMinutes") or 0), until=lambda: self.continue_ready)
            self.waiting_for = ""
            if timed_out:
                self._stop("TIMEOUT", "The deployment was stopped because traffic was not rerouted to the "
                           "replacement task set (ContinueDeployment) within the wait time.", rollback=True)
                return
            deployment.status = "InProgress"
            self._set_target("InProgress")

        yield from self._run_event("BeforeAllowTraffic")
        event = self._event("AllowTraffic")
        event.update(status="InProgress", startTime=_now())
        for weight, wait_minutes in traffic_steps(self.config):
            self._shift(weight)
            if wait_minutes:
                yield Wait(wait_minutes)
        ecs_patch.make_primary(self.service, self.replacement_ts)
        yield Wait(EVENT_MINUTES)
        event.update(status="Succeeded", endTime=_now())
        yield from self._run_event("AfterAllowTraffic")

        termination = (self.group.blue_green_deployment_configuration or {}).get(
            "terminateBlueInstancesOnDeploymentSuccess") or {}
        if termination.get("action", "TERMINATE") == "TERMINATE":
            deployment.instance_termination_wait_time_started = True
            self.waiting_for = "TERMINATION_WAIT"
            yield Wait(float(termination.get("terminationWaitTimeInMinutes") or 0),
                       until=lambda: self.skip_termination)
            self.waiting_for = ""
            ecs_patch.delete_task_set(self.service, self.original_ts)
        self._complete("Succeeded")
        self.group.last_successful_id = deployment.deployment_id

    def _resolve_target_groups(self) -> None:
        primary = ecs_patch.primary_task_set(self.service)
        if primary is None:
            raise DeploymentFailure("ECS_UPDATE_ERROR",
                                    f"The ECS service {self.service_name} has no primary task set to replace.")
        self.original_ts = primary
        pair = ((self.group.load_balancer_info or {}).get("targetGroupPairInfoList") or [{}])[0]
        groups = [elbv2_patch.target_group_by_name(self.elbv2, g.get("name")) for g in pair.get("targetGroups", [])]
        if len(groups) != 2 or None in groups:
            raise DeploymentFailure("ELASTIC_LOAD_BALANCING_INVALID",
                                    "The target groups of the deployment group could not be found.")
        current = {lb.get("targetGroupArn") for lb in primary.load_balancers or []}
        if groups[0].arn in current:
            self.original_tg, self.replacement_tg = groups
        elif groups[1].arn in current:
            self.replacement_tg, self.original_tg = groups
        else:
            raise DeploymentFailure("ELASTIC_LOAD_BALANCING_INVALID",
                                    "The primary task set of the ECS service is not registered with either "
                                    "target group of the deployment group.")
        self.prod_listeners = list(((pair.get("prodTrafficRoute") or {}).get("listenerArns")) or [])
        self.test_listeners = list(((pair.get("testTrafficRoute") or {}).get("listenerArns")) or [])

    def _install(self) -> None:
        spec = self.appspec
        primary_lb = (self.original_ts.load_balancers or [{}])[0]
        container_name = spec["containerName"] or primary_lb.get("containerName")
        container_port = spec["containerPort"] or primary_lb.get("containerPort")
        try:
            task_definition = self.ecs.describe_task_definition(spec["taskDefinition"])
        except Exception as exc:
            raise DeploymentFailure("ECS_UPDATE_ERROR",
                                    f"The ECS service cannot be updated: the task definition "
                                    f"{spec['taskDefinition']} does not exist.") from exc
        container = next((c for c in task_definition.container_definitions if c.get("name") == container_name), None)
        if container is None:
            raise DeploymentFailure("ECS_UPDATE_ERROR",
                                    f"The ECS service cannot be updated: the container {container_name} does not "
                                    f"exist in the task definition.")
        ports = {int(m.get("containerPort")) for m in container.get("portMappings") or [] if m.get("containerPort")}
        if container_port is not None and int(container_port) not in ports:
            raise DeploymentFailure("ECS_UPDATE_ERROR",
                                    f"The ECS service cannot be updated: the container {container_name} did not have "
                                    f"a container port {container_port} defined.")
        for stale in [ts for ts in self.service.task_sets if ts is not self.original_ts]:
            ecs_patch.delete_task_set(self.service, stale)
        self.replacement_ts = ecs_patch.create_task_set(
            self.ecs, self.service, task_definition.arn,
            [{"targetGroupArn": self.replacement_tg.arn, "containerName": container_name,
              "containerPort": int(container_port) if container_port is not None else None}],
            spec["networkConfiguration"] or getattr(self.original_ts, "network_configuration", None),
            spec["platformVersion"], external_id=self.deployment.deployment_id)

    def _rewrite(self, listener_arns: list[str], weights: list[tuple[str, int]]) -> None:
        """Point every forward action to original/replacement TG on these listeners at ``weights``."""
        original, replacement = self.original_tg.arn, self.replacement_tg.arn
        for arn in listener_arns:
            listener = elbv2_patch.find_listener(self.elbv2, arn)
            if listener is None:
                raise DeploymentFailure("ELASTIC_LOAD_BALANCING_INVALID", f"The listener {arn} could not be found.")
            for _, rule in elbv2_patch.listener_action_sets(listener):
                data = [dict(a.data) for a in rule.actions]
                if not any(elbv2_patch.forwards_to(d, original) or elbv2_patch.forwards_to(d, replacement)
                           for d in data):
                    continue
                if not any(saved[1] is rule for saved in self.saved_actions):
                    self.saved_actions.append((listener, rule, copy.deepcopy(data)))
                new = [elbv2_patch.weighted_forward(d, weights)
                       if elbv2_patch.forwards_to(d, original) or elbv2_patch.forwards_to(d, replacement) else d
                       for d in data]
                elbv2_patch.set_rule_actions(listener, rule, new)

    def _allow_test_traffic(self) -> None:
        if self.test_listeners:
            self._rewrite(self.test_listeners, [(self.replacement_tg.arn, 1)])

    # -- readiness of the replacement (data plane) -----------------------------------------
    # AWS: Install creates the replacement task set and CodeDeploy waits for it to become healthy
    # before it reroutes any traffic; a replacement that cannot reach a steady state fails the
    # deployment, and the deployment group's automatic rollback (DEPLOYMENT_FAILURE) sends production
    # back to the original task set (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html,
    # "What happens during an Amazon ECS deployment" and "Stopped and failed deployments"). With the
    # data plane on, ready means the task runner's tasks RUNNING and their targets healthy per the load
    # balancer's real health checks; off, nothing runs and the task set is ready at once, as before.
    def _install_ready(self):
        self._install()
        if _readiness.watched():
            self.ready_deadline = CLOCK.minutes + READY_TIMEOUT_MINUTES
            yield from self._await_replacement()

    def _allow_test_traffic_ready(self):
        self._allow_test_traffic()
        # The test listener now forwards to the replacement group: its health checks start (a group
        # no listener uses is never checked), so production waits for their verdict too.
        if self.ready_deadline is not None:
            yield from self._await_replacement()
            self.watch_health = True

    def _await_replacement(self):
        status, detail, timed_out = yield from _readiness.await_ready(self.reading, self.ready_deadline or 0.0,
                                                                      lambda: CLOCK.minutes)
        if status == "ready":
            return
        if not timed_out:
            raise DeploymentFailure("ECS_UPDATE_ERROR",
                                    f"The ECS service cannot be updated: the replacement task set "
                                    f"{self.replacement_ts.id} cannot reach a steady state: {detail}")
        # Timed out: unhealthy targets are a health failure, tasks that never ran an ECS one.
        code = "HEALTH_CONSTRAINTS" if status == "unhealthy" else "ECS_UPDATE_ERROR"
        raise DeploymentFailure(code, f"The deployment timed out while waiting for the replacement task set to "
                                      f"become healthy. This time out period is {READY_TIMEOUT_MINUTES:g} "
                                      f"minutes. {detail}")

    def _replacement_status(self, cached: bool = False) -> tuple[str, str]:
        """("ready" | "waiting" | "unhealthy" | "failed", what is wrong) for the replacement task set."""
        if self.replacement_ts is None or self.replacement_tg is None:
            return "waiting", "the replacement task set does not exist yet."
        return self.reading.get(cached)

    def _replacement_tasks(self) -> list[Any]:
        task_set = self.replacement_ts
        if task_set is None:
            return []
        return [t for t in list(self.ecs.tasks.get(self.service.cluster_name, {}).values())
                if getattr(t, "started_by", None) == task_set.id]  # moto keeps tasks in launch order

    def _shift(self, weight: int) -> None:
        self.weight = weight
        if weight >= 100:
            # The end state AWS leaves: both groups, the replacement at 100 listed first, the original
            # kept at 0 ("the listener rules will change from (TG1: 1) to (TG2: 100, TG1: 0)",
            # CodeDeploy service team, quoted in traveloka/terraform-aws-alb-single-listener#47).
            weights = [(self.replacement_tg.arn, 100), (self.original_tg.arn, 0)]
        else:
            weights = [(self.original_tg.arn, 100 - weight), (self.replacement_tg.arn, weight)]
        self._rewrite(self.prod_listeners, weights)
        self.last_updated = _now()

    # -- endings ---------------------------------------------------------------------------
    def _complete(self, status: str, error: dict | None = None) -> None:
        deployment = self.deployment
        deployment.status = status
        deployment.complete_time = _now()
        deployment.localaws_error = error
        self.finished = True
        self.wait = None
        if status == "Succeeded":
            self._set_target("Succeeded")
        else:
            for event in self.events:
                if event["status"] == "InProgress":
                    event.update(status="Failed" if status == "Failed" else "Skipped", endTime=_now())
                elif event["status"] == "Pending":
                    event["status"] = "Skipped"
            self._set_target("Failed" if status == "Failed" else "Skipped")

    def _rollback_resources(self) -> None:
        # Test listeners get their actions back as they were; production forwards come back as the
        # mirror image of a release's end state (original 100 first, replacement 0): AWS does not
        # document the rolled-back shape, this keeps the one shape a finished deployment leaves.
        production = {id(elbv2_patch.find_listener(self.elbv2, arn)) for arn in getattr(self, "prod_listeners", [])}
        back = ([(self.original_tg.arn, 100), (self.replacement_tg.arn, 0)]
                if self.original_tg is not None and self.replacement_tg is not None else [])
        for listener, rule, data in reversed(self.saved_actions):
            if id(listener) in production and back:
                data = [elbv2_patch.weighted_forward(d, back)
                        if elbv2_patch.forwards_to(d, back[0][0]) or elbv2_patch.forwards_to(d, back[1][0]) else d
                        for d in data]
            elbv2_patch.set_rule_actions(listener, rule, data)
        self.saved_actions = []
        self.weight = 0
        if self.service is not None and self.original_ts is not None:
            if self.original_ts not in self.service.task_sets:
                self.service.task_sets.append(self.original_ts)
            ecs_patch.make_primary(self.service, self.original_ts)
            if self.replacement_ts is not None:
                ecs_patch.delete_task_set(self.service, self.replacement_ts)

    def _auto_rollback(self, event: str) -> bool:
        config = self.deployment.auto_rollback_configuration or self.group.auto_rollback_configuration or {}
        return bool(config.get("enabled")) and event in (config.get("events") or [])

    def _finish(self, status: str, code: str, message: str, rollback: bool) -> None:
        self._complete(status, {"code": code, "message": message})
        if rollback:
            self._rollback_resources()
            rollback_id = _rollback_deployment(self)
            self.deployment.localaws_rollback = {
                "rollbackDeploymentId": rollback_id,
                "rollbackMessage": f"Deployment rolled back by {rollback_id}: production traffic was shifted back "
                                   f"to the original task set and the replacement task set was deleted.",
            }

    def _stop(self, code: str, message: str, rollback: bool) -> None:
        self._finish("Stopped", code, message, rollback)

    def fail(self, code: str, message: str) -> None:
        self._finish("Failed", code, message, self._auto_rollback("DEPLOYMENT_FAILURE"))

    def internal_error(self, exc: Exception) -> None:
        if not self.finished:
            self.fail("INTERNAL_ERROR", f"The local CodeDeploy emulation failed: {exc}")
        self.finished = True

    # -- monitors --------------------------------------------------------------------------
    def _alarms_in_alarm(self) -> list[str]:
        config = self.deployment.override_alarm_configuration
        if not (config and config.get("enabled") is not None):
            config = self.group.alarm_configuration or {}
        if not config.get("enabled"):
            return []
        names = [a.get("name") for a in config.get("alarms") or []]
        alarms = getattr(self.cloudwatch, "alarms", {})
        return [n for n in names if n in alarms and alarms[n].state_value == "ALARM"]

    def _unhealthy(self) -> str | None:
        """Why the replacement's targets count as unhealthy now (HEALTH_CONSTRAINTS), or None."""
        if self.replacement_ts is None or self.replacement_tg is None:
            return None
        if elbv2_patch.health_override(self.replacement_tg.arn) in ("unhealthy", "unavailable"):
            return (f"The deployment failed because the replacement task set's targets in target group "
                    f"{self.replacement_tg.name} are unhealthy.")
        # Data plane: once the replacement was ready, a target failing its real health checks while
        # traffic moves to it fails the deployment (and rolls it back), as the hand-set state does.
        if self.watch_health and self._event("AllowTraffic")["status"] != "Succeeded":
            status, detail = self._replacement_status(cached=True)
            if status == "unhealthy":
                return f"The deployment failed because the replacement task set became unhealthy. {detail}"
        return None

    def tick(self, now: float) -> None:
        if self.finished:
            return
        if self.stop_request is not None:
            request, self.stop_request = self.stop_request, None
            rollback = request["rollback"]
            if rollback is None:
                rollback = self._auto_rollback("DEPLOYMENT_STOP_ON_REQUEST")
            self._stop("MANUAL_STOP", "The deployment was stopped by a StopDeployment request.", bool(rollback))
            return
        if self.gen_started:
            alarms = self._alarms_in_alarm()
            if alarms:
                self._stop("ALARM_ACTIVE",
                           "One or more alarms have been activated according to the Amazon CloudWatch metrics you "
                           f"selected, and the affected deployments have been stopped. Activated alarms: "
                           f"<{', '.join(alarms)}>", self._auto_rollback("DEPLOYMENT_STOP_ON_ALARM"))
                return
            unhealthy = self._unhealthy()
            if unhealthy:
                self.fail("HEALTH_CONSTRAINTS", unhealthy)
                return
        if self.wait is not None:
            satisfied = bool(self.wait.until and self.wait.until())
            if not satisfied and now < self.wait.deadline:
                return
            timed_out = not satisfied
        else:
            timed_out = False
        self.wait = None
        try:
            step = self.gen.send(timed_out if self.gen_started else None)
            self.gen_started = True
        except StopIteration:
            self.finished = True
            return
        except DeploymentFailure as failure:
            self.gen_started = True
            self.fail(failure.code, failure.message)
            return
        if self.finished:
            return
        step.deadline = now + step.minutes
        self.wait = step


def _rollback_deployment(run: EcsRun) -> str:
    """The rollback deployment AWS creates (creator codeDeployRollback): already done here."""
    from moto.codedeploy.models import DeploymentInfo

    backend, failed, group = run.backend, run.deployment, run.group
    last_good = backend.deployments.get(getattr(group, "last_successful_id", None) or "")
    rollback = DeploymentInfo(failed.application, group, last_good.revision if last_good else None,
                              failed.deployment_config_name, None, None, None, None, None, None, None,
                              "codeDeployRollback")
    _init_deployment(rollback, group)
    rollback.deployment_id = _deployment_id()
    rollback.status = "Succeeded"
    rollback.start_time = rollback.complete_time = _now()
    rollback.deployment_overview = {"Pending": 0, "InProgress": 0, "Succeeded": 1, "Failed": 0, "Skipped": 0,
                                    "Ready": 0}
    rollback.localaws_rollback = {"rollbackTriggeringDeploymentId": failed.deployment_id,
                                  "rollbackMessage": f"Rollback of deployment {failed.deployment_id}."}
    done = EcsRun.__new__(EcsRun)
    done.__dict__.update(run.__dict__)
    done.deployment = rollback
    done.replacement_ts = None
    done.weight = 0
    done.hooks = []
    done.events = [{"lifecycleEventName": name, "status": "Succeeded", "startTime": _now(), "endTime": _now()}
                   for name in ECS_EVENTS]
    done.target_status = "Succeeded"
    done.finished = True
    rollback.localaws_run = done
    backend.deployments[rollback.deployment_id] = rollback
    group.last_attempted_id = rollback.deployment_id
    group.last_successful_id = rollback.deployment_id
    return rollback.deployment_id


def _init_deployment(deployment: Any, group: Any) -> None:
    deployment.localaws_error = None
    deployment.localaws_rollback = None
    deployment.localaws_run = None
    deployment.previous_revision = None
    deployment.external_id = None
    deployment.deployment_style = copy.deepcopy(group.deployment_style) or None
    deployment.blue_green = copy.deepcopy(group.blue_green_deployment_configuration) or None
    deployment.load_balancer_info = copy.deepcopy(group.load_balancer_info) or None


# -- response shapes ---------------------------------------------------------------------------

def _last_info(backend: Any, deployment_id: str | None) -> dict | None:
    deployment = backend.deployments.get(deployment_id or "")
    if deployment is None:
        return None
    return {"deploymentId": deployment.deployment_id, "status": deployment.status,
            "endTime": deployment.complete_time, "createTime": deployment.create_time}


def group_info(backend: Any, group: Any) -> dict[str, Any]:
    platform = _platform(group.application)
    last_attempted = backend.deployments.get(getattr(group, "last_attempted_id", None) or "")
    alarm = group.alarm_configuration or {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []}
    return _strip({
        "applicationName": group.application.application_name,
        "deploymentGroupId": group.deployment_group_id,
        "deploymentGroupName": group.deployment_group_name,
        "deploymentConfigName": str(group.deployment_config_name),
        "ec2TagFilters": group.ec2_tag_filters,
        "onPremisesInstanceTagFilters": group.on_premises_instance_tag_filters,
        "autoScalingGroups": [{"name": name} if isinstance(name, str) else name for name in group.auto_scaling_groups],
        "serviceRoleArn": group.service_role_arn,
        "targetRevision": last_attempted.revision if last_attempted else None,
        "triggerConfigurations": group.trigger_configurations,
        "alarmConfiguration": alarm,
        "autoRollbackConfiguration": group.auto_rollback_configuration or None,
        "deploymentStyle": group.deployment_style or None,
        "outdatedInstancesStrategy": group.outdated_instances_strategy or "UPDATE",
        "blueGreenDeploymentConfiguration": group.blue_green_deployment_configuration or None,
        "loadBalancerInfo": group.load_balancer_info or None,
        "lastSuccessfulDeployment": _last_info(backend, getattr(group, "last_successful_id", None)),
        "lastAttemptedDeployment": _last_info(backend, getattr(group, "last_attempted_id", None)),
        "ec2TagSet": group.ec2_tag_set or None,
        "onPremisesTagSet": group.on_premises_tag_set or None,
        "computePlatform": platform,
        "ecsServices": group.ecs_services or ([] if platform == "ECS" else None),
        "ec2DeploymentOptions": getattr(group, "ec2_deployment_options", None),
        "terminationHookEnabled": bool(group.termination_hook_enabled),
    })


def deployment_info(deployment: Any) -> dict[str, Any]:
    group = deployment.deployment_group
    platform = _platform(deployment.application)
    return _strip({
        "applicationName": deployment.application_name,
        "deploymentGroupName": deployment.deployment_group_name,
        "deploymentConfigName": str(deployment.deployment_config_name),
        "deploymentId": deployment.deployment_id,
        "previousRevision": getattr(deployment, "previous_revision", None),
        "revision": deployment.revision,
        "status": deployment.status,
        "errorInformation": getattr(deployment, "localaws_error", None),
        "createTime": deployment.create_time,
        "startTime": deployment.start_time,
        "completeTime": deployment.complete_time,
        "deploymentOverview": deployment.deployment_overview,
        "description": deployment.description,
        "creator": deployment.creator,
        "ignoreApplicationStopFailures": bool(deployment.ignore_application_stop_failures),
        "autoRollbackConfiguration": (deployment.auto_rollback_configuration
                                      or group.auto_rollback_configuration or None),
        "updateOutdatedInstancesOnly": bool(deployment.update_outdated_instances_only),
        "rollbackInfo": getattr(deployment, "localaws_rollback", None),
        "deploymentStyle": getattr(deployment, "deployment_style", None),
        "targetInstances": deployment.target_instances,
        "instanceTerminationWaitTimeStarted": bool(deployment.instance_termination_wait_time_started),
        "blueGreenDeploymentConfiguration": getattr(deployment, "blue_green", None),
        "loadBalancerInfo": getattr(deployment, "load_balancer_info", None),
        "fileExistsBehavior": deployment.file_exists_behavior or ("DISALLOW" if platform == "Server" else None),
        "deploymentStatusMessages": [],
        "computePlatform": platform,
        "externalId": getattr(deployment, "external_id", None),
        "overrideAlarmConfiguration": deployment.override_alarm_configuration,
    })


def config_info(config: dict[str, Any]) -> dict[str, Any]:
    keys = ("deploymentConfigId", "deploymentConfigName", "minimumHealthyHosts", "createTime", "computePlatform",
            "trafficRoutingConfig", "zonalConfig")
    return _strip({k: copy.deepcopy(config.get(k)) for k in keys})


# -- deployment group validation ---------------------------------------------------------------

GROUP_FIELDS = {
    # API member -> moto DeploymentGroup attribute
    "deploymentConfigName": "deployment_config_name",
    "ec2TagFilters": "ec2_tag_filters",
    "onPremisesInstanceTagFilters": "on_premises_instance_tag_filters",
    "autoScalingGroups": "auto_scaling_groups",
    "serviceRoleArn": "service_role_arn",
    "triggerConfigurations": "trigger_configurations",
    "alarmConfiguration": "alarm_configuration",
    "autoRollbackConfiguration": "auto_rollback_configuration",
    "outdatedInstancesStrategy": "outdated_instances_strategy",
    "deploymentStyle": "deployment_style",
    "blueGreenDeploymentConfiguration": "blue_green_deployment_configuration",
    "loadBalancerInfo": "load_balancer_info",
    "ec2TagSet": "ec2_tag_set",
    "ecsServices": "ecs_services",
    "onPremisesTagSet": "on_premises_tag_set",
    "ec2DeploymentOptions": "ec2_deployment_options",
    "terminationHookEnabled": "termination_hook_enabled",
}


def _validate_group(backend: Any, platform: str, fields: dict[str, Any], app_name: str, group_name: str) -> None:
    config = _get_config(backend, fields.get("deploymentConfigName") or DEFAULT_CONFIG[platform])
    if config["computePlatform"] != platform:
        raise err("InvalidDeploymentConfigNameException",
                  f"The deployment configuration {config['deploymentConfigName']} is for the "
                  f"{config['computePlatform']} compute platform, not {platform}.")
    if not fields.get("serviceRoleArn"):
        raise err("RoleRequiredException", "The role ID was not specified.")
    if not str(fields["serviceRoleArn"]).startswith("arn:"):
        raise err("InvalidRoleException", "The service role ARN was specified in an invalid format.")
    alarm = fields.get("alarmConfiguration") or {}
    if len(alarm.get("alarms") or []) > 10:
        raise err("AlarmsLimitExceededException", "The maximum number of alarms for a deployment group (10) was exceeded.")
    if alarm.get("enabled") and not alarm.get("alarms"):
        raise err("InvalidAlarmConfigException", "The alarm configuration is enabled but specifies no alarms.")
    rollback = fields.get("autoRollbackConfiguration") or {}
    if rollback.get("enabled") and not rollback.get("events"):
        raise err("InvalidAutoRollbackConfigException",
                  "The automatic rollback configuration is enabled but specifies no events.")
    if platform != "ECS":
        return
    style = fields.get("deploymentStyle") or {}
    if style.get("deploymentType") != "BLUE_GREEN" or style.get("deploymentOption") != "WITH_TRAFFIC_CONTROL":
        raise err("InvalidDeploymentStyleException",
                  "For ECS deployment group, deploymentType must be BLUE_GREEN and deploymentOption must be "
                  "WITH_TRAFFIC_CONTROL.")
    blue_green = fields.get("blueGreenDeploymentConfiguration") or {}
    if blue_green.get("greenFleetProvisioningOption"):
        raise err("InvalidBlueGreenDeploymentConfigurationException",
                  "greenFleetProvisioningOption is not supported for the ECS compute platform.")
    termination = blue_green.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    if termination.get("action") not in (None, "TERMINATE", "KEEP_ALIVE") or not (
            0 <= int(termination.get("terminationWaitTimeInMinutes") or 0) <= 2880):
        raise err("InvalidBlueGreenDeploymentConfigurationException",
                  "terminateBlueInstancesOnDeploymentSuccess is invalid (action TERMINATE or KEEP_ALIVE, "
                  "terminationWaitTimeInMinutes 0-2880).")
    ready = blue_green.get("deploymentReadyOption") or {}
    if ready.get("actionOnTimeout") not in (None, "CONTINUE_DEPLOYMENT", "STOP_DEPLOYMENT"):
        raise err("InvalidBlueGreenDeploymentConfigurationException", "deploymentReadyOption.actionOnTimeout is invalid.")
    if fields.get("ec2TagFilters") or fields.get("autoScalingGroups") or fields.get("onPremisesInstanceTagFilters"):
        raise err("InvalidInputException", "EC2 tags, on-premises tags and Auto Scaling groups are not supported for "
                  "the ECS compute platform.")

    ecs_backend, elbv2_backend, _ = _backends(backend.account_id, backend.region_name)
    services = fields.get("ecsServices") or []
    if len(services) != 1:
        raise err("InvalidECSServiceException", "An ECS deployment group must specify exactly one ECS service.")
    cluster, name = services[0].get("clusterName"), services[0].get("serviceName")
    try:
        service = ecs_backend._get_service(cluster or "", name or "")
    except Exception as exc:
        raise err("InvalidECSServiceException",
                  f"The ECS service {name} in cluster {cluster} does not exist.") from exc
    if service.status != "ACTIVE":
        raise err("InvalidECSServiceException", f"The ECS service {name} in cluster {cluster} is not active.")
    if (service.deployment_controller or {}).get("type") != "CODE_DEPLOY":
        raise err("InvalidECSServiceException",
                  "Deployment group's ECS service must be configured for a CODE_DEPLOY deployment controller.")
    for other_app, groups in backend.deployment_groups.items():
        for other in groups.values():
            if (other_app, other.deployment_group_name) == (app_name, group_name):
                continue
            for mapped in other.ecs_services or []:
                if (mapped.get("clusterName"), mapped.get("serviceName")) == (cluster, name):
                    raise err("ECSServiceMappingLimitExceededException",
                              f"The ECS service {cluster}:{name} is already associated with deployment group "
                              f"{other.deployment_group_name} of application {other_app}.")

    lb_info = fields.get("loadBalancerInfo") or {}
    pairs = lb_info.get("targetGroupPairInfoList") or []
    if len(pairs) != 1 or lb_info.get("elbInfoList") or lb_info.get("targetGroupInfoList"):
        raise err("InvalidLoadBalancerInfoException",
                  "An ECS deployment group requires exactly one target group pair (targetGroupPairInfoList).")
    pair = pairs[0]
    names = [g.get("name") for g in pair.get("targetGroups") or []]
    if len(names) != 2 or names[0] == names[1]:
        raise err("InvalidTargetGroupPairException", "A target group pair must have exactly two target groups.")
    for tg_name in names:
        if elbv2_patch.target_group_by_name(elbv2_backend, tg_name) is None:
            raise err("InvalidTargetGroupPairException", f"The target group {tg_name} does not exist.")
    prod = (pair.get("prodTrafficRoute") or {}).get("listenerArns") or []
    test = (pair.get("testTrafficRoute") or {}).get("listenerArns") or []
    if len(prod) != 1 or len(test) > 1:
        raise err("InvalidTargetGroupPairException",
                  "A target group pair must have one production listener and at most one test listener.")
    for arn in prod + test:
        if elbv2_patch.find_listener(elbv2_backend, arn) is None:
            raise err("InvalidTargetGroupPairException", f"The listener {arn} does not exist.")


# -- the API -----------------------------------------------------------------------------------

def _params(response: Any, *names: str) -> dict[str, Any]:
    return {name: response._get_param(name) for name in names}


def _arn(backend: Any, resource: str) -> str:
    return backend._arn(resource)


def _check_tag_arn(backend: Any, arn: str | None) -> None:
    if not arn:
        raise err("ResourceArnRequiredException", "The ARN of a resource is required, but was not found.")
    parts = arn.split(":", 6)
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "codedeploy":
        raise err("InvalidArnException", f"The specified ARN {arn} is not in a valid format.")
    kind, name = parts[5], parts[6]
    if kind == "application":
        _get_application(backend, name)
    elif kind == "deploymentgroup":
        app, _, group = name.partition("/")
        _get_group(backend, app, group)
    elif kind == "deploymentconfig":
        _get_config(backend, name)
    else:
        raise err("ArnNotSupportedException", f"The specified ARN {arn} is not supported.")


def install_api() -> None:
    from moto.codedeploy import responses as moto_responses
    from moto.codedeploy.models import CodeDeployBackend, DeploymentInfo
    from moto.core.responses import ActionResult, EmptyResult

    R = moto_responses.CodeDeployResponse
    moto_responses._deployment_info = deployment_info
    original_create_application = CodeDeployBackend.create_application

    def create_application(self, application_name, compute_platform, tags):
        if compute_platform not in (None, "Server", "Lambda", "ECS"):
            raise err("InvalidComputePlatformException", f"The compute platform {compute_platform} is not valid.")
        return original_create_application(self, application_name, compute_platform or "Server", tags)

    CodeDeployBackend.create_application = create_application

    def handler(fn):
        setattr(R, fn.__name__, fn)
        return fn

    # -- applications ------------------------------------------------------------------------
    @handler
    def update_application(self):
        backend = self.codedeploy_backend
        name, new = self._get_param("applicationName"), self._get_param("newApplicationName")
        application = _get_application(backend, name)
        if new and new != name:
            if new in backend.applications:
                raise err("ApplicationAlreadyExistsException",
                          f"The application {new} already exists with the user or AWS account.")
            backend.applications[new] = backend.applications.pop(name)
            application.application_name = new
            if name in backend.deployment_groups:
                backend.deployment_groups[new] = backend.deployment_groups.pop(name)
            _move_tags(backend, backend._application_arn(name), backend._application_arn(new))
        return EmptyResult()

    @handler
    def delete_application(self):
        backend = self.codedeploy_backend
        name = self._get_param("applicationName")
        if not name:
            raise err("ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
        if name in backend.applications:
            for group_name in list(backend.deployment_groups.get(name, {})):
                _delete_group(backend, name, group_name)
            backend.deployment_groups.pop(name, None)
            backend.applications.pop(name)
            backend.tagger.delete_all_tags_for_resource(backend._application_arn(name))
        return EmptyResult()

    # -- deployment groups -------------------------------------------------------------------
    @handler
    def create_deployment_group(self):
        backend = self.codedeploy_backend
        app_name, group_name = self._get_param("applicationName"), self._get_param("deploymentGroupName")
        application = _get_application(backend, app_name)
        if not group_name:
            raise err("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
        if group_name in backend.deployment_groups.get(app_name, {}):
            raise err("DeploymentGroupAlreadyExistsException",
                      f"The deployment group {group_name} already exists with the user or AWS account.")
        fields = {k: v for k, v in _params(self, *GROUP_FIELDS).items() if v is not None}
        platform = _platform(application)
        fields.setdefault("deploymentConfigName", DEFAULT_CONFIG[platform])
        _validate_group(backend, platform, fields, app_name, group_name)
        if platform == "ECS":
            fields["blueGreenDeploymentConfiguration"] = _ecs_blue_green_defaults(
                fields.get("blueGreenDeploymentConfiguration"))
        group_id = backend.create_deployment_group(
            app_name, group_name, fields["deploymentConfigName"], None, None, None, fields["serviceRoleArn"],
            tags=self._get_param("tags"))
        group = backend.deployment_groups[app_name][group_name]
        _apply_fields(group, fields)
        return ActionResult({"deploymentGroupId": group_id})

    @handler
    def update_deployment_group(self):
        backend = self.codedeploy_backend
        app_name = self._get_param("applicationName")
        current = self._get_param("currentDeploymentGroupName")
        group = _get_group(backend, app_name, current)
        new_name = self._get_param("newDeploymentGroupName")
        if new_name and new_name != current and new_name in backend.deployment_groups[app_name]:
            raise err("DeploymentGroupAlreadyExistsException",
                      f"The deployment group {new_name} already exists with the user or AWS account.")
        given = {k: v for k, v in _params(self, *GROUP_FIELDS).items() if v is not None}
        merged = {api: copy.deepcopy(getattr(group, attr, None)) for api, attr in GROUP_FIELDS.items()}
        merged = {k: v for k, v in merged.items() if v not in (None, {}, [])}
        merged.update(given)
        _validate_group(backend, _platform(group.application), merged, app_name, current)
        _apply_fields(group, given)
        if new_name and new_name != current:
            groups = backend.deployment_groups[app_name]
            groups[new_name] = groups.pop(current)
            group.deployment_group_name = new_name
            _move_tags(backend, backend._deployment_group_arn(app_name, current),
                       backend._deployment_group_arn(app_name, new_name))
        return ActionResult({"hooksNotCleanedUp": []})

    @handler
    def delete_deployment_group(self):
        backend = self.codedeploy_backend
        app_name, group_name = self._get_param("applicationName"), self._get_param("deploymentGroupName")
        if not app_name:
            raise err("ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
        if not group_name:
            raise err("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
        _delete_group(backend, app_name, group_name)
        return ActionResult({"hooksNotCleanedUp": []})

    @handler
    def get_deployment_group(self):
        backend = self.codedeploy_backend
        group = _get_group(backend, self._get_param("applicationName"), self._get_param("deploymentGroupName"))
        return ActionResult({"deploymentGroupInfo": group_info(backend, group)})

    @handler
    def batch_get_deployment_groups(self):
        backend = self.codedeploy_backend
        app_name = self._get_param("applicationName")
        _get_application(backend, app_name)
        names = self._get_param("deploymentGroupNames") or []
        if len(names) > 100:
            raise err("BatchLimitExceededException", "The maximum number of names or IDs allowed for this request (100) was exceeded.")
        groups = backend.deployment_groups.get(app_name, {})
        found = [group_info(backend, groups[n]) for n in names if n in groups]
        missing = [n for n in names if n not in groups]
        result: dict[str, Any] = {"deploymentGroupsInfo": found}
        if missing:
            result["errorMessage"] = f"Deployment groups do not exist: {', '.join(missing)}"
        return ActionResult(result)

    @handler
    def list_deployment_groups(self):
        backend = self.codedeploy_backend
        app_name = self._get_param("applicationName")
        _get_application(backend, app_name)
        return ActionResult({"applicationName": app_name,
                             "deploymentGroups": sorted(backend.deployment_groups.get(app_name, {}))})

    # -- deployment configs ------------------------------------------------------------------
    @handler
    def create_deployment_config(self):
        backend = _state(self.codedeploy_backend)
        name = self._get_param("deploymentConfigName")
        if not name:
            raise err("DeploymentConfigNameRequiredException", "The deployment configuration name was not specified.")
        if name in PREDEFINED or name in backend.localaws_configs:
            raise err("DeploymentConfigAlreadyExistsException",
                      f"A deployment configuration with the name {name} already exists with the user or AWS account.")
        if name.startswith("CodeDeployDefault."):
            raise err("InvalidDeploymentConfigNameException",
                      "The deployment configuration name cannot start with CodeDeployDefault.")
        platform = self._get_param("computePlatform") or "Server"
        if platform not in ("Server", "Lambda", "ECS"):
            raise err("InvalidComputePlatformException", f"The compute platform {platform} is not valid.")
        minimum = self._get_param("minimumHealthyHosts")
        routing = self._get_param("trafficRoutingConfig")
        if platform == "Server":
            if not minimum or minimum.get("type") not in ("HOST_COUNT", "FLEET_PERCENT") or minimum.get("value") is None:
                raise err("InvalidMinimumHealthyHostValueException", "The minimum healthy instance value was specified "
                          "in an invalid format.")
        elif minimum:
            raise err("InvalidMinimumHealthyHostValueException",
                      f"minimumHealthyHosts is not supported for the {platform} compute platform.")
        _validate_traffic_routing(routing, platform)
        config = {"deploymentConfigName": name, "deploymentConfigId": str(uuid.uuid4()), "createTime": _now(),
                  "computePlatform": platform, "minimumHealthyHosts": minimum,
                  "trafficRoutingConfig": routing if platform != "Server" else None,
                  "zonalConfig": self._get_param("zonalConfig")}
        backend.localaws_configs[name] = config
        return ActionResult({"deploymentConfigId": config["deploymentConfigId"]})

    @handler
    def get_deployment_config(self):
        backend = self.codedeploy_backend
        name = self._get_param("deploymentConfigName")
        if not name:
            raise err("DeploymentConfigNameRequiredException", "The deployment configuration name was not specified.")
        return ActionResult({"deploymentConfigInfo": config_info(_get_config(backend, name))})

    @handler
    def delete_deployment_config(self):
        backend = _state(self.codedeploy_backend)
        name = self._get_param("deploymentConfigName")
        if not name:
            raise err("DeploymentConfigNameRequiredException", "The deployment configuration name was not specified.")
        if name in PREDEFINED:
            raise err("InvalidOperationException", f"The deployment configuration {name} is a default configuration "
                      "and cannot be deleted.")
        in_use = [g for groups in backend.deployment_groups.values() for g in groups.values()
                  if str(g.deployment_config_name) == name]
        in_use += [d for d in backend.deployments.values()
                   if str(d.deployment_config_name) == name and d.status in ACTIVE_STATUSES]
        if in_use:
            raise err("DeploymentConfigInUseException",
                      f"The deployment configuration {name} is still in use.")
        backend.localaws_configs.pop(name, None)
        backend.tagger.delete_all_tags_for_resource(_arn(backend, f"deploymentconfig:{name}"))
        return EmptyResult()

    @handler
    def list_deployment_configs(self):
        backend = _state(self.codedeploy_backend)
        return ActionResult({"deploymentConfigsList": [*PREDEFINED, *sorted(backend.localaws_configs)]})

    # -- deployments -------------------------------------------------------------------------
    @handler
    def create_deployment(self):
        backend = self.codedeploy_backend
        app_name = self._get_param("applicationName")
        group_name = self._get_param("deploymentGroupName")
        application = _get_application(backend, app_name)
        if not group_name:
            raise err("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
        group = _get_group(backend, app_name, group_name)
        platform = _platform(application)
        revision = self._get_param("revision")
        if not revision:
            raise err("RevisionRequiredException", "The revision ID was not specified.")
        kind = revision.get("revisionType")
        if kind not in ("S3", "GitHub", "String", "AppSpecContent"):
            raise err("InvalidRevisionException", f"The revision type {kind} is not valid.")
        if platform == "ECS" and kind == "GitHub":
            raise err("InvalidRevisionException", "GitHub revisions are not supported for ECS deployments.")
        if kind == "AppSpecContent" and not (revision.get("appSpecContent") or {}).get("content"):
            raise err("InvalidRevisionException", "The AppSpecContent revision has no content.")
        config_name = self._get_param("deploymentConfigName") or str(group.deployment_config_name)
        config = _get_config(backend, config_name)
        if config["computePlatform"] != platform:
            raise err("InvalidDeploymentConfigNameException",
                      f"The deployment configuration {config_name} is for the {config['computePlatform']} "
                      f"compute platform, not {platform}.")
        description = self._get_param("description")
        if description and len(description) > 512:
            raise err("DescriptionTooLongException", "The description is too long.")
        for other in backend.deployments.values():
            if (other.deployment_group is group and other.status in ACTIVE_STATUSES):
                raise err("DeploymentLimitExceededException",
                          f"The Deployment Group '{group_name}' already has an active Deployment "
                          f"'{other.deployment_id}'")
        deployment = DeploymentInfo(
            application, group, revision, config_name, description,
            self._get_bool_param("ignoreApplicationStopFailures"), self._get_param("targetInstances"),
            self._get_param("autoRollbackConfiguration"), self._get_bool_param("updateOutdatedInstancesOnly"),
            self._get_param("fileExistsBehavior"), self._get_param("overrideAlarmConfiguration"), "user")
        _init_deployment(deployment, group)
        deployment.deployment_id = _deployment_id()
        last_good = backend.deployments.get(getattr(group, "last_successful_id", None) or "")
        deployment.previous_revision = last_good.revision if last_good else None
        backend.deployments[deployment.deployment_id] = deployment
        group.last_attempted_id = deployment.deployment_id
        if group.tags:
            backend.tagger.tag_resource(_arn(backend, f"deployment:{deployment.deployment_id}"), group.tags)
        if platform == "ECS":
            run = EcsRun(backend, deployment, group, config)
            deployment.localaws_run = run
            RUNS[deployment.deployment_id] = run
            TICKER.ensure()
        return ActionResult({"deploymentId": deployment.deployment_id})

    @handler
    def get_deployment(self):
        deployment = _get_deployment(self.codedeploy_backend, self._get_param("deploymentId"))
        return ActionResult({"deploymentInfo": deployment_info(deployment)})

    @handler
    def list_deployments(self):
        backend = self.codedeploy_backend
        app_name = self._get_param("applicationName")
        group_name = self._get_param("deploymentGroupName")
        if app_name and not group_name:
            raise err("DeploymentGroupNameRequiredException",
                      "If applicationName is specified, then deploymentGroupName must be specified.")
        if group_name and not app_name:
            raise err("ApplicationNameRequiredException",
                      "If deploymentGroupName is specified, applicationName must be specified.")
        group = _get_group(backend, app_name, group_name) if app_name else None
        statuses = self._get_param("includeOnlyStatuses") or []
        for status in statuses:
            if status not in ("Created", "Queued", "InProgress", "Baking", "Succeeded", "Failed", "Stopped", "Ready"):
                raise err("InvalidDeploymentStatusException", f"The deployment status {status} is not valid.")
        time_range = self._get_param("createTimeRange") or {}
        start, end = time_range.get("start"), time_range.get("end")
        if start and end and start > end:
            raise err("InvalidTimeRangeException", "The start time must be earlier than the end time.")
        external_id = self._get_param("externalId")
        result = []
        for deployment in sorted(backend.deployments.values(), key=lambda d: d.create_time, reverse=True):
            if group is not None and deployment.deployment_group is not group:
                continue
            if statuses and deployment.status not in statuses:
                continue
            if start and deployment.create_time < start:
                continue
            if end and deployment.create_time > end:
                continue
            if external_id and getattr(deployment, "external_id", None) != external_id:
                continue
            result.append(deployment.deployment_id)
        return ActionResult({"deployments": result})

    @handler
    def stop_deployment(self):
        backend = self.codedeploy_backend
        deployment = _get_deployment(backend, self._get_param("deploymentId"))
        if deployment.status not in ACTIVE_STATUSES:
            raise err("DeploymentAlreadyCompletedException",
                      f"The deployment {deployment.deployment_id} has already completed.")
        run = getattr(deployment, "localaws_run", None)
        rollback = self._get_param("autoRollbackEnabled")
        if run is None:
            deployment.status = "Stopped"
            deployment.complete_time = _now()
            deployment.localaws_error = {"code": "MANUAL_STOP",
                                         "message": "The deployment was stopped by a StopDeployment request."}
            return ActionResult({"status": "Succeeded", "statusMessage": "Deployment stopped."})
        run.stop_request = {"rollback": rollback}
        return ActionResult({"status": "Pending",
                             "statusMessage": f"Stopping Pending. Stopping to deploy revision on deployment "
                                              f"group {deployment.deployment_group_name}."})

    @handler
    def continue_deployment(self):
        backend = self.codedeploy_backend
        deployment = _get_deployment(backend, self._get_param("deploymentId"))
        wait_type = self._get_param("deploymentWaitType") or "READY_WAIT"
        if wait_type not in ("READY_WAIT", "TERMINATION_WAIT"):
            raise err("InvalidDeploymentWaitTypeException", f"The wait type {wait_type} is invalid.")
        if (deployment.deployment_group.deployment_style or {}).get("deploymentType") != "BLUE_GREEN":
            raise err("UnsupportedActionForDeploymentTypeException",
                      "This action is only available for blue/green deployments.")
        if deployment.status not in ACTIVE_STATUSES:
            raise err("DeploymentAlreadyCompletedException",
                      f"The deployment {deployment.deployment_id} has already completed.")
        run = getattr(deployment, "localaws_run", None)
        if run is None or run.waiting_for != wait_type:
            if wait_type == "READY_WAIT":
                raise err("DeploymentIsNotInReadyStateException",
                          f"The deployment {deployment.deployment_id} is not in a ready state.")
            raise err("InvalidDeploymentStatusException",
                      f"The deployment {deployment.deployment_id} is not waiting to terminate the original task set.")
        if wait_type == "READY_WAIT":
            run.continue_ready = True
        else:
            run.skip_termination = True
        return EmptyResult()

    @handler
    def skip_wait_time_for_instance_termination(self):
        backend = self.codedeploy_backend
        deployment = _get_deployment(backend, self._get_param("deploymentId"))
        run = getattr(deployment, "localaws_run", None)
        if deployment.status not in ACTIVE_STATUSES:
            raise err("DeploymentAlreadyCompletedException",
                      f"The deployment {deployment.deployment_id} has already completed.")
        if run is None or run.waiting_for != "TERMINATION_WAIT":
            raise err("DeploymentNotStartedException", "The deployment is not waiting for termination.")
        run.skip_termination = True
        return EmptyResult()

    # -- deployment targets ------------------------------------------------------------------
    def _started_run(backend, deployment_id):
        deployment = _get_deployment(backend, deployment_id)
        if deployment.status == "Created":
            raise err("DeploymentNotStartedException", "The specified deployment has not started.")
        return deployment, getattr(deployment, "localaws_run", None)

    @handler
    def list_deployment_targets(self):
        _deployment, run = _started_run(self.codedeploy_backend, self._get_param("deploymentId"))
        filters = self._get_param("targetFilters") or {}
        for key in filters:
            if key not in ("TargetStatus", "ServerInstanceLabel"):
                raise err("InvalidTargetFilterNameException", f"The target filter name {key} is invalid.")
        ids = []
        if run is not None:
            statuses = filters.get("TargetStatus")
            if not statuses or run.target_status in statuses:
                ids.append(run.target_id)
        return ActionResult({"targetIds": ids})

    def _targets(backend, deployment_id, target_ids):
        if not target_ids:
            raise err("DeploymentTargetIdRequiredException", "A deployment target ID was not provided.")
        if len(target_ids) > 25:
            raise err("DeploymentTargetListSizeExceededException",
                      "The maximum number of targets that can be associated with an Amazon ECS or AWS Lambda "
                      "deployment was exceeded. The target list of both types of deployments must have exactly "
                      "one item. This exception does not apply to EC2/On-premises deployments.")
        deployment, run = _started_run(backend, deployment_id)
        result = []
        for target_id in target_ids:
            if run is None or target_id != run.target_id:
                raise err("DeploymentTargetDoesNotExistException",
                          f"The provided target ID {target_id} does not belong to the deployment "
                          f"{deployment.deployment_id}.")
            result.append(run.target_info())
        return result

    @handler
    def batch_get_deployment_targets(self):
        targets = _targets(self.codedeploy_backend, self._get_param("deploymentId"), self._get_param("targetIds"))
        return ActionResult({"deploymentTargets": targets})

    @handler
    def get_deployment_target(self):
        target_id = self._get_param("targetId")
        targets = _targets(self.codedeploy_backend, self._get_param("deploymentId"),
                           [target_id] if target_id else [])
        return ActionResult({"deploymentTarget": targets[0]})

    @handler
    def put_lifecycle_event_hook_execution_status(self):
        deployment = _get_deployment(self.codedeploy_backend, self._get_param("deploymentId"))
        execution_id = self._get_param("lifecycleEventHookExecutionId")
        status = self._get_param("status")
        run = getattr(deployment, "localaws_run", None)
        hook = next((h for h in (run.hooks if run else []) if h["lifecycleEventHookExecutionId"] == execution_id),
                    None)
        if hook is None:
            raise err("InvalidLifecycleEventHookExecutionIdException",
                      "A lifecycle event hook is invalid. Review the hooks section in your AppSpec file.")
        if status not in ("Succeeded", "Failed"):
            raise err("InvalidLifecycleEventHookExecutionStatusException",
                      f"The result of a Lambda validation function ({status}) is not valid: use Succeeded or Failed.")
        if hook["status"] != "Pending" or deployment.status not in ACTIVE_STATUSES:
            raise err("LifecycleEventAlreadyCompletedException",
                      "An attempt to return the status of an already completed lifecycle event occurred.")
        hook["status"] = status
        return ActionResult({"lifecycleEventHookExecutionId": execution_id})

    # -- tags --------------------------------------------------------------------------------
    original_tag = R.tag_resource
    original_untag = R.untag_resource

    @handler
    def tag_resource(self):
        _check_tag_arn(self.codedeploy_backend, self._get_param("ResourceArn"))
        return original_tag(self)

    @handler
    def untag_resource(self):
        _check_tag_arn(self.codedeploy_backend, self._get_param("ResourceArn"))
        return original_untag(self)


def _apply_fields(group: Any, fields: dict[str, Any]) -> None:
    for api, attr in GROUP_FIELDS.items():
        if api in fields:
            value = copy.deepcopy(fields[api])
            if api == "autoScalingGroups":
                value = list(value)
            setattr(group, attr, value)


def _move_tags(backend: Any, old_arn: str, new_arn: str) -> None:
    tags = backend.tagger.list_tags_for_resource(old_arn)["Tags"]
    backend.tagger.delete_all_tags_for_resource(old_arn)
    if tags:
        backend.tagger.tag_resource(new_arn, tags)


def _delete_group(backend: Any, app_name: str, group_name: str) -> None:
    group = backend.deployment_groups.get(app_name, {}).pop(group_name, None)
    if group is None:
        return
    for deployment in backend.deployments.values():
        run = getattr(deployment, "localaws_run", None)
        if deployment.deployment_group is group and run is not None and not run.finished:
            run._stop("DEPLOYMENT_GROUP_MISSING", "The deployment group was deleted.", rollback=False)
            RUNS.pop(deployment.deployment_id, None)
    backend.tagger.delete_all_tags_for_resource(backend._deployment_group_arn(app_name, group_name))


# -- control endpoints -------------------------------------------------------------------------

def _time_scale_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    if method in ("POST", "PUT"):
        value = body.get("secondsPerMinute", body.get("value"))
        try:
            value = float(value)
        except (TypeError, ValueError):
            return 400, {"message": "secondsPerMinute must be a positive number"}
        if value <= 0:
            return 400, {"message": "secondsPerMinute must be a positive number"}
        with LOCK:
            CLOCK.advance(SETTINGS.seconds_per_minute)
            SETTINGS.seconds_per_minute = value
    elif method != "GET":
        return 405, {"message": "use GET or POST"}
    return 200, {"secondsPerMinute": SETTINGS.seconds_per_minute}


def _hooks_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    if method in ("POST", "PUT"):
        mode = body.get("mode")
        if mode not in ("succeed", "wait"):
            return 400, {"message": "mode must be 'succeed' or 'wait'"}
        SETTINGS.hook_mode = mode
        return 200, {"mode": mode}
    if method != "GET":
        return 405, {"message": "use GET or POST"}
    from moto.codedeploy.models import codedeploy_backends

    wanted = query.get("deploymentId")
    hooks = []
    with LOCK:
        for account in list(codedeploy_backends.values()):
            for backend in list(account.values()):
                for deployment in list(backend.deployments.values()):
                    run = getattr(deployment, "localaws_run", None)
                    if run is None or (wanted and deployment.deployment_id != wanted):
                        continue
                    hooks += [dict(h, deploymentId=deployment.deployment_id) for h in run.hooks]
    return 200, {"mode": SETTINGS.hook_mode, "hooks": hooks}


def apply() -> None:
    from moto.codedeploy.responses import CodeDeployResponse

    if getattr(CodeDeployResponse, "_localaws_codedeploy", False):
        return
    CodeDeployResponse._localaws_codedeploy = True
    ecs_patch.apply()
    elbv2_patch.apply()
    install_api()
    serialise_calls(CodeDeployResponse)
    control_route("/_localaws/codedeploy/time-scale", _time_scale_route)
    control_route("/_localaws/codedeploy/hooks", _hooks_route)
    TICKER.ensure()


__all__ = ["apply", "parse_appspec", "reset", "traffic_steps"]
