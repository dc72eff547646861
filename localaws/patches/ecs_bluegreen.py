"""ECS-native blue/green (deployment controller ECS, strategy BLUE_GREEN / LINEAR / CANARY), which moto lacks.

After the ECS API reference (shapes from botocore's ECS model) and the developer guide's "Amazon ECS blue/green
deployments", "Deployment lifecycle hooks" and "Stopping Amazon ECS service deployments":

* CreateService / UpdateService keep ``deploymentConfiguration.strategy``, ``bakeTimeInMinutes``,
  ``lifecycleHooks``, ``linearConfiguration``/``canaryConfiguration`` and ``loadBalancers[].advancedConfiguration``
  (DescribeServices reports them as given) and refuse, with AWS's ``InvalidParameterException``, what AWS refuses
  (:func:`validate`).
* Service revisions and service deployments: CreateService, and each UpdateService that changes the task
  definition or forces a new deployment, makes a service revision and a service deployment;
  ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment
  (ROLLBACK) and ContinueServiceDeployment (PAUSE hooks) answer for them.
* A blue/green deployment runs in a background thread on the CodeDeploy emulation's clock
  (``LOCALAWS_TIME_SCALE``, ``POST /_localaws/codedeploy/time-scale``): PENDING, then IN_PROGRESS through the
  lifecycle stages (RECONCILE_SERVICE only with more than one source revision), the test listener rule forwarding
  to the green target group from TEST_TRAFFIC_SHIFT on, the production listener rule's forward action weighted
  between the two groups (all at once, canary or linear steps), BAKE_TIME, CLEAN_UP, SUCCESSFUL. The green group is
  whichever of the service's target group and alternate target group the live revision does not use, so the roles
  swap with every release; the live group is the service revision's ``resolvedConfiguration.loadBalancers``.
* Rollback (StopServiceDeployment ROLLBACK, a failed or timed-out hook, a CloudWatch alarm in ALARM with
  ``alarms.rollback``, the circuit breaker with ``rollback``): ROLLBACK_REQUESTED / ROLLBACK_IN_PROGRESS /
  ROLLBACK_SUCCESSFUL, both rules back to the blue group, the service back on the source task definition.
* Lifecycle hooks are recorded, never invoked: ``GET /_localaws/ecs/hooks`` lists the invocations;
  ``POST {"mode": "succeed" | "fail" | "wait"}`` sets how Lambda hooks answer (default succeed),
  ``POST {"hookId": ..., "status": "SUCCEEDED" | "FAILED"}`` answers one that waits. PAUSE hooks wait for
  ContinueServiceDeployment. The circuit breaker counts the green group's targets as failed while
  ``/_localaws/elbv2/target-health`` says the group is unhealthy.
* Data plane (``LOCALAWS_DATAPLANE=1``): the task runner runs the blue revision's tasks until CLEAN_UP and the
  green revision's from SCALE_UP (:func:`dataplane_tasks`), each in its target group; SCALE_UP and
  TEST_TRAFFIC_SHIFT wait for the green tasks to be ready with the CodeDeploy path's rules (``_readiness.py``:
  RUNNING, healthy by the load balancer's real checks, 60 AWS minutes at most, then rollback); real task
  failures and real target health feed the circuit breaker; CLEAN_UP waits for the blue tasks to stop.

docs/local-endpoint.md, "ECS-native blue/green", lists the differences from AWS.
"""

from __future__ import annotations

import logging
import math
import random
import string
import time
from datetime import UTC, datetime
from typing import Any

from localaws.patches import _readiness, codedeploy, ecs
from localaws.patches import elbv2 as elbv2_patch
from localaws.patches._shared import LOCK, AwsError, Ticker, Wait, control_route

log = logging.getLogger("localaws.ecs_bluegreen")

STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
TRAFFIC_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
HOOK_STAGES = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
               "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT")
HOOK_TARGET_TYPES = ("AWS_LAMBDA", "PAUSE")
BAKE_TIME_MAX = 1440          # minutes: the documented range of bakeTimeInMinutes is 0-1440
STAGE_MINUTES = 0.05          # each lifecycle stage takes 3 AWS seconds
HOOK_TIMEOUT_MINUTES = 60.0   # a hook without timeoutConfiguration: rolled back after an hour
FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
STOPPABLE = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
TICK_SECONDS = 0.02
CLEAN_UP_MINUTES = 15.0       # data plane: at most this long for the blue tasks to drain and stop in CLEAN_UP


class Settings:
    def __init__(self) -> None:
        self.hook_mode = "succeed"


SETTINGS = Settings()
RUNS: dict[str, Run] = {}


def reset() -> None:
    global SETTINGS
    with LOCK:
        for run in RUNS.values():
            run.finished = True
        RUNS.clear()
        SETTINGS = Settings()


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def _now() -> datetime:
    return datetime.now(UTC)


def _random_id(length: int = 22) -> str:
    return "".join(random.choices(string.ascii_letters + string.digits + "-_", k=length))


def _minutes() -> float:
    return codedeploy.CLOCK.minutes


# -- state kept on moto's ECS backend (wiped with it by /moto-api/reset) -------------------------

def _state(backend: Any) -> Any:
    if not hasattr(backend, "localaws_service_deployments"):
        backend.localaws_service_deployments = {}
        backend.localaws_service_revisions = {}
    return backend


def _elbv2(backend: Any) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[backend.account_id][backend.region_name]


def _cloudwatch(backend: Any) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[backend.account_id][backend.region_name]


def _controller(service: Any) -> str:
    return (getattr(service, "deployment_controller", None) or {}).get("type", "ECS")


def strategy(config: dict | None) -> str:
    return (config or {}).get("strategy") or "ROLLING"


# -- validation ----------------------------------------------------------------------------------

def _find_rule(elbv2: Any, arn: str) -> tuple[Any, Any] | None:
    """(listener, rule) for a listener rule ARN, or a listener ARN (its default rule, as for an NLB)."""
    for load_balancer in elbv2.load_balancers.values():
        for listener in load_balancer.listeners.values():
            if listener.arn == arn:
                default = next((r for r in listener.rules.values() if getattr(r, "is_default", False)), None)
                return (listener, default) if default is not None else None
            # moto keys a listener's default rule by 0, not by its ARN (which DescribeRules answers and AWS
            # accepts as a production or test listener rule)
            rule = listener.rules.get(arn) or next((r for r in listener.rules.values() if r.arn == arn), None)
            if rule is not None:
                return listener, rule
    return None


