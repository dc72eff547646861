"""Target health of the load balancer data plane: real health checks, states, draining.

Follows "Health checks for Application Load Balancer target groups"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html)
and the API reference's TargetHealth reason codes
(https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html):

* a registered target starts ``initial`` (``Elb.RegistrationInProgress``, then
  ``Elb.InitialHealthChecking`` once checks run); ``HealthyThresholdCount``
  consecutive passing checks make it ``healthy``, ``UnhealthyThresholdCount``
  consecutive failing ones ``unhealthy`` (``Target.ResponseCodeMismatch``,
  ``Target.Timeout`` or ``Target.FailedHealthChecks``);
* a target group no listener forwards to is not checked: ``unused`` /
  ``Target.NotInUse``; health checks disabled: ``unavailable`` /
  ``Target.HealthCheckDisabled`` (and the target receives traffic);
* a deregistered target is ``draining`` for the group's
  ``deregistration_delay.timeout_seconds`` and gets no new requests, then it is
  gone ("Deregistration delay",
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay).

Intervals and the deregistration delay are AWS seconds turned into real time by
the endpoint's time scale (``LOCALAWS_TIME_SCALE``, shared with CodeDeploy);
health-check timeouts are real seconds, since they bound real network waits.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger("localaws.dataplane.alb")

DESCRIPTIONS = {
    "Elb.RegistrationInProgress": "Target registration is in progress",
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.Timeout": "Request timed out",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.NotInUse": "Target group is not configured to receive traffic from the load balancer",
    "Target.DeregistrationInProgress": "Target deregistration is in progress",
    "Target.HealthCheckDisabled": "Health checks disabled",
}
MIN_REAL_INTERVAL = 0.05  # seconds; keeps a tiny time scale from turning checks into a busy loop


def real_seconds(aws_seconds: float) -> float:
    """AWS seconds as real seconds under the endpoint's time scale (real seconds per AWS minute)."""
    from localaws.patches import codedeploy

    return float(aws_seconds) / 60.0 * codedeploy.SETTINGS.seconds_per_minute


def drain_until(target_group: Any, target_id: str) -> float | None:
    """When the target's deregistration delay ends (time.monotonic), as DeregisterTargets recorded it."""
    from localaws.patches.elbv2 import drain_until as recorded

    return recorded(target_group, target_id)


def forced_state(tg_arn: str) -> str | None:
    from localaws.patches.elbv2 import health_override

    return health_override(tg_arn)


def parse_matcher(codes: str) -> list[tuple[int, int]]:
    """``"200"``, ``"200-299"``, ``"200,302"`` -> inclusive ranges (TargetGroup Matcher.HttpCode)."""
    ranges = []
    for part in str(codes or "200").split(","):
        low, _, high = part.strip().partition("-")
        ranges.append((int(low), int(high or low)))
    return ranges


@dataclass
class GroupView:
    """What the health checker needs of a target group, read from moto at each poll."""

    arn: str
    obj: Any  # moto's FakeTargetGroup, for its live ``targets`` dict
    protocol: str
    port: str
    path: str
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: list[tuple[int, int]]
    enabled: bool
    deregistration_delay: float
    load_balancers: frozenset[str]

    @classmethod
    def of(cls, tg: Any, load_balancers: frozenset[str]) -> GroupView:
        return cls(
            arn=tg.arn, obj=tg, protocol=(tg.health_check_protocol or tg.protocol or "HTTP").upper(),
            port=str(tg.health_check_port or "traffic-port"), path=tg.health_check_path or "/",
            interval=float(tg.health_check_interval_seconds or 30),
            timeout=float(tg.health_check_timeout_seconds or 5),
            healthy_threshold=int(tg.healthy_threshold_count or 5),
            unhealthy_threshold=int(tg.unhealthy_threshold_count or 2),
            matcher=parse_matcher((getattr(tg, "matcher", None) or {}).get("HttpCode", "200")),
            enabled=bool(tg.health_check_enabled),
            deregistration_delay=float(tg.attributes.get("deregistration_delay.timeout_seconds", 300)),
            load_balancers=load_balancers,
        )

    def registered(self) -> dict[str, int]:
        """Target id -> port, read from moto now (DeregisterTargets takes effect at once)."""
        return {t["Id"]: int(t.get("Port") or self.obj.port) for t in list(self.obj.targets.values())}


