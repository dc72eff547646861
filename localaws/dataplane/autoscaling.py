"""Application Auto Scaling of ECS services, run by the data plane: policies change desired counts.

The control plane (moto) stores scalable targets and scaling policies; this engine runs them the way
Application Auto Scaling does, from CloudWatch alarms that the alarm evaluator (:mod:`.alarms`) drives
from real metrics (the task runner's cgroup readings: ``AWS/ECS`` CPUUtilization / MemoryUtilization).

* **Target tracking** (``TargetTrackingScaling``). As on AWS the policy owns two alarms on its metric
  (``TargetTracking-<resource>-AlarmHigh-<id>``: Average > target for 3 of 3 one-minute periods;
  ``...-AlarmLow-<id>``: Average < 90 % of the target for 15 of 15), created with the policy and deleted
  with it. moto creates them with a fixed threshold of 6; here they get the policy's target, and a
  policy written again replaces its alarms instead of adding two more.
  https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html
* **Step scaling** (``StepScaling``): any metric alarm whose ``AlarmActions`` name the policy's ARN.
  https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html

An alarm in ALARM invokes its policy once per evaluation period for as long as it stays there (as
CloudWatch does for Auto Scaling actions). Target tracking sets ``ceil(capacity * metric / target)``
(the newest datapoint the alarm evaluated), step scaling applies the step adjustment whose bounds hold
``metric - threshold`` (``ChangeInCapacity``, ``PercentChangeInCapacity`` with ``MinAdjustmentMagnitude``,
``ExactCapacity``); both within the scalable target's min and max, not against a suspended direction
(``SuspendedState``), not in a cooldown of the same direction (``ScaleOutCooldown`` / ``ScaleInCooldown``
/ ``Cooldown``, AWS seconds scaled by the time scale), and never scale-in with ``DisableScaleIn``. The
new capacity goes through ECS UpdateService's code (``desiredCount``), so the task runner starts or
stops tasks and CODE_DEPLOY services' task sets follow, as a scaling activity does.

``GET /_localaws/dataplane/autoscaling`` lists the scaling activities (newest last).

Off unless ``LOCALAWS_DATAPLANE=1`` (and the ``metrics`` engine runs: without alarms nothing scales).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from localaws import dataplane
from localaws.dataplane import metrics

log = logging.getLogger("localaws.dataplane.autoscaling")

DIMENSION = "ecs:service:DesiredCount"
TICK = 0.25  # real seconds between looks at the alarms
ACTIVITIES = 200  # scaling activities kept for the control route

_lock = threading.Lock()
_activities: deque = deque(maxlen=ACTIVITIES)
_acted: dict[tuple[str, str, str, str], str] = {}  # (account, region, policy ARN, alarm) -> period acted on
_last_scaled: dict[tuple[str, str, str, str], float] = {}  # (account, region, resource, "out"|"in") -> real time
_thread: threading.Thread | None = None
_stop = threading.Event()


# -- moto's target tracking alarms, as AWS makes them -----------------------------------------------

def _install() -> None:
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend, FakeApplicationAutoscalingPolicy

    if getattr(FakeApplicationAutoscalingPolicy, "_localaws_dataplane", False):
        return
    generate = FakeApplicationAutoscalingPolicy._generate_ecs_alarms

    def _generate_ecs_alarms(self: Any) -> list:
        alarms = generate(self)
        target = float((self.target_tracking_scaling_policy_configuration or {}).get("TargetValue") or 0)
        for alarm in alarms:
            high = "-AlarmHigh-" in alarm.name
            alarm.threshold = target if high else round(target * 0.9, 6)
            alarm.datapoints_to_alarm = int(alarm.evaluation_periods)
        return alarms

    put = ApplicationAutoscalingBackend.put_scaling_policy

    def put_scaling_policy(self: Any, policy_name: str, service_namespace: str, resource_id: str,
                           scalable_dimension: str, policy_body: dict, policy_type: str | None) -> Any:
        key = FakeApplicationAutoscalingPolicy.formulate_key(service_namespace, resource_id, scalable_dimension,
                                                             policy_name)
        old = self.policies.get(key)
        policy = put(self, policy_name, service_namespace, resource_id, scalable_dimension, policy_body, policy_type)
        if old is not None and old is not policy and old.alarms:
            old.delete_alarms(self.account_id, self.region_name)
        return policy

    FakeApplicationAutoscalingPolicy._generate_ecs_alarms = _generate_ecs_alarms
    ApplicationAutoscalingBackend.put_scaling_policy = put_scaling_policy
    FakeApplicationAutoscalingPolicy._localaws_dataplane = True


# -- the policies -----------------------------------------------------------------------------------

def _backends():
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    for account, regions in list(applicationautoscaling_backends.items()):
        for region, backend in list(regions.items()):
            yield account, region, backend


def _cloudwatch(account: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account][region]


def _ecs_service(backend: Any, resource_id: str) -> Any | None:
    """The ACTIVE ECS service of ``service/<cluster>/<name>``, or None."""
    parts = resource_id.split("/")
    if len(parts) != 3 or parts[0] != "service":
        return None
    service = backend.ecs_backend.services.get(f"{parts[1]}:{parts[2]}")
    return service if service is not None and service.status == "ACTIVE" else None


def _policy_alarms(account: str, region: str, policy: Any) -> list[Any]:
    """The alarms that invoke ``policy``: its own (target tracking) or those naming its ARN (step)."""
    cloudwatch = _cloudwatch(account, region)
    if policy.policy_type == "TargetTrackingScaling":
        names = {a.name for a in policy.alarms}
        return [a for a in list(cloudwatch.alarms.values()) if a.name in names]
    return [a for a in list(cloudwatch.alarms.values())
            if any(action == policy.policy_arn or action.startswith(policy.policy_arn + ":")
                   for action in (a.alarm_actions or []))]


def _newest_evaluation(account: str, region: str, alarm_name: str) -> dict | None:
    from localaws.dataplane import alarms

    with alarms._LOCK:
        records = alarms._RECORDS.get((account, region, alarm_name))
        return dict(records[-1]) if records else None


def _newest_value(evaluation: dict) -> float | None:
    points = [p for p in evaluation.get("datapoints") or [] if p.get("value") is not None]
    return float(max(points, key=lambda p: p["timestamp"])["value"]) if points else None


def _step_adjustment(config: dict, breach: float) -> dict | None:
    for step in config.get("StepAdjustments") or []:
        lower = step.get("MetricIntervalLowerBound")
        upper = step.get("MetricIntervalUpperBound")
        if (lower is None or breach >= float(lower)) and (upper is None or breach < float(upper)):
            return step
    return None


def _step_capacity(config: dict, step: dict, current: int) -> int:
    adjustment = float(step.get("ScalingAdjustment", 0))
    kind = config.get("AdjustmentType", "ChangeInCapacity")
    if kind == "ExactCapacity":
        return int(adjustment)
    if kind == "PercentChangeInCapacity":
        change = current * adjustment / 100.0
        # AWS rounds a fractional change away from zero below 1 and toward zero above; at least
        # MinAdjustmentMagnitude tasks when set.
        change = math.copysign(1, change) if 0 < abs(change) < 1 else math.trunc(change)
        minimum = int(config.get("MinAdjustmentMagnitude") or 0)
        if minimum and 0 < abs(change) < minimum:
            change = math.copysign(minimum, change)
        return current + int(change)
    return current + int(adjustment)


def _suspended(target: Any, direction: str) -> bool:
    state = getattr(target, "suspended_state", None) or {}
    key = "DynamicScalingOutSuspended" if direction == "out" else "DynamicScalingInSuspended"
    return bool(state.get(key))


def _decide(account: str, region: str, policy: Any, target: Any, alarm: Any, value: float,
            current: int) -> tuple[int, str] | None:
    """(new desired count, cause) when the policy asks for a change now, else None."""
    if policy.policy_type == "TargetTrackingScaling":
        config = policy.target_tracking_scaling_policy_configuration or {}
        goal = float(config.get("TargetValue") or 0)
        if goal <= 0:
            return None
        direction = "out" if "-AlarmHigh-" in alarm.name else "in"
        if direction == "in" and config.get("DisableScaleIn"):
            return None
        wanted = math.ceil(current * value / goal) if current else 1
        cooldown = float(config.get("ScaleOutCooldown" if direction == "out" else "ScaleInCooldown") or 300)
        cause = (f"monitor alarm {alarm.name} in state ALARM triggered policy {policy.policy_name} "
                 f"(metric {value:.1f}, target {goal:g})")
    else:
        config = policy.step_scaling_policy_configuration or {}
        step = _step_adjustment(config, value - float(alarm.threshold))
        if step is None:
            return None
        wanted = _step_capacity(config, step, current)
        direction = "out" if wanted > current else "in"
        cooldown = float(config.get("Cooldown") or 0)
        cause = f"monitor alarm {alarm.name} in state ALARM triggered policy {policy.policy_name} (metric {value:.1f})"
    low, high = int(target.min_capacity or 0), int(target.max_capacity or 0)
    wanted = max(low, min(high, wanted))
    if wanted == current or (wanted > current) != (direction == "out") or _suspended(target, direction):
        return None
    since = time.time() - _last_scaled.get((account, region, policy.resource_id, direction), 0.0)
    if since < metrics.period_length(cooldown):
        return None
    return wanted, cause


def _apply(account: str, region: str, backend: Any, service: Any, policy: Any, desired: int, cause: str,
           direction: str) -> None:
    from localaws.patches._shared import LOCK

    current = int(service.desired_count or 0)
    cluster = service.cluster_name
    with LOCK:
        backend.ecs_backend.update_service({"cluster": cluster, "service": service.name, "desired_count": desired})
    _last_scaled[(account, region, policy.resource_id, direction)] = time.time()
    activity = {
        "ResourceId": policy.resource_id, "ServiceNamespace": "ecs", "ScalableDimension": DIMENSION,
        "Description": f"Setting desired count to {desired}.",
        "Cause": cause, "StatusCode": "Successful", "PolicyName": policy.policy_name,
        "StartTime": datetime.now(UTC).isoformat(), "From": current, "To": desired,
    }
    _activities.append(activity)
    log.info("autoscaling %s: desired count %d -> %d (%s)", policy.resource_id, current, desired, cause)


def scale_due() -> int:
    """Invoke every ECS policy whose alarm is in ALARM and completed a period since it last acted; the count
    of desired-count changes made."""
    changes = 0
    with _lock:
        for account, region, backend in _backends():
            targets = (backend.targets.get(DIMENSION) or {})
            for policy in list(backend.policies.values()):
                if policy.service_namespace != "ecs" or policy.scalable_dimension != DIMENSION:
                    continue
                target = targets.get(policy.resource_id)
                service = _ecs_service(backend, policy.resource_id)
                if target is None or service is None:
                    continue
                for alarm in _policy_alarms(account, region, policy):
                    if alarm.state_value != "ALARM":
                        continue
                    evaluation = _newest_evaluation(account, region, alarm.name)
                    if not evaluation or evaluation.get("state") != "ALARM":
                        continue
                    key = (account, region, policy.policy_arn, alarm.name)
                    if _acted.get(key) == evaluation["periodEnd"]:
                        continue
                    _acted[key] = evaluation["periodEnd"]
                    value = _newest_value(evaluation)
                    if value is None:
                        continue
                    current = int(service.desired_count or 0)
                    decision = _decide(account, region, policy, target, alarm, value, current)
                    if decision is None:
                        continue
                    desired, cause = decision
                    _apply(account, region, backend, service, policy, desired, cause,
                           "out" if desired > current else "in")
                    changes += 1
    return changes


# -- the engine -------------------------------------------------------------------------------------

def _loop() -> None:
    while not _stop.wait(TICK):
        try:
            scale_due()
        except Exception:
            log.exception("localaws autoscaling engine: tick failed")


def _route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    """GET ``?resource=service/<cluster>/<name>``: the scaling activities (newest last)."""
    if method != "GET":
        return 405, {"message": "use GET"}
    wanted = query.get("resource")
    with _lock:
        listed = [a for a in _activities if not wanted or a["ResourceId"] == wanted]
    return 200, {"ScalingActivities": json.loads(json.dumps(listed))}


def start() -> None:
    global _thread
    from localaws.patches._shared import control_route

    _install()
    control_route("/_localaws/dataplane/autoscaling", _route)
    _stop.clear()
    if _thread is None or not _thread.is_alive():
        _thread = threading.Thread(target=_loop, name="localaws-autoscaling", daemon=True)
        _thread.start()


def stop() -> None:
    global _thread
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=5)
    _thread = None


def reset() -> None:
    with _lock:
        _activities.clear()
        _acted.clear()
        _last_scaled.clear()


dataplane.register_engine("autoscaling", start, stop, reset)