def validate(backend: Any, controller: str, config: dict | None, load_balancers: list[dict] | None) -> None:
    """AWS's refusals for a service's deployment configuration and load balancers (CreateService/UpdateService)."""
    config = config or {}
    kind = strategy(config)
    if kind not in STRATEGIES:
        raise invalid(f"Invalid deployment strategy: {kind}. Valid values are {', '.join(STRATEGIES)}.")
    blue_green = kind in TRAFFIC_STRATEGIES
    if blue_green and controller != "ECS":
        raise invalid(f"The {kind} deployment strategy is only supported for services that use the ECS "
                      f"deployment controller.")
    bake = config.get("bakeTimeInMinutes")
    if bake is not None:
        if not blue_green:
            raise invalid("bakeTimeInMinutes is only supported for the BLUE_GREEN, LINEAR and CANARY deployment "
                          "strategies.")
        if not 0 <= int(bake) <= BAKE_TIME_MAX:
            raise invalid(f"bakeTimeInMinutes must be between 0 and {BAKE_TIME_MAX}.")
    hooks = config.get("lifecycleHooks") or []
    if hooks and not blue_green:
        raise invalid("Lifecycle hooks are only supported for the BLUE_GREEN, LINEAR and CANARY deployment "
                      "strategies.")
    for hook in hooks:
        _validate_hook(hook)
    _validate_steps(kind, config)
    elbv2 = _elbv2(backend)
    for lb in load_balancers or []:
        advanced = lb.get("advancedConfiguration")
        if advanced is None:
            if blue_green and lb.get("targetGroupArn"):
                raise invalid(f"advancedConfiguration is required for each load balancer of a service that uses "
                              f"the {kind} deployment strategy.")
            continue
        if not blue_green:
            raise invalid("advancedConfiguration is only supported for services that use the BLUE_GREEN, LINEAR "
                          "or CANARY deployment strategy.")
        primary = lb.get("targetGroupArn")
        alternate = advanced.get("alternateTargetGroupArn")
        if not alternate:
            raise invalid("alternateTargetGroupArn is required in advancedConfiguration.")
        if alternate == primary:
            raise invalid("The alternateTargetGroupArn must be different from the targetGroupArn.")
        if alternate not in elbv2.target_groups:
            raise invalid(f"The target group {alternate} does not exist.")
        if not advanced.get("productionListenerRule"):
            raise invalid("productionListenerRule is required in advancedConfiguration.")
        if not advanced.get("roleArn"):
            raise invalid("roleArn is required in advancedConfiguration.")
        for member in ("productionListenerRule", "testListenerRule"):
            arn = advanced.get(member)
            if not arn:
                continue
            found = _find_rule(elbv2, arn)
            if found is None:
                raise invalid(f"The {member} {arn} does not exist.")
            data = [dict(a.data) for a in found[1].actions]
            if not any(elbv2_patch.forwards_to(d, primary) or elbv2_patch.forwards_to(d, alternate) for d in data):
                raise invalid(f"The {member} {arn} must forward to the target group {primary} or the alternate "
                              f"target group {alternate}.")


def _validate_hook(hook: dict) -> None:
    target_type = hook.get("targetType") or "AWS_LAMBDA"
    if target_type not in HOOK_TARGET_TYPES:
        raise invalid(f"Invalid lifecycle hook targetType: {target_type}. Valid values are AWS_LAMBDA, PAUSE.")
    stages = hook.get("lifecycleStages") or []
    if not stages:
        raise invalid("lifecycleStages must contain at least one lifecycle stage.")
    for stage in stages:
        if stage not in HOOK_STAGES:
            raise invalid(f"Invalid lifecycle stage: {stage}. Valid values are {', '.join(HOOK_STAGES)}.")
    if len(set(stages)) != len(stages):
        raise invalid("lifecycleStages must not repeat a lifecycle stage.")
    target = hook.get("hookTargetArn")
    if target_type == "AWS_LAMBDA":
        if not target:
            raise invalid("hookTargetArn is required for an AWS_LAMBDA lifecycle hook.")
        if not target.startswith("arn:aws:lambda:") or ":function:" not in target:
            raise invalid(f"hookTargetArn {target} is not a valid Lambda function ARN.")
        if not hook.get("roleArn"):
            raise invalid("roleArn is required for an AWS_LAMBDA lifecycle hook.")
    elif target:
        raise invalid("hookTargetArn is not supported for a PAUSE lifecycle hook.")
    timeout = hook.get("timeoutConfiguration") or {}
    if timeout.get("action") is not None and timeout["action"] not in ("ROLLBACK", "CONTINUE"):
        raise invalid(f"Invalid timeoutConfiguration action: {timeout['action']}. Valid values are ROLLBACK, "
                      f"CONTINUE.")
    if timeout.get("timeoutInMinutes") is not None and int(timeout["timeoutInMinutes"]) < 1:
        raise invalid("timeoutInMinutes must be at least 1.")


def _validate_steps(kind: str, config: dict) -> None:
    for name, member, pct_key, bake_key in (("LINEAR", "linearConfiguration", "stepPercent", "stepBakeTimeInMinutes"),
                                            ("CANARY", "canaryConfiguration", "canaryPercent",
                                             "canaryBakeTimeInMinutes")):
        given = config.get(member)
        if given is None:
            continue
        if kind != name:
            raise invalid(f"{member} is only supported for the {name} deployment strategy.")
        pct, bake = given.get(pct_key), given.get(bake_key)
        if pct is not None and not 0 < float(pct) < 100:
            raise invalid(f"{pct_key} must be greater than 0 and less than 100.")
        if bake is not None and not 0 <= int(bake) <= BAKE_TIME_MAX:
            raise invalid(f"{bake_key} must be between 0 and {BAKE_TIME_MAX}.")


