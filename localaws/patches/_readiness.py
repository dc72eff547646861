"""Readiness of a release's new tasks with the data plane on (not a patch itself).

Shared by the two blue/green engines: CodeDeploy's (the replacement task set, codedeploy.EcsRun) and ECS's own
(the green service revision, ecs_bluegreen.Run). Neither moves traffic to new tasks before they are ready: the task
runner's tasks (``localaws/dataplane/tasks.py``) RUNNING and their targets healthy by the load balancer's real
health checks (``localaws/dataplane/alb_health.py``). With the data plane off nothing runs and nothing is checked:
new tasks are ready at once, as the control-plane emulation always had them.

AWS: CodeDeploy waits for the replacement task set to become healthy, 60 minutes at most ("What happens during an
Amazon ECS deployment", https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html); ECS
launches the green service revision's tasks while blue serves production and shifts traffic only once they pass
their health checks ("Amazon ECS blue/green service deployments workflow",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

from localaws import dataplane
from localaws.patches import elbv2 as elbv2_patch
from localaws.patches._shared import Wait

# At most this many AWS minutes for new tasks to be ready (CodeDeploy's documented limit: "The deployment timed out
# while waiting for the replacement task set to become healthy. This time out period is 60 minutes.").
READY_TIMEOUT_MINUTES = 60.0
# New tasks that fail (TaskFailedToStart, an essential container exiting, container health checks) before they are
# ready: at this many the release fails at once rather than at the timeout. 3 is the floor of ECS's own failed-task
# threshold (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html).
FAILED_TASK_LIMIT = 3
HEALTH_POLL_SECONDS = 0.2     # real seconds between readings of the new tasks and their targets


def real_tasks() -> bool:
    """True when the task runner runs tasks (data plane on, host able to run containers)."""
    if not dataplane.running("tasks"):
        return False
    from localaws.dataplane import tasks

    return tasks.active()


def real_health() -> bool:
    """True when the load balancer data plane health-checks targets."""
    return dataplane.running("alb")


def watched() -> bool:
    """True when readiness means something (tasks really run, or targets are really checked)."""
    return real_tasks() or real_health()


def wake_tasks() -> None:
    """Let the task runner reconcile now (a release changed which tasks are wanted)."""
    if dataplane.running("tasks"):
        from localaws.dataplane import tasks

        tasks.wake()


def task_failed(task: Any) -> bool:
    """A task that stopped without being asked to: it could not start, its essential container exited,
    or it failed its container health checks (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html)."""
    code = getattr(task, "stop_code", None)
    return code in ("TaskFailedToStart", "EssentialContainerExited") or (
        task.stopped_reason or "").startswith("Task failed container health checks")


def task_ip(task: Any) -> str:
    for attachment in getattr(task, "attachments", None) or []:
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return detail.get("value") or ""
    return ""


def group_in_use(elbv2: Any, target_group_arn: str) -> bool:
    """True when a listener (default action or rule) of the load balancers forwards to the group."""
    for load_balancer in list(elbv2.load_balancers.values()):
        for listener in list(load_balancer.listeners.values()):
            for _listener, rule in elbv2_patch.listener_action_sets(listener):
                if any(elbv2_patch.forwards_to(dict(a.data), target_group_arn) for a in rule.actions):
                    return True
    return False


class Reading:
    """Whether a release's new tasks are ready: ``get()`` -> ("ready" | "waiting" | "unhealthy" | "failed", what is
    wrong). ``tasks()`` gives the new tasks' moto models in launch order, ``wanted()`` how many must run,
    ``target_group()`` the group they register in (None while it is not known), ``noun`` names them in messages
    ("replacement", "green"). ``failed`` is the number of new tasks that failed at the last reading."""

    def __init__(self, elbv2: Any, tasks: Callable[[], list[Any]], wanted: Callable[[], int],
                 target_group: Callable[[], Any], noun: str, failed_limit: Callable[[], int] = lambda: FAILED_TASK_LIMIT):
        self.elbv2 = elbv2
        self.tasks, self.wanted, self.target_group = tasks, wanted, target_group
        self.noun = noun
        self.failed_limit = failed_limit
        self.failed = 0
        self._last: tuple[float, tuple[str, str]] | None = None

    def forget(self) -> None:
        """A reading from before (another listener setup) says nothing now."""
        self._last = None

    def get(self, cached: bool = False) -> tuple[str, str]:
        now = time.monotonic()
        if cached and self._last and now - self._last[0] < HEALTH_POLL_SECONDS:
            return self._last[1]
        reading = self._read()
        self._last = (now, reading)
        return reading

    def _read(self) -> tuple[str, str]:
        target_group = self.target_group()
        running_ips: list[str] | None = None
        if real_tasks():
            models = self.tasks()
            failed = [t for t in models if task_failed(t)]
            self.failed = len(failed)
            last = (f"task {failed[-1].id} stopped ({getattr(failed[-1], 'stop_code', '')}): "
                    f"{failed[-1].stopped_reason}") if failed else ""
            if len(failed) >= self.failed_limit():
                return "failed", f"{len(failed)} tasks failed; the last {last}"
            running = [t for t in models if t.last_status == "RUNNING" and t.desired_status == "RUNNING"]
            wanted = self.wanted()
            if len(running) < wanted:
                return "waiting", (f"{len(running)} of {wanted} {self.noun} tasks are RUNNING."
                                   + (f" The last stopped {last}" if last else ""))
            running_ips = [ip for ip in (task_ip(t) for t in running) if ip]
        if not real_health() or target_group is None:
            return "ready", ""
        live = [r for r in self.elbv2.describe_target_health(target_group.arn, []) if r.status not in ("draining",)]
        if running_ips is not None:
            by_id = {r.instance_id: r for r in live}
            if any(ip not in by_id for ip in running_ips):
                return "waiting", f"the {self.noun} tasks are not registered in target group {target_group.name} yet."
            live = [by_id[ip] for ip in running_ips]
        used = group_in_use(self.elbv2, target_group.arn)
        bad = [r for r in live if r.status == "unhealthy"]
        if bad:
            return "unhealthy", (f"Target {bad[0].instance_id}:{bad[0].port} in target group {target_group.name} "
                                 f"is unhealthy ({bad[0].reason}: {bad[0].description}).")
        # healthy, or health checks disabled ("unavailable": the load balancer routes to it); "unused"
        # counts only while no listener forwards to the group (its checks have not begun otherwise).
        ok = ("healthy", "unavailable") if used else ("healthy", "unavailable", "unused")
        pending = [r for r in live if r.status not in ok]
        if pending:
            return "waiting", (f"Target {pending[0].instance_id}:{pending[0].port} in target group "
                               f"{target_group.name} is {pending[0].status}.")
        return "ready", ""


def await_ready(reading: Reading, deadline: float, clock: Callable[[], float]) -> Generator[Wait, bool, tuple]:
    """Wait (in a run's generator: ``status, detail, timed_out = yield from await_ready(...)``) until the new tasks
    are ready or have failed, or the engine's clock reaches ``deadline`` (AWS minutes)."""
    reading.forget()
    while True:
        remaining = max(deadline - clock(), 0.0)
        timed_out = yield Wait(remaining, until=lambda: reading.get(cached=True)[0] in ("ready", "failed"),
                               label="replacement")
        status, detail = reading.get()
        if status == "ready":
            return status, detail, False
        if status == "failed" or timed_out:
            return status, detail, status != "failed"
