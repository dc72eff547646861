"""ELBv2: target health that tests can turn unhealthy, and listener helpers for CodeDeploy.

moto reports every registered target ``healthy``. AWS's health checks can fail;
the control endpoint ``POST /_localaws/elbv2/target-health`` with
``{"targetGroupArn": "...", "state": "unhealthy"}`` makes DescribeTargetHealth
report that state (with AWS's reason and description) for every target of the
group, and makes a CodeDeploy deployment whose replacement task set is
registered there fail. ``"state": "healthy"`` (or ``null``) clears it;
``GET`` lists the overrides. Cleared by ``/moto-api/reset``.

With the data plane on (``LOCALAWS_DATAPLANE=1``) DescribeTargetHealth reports
the real health checks of ``localaws/dataplane/alb_health.py`` and an override
applies on top of them (to the load balancer's routing too), as fault injection.

The helpers below rewrite the forward actions of listeners and rules the way
CodeDeploy does during an ECS blue/green deployment.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from localaws import dataplane
from localaws.patches._shared import LOCK, control_route, serialise_calls

STATES = ("initial", "healthy", "unhealthy", "unused", "draining", "unavailable")
REASONS = {
    "initial": ("Elb.RegistrationInProgress", "Target registration is in progress"),
    "unhealthy": ("Target.FailedHealthChecks", "Health checks failed"),
    "unused": ("Target.NotInUse", "Target group is not configured to receive traffic from the load balancer"),
    "draining": ("Target.DeregistrationInProgress", "Target deregistration is in progress"),
    "unavailable": ("Target.HealthCheckDisabled", "Health checks disabled"),
}

# target group ARN -> forced state
HEALTH: dict[str, str] = {}


def reset() -> None:
    with LOCK:
        HEALTH.clear()


def health_override(target_group_arn: str) -> str | None:
    return HEALTH.get(target_group_arn)


def _target_health_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    if method == "GET":
        with LOCK:
            return 200, {"overrides": [{"targetGroupArn": k, "state": v} for k, v in HEALTH.items()]}
    if method not in ("POST", "PUT"):
        return 405, {"message": "use GET or POST"}
    arn = body.get("targetGroupArn")
    state = body.get("state")
    if not arn:
        return 400, {"message": "targetGroupArn is required"}
    if state is not None and state not in STATES:
        return 400, {"message": f"state must be one of {', '.join(STATES)} or null"}
    with LOCK:
        if state in (None, "healthy"):
            HEALTH.pop(arn, None)
        else:
            HEALTH[arn] = state
    return 200, {"targetGroupArn": arn, "state": state or "healthy"}


# -- listener helpers used by the CodeDeploy engine ---------------------------------------------

def target_group_by_name(backend: Any, name: str) -> Any | None:
    for target_group in backend.target_groups.values():
        if target_group.name == name:
            return target_group
    return None


def find_listener(backend: Any, arn: str) -> Any | None:
    for load_balancer in backend.load_balancers.values():
        listener = load_balancer.listeners.get(arn)
        if listener is not None:
            return listener
    return None


def listener_action_sets(listener: Any) -> list[tuple[str | None, Any]]:
    """(rule ARN or None for the default actions, rule object) for every rule of a listener."""
    result: list[tuple[str | None, Any]] = []
    for rule_arn, rule in listener.rules.items():
        result.append((None if getattr(rule, "is_default", False) else rule_arn, rule))
    return result


def forwards_to(action_data: dict, target_group_arn: str) -> bool:
    if action_data.get("Type") != "forward":
        return False
    if action_data.get("TargetGroupArn") == target_group_arn:
        return True
    groups = (action_data.get("ForwardConfig") or {}).get("TargetGroups") or []
    return any(g.get("TargetGroupArn") == target_group_arn for g in groups)


def weighted_forward(action_data: dict, weights: list[tuple[str, int]]) -> dict:
    """The forward action ``action_data`` rewritten to send traffic by ``weights`` [(tg arn, weight)].

    Groups at weight 0 stay listed, in the order given: after a release CodeDeploy leaves the
    original group behind the listener at weight 0 (CodeDeploy service team, quoted in
    https://github.com/traveloka/terraform-aws-alb-single-listener/pull/47). ``TargetGroupArn``
    is only set for a single group, as DescribeListeners/DescribeRules answer (Action, ELBv2 API
    reference: "If you specify both ForwardConfig and TargetGroupArn, you can specify only one
    target group").
    """
    new = {k: copy.deepcopy(v) for k, v in action_data.items() if k not in ("TargetGroupArn", "ForwardConfig")}
    stickiness = (action_data.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig") or {"Enabled": False}
    if len(weights) == 1:
        new["TargetGroupArn"] = weights[0][0]
    new["ForwardConfig"] = {
        "TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights],
        "TargetGroupStickinessConfig": copy.deepcopy(stickiness),
    }
    return new


def set_rule_actions(listener: Any, rule: Any, actions_data: list[dict]) -> None:
    from moto.elbv2.models import FakeAction

    actions = [FakeAction(copy.deepcopy(data)) for data in actions_data]
    rule.actions = actions
    if getattr(rule, "is_default", False):
        listener.default_actions = actions


def apply() -> None:
    from moto.elbv2.models import ELBv2Backend, FakeHealthStatus
    from moto.elbv2.responses import ELBV2Response

    if getattr(ELBv2Backend, "_localaws_elbv2", False):
        return
    ELBv2Backend._localaws_elbv2 = True
    serialise_calls(ELBV2Response)
    control_route("/_localaws/elbv2/target-health", _target_health_route)

    original = ELBv2Backend.describe_target_health

    def describe_target_health(self, target_group_arn, targets):
        results = original(self, target_group_arn, targets)
        if dataplane.running("alb"):
            # Real health checks (localaws/dataplane/alb_health.py); the overrides below stay
            # on top of them as fault injection.
            from localaws.dataplane import alb

            real = alb.describe_target_health(self.target_groups[target_group_arn], targets, results)
            results = results if real is None else real
        # A target the group does not have (never registered, or deregistered and drained) is "unused",
        # Target.NotRegistered: moto says "unavailable" for IP targets, and the target-deregistered waiter
        # (aws elbv2 wait target-deregistered) waits for "unused".
        results = [FakeHealthStatus(r.instance_id, r.port, r.health_check_port, "unused", r.reason,
                                    "Target is not registered to the target group")
                   if r.reason == "Target.NotRegistered" else r for r in results]
        state = HEALTH.get(target_group_arn)
        if not state:
            return results
        forced = []
        for result in results:
            if result.status != "healthy":
                forced.append(result)
                continue
            reason, description = REASONS.get(state, (None, None))
            forced.append(FakeHealthStatus(result.instance_id, result.port, result.health_check_port, state,
                                           reason, description))
        return forced

    ELBv2Backend.describe_target_health = describe_target_health

    original_deregister = ELBv2Backend.deregister_targets

    def deregister_targets(self, target_group_arn, instances):
        original_deregister(self, target_group_arn, instances)
        # The deregistration delay runs from this call, not from when the data plane's next poll
        # notices the target gone (localaws/dataplane/alb_health.py reads this deadline).
        from localaws.dataplane.alb_health import real_seconds

        target_group = self.target_groups[target_group_arn]
        delay = float((getattr(target_group, "attributes", None) or {}).get(
            "deregistration_delay.timeout_seconds", 300))
        until = time.monotonic() + real_seconds(delay)
        drains = target_group.__dict__.setdefault("_localaws_drain_until", {})
        for target in instances:
            drains[target["Id"]] = until

    ELBv2Backend.deregister_targets = deregister_targets


def drain_until(target_group: Any, target_id: str) -> float | None:
    """When (time.monotonic) the target's deregistration delay ends, if DeregisterTargets was called for it."""
    return (getattr(target_group, "_localaws_drain_until", None) or {}).get(target_id)