def traffic_steps(config: dict) -> list[tuple[float, float]]:
    """[(green's production weight %, AWS minutes to wait after it)] for the strategy."""
    kind = strategy(config)
    if kind == "CANARY":
        canary = config.get("canaryConfiguration") or {}
        return [(float(canary.get("canaryPercent", 5.0)), float(canary.get("canaryBakeTimeInMinutes", 10))),
                (100.0, 0.0)]
    if kind == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step, wait = float(linear.get("stepPercent", 10.0)), float(linear.get("stepBakeTimeInMinutes", 6))
        steps, weight = [], 0.0
        while weight + step < 100:
            weight = round(weight + step, 4)
            steps.append((weight, wait))
        return [*steps, (100.0, 0.0)]
    return [(100.0, 0.0)]


# -- service revisions ---------------------------------------------------------------------------

def _arn(service: Any, kind: str, ident: str) -> str:
    return f"arn:aws:ecs:{service.region_name}:{service._account_id}:{kind}/{service.cluster_name}/{service.name}/{ident}"


def _lb_pair(service: Any) -> tuple[dict, dict] | None:
    """(load balancer, its advancedConfiguration) of a blue/green service, or None."""
    for lb in service.load_balancers or []:
        if lb.get("advancedConfiguration") and lb.get("targetGroupArn"):
            return lb, lb["advancedConfiguration"]
    return None


def make_revision(backend: Any, service: Any, live_tg: str | None) -> dict:
    ident = str(random.randint(10**18, 10**19 - 1))
    arn = _arn(service, "service-revision", ident)
    images = []
    try:
        task_definition = backend.describe_task_definition(service.task_definition)
        images = [{"containerName": c.get("name"), "imageDigest": "sha256:" + "0" * 64, "image": c.get("image")}
                  for c in task_definition.container_definitions]
    except Exception:  # noqa: BLE001 - a revision without images rather than no revision
        images = []
    revision = {
        "serviceRevisionArn": arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "taskDefinition": service.task_definition,
        "launchType": service.launch_type,
        "capacityProviderStrategy": getattr(service, "capacity_provider_strategy", None),
        "platformVersion": service.platform_version,
        "loadBalancers": [dict(lb) for lb in service.load_balancers or []],
        "networkConfiguration": service.network_configuration,
        "containerImages": images,
        "guardDutyEnabled": False,
        "createdAt": _now(),
    }
    pair = _lb_pair(service)
    if pair and live_tg:
        revision["resolvedConfiguration"] = {"loadBalancers": [
            {"targetGroupArn": live_tg, "productionListenerRule": pair[1].get("productionListenerRule")}]}
    _state(backend).localaws_service_revisions[arn] = {k: v for k, v in revision.items() if v is not None}
    return revision


def _ident(revision_arn: str) -> str:
    return revision_arn.rsplit("/", 1)[-1]


def started_by(revision_arn: str) -> str:
    """The startedBy of a service revision's tasks (ECS: ``ecs-svc/`` and a number)."""
    return f"ecs-svc/{_ident(revision_arn)}"


def _set_live_tg(backend: Any, revision_arn: str, tg: str, rule: str | None) -> None:
    revision = _state(backend).localaws_service_revisions.get(revision_arn)
    if revision is not None:
        revision["resolvedConfiguration"] = {"loadBalancers": [{"targetGroupArn": tg, "productionListenerRule": rule}]}


# -- service deployments -------------------------------------------------------------------------

def _summary(backend: Any, revision_arn: str, service: Any, traffic: tuple[float, float] | None,
             live: bool) -> dict:
    summary: dict[str, Any] = {"arn": revision_arn,
                               "requestedTaskCount": service.desired_count if live else 0,
                               "runningTaskCount": service.desired_count if live else 0,
                               "pendingTaskCount": 0}
    if _readiness.real_tasks():  # data plane: the revision's tasks as the task runner runs them
        tasks = [t for t in list(backend.tasks.get(service.cluster_name, {}).values())
                 if getattr(t, "started_by", None) == started_by(revision_arn) and t.desired_status == "RUNNING"]
        summary["runningTaskCount"] = sum(t.last_status == "RUNNING" for t in tasks)
        summary["pendingTaskCount"] = sum(t.last_status in ("PROVISIONING", "PENDING") for t in tasks)
    if traffic is not None:
        summary["requestedTestTrafficWeight"], summary["requestedProductionTrafficWeight"] = traffic
    return summary


class Deployment:
    """One service deployment, as DescribeServiceDeployments reports it."""

    def __init__(self, backend: Any, service: Any, target: dict, sources: list[dict], config: dict):
        self.backend = backend
        self.service = service
        self.arn = _arn(service, "service-deployment", _random_id())
        self.created_at = _now()
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.stopped_at: datetime | None = None
        self.updated_at = self.created_at
        self.target = target["serviceRevisionArn"]
        self.sources = [s["serviceRevisionArn"] for s in sources]
        self.status = "PENDING"
        self.status_reason: str | None = None
        self.stage: str | None = None
        self.config = dict(config)
        self.hooks: list[dict] = []
        self.rollback: dict | None = None
        # traffic weights (test, production) per revision, None while the deployment does not route traffic
        self.weights: dict[str, tuple[float, float]] = {}
        self.green_live = False
        # what happened, for /_localaws/ecs/deployments: stages entered and production weights set, in order
        self.history: list[dict] = []
        alarms = config.get("alarms") or {}
        self.alarms = {"status": "MONITORING" if alarms.get("enable") else "DISABLED",
                       "alarmNames": list(alarms.get("alarmNames") or [])}
        breaker = config.get("deploymentCircuitBreaker") or {}
        self.breaker = {"status": "MONITORING" if breaker.get("enable") else "DISABLED", "failureCount": 0,
                        "threshold": min(200, max(3, math.ceil(service.desired_count * 0.5)))}

    def describe(self) -> dict:
        service = self.service
        result: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "stoppedAt": self.stopped_at,
            "updatedAt": self.updated_at,
            "sourceServiceRevisions": [_summary(self.backend, arn, service, self.weights.get(arn), not self.green_live)
                                       for arn in self.sources],
            "targetServiceRevision": _summary(self.backend, self.target, service, self.weights.get(self.target),
                                              self.green_live or self.stage not in (None, "PRE_SCALE_UP",
                                                                                    "RECONCILE_SERVICE")),
            "status": self.status,
            "statusReason": self.status_reason,
            "lifecycleStage": self.stage,
            "lifecycleHookDetails": [{k: h[k] for k in ("hookId", "targetType", "targetArn", "status", "expiresAt",
                                                        "timeoutAction") if h.get(k) is not None}
                                     for h in self.hooks] or None,
            "deploymentConfiguration": self.config,
            "rollback": self.rollback,
            "deploymentCircuitBreaker": self.breaker,
            "alarms": self.alarms,
        }
        return {k: v for k, v in result.items() if v is not None}

    def brief(self) -> dict:
        result = {"serviceDeploymentArn": self.arn, "serviceArn": self.service.arn,
                  "clusterArn": self.service.cluster_arn, "startedAt": self.started_at, "createdAt": self.created_at,
                  "finishedAt": self.finished_at, "targetServiceRevisionArn": self.target, "status": self.status,
                  "statusReason": self.status_reason}
        return {k: v for k, v in result.items() if v is not None}

    def touch(self) -> None:
        self.updated_at = _now()

    def enter(self, stage: str) -> None:
        self.stage = stage
        self.history.append({"lifecycleStage": stage, "at": _now()})
        self.touch()

    def record(self, **event: Any) -> None:
        self.history.append(dict(event, at=_now()))