@dataclass
class TargetState:
    target_id: str
    port: int
    state: str = "initial"
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = DESCRIPTIONS["Elb.RegistrationInProgress"]
    successes: int = 0
    failures: int = 0
    next_check: float = 0.0
    checking: bool = False
    drain_until: float | None = None

    def set(self, state: str, reason: str | None, description: str | None = None) -> None:
        self.state, self.reason = state, reason
        self.description = description or (DESCRIPTIONS.get(reason) if reason else None)


@dataclass
class GroupState:
    view: GroupView
    targets: dict[str, TargetState] = field(default_factory=dict)
    next_counts: float = 0.0


class HealthChecker:
    """Target states of every target group, and the thread that health-checks them."""

    def __init__(self, on_counts=None) -> None:
        self.lock = threading.Lock()
        self.groups: dict[str, GroupState] = {}
        self.on_counts = on_counts  # (lb arn, tg arn, healthy, unhealthy) after each interval
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="alb-health")
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alb-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def reset(self) -> None:
        with self.lock:
            self.groups.clear()

    # -- state from the control plane --------------------------------------------------------------
    def sync(self, views: list[GroupView]) -> None:
        """Align target states with moto's target groups (called at every poll)."""
        now = time.monotonic()
        with self.lock:
            for arn in set(self.groups) - {v.arn for v in views}:
                del self.groups[arn]  # DeleteTargetGroup: its targets are gone with it
            for view in views:
                group = self.groups.setdefault(view.arn, GroupState(view))
                group.view = view
                registered = view.registered()
                for target_id, port in registered.items():
                    state = group.targets.get(target_id)
                    if state is None or state.drain_until is not None or state.port != port:
                        group.targets[target_id] = state = TargetState(target_id, port, next_check=now)
                    if not view.load_balancers:
                        state.set("unused", "Target.NotInUse")
                    elif not view.enabled:
                        state.set("unavailable", "Target.HealthCheckDisabled")
                    elif state.state in ("unused", "unavailable"):
                        # the group just got a listener, or its checks were enabled again
                        state.set("initial", "Elb.RegistrationInProgress")
                        state.successes = state.failures = 0
                for target_id, state in list(group.targets.items()):
                    if target_id in registered:
                        continue
                    if state.drain_until is None:
                        # From the DeregisterTargets call (localaws/patches/elbv2.py), not from this poll.
                        recorded = drain_until(view.obj, target_id) if view.load_balancers else now
                        state.drain_until = recorded if recorded is not None else (
                            now + real_seconds(view.deregistration_delay))
                        state.set("draining", "Target.DeregistrationInProgress")
                    if state.drain_until <= now:
                        del group.targets[target_id]

    # -- questions from the proxy and DescribeTargetHealth ------------------------------------------
    def routable(self, view: GroupView) -> list[TargetState]:
        """The targets to route to; fails open when every registered target is unhealthy."""
        registered = view.registered()
        with self.lock:
            group = self.groups.get(view.arn)
            states = [group.targets.get(tid) for tid in registered] if group else []
        live = [s for s in states if s is not None and s.drain_until is None]
        # A hand-set override (POST /_localaws/elbv2/target-health) replaces "healthy", as in
        # DescribeTargetHealth: fault injection on top of the real checks.
        forced = forced_state(view.arn)
        effective = [(s, forced if forced and s.state == "healthy" else s.state) for s in live]
        ok = [s for s, state in effective if state in ("healthy", "unavailable")]
        if not ok and effective and all(state == "unhealthy" for _, state in effective):
            # "If a target group contains only unhealthy registered targets, the load balancer
            # routes requests to all those targets, regardless of their health status."
            ok = live
        return ok

    def describe(self, view_obj: Any, asked: list[dict] | None, moto_results: list[Any]) -> list[Any]:
        """DescribeTargetHealth from the real states; moto's answer for what we do not track."""
        from moto.elbv2.models import FakeHealthStatus

        with self.lock:
            group = self.groups.get(view_obj.arn)
            targets = dict(group.targets) if group else {}
        by_id = {r.instance_id: r for r in moto_results}

        def hc_port(port: Any) -> str:
            # AWS reports the port it checks: the target's own port for "traffic-port".
            configured = str(view_obj.health_check_port or "traffic-port")
            return str(port) if configured == "traffic-port" else configured

        def drained(tid: str, state: TargetState) -> bool:
            # Over as soon as the delay since DeregisterTargets is, whether or not a poll has seen it.
            until = state.drain_until if state.drain_until is not None else drain_until(view_obj, tid)
            return until is not None and until <= time.monotonic()

        results = []
        # Without Targets, AWS lists the registered targets and the draining ones (a target
        # deregistered since the last poll is draining already).
        ids = [t["Id"] for t in asked] if asked else list(by_id) + [
            tid for tid in targets if tid not in by_id and tid not in view_obj.targets]
        for tid in ids:
            state = targets.get(tid)
            if tid in view_obj.targets and state is not None and state.drain_until is None:
                results.append(FakeHealthStatus(tid, state.port, hc_port(state.port), state.state,
                                                None if state.state == "healthy" else state.reason,
                                                None if state.state == "healthy" else state.description))
            elif tid not in view_obj.targets and state is not None and not drained(tid, state):
                results.append(FakeHealthStatus(tid, state.port, hc_port(state.port), "draining",
                                                "Target.DeregistrationInProgress",
                                                DESCRIPTIONS["Target.DeregistrationInProgress"]))
            elif tid in view_obj.targets:
                # registered since the last poll: AWS shows it as registering
                port = view_obj.targets[tid].get("Port") or view_obj.port
                results.append(FakeHealthStatus(tid, port, hc_port(port), "initial", "Elb.RegistrationInProgress",
                                                DESCRIPTIONS["Elb.RegistrationInProgress"]))
            elif tid in by_id:
                results.append(by_id[tid])
        return results

    # -- the checker thread --------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self._tick()
            except Exception:  # the thread must survive a bad target group or a reset mid-tick
                LOG.exception("health-check tick failed")

    def _tick(self) -> None:
        now = time.monotonic()
        due: list[tuple[GroupView, TargetState]] = []
        counts: list[tuple[GroupView, int, int]] = []
        with self.lock:
            for group in self.groups.values():
                view = group.view
                if not view.load_balancers or not view.enabled:
                    continue
                interval = max(real_seconds(view.interval), MIN_REAL_INTERVAL)
                for state in group.targets.values():
                    if state.drain_until is None and not state.checking and state.next_check <= now:
                        state.checking = True
                        due.append((view, state))
                if group.next_counts <= now:
                    group.next_counts = now + interval
                    live = [s for s in group.targets.values() if s.drain_until is None]
                    counts.append((view, sum(s.state == "healthy" for s in live),
                                   sum(s.state == "unhealthy" for s in live)))
        for view, state in due:
            self._pool.submit(self._check, view, state)
        if self.on_counts:
            for view, healthy, unhealthy in counts:
                for lb_arn in view.load_balancers:
                    self.on_counts(lb_arn, view.arn, healthy, unhealthy)

    def _check(self, view: GroupView, state: TargetState) -> None:
        started = time.monotonic()
        try:
            ok, reason, description = probe(view, state)
        except Exception:  # an unexpected error is AWS's Elb.InternalError
            LOG.exception("health check of %s:%s failed", state.target_id, state.port)
            ok, reason, description = False, "Elb.InternalError", "Health checks failed due to an internal error"
        with self.lock:
            state.checking = False
            state.next_check = started + max(real_seconds(view.interval), MIN_REAL_INTERVAL)
            if state.drain_until is not None or state.state in ("unused", "unavailable"):
                return
            if ok:
                state.successes, state.failures = state.successes + 1, 0
                if state.state != "healthy" and state.successes >= view.healthy_threshold:
                    state.set("healthy", None)
                elif state.state == "initial":
                    state.set("initial", "Elb.InitialHealthChecking")
            else:
                state.successes, state.failures = 0, state.failures + 1
                if state.failures >= view.unhealthy_threshold:
                    state.set("unhealthy", reason, description)
                elif state.state == "initial":
                    state.set("initial", "Elb.InitialHealthChecking")


def probe(view: GroupView, state: TargetState) -> tuple[bool, str | None, str | None]:
    """One health check: (passed, reason code, description) per the TargetHealth reason codes."""
    port = state.port if view.port == "traffic-port" else int(view.port)
    if view.protocol == "HTTPS":
        # AWS does not validate target certificates on health checks.
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            state.target_id, port, timeout=view.timeout, context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection(state.target_id, port, timeout=view.timeout)
    try:
        conn.request("GET", view.path, headers={"Host": f"{state.target_id}:{port}",
                                                "User-Agent": "ELB-HealthChecker/2.0", "Connection": "close"})
        response = conn.getresponse()
        response.read()
        code = response.status
    except TimeoutError:
        return False, "Target.Timeout", "Request timed out"
    except (OSError, http.client.HTTPException) as exc:
        return False, "Target.FailedHealthChecks", f"Health checks failed: {exc.__class__.__name__}"
    finally:
        conn.close()
    if any(low <= code <= high for low, high in view.matcher):
        return True, None, None
    return False, "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]"