class Rollback(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Stop(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Run:
    """The engine of one blue/green service deployment, advanced by the ticker under LOCK."""

    def __init__(self, deployment: Deployment, blue_tg: str | None, green_tg: str | None):
        self.d = deployment
        self.blue_tg, self.green_tg = blue_tg, green_tg
        pair = _lb_pair(deployment.service)
        advanced = pair[1] if pair else {}
        self.prod_rule = advanced.get("productionListenerRule")
        self.test_rule = advanced.get("testListenerRule")
        self.elbv2 = _elbv2(deployment.backend)
        self.cloudwatch = _cloudwatch(deployment.backend)
        self.source_task_definition: str | None = None
        self.stop_request: str | None = None
        self.finished = False
        self.wait: Wait | None = None
        self.gen = self._process()
        self.started = False
        self.monitor_breaker = False
        # Data plane (localaws/dataplane/tasks.py runs what dataplane_tasks() says): the green revision's tasks are
        # wanted from SCALE_UP until a rollback, the blue revision's until CLEAN_UP; traffic moves to green only
        # once they are ready (tasks RUNNING, targets healthy), by ready_deadline (AWS minutes) at the latest.
        self.green_up = False
        self.blue_down = False
        self.green_ready = False
        self.ready_deadline: float | None = None
        self.reading = _readiness.Reading(
            self.elbv2, lambda: self._revision_tasks(self.d.target), lambda: int(self.d.service.desired_count or 0),
            lambda: self.elbv2.target_groups.get(self.green_tg or ""), "green",
            failed_limit=lambda: int(self.d.breaker["threshold"]))

    # -- traffic -------------------------------------------------------------------------------
    def _route(self, rule_arn: str | None, weights: list[tuple[str, int]]) -> None:
        if not rule_arn:
            return
        found = _find_rule(self.elbv2, rule_arn)
        if found is None:
            raise Stop(f"The listener rule {rule_arn} no longer exists.")
        listener, rule = found
        groups = {arn for arn, _weight in weights}
        data = [dict(a.data) for a in rule.actions]
        new = [elbv2_patch.weighted_forward(d, weights) if any(elbv2_patch.forwards_to(d, g) for g in groups) else d
               for d in data]
        elbv2_patch.set_rule_actions(listener, rule, new)

    def _weights(self, green: float) -> list[tuple[str, int]]:
        if self.blue_tg is None:  # the first deployment: one group serves, the alternate waits at 0
            return [(self.green_tg, 100)] + [(a, 0) for a in self._alternates()]
        if green >= 100:
            return [(self.green_tg, 100), (self.blue_tg, 0)]
        return [(self.blue_tg, round(100 - green)), (self.green_tg, round(green))]

    def _alternates(self) -> list[str]:
        pair = _lb_pair(self.d.service)
        if not pair:
            return []
        return [tg for tg in (pair[0]["targetGroupArn"], pair[1].get("alternateTargetGroupArn"))
                if tg and tg != self.green_tg]

    def _set_weights(self, test: float, production: float) -> None:
        d = self.d
        d.weights[d.target] = (test, production)
        for source in d.sources:
            d.weights[source] = (100.0 - test, 100.0 - production)
        d.touch()

    # -- the lifecycle -------------------------------------------------------------------------
    def _stage(self, name: str, action: Any = None):
        self.d.enter(name)
        if action is not None:
            waits = action()
            if waits is not None:  # an action that waits (for the green tasks to be ready) is a generator
                yield from waits
        yield from self._hooks(name)
        yield Wait(STAGE_MINUTES)

    def _hooks(self, stage: str):
        for spec in self.d.config.get("lifecycleHooks") or []:
            if stage not in (spec.get("lifecycleStages") or []):
                continue
            target_type = spec.get("targetType") or "AWS_LAMBDA"
            timeout = spec.get("timeoutConfiguration") or {}
            minutes = float(timeout.get("timeoutInMinutes") or HOOK_TIMEOUT_MINUTES)
            action = timeout.get("action") or "ROLLBACK"
            hook = {"hookId": _random_id(), "targetType": target_type, "targetArn": spec.get("hookTargetArn"),
                    "lifecycleStage": stage, "invokedAt": _now(), "timeoutAction": action,
                    "expiresAt": datetime.fromtimestamp(time.time() + minutes * codedeploy.SETTINGS.seconds_per_minute,
                                                        UTC)}
            self.d.hooks.append(hook)
            self.d.touch()
            if target_type == "PAUSE":
                hook["status"] = "AWAITING_ACTION"
            elif SETTINGS.hook_mode == "wait":
                hook["status"] = "IN_PROGRESS"
            else:
                hook["status"] = "FAILED" if SETTINGS.hook_mode == "fail" else "SUCCEEDED"
            if hook["status"] in ("AWAITING_ACTION", "IN_PROGRESS"):
                timed_out = yield Wait(minutes, until=lambda h=hook: h["status"] in ("SUCCEEDED", "FAILED",
                                                                                     "ROLLBACK"))
                if timed_out:
                    hook["status"] = "TIMED_OUT"
                    if action == "ROLLBACK":
                        raise Rollback(f"Service deployment rolled back because the lifecycle hook {hook['hookId']} "
                                       f"at {stage} timed out.")
                    continue
            if hook["status"] == "ROLLBACK":  # ContinueServiceDeployment with action ROLLBACK
                hook["status"] = "SUCCEEDED"
                raise Rollback(f"Service deployment rolled back by ContinueServiceDeployment at {stage}.")
            if hook["status"] == "FAILED":
                raise Rollback(f"Service deployment rolled back because the lifecycle hook "
                               f"{spec.get('hookTargetArn')} failed at {stage}.")

    def _process(self):
        d = self.d
        d.status = "IN_PROGRESS"
        d.started_at = _now()
        d.touch()
        if len(d.sources) > 1:
            yield from self._stage("RECONCILE_SERVICE")
        yield from self._stage("PRE_SCALE_UP")
        yield from self._stage("SCALE_UP", self._scale_up)
        yield from self._stage("POST_SCALE_UP")
        yield from self._stage("TEST_TRAFFIC_SHIFT", self._test_shift)
        yield from self._stage("POST_TEST_TRAFFIC_SHIFT")
        d.enter("PRODUCTION_TRAFFIC_SHIFT")
        for green, wait in traffic_steps(d.config):
            yield from self._hooks("PRE_PRODUCTION_TRAFFIC_SHIFT")
            self._route(self.prod_rule, self._weights(green))
            d.record(productionWeights=dict(self._weights(green)))
            self._set_weights(100.0, green)
            if wait:
                yield Wait(wait)
        d.green_live = True
        yield from self._hooks("PRODUCTION_TRAFFIC_SHIFT")
        yield Wait(STAGE_MINUTES)
        self.monitor_breaker = False
        yield from self._stage("POST_PRODUCTION_TRAFFIC_SHIFT")
        d.enter("BAKE_TIME")
        yield Wait(float(d.config.get("bakeTimeInMinutes") or 0))
        d.enter("CLEAN_UP")
        yield from self._scale_down_blue()
        yield Wait(STAGE_MINUTES)
        self._succeed()

    def _test_shift(self):
        self._route(self.test_rule, self._weights(100.0))
        self._set_weights(100.0, 0.0)
        # The test rule now forwards to green: if its group was unused until now, its health checks begin here,
        # and production waits for their verdict too.
        if self.ready_deadline is not None:
            yield from self._await_green()
            self.green_ready = True

    # -- the tasks (data plane) ----------------------------------------------------------------
    # SCALE_UP: "the green service revision scales up to 100% and launches new tasks. The green service revision
    # is not serving any traffic at this point"; CLEAN_UP: "the blue service revision has completely scaled down to
    # 0 running tasks" (lifecycle stages, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html).
    # With the data plane off nothing runs and nothing is waited for, as before.
    def _revision_tasks(self, revision_arn: str) -> list[Any]:
        wanted = started_by(revision_arn)
        return [t for t in list(self.d.backend.tasks.get(self.d.service.cluster_name, {}).values())
                if getattr(t, "started_by", None) == wanted]  # moto keeps tasks in launch order

    def _scale_up(self):
        self.green_up = True
        self.monitor_breaker = True
        _readiness.wake_tasks()
        if _readiness.watched():
            self.ready_deadline = _minutes() + _readiness.READY_TIMEOUT_MINUTES
            yield from self._await_green()
            self.green_ready = True

    def _await_green(self):
        status, detail, timed_out = yield from _readiness.await_ready(self.reading, self.ready_deadline or 0.0,
                                                                      _minutes)
        if status == "ready":
            return
        d = self.d
        breaker = d.config.get("deploymentCircuitBreaker") or {}
        if not timed_out:  # as many green tasks failed as the circuit breaker's threshold
            d.breaker["failureCount"] = self.reading.failed
            if breaker.get("enable"):
                d.breaker["status"] = "TRIGGERED"
                reason = (f"Service deployment rolled back because the circuit breaker threshold was exceeded: the "
                          f"green service revision cannot reach a steady state: {detail}")
                if not breaker.get("rollback"):
                    raise Stop(reason.replace("rolled back", "failed"))
            else:
                reason = (f"Service deployment rolled back because the green service revision cannot reach a steady "
                          f"state: {detail}")
            raise Rollback(reason)
        raise Rollback(f"Service deployment rolled back because the green service revision's tasks did not become "
                       f"healthy within {_readiness.READY_TIMEOUT_MINUTES:g} minutes. {detail}")

    def _scale_down_blue(self):
        self.blue_down = True
        _readiness.wake_tasks()
        if self.ready_deadline is not None and self.d.sources:
            source = self.d.sources[0]
            yield Wait(CLEAN_UP_MINUTES, until=lambda: all(t.last_status == "STOPPED"
                                                           for t in self._revision_tasks(source)))

    def _succeed(self) -> None:
        d = self.d
        d.status = "SUCCESSFUL"
        d.finished_at = _now()
        for key in ("alarms", "breaker"):
            monitor = getattr(d, key)
            if monitor["status"] == "MONITORING":
                monitor["status"] = "MONITORING_COMPLETE"
        if self.green_tg:
            _set_live_tg(d.backend, d.target, self.green_tg, self.prod_rule)
        d.service.localaws_live_revision = d.target
        d.weights = {}
        d.touch()
        self.finished = True

    def _rollback(self, reason: str, requested: bool = False) -> None:
        """Traffic back to blue, the service back on the source revision; ROLLBACK_SUCCESSFUL a stage later."""
        d = self.d
        d.status = "ROLLBACK_REQUESTED" if requested else "ROLLBACK_IN_PROGRESS"
        d.record(status=d.status)
        d.status_reason = reason
        d.rollback = {"reason": reason, "startedAt": _now(), "serviceRevisionArn": (d.sources or [d.target])[0]}
        d.touch()
        self.gen = self._rolling_back()
        self.started = False
        self.wait = None

    def _rolling_back(self):
        d = self.d
        if d.status == "ROLLBACK_REQUESTED":
            yield Wait(STAGE_MINUTES)
            d.status = "ROLLBACK_IN_PROGRESS"
            d.touch()
        if self.blue_tg is not None:
            back = [(self.blue_tg, 100), (self.green_tg, 0)]
            self._route(self.prod_rule, back)
            self._route(self.test_rule, back)
            d.record(productionWeights=dict(back))
        if self.source_task_definition:
            d.service.task_definition = self.source_task_definition
        self.green_up = self.blue_down = self.green_ready = False  # blue runs again (if it had gone), green goes
        _readiness.wake_tasks()
        d.green_live = False
        d.weights = {}
        yield Wait(STAGE_MINUTES)
        d.status = "ROLLBACK_SUCCESSFUL"
        d.finished_at = _now()
        d.touch()
        self.finished = True

    def _stop(self, reason: str) -> None:
        d = self.d
        d.status = "STOPPED"
        d.status_reason = reason
        d.stopped_at = d.finished_at = _now()
        d.touch()
        self.finished = True

    def supersede(self, by: str) -> None:
        """A newer deployment replaces this one: traffic back to the live revision, STOPPED."""
        if self.blue_tg is not None:
            back = [(self.blue_tg, 100), (self.green_tg, 0)]
            for rule in (self.prod_rule, self.test_rule):
                try:
                    self._route(rule, back)
                except Stop:
                    pass
        self._stop(f"Service deployment stopped: superseded by {by}.")

    # -- monitors ------------------------------------------------------------------------------
    def _alarms_in_alarm(self) -> list[str]:
        config = self.d.config.get("alarms") or {}
        if not config.get("enable"):
            return []
        alarms = getattr(self.cloudwatch, "alarms", {})
        return [n for n in config.get("alarmNames") or [] if n in alarms and alarms[n].state_value == "ALARM"]

    def _monitor(self) -> bool:
        """True when a monitor ended the deployment (rollback started or stopped)."""
        d = self.d
        if d.status != "IN_PROGRESS":
            return False
        triggered = self._alarms_in_alarm()
        if triggered:
            d.alarms.update(status="TRIGGERED", triggeredAlarmNames=triggered)
            reason = f"Service deployment rolled back because of alarm(s): {', '.join(triggered)}."
            if (d.config.get("alarms") or {}).get("rollback"):
                self._rollback(reason)
            else:
                self._stop(f"Service deployment stopped because of alarm(s): {', '.join(triggered)}.")
            return True
        breaker = d.config.get("deploymentCircuitBreaker") or {}
        if (breaker.get("enable") and self.monitor_breaker and self.green_tg
                and (elbv2_patch.health_override(self.green_tg) in ("unhealthy", "unavailable")
                     or self._green_unhealthy())):
            d.breaker.update(status="TRIGGERED", failureCount=d.breaker["threshold"])
            reason = (f"Service deployment rolled back because the circuit breaker threshold was exceeded: "
                      f"{d.breaker['threshold']} tasks failed health checks in target group {self.green_tg}.")
            if breaker.get("rollback"):
                self._rollback(reason)
            else:
                self._stop(reason.replace("rolled back", "failed"))
            return True
        return False

    def _green_unhealthy(self) -> bool:
        """Data plane: once the green tasks were ready, one failing the load balancer's real health checks (or
        failing outright) while traffic moves to it counts as the hand-set unhealthy state does."""
        if not self.green_ready or not self.green_up:
            return False
        return self.reading.get(cached=True)[0] in ("unhealthy", "failed")

    def tick(self, now: float) -> None:
        if self.finished:
            return
        if self.stop_request is not None:
            reason, self.stop_request = self.stop_request, None
            self._rollback(reason, requested=True)
        elif self._monitor() and self.finished:
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
            step = self.gen.send(timed_out) if self.started else next(self.gen)
            self.started = True
        except StopIteration:
            self.finished = self.finished or self.d.status in FINISHED
            return
        except Rollback as exc:
            self._rollback(exc.reason)
            return
        except Stop as exc:
            self._stop(exc.reason)
            return
        step.deadline = now + step.minutes
        self.wait = step


TICKER = Ticker("localaws-ecs-bluegreen", RUNS, lambda: codedeploy.CLOCK.advance(codedeploy.SETTINGS.seconds_per_minute),
                lambda run, _exc: run._stop("The local ECS blue/green emulation failed."), TICK_SECONDS)


# -- starting deployments ------------------------------------------------------------------------

def _deployments(backend: Any, service: Any) -> list[Deployment]:
    return [d for d in _state(backend).localaws_service_deployments.values() if d.service is service]


def start_deployment(backend: Any, service: Any, source_task_definition: str | None) -> Deployment:
    """A service deployment to the service as it now is (CreateService, UpdateService)."""
    config = dict(getattr(service, "deployment_configuration", None) or {})
    live = getattr(service, "localaws_live_revision", None)
    revisions = _state(backend).localaws_service_revisions
    pair = _lb_pair(service) if strategy(config) in TRAFFIC_STRATEGIES else None
    blue_tg = green_tg = None
    if pair:
        primary, alternate = pair[0]["targetGroupArn"], pair[1].get("alternateTargetGroupArn")
        if live is None:
            green_tg = primary
        else:
            resolved = ((revisions.get(live) or {}).get("resolvedConfiguration") or {}).get("loadBalancers") or []
            blue_tg = resolved[0]["targetGroupArn"] if resolved else primary
            if blue_tg not in (primary, alternate):
                blue_tg = primary
            green_tg = alternate if blue_tg == primary else primary
    target = make_revision(backend, service, None)
    sources = [revisions[live]] if live in revisions else []
    deployment = Deployment(backend, service, target, sources, config)
    for other in _deployments(backend, service):
        run = RUNS.pop(other.arn, None)
        if run is not None and not run.finished:
            run.supersede(deployment.arn)
    _state(backend).localaws_service_deployments[deployment.arn] = deployment
    if strategy(config) not in TRAFFIC_STRATEGIES:
        # rolling (and the first deployment of a service without load balancers): done at once here
        deployment.status = "SUCCESSFUL"
        deployment.started_at = deployment.finished_at = _now()
        for monitor in (deployment.alarms, deployment.breaker):
            if monitor["status"] == "MONITORING":
                monitor["status"] = "MONITORING_COMPLETE"
        service.localaws_live_revision = deployment.target
        return deployment
    run = Run(deployment, blue_tg, green_tg)
    run.source_task_definition = source_task_definition
    RUNS[deployment.arn] = run
    TICKER.ensure()
    return deployment


def find_deployment(backend: Any, arn: str | None) -> Deployment:
    deployment = _state(backend).localaws_service_deployments.get(arn or "")
    if deployment is None:
        raise AwsError("ServiceDeploymentNotFoundException", f"The service deployment {arn} does not exist.")
    return deployment


# -- the data plane's view ----------------------------------------------------------------------

def dataplane_tasks(backend: Any, service: Any) -> list[dict] | None:
    """The tasks the data plane's task runner keeps for a blue/green service (None: not one, the runner's rolling
    rules apply): the live (blue) revision's in the target group it serves from, until its deployment's CLEAN_UP;
    the deploying (green) revision's in the other group, from SCALE_UP until a rollback. Each: ``key`` (stable for
    a revision, so green tasks stay when green becomes the live revision), ``task_definition``, ``count``,
    ``network``, ``load_balancers``, ``started_by``."""
    if _controller(service) != "ECS" or service.task_sets:
        return None
    config = getattr(service, "deployment_configuration", None) or {}
    pair = _lb_pair(service)
    if strategy(config) not in TRAFFIC_STRATEGIES or pair is None:
        return None
    revisions = _state(backend).localaws_service_revisions
    run = next((r for r in list(RUNS.values()) if r.d.service is service and not r.finished), None)
    live = getattr(service, "localaws_live_revision", None)
    wanted: list[tuple[dict, str]] = []
    if live in revisions and not (run is not None and run.blue_down):
        resolved = (revisions[live].get("resolvedConfiguration") or {}).get("loadBalancers") or []
        wanted.append((revisions[live], resolved[0]["targetGroupArn"] if resolved else pair[0]["targetGroupArn"]))
    if run is not None and run.green_up and run.green_tg and run.d.target in revisions and run.d.target != live:
        wanted.append((revisions[run.d.target], run.green_tg))
    primary = pair[0]["targetGroupArn"]
    groups = []
    for revision, target_group in wanted:
        arn = revision["serviceRevisionArn"]
        groups.append({
            "key": f"revision/{_ident(arn)}",
            "task_definition": revision["taskDefinition"],
            "count": int(service.desired_count or 0),
            "network": revision.get("networkConfiguration") or service.network_configuration,
            "load_balancers": [{k: v for k, v in dict(lb, targetGroupArn=target_group).items()
                                if k != "advancedConfiguration"} if lb.get("targetGroupArn") == primary else dict(lb)
                               for lb in revision.get("loadBalancers") or []],
            "started_by": started_by(arn),
        })
    return groups


# -- API handlers --------------------------------------------------------------------------------

def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def install_api() -> None:
    from moto.core.responses import ActionResult
    from moto.ecs.responses import EC2ContainerServiceResponse

    cls = EC2ContainerServiceResponse
    original_create = cls.create_service
    original_update = cls.update_service

    def create_service(self):
        controller = (self._get_param("deploymentController") or {}).get("type", "ECS")
        validate(self.ecs_backend, controller, self._get_param("deploymentConfiguration"),
                 self._get_param("loadBalancers"))
        result = original_create(self)
        service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("serviceName"))
        if controller == "ECS":
            start_deployment(self.ecs_backend, service, None)
        return result

    def update_service(self):
        cluster = self._get_param("cluster", "default")
        service = self.ecs_backend._get_service(cluster, (self._get_param("service") or "").split("/")[-1])
        # the controller, configuration and load balancers the service will have (UpdateService may change the
        # controller since 2025)
        controller = (self._get_param("deploymentController") or {}).get("type") or _controller(service)
        config = self._get_param("deploymentConfiguration")
        load_balancers = self._get_param("loadBalancers")
        effective_config = config if config is not None else getattr(service, "deployment_configuration", None)
        effective_lbs = load_balancers if load_balancers else service.load_balancers
        validate(self.ecs_backend, controller, effective_config, effective_lbs)
        before = service.task_definition
        previous_controller = _controller(service)
        migrating = previous_controller == "CODE_DEPLOY" and controller == "ECS"
        if migrating:
            # In-place move from CodeDeploy to ECS (UpdateService takes deploymentController since 2025): the
            # service becomes ECS-controlled in this call, so the CODE_DEPLOY-only refusals of ecs.py no longer
            # apply, and its PRIMARY task set's definition is what the service runs.
            service.deployment_controller = {"type": "ECS"}
        try:
            result = original_update(self)
        except Exception:
            if migrating:
                service.deployment_controller = {"type": previous_controller}
            raise
        new_definition = self._get_param("taskDefinition")
        changed = bool(new_definition) and service.task_definition != before
        if migrating:
            for task_set in list(service.task_sets):
                if task_set.status != "PRIMARY":
                    ecs.delete_task_set(service, task_set)
            service.task_sets = []
        if _controller(service) == "ECS" and (changed or migrating or self._get_param("forceNewDeployment")):
            start_deployment(self.ecs_backend, service, before)
        return result

    def list_service_deployments(self):
        backend = self.ecs_backend
        service = backend._get_service(self._get_param("cluster", "default"),
                                       (self._get_param("service") or "").split("/")[-1])
        statuses = self._get_param("status") or []
        created = self._get_param("createdAt") or {}
        before, after = _timestamp(created.get("before")), _timestamp(created.get("after"))
        max_results = int(self._get_param("maxResults") or 20)
        if not 1 <= max_results <= 100:
            raise invalid("maxResults must be between 1 and 100.")
        found = [d for d in _deployments(backend, service)
                 if (not statuses or d.status in statuses)
                 and (before is None or d.created_at < before) and (after is None or d.created_at > after)]
        found.sort(key=lambda d: d.created_at, reverse=True)
        start = int(self._get_param("nextToken") or 0)
        page = found[start:start + max_results]
        answer: dict[str, Any] = {"serviceDeployments": [d.brief() for d in page]}
        if start + max_results < len(found):
            answer["nextToken"] = str(start + max_results)
        return ActionResult(answer)

    def describe_service_deployments(self):
        backend = _state(self.ecs_backend)
        arns = self._get_param("serviceDeploymentArns") or []
        found, failures = [], []
        for arn in arns:
            deployment = backend.localaws_service_deployments.get(arn)
            if deployment is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(deployment.describe())
        return ActionResult({"serviceDeployments": found, "failures": failures})

    def describe_service_revisions(self):
        backend = _state(self.ecs_backend)
        arns = self._get_param("serviceRevisionArns") or []
        found, failures = [], []
        for arn in arns:
            revision = backend.localaws_service_revisions.get(arn)
            if revision is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(revision)
        return ActionResult({"serviceRevisions": found, "failures": failures})

    def stop_service_deployment(self):
        deployment = find_deployment(self.ecs_backend, self._get_param("serviceDeploymentArn"))
        stop_type = self._get_param("stopType") or "ROLLBACK"
        if stop_type not in ("ROLLBACK", "ABORT"):
            raise invalid(f"Invalid stopType: {stop_type}. Valid values are ABORT, ROLLBACK.")
        if stop_type == "ABORT":
            raise invalid("The ABORT stop type is not supported. The valid value is ROLLBACK.")
        if deployment.status not in STOPPABLE:
            raise AwsError("ConflictException", f"The service deployment {deployment.arn} cannot be stopped because "
                                                f"its status is {deployment.status}.")
        run = RUNS.get(deployment.arn)
        if run is not None and deployment.status in ("PENDING", "IN_PROGRESS"):
            run.stop_request = "Service deployment rolled back by a StopServiceDeployment request."
            deployment.status = "ROLLBACK_REQUESTED"
            deployment.touch()
        return ActionResult({"serviceDeploymentArn": deployment.arn})

    def continue_service_deployment(self):
        deployment = find_deployment(self.ecs_backend, self._get_param("serviceDeploymentArn"))
        hook_id = self._get_param("hookId")
        action = self._get_param("action") or "CONTINUE"
        if action not in ("CONTINUE", "ROLLBACK"):
            raise invalid(f"Invalid action: {action}. Valid values are CONTINUE, ROLLBACK.")
        hook = next((h for h in deployment.hooks if h["hookId"] == hook_id), None)
        if hook is None:
            raise invalid(f"The lifecycle hook {hook_id} does not exist in the service deployment {deployment.arn}.")
        if hook["status"] != "AWAITING_ACTION" or deployment.arn not in RUNS:
            raise invalid(f"The lifecycle hook {hook_id} is not awaiting action.")
        hook["status"] = "SUCCEEDED" if action == "CONTINUE" else "ROLLBACK"
        deployment.touch()
        return ActionResult({"serviceDeploymentArn": deployment.arn})

    cls.create_service = create_service
    cls.update_service = update_service
    cls.list_service_deployments = list_service_deployments
    cls.describe_service_deployments = describe_service_deployments
    cls.describe_service_revisions = describe_service_revisions
    cls.stop_service_deployment = stop_service_deployment
    cls.continue_service_deployment = continue_service_deployment


def _hooks_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    if method in ("POST", "PUT"):
        if "hookId" in body:
            status = body.get("status")
            if status not in ("SUCCEEDED", "FAILED"):
                return 400, {"message": "status must be SUCCEEDED or FAILED"}
            with LOCK:
                for run in RUNS.values():
                    for hook in run.d.hooks:
                        if hook["hookId"] == body["hookId"] and hook["status"] == "IN_PROGRESS":
                            hook["status"] = status
                            return 200, {"hookId": hook["hookId"], "status": status}
            return 404, {"message": f"no Lambda hook {body['hookId']} waits for an answer"}
        mode = body.get("mode")
        if mode not in ("succeed", "fail", "wait"):
            return 400, {"message": "mode must be 'succeed', 'fail' or 'wait'"}
        SETTINGS.hook_mode = mode
        return 200, {"mode": mode}
    if method != "GET":
        return 405, {"message": "use GET or POST"}
    from moto.ecs.models import ecs_backends

    wanted = query.get("serviceDeploymentArn")
    hooks = []
    with LOCK:
        for account in list(ecs_backends.values()):
            for backend in list(account.values()):
                for deployment in list(getattr(backend, "localaws_service_deployments", {}).values()):
                    if wanted and deployment.arn != wanted:
                        continue
                    hooks += [dict(h, serviceDeploymentArn=deployment.arn) for h in deployment.hooks]
    return 200, {"mode": SETTINGS.hook_mode, "hooks": hooks}


def _deployments_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    """GET: every service deployment's status and history (stages entered, production weights set), in order."""
    if method != "GET":
        return 405, {"message": "use GET"}
    from moto.ecs.models import ecs_backends

    wanted = query.get("serviceDeploymentArn")
    found = []
    with LOCK:
        for account in list(ecs_backends.values()):
            for backend in list(account.values()):
                for deployment in list(getattr(backend, "localaws_service_deployments", {}).values()):
                    if not wanted or deployment.arn == wanted:
                        found.append({"serviceDeploymentArn": deployment.arn, "status": deployment.status,
                                      "history": list(deployment.history)})
    return 200, {"serviceDeployments": found}


def apply() -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse

    if EC2ContainerServiceResponse.__dict__.get("_localaws_bluegreen"):
        return
    EC2ContainerServiceResponse._localaws_bluegreen = True
    install_api()
    control_route("/_localaws/ecs/hooks", _hooks_route)
    control_route("/_localaws/ecs/deployments", _deployments_route)
    TICKER.ensure()


__all__ = ["apply", "dataplane_tasks", "reset", "started_by", "traffic_steps", "validate"]
