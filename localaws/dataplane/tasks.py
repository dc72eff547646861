"""The ECS task runner: services' tasks run as podman containers, one network namespace per task.

What ECS does (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html) and how it is emulated:

* The service scheduler keeps ``desiredCount`` tasks running: for a service with
  task sets (CODE_DEPLOY / EXTERNAL controllers) each PRIMARY/ACTIVE task set's
  ``computedDesiredCount`` of its task definition; for an ECS-native blue/green
  service (strategy BLUE_GREEN / LINEAR / CANARY) ``desiredCount`` tasks of each
  service revision its deployment wants, each in its own target group
  (``ecs_bluegreen.dataplane_tasks``); otherwise the service's ``desiredCount``
  of its task definition (a new task definition replaces the old tasks once the
  new ones run). A reconcile thread compares every second.
* A task moves PROVISIONING (namespace and address) → PENDING (containers
  created) → RUNNING → DEACTIVATING (deregistered from its target groups, waits
  for the deregistration delay) → STOPPING (SIGTERM, SIGKILL after
  ``stopTimeout``: ``podman stop -t``) → DEPROVISIONING → STOPPED.
* An essential container that exits stops its task (stopCode
  ``EssentialContainerExited``, reason "Essential container in task exited",
  the container's ``exitCode``); the scheduler starts a replacement. An
  essential container that fails its health check stops the task ("Task failed
  container health checks").
* An image that cannot be resolved stops the task with
  ``CannotPullContainerError: ...`` (stopCode ``TaskFailedToStart``); a service
  keeps retrying with back-off, as the scheduler's throttle logic does
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-throttle-logic.html).
  Unlike AWS, a *non-essential* container whose image cannot be resolved (a sidecar
  from a public registry, such as the X-Ray daemon) is skipped: the task runs without
  it, the container reported STOPPED with the CannotPullContainerError as its reason.
* RUNNING tasks are registered as ``ip`` targets (task IP, container port) in the
  target groups of their task set or service.

Differences from AWS: containers get ``AWS_ENDPOINT_URL`` (the endpoint through a
relay on the bridge gateway), fake credentials and ``AWS_REGION``/``AWS_DEFAULT_REGION``
in place of a task role's credentials; ``secrets`` are not resolved; tasks are
stopped at once (no deregistration wait) on reset and endpoint shutdown.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from localaws import dataplane
from localaws.dataplane import awslogs, images, netns, secrets
from localaws.dataplane.podman import PodmanError, podman, podman_json, preflight
from localaws.launcher import FAKE_CREDENTIALS

LOG = logging.getLogger("localaws.dataplane.tasks")
TICK = 1.0
USAGE_EVERY = 5.0  # at most this many real seconds between cgroup readings of the running tasks
FARGATE_STOP_TIMEOUT = 30  # seconds; Fargate's default stopTimeout (max 120)
# Fargate overrides only nofile: soft and hard 65535 (task definition parameters, "ulimits").
# A container cannot get more than the endpoint's own hard limit (no CAP_SYS_RESOURCE in
# a sandbox), and runc fails on an nproc above what it may set, so both are explicit.
_NOFILE = min(65535, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
DEFAULT_ULIMITS = [{"name": "nofile", "softLimit": _NOFILE, "hardLimit": _NOFILE},
                   {"name": "nproc", "softLimit": 4096, "hardLimit": 4096}]


def _usage_every() -> float:
    """Real seconds between cgroup readings: three per AWS minute (the ECS agent reports every 20 s), so a
    one-minute period has datapoints at any time scale; every 0.5 s at the shortest, 5 s at the longest."""
    try:
        from localaws.dataplane import metrics
    except ImportError:
        return USAGE_EVERY
    return min(USAGE_EVERY, max(0.5, metrics.seconds_per_minute() / 3))


def _now():
    from moto.core.utils import utcnow

    return utcnow()


def _lock():
    from localaws.patches._shared import LOCK

    return LOCK


def _task_model_class():
    from moto.ecs.models import Task

    class LocalTaskModel(Task):
        """moto's Task (so DescribeTasks keeps AWS's shape) whose status the runner sets:
        moto's state manager must not advance it on each describe."""

        @property
        def status(self) -> str:
            return self._status

        @status.setter
        def status(self, value: str) -> None:
            self._status = value

        def advance(self) -> None:
            pass

    return LocalTaskModel


@dataclass
class ContainerRun:
    definition: dict
    model: Any  # moto Container
    container_id: str = ""
    health: str = "UNKNOWN"
    health_failures: int = 0
    health_due: float = 0.0
    health_checking: bool = False
    started: float = 0.0
    exited: bool = False
    follower: Any = None

    @property
    def name(self) -> str:
        return self.definition["name"]

    @property
    def essential(self) -> bool:
        return self.definition.get("essential", True) is not False


@dataclass
class LocalTask:
    model: Any  # LocalTaskModel
    key: tuple[str, str]  # (service ARN, task set ID or ""); ("", task ARN) for RunTask
    task_definition: Any
    network_configuration: dict | None
    load_balancers: list[dict]
    account: str
    region: str
    netns: str = ""
    ip: str = ""
    containers: list[ContainerRun] = field(default_factory=list)
    targets: list[tuple[str, dict]] = field(default_factory=list)
    stopping: bool = False
    starting: bool = False
    usage: tuple[float, float] | None = None  # (monotonic time, CPU seconds) of the last reading
    replace: bool = True

    @property
    def arn(self) -> str:
        return self.model.task_arn


class TaskEngine:
    def __init__(self) -> None:
        self.tasks: dict[str, LocalTask] = {}
        self.problem: str | None = None
        self.network: netns.TaskNetwork | None = None
        self.relay: netns.EndpointRelay | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff: dict[tuple[str, str], tuple[int, float]] = {}  # key -> (failures, not before)
        self._workers: set[threading.Thread] = set()
        self._last_desired: dict[tuple[str, str], dict] = {}
        self._usage_due = 0.0
        self._generation = 0  # bumped by reset: workers of an older generation leave moto alone

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.problem = preflight()
        if self.problem:
            LOG.error("ECS task runner off: %s", self.problem)
            print(f"localaws: ECS tasks will not run: {self.problem}", file=sys.stderr, flush=True)
            return
        remove_stale_containers()
        self.network = netns.TaskNetwork()
        self.network.setup()
        port = int(os.environ.get("MOTO_PORT") or 0)
        if port:
            self.relay = netns.EndpointRelay(self.network.gateway, port)
            self.relay.start()
        _patch_ecs_backend()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="localaws-ecs-tasks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(10)
        self._discard_all()
        if self.relay:
            self.relay.stop()
        if self.network:
            self.network.teardown()

    def reset(self) -> None:
        with _lock():
            self._generation += 1
            self._discard_all(wait=False)
            self._backoff.clear()

    def wake(self) -> None:
        self._wake.set()

    def _discard_all(self, wait: bool = True) -> None:
        """Remove every container and namespace of this endpoint's tasks at once (reset, shutdown).

        A task still starting cleans up after itself (its worker sees the new generation)."""
        tasks, self.tasks = list(self.tasks.values()), {}
        ids = [c.container_id for t in tasks for c in t.containers if c.container_id]
        for task in tasks:
            task.stopping = True
            if self.network and task.netns and not task.starting:
                self.network.release(task.netns)
        if wait:
            podman("rm", "-f", "-t", "0", "--filter", f"label=localaws.pid={os.getpid()}", check=False,
                   timeout=120)
        elif ids:
            # vfs removes a container's copy of the image slowly: not while /moto-api/reset waits.
            threading.Thread(target=podman, args=("rm", "-f", "-t", "0", *ids),
                             kwargs={"check": False, "timeout": 300}, daemon=True).start()

    # -- the reconcile loop ----------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile()
            except Exception:  # the scheduler must survive any one bad tick
                LOG.exception("ECS task reconcile failed")
            self._wake.wait(TICK)
            self._wake.clear()

    def reconcile(self) -> None:
        states = {c["Id"]: c for c in podman_json("ps", "-a", "--filter", f"label=localaws.pid={os.getpid()}",
                                                  "--format", "json")}
        health_due: list[tuple[LocalTask, ContainerRun]] = []
        with _lock():
            for task in list(self.tasks.values()):
                self._observe(task, states)
                if task.model.last_status == "RUNNING" and not task.stopping:
                    health_due.extend((task, c) for c in task.containers
                                      if c.definition.get("healthCheck") and not c.health_checking
                                      and not c.exited and time.monotonic() >= c.health_due)
            for key, spec in self._desired().items():
                self._converge(key, spec)
            for task in list(self.tasks.values()):
                if task.key[0] and task.key not in self._last_desired and not task.stopping:
                    self._request_stop(task, "Scaling activity initiated by (deployment removed)",
                                       "ServiceSchedulerInitiated")
            self._update_counts()
        for task, container in health_due:
            container.health_checking = True
            self._spawn(self._health_check, task, container)
        if time.monotonic() >= self._usage_due:
            self._usage_due = time.monotonic() + _usage_every()
            self._report_usage(states)

    def _report_usage(self, states: dict[str, dict]) -> None:
        """Each service task's CPU and memory, from its containers' cgroups, to the metrics engine
        (AWS/ECS CPUUtilization / MemoryUtilization per ClusterName+ServiceName: percent of the
        task's reservation, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html)."""
        try:
            from localaws.dataplane import metrics
        except ImportError:
            return
        if not dataplane.running("metrics"):
            return
        for task in list(self.tasks.values()):
            if task.model.last_status != "RUNNING" or task.stopping or not task.key[0]:
                continue
            cpu_seconds, memory = 0.0, 0
            try:
                for container in task.containers:
                    pid = (states.get(container.container_id) or {}).get("Pid")
                    if pid and not container.exited:
                        used = metrics.cgroup_usage(_cgroup_of(int(pid)))
                        cpu_seconds += used[0]
                        memory += used[1]
            except (OSError, ValueError) as exc:
                LOG.debug("cgroup of task %s: %s", task.model.id, exc)
                continue
            now, previous = time.monotonic(), task.usage
            task.usage = (now, cpu_seconds)
            if previous is None:
                continue
            cpu, mem = metrics.utilization(cpu_seconds - previous[1], now - previous[0],
                                           float(task.task_definition.cpu or 1024), memory,
                                           float(task.task_definition.memory or 0))
            metrics.record_service_usage(task.model.cluster_name, task.key[0].split("/")[-1], cpu, mem)

    def _spawn(self, fn, *args) -> None:
        generation = self._generation

        def run():
            try:
                fn(*args, generation)
            except Exception:  # a worker's failure is logged; the loop goes on
                LOG.exception("ECS task worker %s failed", fn.__name__)
            finally:
                self._workers.discard(threading.current_thread())

        thread = threading.Thread(target=run, daemon=True)
        self._workers.add(thread)
        thread.start()

    # -- desired state -----------------------------------------------------------------------
    def _desired(self) -> dict[tuple[str, str], dict]:
        from moto.ecs.models import ecs_backends

        desired: dict[tuple[str, str], dict] = {}
        for account in list(ecs_backends.keys()):
            for region in list(ecs_backends[account].keys()):
                backend = ecs_backends[account][region]
                for service in list(backend.services.values()):
                    if service.status != "ACTIVE" or getattr(service, "scheduling_strategy", "REPLICA") == "DAEMON":
                        continue
                    base = {"backend": backend, "service": service, "account": account, "region": region}
                    if service.task_sets:
                        for task_set in service.task_sets:
                            if task_set.status not in ("PRIMARY", "ACTIVE"):
                                continue
                            desired[(service.arn, task_set.id)] = dict(
                                base, task_set=task_set, task_definition=task_set.task_definition,
                                count=int(getattr(task_set, "computed_desired_count", 0) or 0),
                                network=task_set.network_configuration or service.network_configuration,
                                load_balancers=list(task_set.load_balancers or []),
                                started_by=task_set.id)
                    elif service.task_definition and (revisions := _bluegreen_tasks(backend, service)) is not None:
                        # ECS-native blue/green: the blue and green service revisions' tasks, each in its group
                        for revision in revisions:
                            desired[(service.arn, revision["key"])] = dict(
                                base, task_set=None, task_definition=revision["task_definition"],
                                count=revision["count"], network=revision["network"],
                                load_balancers=revision["load_balancers"], started_by=revision["started_by"])
                    elif service.task_definition:
                        deployments = getattr(service, "deployments", None) or []
                        started_by = f"ecs-svc/{deployments[0].get('id', '')}" if deployments else "ecs-svc"
                        desired[(service.arn, "")] = dict(
                            base, task_set=None, task_definition=service.task_definition,
                            count=int(service.desired_count or 0), network=service.network_configuration,
                            load_balancers=list(service.load_balancers or []), started_by=started_by)
        self._last_desired = desired
        return desired

    def _converge(self, key: tuple[str, str], spec: dict) -> None:
        mine = [t for t in self.tasks.values() if t.key == key and not t.stopping]
        wanted_td = spec["task_definition"]
        current = [t for t in mine if t.task_definition.arn == wanted_td]
        outdated = [t for t in mine if t.task_definition.arn != wanted_td]
        missing = spec["count"] - len(current)
        _failures, not_before = self._backoff.get(key, (0, 0.0))
        if missing > 0 and time.monotonic() >= not_before:
            for _ in range(missing):
                self._launch(key, spec)
        for extra in sorted(current, key=lambda t: t.model.started_at or _now(), reverse=True)[:max(-missing, 0)]:
            self._request_stop(extra, f"Scaling activity initiated by (deployment {spec['started_by']})",
                               "ServiceSchedulerInitiated")
        # Rolling update (ECS controller): old tasks go once the new ones run.
        if outdated and sum(t.model.last_status == "RUNNING" for t in current) >= spec["count"]:
            for task in outdated:
                self._request_stop(task, f"Scaling activity initiated by (deployment {spec['started_by']})",
                                   "ServiceSchedulerInitiated")

    def _update_counts(self) -> None:
        by_key: dict[tuple[str, str], list[LocalTask]] = {}
        for task in self.tasks.values():
            if task.model.last_status != "STOPPED":
                by_key.setdefault(task.key, []).append(task)
        services: dict[str, list[int]] = {}
        for key, spec in self._last_desired.items():
            tasks = by_key.get(key, [])
            running = sum(t.model.last_status == "RUNNING" and not t.stopping for t in tasks)
            pending = sum(t.model.last_status in ("PROVISIONING", "PENDING") for t in tasks)
            if spec["task_set"] is not None:
                spec["task_set"].running_count = running
                spec["task_set"].pending_count = pending
            counts = services.setdefault(key[0], [0, 0])
            counts[0] += running
            counts[1] += pending
            service = spec["service"]
            service.running_count, service.pending_count = counts

    # -- launching ---------------------------------------------------------------------------
    def _launch(self, key: tuple[str, str], spec: dict) -> None:
        backend = spec["backend"]
        task_definition = backend.describe_task_definition(spec["task_definition"])
        service = spec["service"]
        cluster = backend._get_cluster(service.cluster_name)
        model = new_task_model(backend, cluster, task_definition, spec["network"],
                               group=f"service:{service.name}", started_by=spec["started_by"],
                               launch_type=service.launch_type or "FARGATE",
                               platform_version=getattr(service, "platform_version", None))
        task = LocalTask(model=model, key=key, task_definition=task_definition,
                         network_configuration=spec["network"], load_balancers=spec["load_balancers"],
                         account=spec["account"], region=spec["region"])
        self.adopt(task)

    def adopt(self, task: LocalTask) -> None:
        """Track ``task`` (its model already in moto's backend) and start it in a worker."""
        backend = task.model._backend
        backend.tasks.setdefault(task.model.cluster_name, {})[task.arn] = task.model
        task.containers = [ContainerRun(definition=d, model=_container_model(task.model, task.task_definition, d))
                           for d in task.task_definition.container_definitions]
        task.model.containers = [c.model for c in task.containers]
        self.tasks[task.arn] = task
        task.starting = True
        self._spawn(self._start_task, task)

    def _start_task(self, task: LocalTask, generation: int) -> None:
        """PROVISIONING → PENDING → RUNNING. A stop requested meanwhile is carried out here, once
        the containers exist (so none is left behind); after a reset, everything made is removed."""
        try:
            outcome = self._provision(task, generation)
        except Exception as exc:  # any failure stops the task, not the runner
            LOG.exception("task %s failed to start", task.model.id)
            outcome = f"CannotStartContainerError: {exc}"
        with _lock():
            task.starting = False
            stale = generation != self._generation
            if not stale and outcome is None and not task.stopping:
                task.model.last_status = "RUNNING"
                task.model.started_at = _now()
                task.model.connectivity = "CONNECTED"
                task.model.connectivity_at = task.model.started_at
                self._backoff.pop(task.key, None)
                self._register_targets(task)
                LOG.info("task %s RUNNING at %s", task.model.id, task.ip)
                return
            if not stale and outcome is not None:
                self._fail(task, outcome)
        if stale:
            ids = [c.container_id for c in task.containers if c.container_id]
            if ids:
                podman("rm", "-f", "-t", "0", *ids, check=False)
            if self.network and task.netns:
                self.network.release(task.netns)
            return
        self._teardown_task(task, 0.0, generation)

    def _provision(self, task: LocalTask, generation: int) -> str | None:
        """Namespace, images, log streams and containers; returns a stop reason on failure."""
        assert self.network is not None
        try:
            name, ip = self.network.allocate()
        except Exception as exc:  # noqa: BLE001
            return f"ResourceInitializationError: {exc}"
        with _lock():
            task.netns, task.ip = name, ip
            if generation != self._generation:
                return None
            task.netns, task.ip = name, ip
            _set_task_address(task, ip)
            task.model.last_status = "PENDING"
        try:
            plans = []
            task.model.pull_started_at = _now()
            for container in task.containers:
                try:
                    image = images.resolve_image(container.definition["image"])
                except images.ImageNotFound as exc:
                    if container.essential:
                        raise
                    _skip_container(task, container, exc)
                    continue
                with _lock():
                    target = awslogs.awslogs_target(container.definition, task.model.id, task.account, task.region)
                    secret_env = secrets.resolve(container.definition)
                plans.append((container, image, target, secret_env))
            task.model.pull_stopped_at = _now()
        except images.ImageNotFound as exc:
            return f"CannotPullContainerError: {exc}"
        except awslogs.LogSetupError as exc:
            return f"ResourceInitializationError: {exc}"
        except secrets.SecretError as exc:
            return str(exc)
        for container, image, target, secret_env in plans:
            if task.stopping or generation != self._generation:
                break
            try:
                container.container_id = podman(*run_args(task, container, image, self._endpoint_env(task), secret_env),
                                                timeout=300).stdout.strip()
            except PodmanError as exc:
                return f"CannotStartContainerError: {exc.stderr}"
            container.started = time.monotonic()
            container.health_due = time.monotonic() + _health_timing(container.definition)[0]
            container.model.last_status = "RUNNING"
            container.model.runtime_id = container.container_id
            if target:
                container.follower = awslogs.LogFollower(container.container_id, *target, lock=_lock())
                container.follower.start()
        return None

    def _endpoint_env(self, task: LocalTask) -> dict[str, str]:
        env = dict(FAKE_CREDENTIALS, AWS_REGION=task.region, AWS_DEFAULT_REGION=task.region)
        if self.relay:
            env["AWS_ENDPOINT_URL"] = f"http://{self.relay.listen[0]}:{self.relay.listen[1]}"
        return env

    def _fail(self, task: LocalTask, reason: str) -> None:
        """The task could not start (under the lock): it stops with ``reason`` (stopCode
        TaskFailedToStart); the service backs off before retrying."""
        LOG.warning("task %s failed to start: %s", task.model.id, reason)
        failures, _ = self._backoff.get(task.key, (0, 0.0))
        self._backoff[task.key] = (failures + 1, time.monotonic() + min(2 ** failures, 60))
        task.stopping = True
        task.model.desired_status = "STOPPED"
        task.model.stop_code = "TaskFailedToStart"
        task.model.stopped_reason = reason
        task.model.stopping_at = _now()

    # -- observing ---------------------------------------------------------------------------
    def _observe(self, task: LocalTask, states: dict[str, dict]) -> None:
        for container in task.containers:
            state = states.get(container.container_id) if container.container_id else None
            if not state or container.exited or state.get("State") not in ("exited", "stopped"):
                continue
            container.exited = True
            container.model.exitCode = int(state.get("ExitCode", 0))
            container.model.last_status = "STOPPED"
            if container.essential and not task.stopping and task.model.last_status == "RUNNING":
                self._request_stop(task, "Essential container in task exited", "EssentialContainerExited")

    def _health_check(self, task: LocalTask, container: ContainerRun, generation: int) -> None:
        """One run of the container's health check (``podman healthcheck run``), then the
        HEALTHY / UNHEALTHY rules of the task definition's healthCheck (interval, retries, startPeriod)."""
        interval, _timeout, retries, start_period = _health_timing(container.definition)
        proc = podman("healthcheck", "run", container.container_id, check=False, timeout=_timeout + 30)
        with _lock():
            container.health_checking = False
            container.health_due = time.monotonic() + interval
            if generation != self._generation or task.stopping or container.exited:
                return
            in_grace = time.monotonic() - container.started < start_period
            if proc.returncode == 0:
                container.health, container.health_failures = "HEALTHY", 0
            elif not in_grace:
                container.health_failures += 1
                if container.health_failures >= retries:
                    container.health = "UNHEALTHY"
            container.model.health_status = container.health
            task.model.health_status = _task_health(task)
            if task.model.health_status == "UNHEALTHY" and task.replace:
                self._request_stop(task, "Task failed container health checks", "ServiceSchedulerInitiated")

    # -- stopping ----------------------------------------------------------------------------
    def request_stop(self, task_arn: str, reason: str, code: str = "UserInitiated") -> Any | None:
        with _lock():
            task = self.tasks.get(task_arn)
            if task is None:
                return None
            self._request_stop(task, reason, code)
            return task.model

    def _request_stop(self, task: LocalTask, reason: str, code: str) -> None:
        if task.stopping:
            return
        task.stopping = True
        task.model.desired_status = "STOPPED"
        task.model.stopped_reason = reason
        task.model.stop_code = code
        task.model.stopping_at = _now()
        self._wake.set()
        if task.starting:
            return  # its start worker stops it once its containers exist
        wait = 0.0
        if task.model.last_status == "RUNNING":
            task.model.last_status = "DEACTIVATING"
            wait = self._deregister_targets(task)
        self._spawn(self._teardown_task, task, wait)

    def _teardown_task(self, task: LocalTask, drain_wait: float, generation: int) -> None:
        if drain_wait > 0:
            time.sleep(drain_wait)
        with _lock():
            if generation != self._generation:
                return
            if task.model.last_status not in ("STOPPED",):
                task.model.last_status = "STOPPING"
        started = [c for c in task.containers if c.container_id]
        if started:
            stop_timeout = max(int(c.definition.get("stopTimeout") or FARGATE_STOP_TIMEOUT) for c in started)
            podman("stop", "-t", str(stop_timeout), *[c.container_id for c in reversed(started)],
                   check=False, timeout=stop_timeout + 60)
            for container in started:
                if container.follower:
                    container.follower.join(10)
        inspected = {i["Id"]: i for i in podman_json("inspect", *[c.container_id for c in started])} \
            if started else {}
        with _lock():
            if generation != self._generation:
                return
            task.model.last_status = "DEPROVISIONING"
            for container in started:
                state = (inspected.get(container.container_id) or {}).get("State") or {}
                if not container.exited:
                    container.model.exitCode = int(state.get("ExitCode", 0))
                    container.exited = True
                container.model.last_status = "STOPPED"
        if started:
            podman("rm", "-f", *[c.container_id for c in started], check=False)
        if self.network and task.netns:
            self.network.release(task.netns)
        shutil.rmtree(_task_dir(task), ignore_errors=True)  # its ephemeral volumes
        with _lock():
            if generation != self._generation:
                return
            for container in task.containers:
                container.model.last_status = "STOPPED"
            task.model.last_status = "STOPPED"
            task.model.stopped_at = task.model.execution_stopped_at = _now()
            self.tasks.pop(task.arn, None)
        self._wake.set()
        LOG.info("task %s STOPPED: %s", task.model.id, task.model.stopped_reason)

    # -- target groups -----------------------------------------------------------------------
    def _register_targets(self, task: LocalTask) -> None:
        """ECS registers an awsvpc task's IP and container port in each ``ip`` target group of the
        service once the task runs (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-load-balancing.html)."""
        from moto.elbv2.models import elbv2_backends

        elbv2 = elbv2_backends[task.account][task.region]
        for lb in task.load_balancers:
            arn = lb.get("targetGroupArn")
            target_group = elbv2.target_groups.get(arn)
            if target_group is None or target_group.target_type != "ip" or not task.ip:
                continue
            target = {"Id": task.ip, "Port": int(lb.get("containerPort") or target_group.port)}
            elbv2.register_targets(arn, [target])
            task.targets.append((arn, target))

    def _deregister_targets(self, task: LocalTask) -> float:
        """Deregister the task's targets; returns how long (real seconds) the task stays DEACTIVATING: until
        the latest deregistration delay of its targets ends, as DeregisterTargets recorded it (the same deadline
        the load balancer's health checker drains the targets by, localaws/patches/elbv2.py ``drain_until``)."""
        from moto.elbv2.models import elbv2_backends

        from localaws.dataplane.alb_health import real_seconds
        from localaws.patches.elbv2 import drain_until

        elbv2 = elbv2_backends[task.account][task.region]
        now = time.monotonic()
        until = now
        for arn, target in task.targets:
            target_group = elbv2.target_groups.get(arn)
            if target_group is None:
                continue
            try:
                elbv2.deregister_targets(arn, [target])
            except Exception as exc:  # noqa: BLE001 - already gone is fine
                LOG.debug("deregister %s from %s: %s", target, arn, exc)
            recorded = drain_until(target_group, target["Id"])
            if recorded is None:  # the call failed before recording: the group's delay from now
                attrs = getattr(target_group, "attributes", {}) or {}
                recorded = now + real_seconds(float(attrs.get("deregistration_delay.timeout_seconds", 300)))
            until = max(until, recorded)
        task.targets = []
        return until - now


def _bluegreen_tasks(backend: Any, service: Any) -> list[dict] | None:
    """What ECS-native blue/green (localaws/patches/ecs_bluegreen.py) wants run for ``service``, or None."""
    try:
        from localaws.patches import ecs_bluegreen
    except ImportError:
        return None
    return ecs_bluegreen.dataplane_tasks(backend, service)


# -- moto models -------------------------------------------------------------------------------
class _AwsvpcLess:
    """A task definition seen as non-awsvpc, for a task whose service has no subnet (moto's Task
    would need one to make its ENI); the runner adds the attachment itself."""

    def __init__(self, task_definition: Any):
        self._td = task_definition
        self.network_mode = "bridge"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._td, name)


def new_task_model(backend: Any, cluster: Any, task_definition: Any, network: dict | None, *, group: str,
                   started_by: str, launch_type: str, platform_version: str | None) -> Any:
    cls = _task_model_class()
    awsvpc = dict((network or {}).get("awsvpcConfiguration") or {})
    awsvpc.setdefault("securityGroups", [])
    kwargs = {"cluster": cluster, "container_instance_arn": None,
              "resource_requirements": None,  # Fargate: no container instance to account on
              "backend": backend, "group": group, "launch_type": launch_type, "started_by": started_by,
              "platform_version": platform_version}
    model = None
    if task_definition.network_mode == "awsvpc" and awsvpc.get("subnets"):
        try:
            model = cls(task_definition=task_definition, networking_configuration={"awsvpcConfiguration": awsvpc},
                        **kwargs)
        except Exception as exc:  # noqa: BLE001 - a subnet moto does not know: no ENI, still a task
            LOG.debug("ENI for task not created: %s", exc)
    if model is None:
        model = cls(task_definition=_AwsvpcLess(task_definition), networking_configuration=None, **kwargs)
        model.task_definition_arn = task_definition.arn
        if task_definition.network_mode == "awsvpc":
            model.attachments.append({"id": model.id, "type": "ElasticNetworkInterface", "status": "ATTACHED",
                                      "details": [{"name": "privateIPv4Address", "value": ""}]})
    model.status = "PROVISIONING"
    model.desired_status = "RUNNING"
    model.health_status = "UNKNOWN"
    model.created_at = _now()
    model.started_at = None
    model.cpu = getattr(task_definition, "cpu", None)
    model.memory = getattr(task_definition, "memory", None)
    model.availability_zone = f"{cluster.region_name}a"
    return model


def _container_model(task_model: Any, task_definition: Any, definition: dict) -> Any:
    from moto.ecs.models import Container

    model = Container(task_definition)
    model.task_arn = task_model.task_arn
    model.name = definition.get("name")
    model.image = definition.get("image")
    model.cpu = definition.get("cpu", 0)
    model.memory = definition.get("memory")
    model.environment = definition.get("environment")
    model.command = definition.get("command")
    model.exitCode = None
    model.health_status = "UNKNOWN"
    model.essential = definition.get("essential", True) is not False
    return model


def _skip_container(task: LocalTask, container: ContainerRun, exc: Exception) -> None:
    """A non-essential container whose image is not available here (a sidecar from a public registry, such as the
    X-Ray daemon of ``stack_tracing``: this endpoint pulls nothing from the internet) is not run, and the task runs
    without it. AWS would pull it, or fail the whole task (CannotPullContainerError) when it cannot; here it is
    reported STOPPED with that reason, as a container that could not start."""
    LOG.warning("task %s: non-essential container %s not run: %s", task.model.id, container.name, exc)
    container.exited = True
    container.model.last_status = "STOPPED"
    container.model.reason = f"CannotPullContainerError: {exc} (localaws: non-essential container skipped)"


def _set_task_address(task: LocalTask, ip: str) -> None:
    """The task's real address in its ENI attachment, its containers and the ENI moto made."""
    for attachment in task.model.attachments:
        for detail in attachment.get("details", []):
            if detail["name"] == "privateIPv4Address":
                detail["value"] = ip
            if detail["name"] == "networkInterfaceId":
                _set_eni_address(task, detail["value"], ip)
        for container in task.containers:
            container.model.network_interfaces = [{"attachmentId": attachment["id"], "privateIpv4Address": ip}]


def _set_eni_address(task: LocalTask, eni_id: str, ip: str) -> None:
    from moto.ec2.models import ec2_backends

    try:
        eni = ec2_backends[task.account][task.region].get_network_interface(eni_id)
    except Exception:  # noqa: BLE001 - the ENI is a courtesy for DescribeNetworkInterfaces
        return
    eni.private_ip_address = ip
    if getattr(eni, "private_ip_addresses", None):
        eni.private_ip_addresses[0]["PrivateIpAddress"] = ip


def _cgroup_of(pid: int) -> str:
    """A process's CPU-accounting cgroup (the v2 path, or v1's cpuacct one) from /proc/<pid>/cgroup."""
    unified = ""
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():  # noqa: SIM115 - a tiny proc file
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            return path
        if controllers == "":
            unified = path
    return unified


def _task_health(task: LocalTask) -> str:
    """ECS: UNHEALTHY if an essential container is; HEALTHY if every essential container with a
    health check is; otherwise UNKNOWN (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/healthcheck.html)."""
    checked = [c for c in task.containers if c.essential and c.definition.get("healthCheck")]
    if any(c.health == "UNHEALTHY" for c in checked):
        return "UNHEALTHY"
    if checked and all(c.health == "HEALTHY" for c in checked):
        return "HEALTHY"
    return "UNKNOWN"


def _health_timing(definition: dict) -> tuple[int, int, int, int]:
    """(interval, timeout, retries, startPeriod) with ECS's defaults 30, 5, 3, 0."""
    hc = definition.get("healthCheck") or {}
    return (int(hc.get("interval") or 30), int(hc.get("timeout") or 5), int(hc.get("retries") or 3),
            int(hc.get("startPeriod") or 0))


def run_args(task: LocalTask, container: ContainerRun, image: str, injected_env: dict[str, str],
             secret_env: dict[str, str] | None = None) -> list[str]:
    """``podman run`` arguments for one container definition of ``task``
    (container definition parameters: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html);
    ``secret_env`` holds the values of its ``secrets`` (localaws/dataplane/secrets.py)."""
    d = container.definition
    args = ["run", "-d", "--pull", "never", "--name", f"localaws-{task.model.id}-{d['name']}",
            "--label", "localaws=1", "--label", f"localaws.pid={os.getpid()}",
            "--label", f"localaws.task={task.model.id}", "--label", f"localaws.container={d['name']}",
            "--network", f"ns:/run/netns/{task.netns}", "--hostname", f"ip-{task.ip.replace('.', '-')}"]
    for key, value in (d.get("dockerLabels") or {}).items():
        args += ["--label", f"{key}={value}"]
    env = {e["name"]: e.get("value", "") for e in d.get("environment") or []}
    env.update(secret_env or {})
    env.update({k: v for k, v in injected_env.items() if k not in env})
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    if d.get("user"):
        args += ["--user", str(d["user"])]
    if d.get("workingDirectory"):
        args += ["--workdir", d["workingDirectory"]]
    if d.get("entryPoint"):
        args += ["--entrypoint", json.dumps(d["entryPoint"])]
    if d.get("readonlyRootFilesystem"):
        # Fargate gives no writable path but volumes: no tmpfs on /tmp, /run (podman's default).
        args += ["--read-only", "--read-only-tmpfs=false"]
    volumes = {v.get("name"): v for v in task.task_definition.volumes or []}
    for mount in d.get("mountPoints") or []:
        # Fargate task storage is ephemeral: a per-task directory shared by the task's containers,
        # root-owned 0755 unless the image declares the path a VOLUME (images.seed_volume).
        host = _task_dir(task) / "volumes" / mount.get("sourceVolume", "default")
        host.mkdir(parents=True, exist_ok=True)
        if mount.get("sourceVolume") in volumes:
            images.seed_volume(image, mount["containerPath"], host)
            args += ["--volume", f"{host}:{mount['containerPath']}:{'ro' if mount.get('readOnly') else 'rw'}"]
    ulimits = {u["name"]: u for u in DEFAULT_ULIMITS}
    ulimits.update({u["name"]: u for u in d.get("ulimits") or []})
    for u in ulimits.values():
        args += ["--ulimit", f"{u['name']}={u['softLimit']}:{u['hardLimit']}"]
    linux = d.get("linuxParameters") or {}
    caps = linux.get("capabilities") or {}
    for cap in caps.get("drop") or []:
        args += ["--cap-drop", cap]
    for cap in caps.get("add") or []:
        args += ["--cap-add", cap]
    if linux.get("initProcessEnabled"):
        args += ["--init"]
    memory = d.get("memory") or getattr(task.task_definition, "memory", None)
    if memory:
        args += ["--memory", f"{int(memory)}m"]
    stop_timeout = int(d.get("stopTimeout") or FARGATE_STOP_TIMEOUT)
    args += ["--stop-timeout", str(stop_timeout), "--stop-signal", "SIGTERM"]
    hc = d.get("healthCheck")
    if hc and hc.get("command"):
        _interval, timeout, retries, start_period = _health_timing(d)
        # podman schedules no checks itself (no systemd timers here): the runner calls
        # `podman healthcheck run` on the task definition's interval.
        args += ["--health-cmd", _podman_health_cmd(hc["command"]), "--health-interval", "disable",
                 "--health-timeout", f"{timeout}s", "--health-retries", str(retries),
                 "--health-start-period", f"{start_period}s"]
    args.append(image)
    args += [str(a) for a in d.get("command") or []]
    return args


def _podman_health_cmd(command: list[str]) -> str:
    """The task definition's healthCheck command as podman 4.3 takes it: ``CMD-SHELL`` as a plain
    string (podman runs it with a shell), ``CMD`` as a JSON array of the argv without the ``CMD``
    marker (podman adds it; given with the marker, it splits the whole array on spaces)."""
    kind, *rest = [str(part) for part in command] or ["NONE"]
    if kind == "CMD-SHELL":
        return " ".join(rest)
    if kind == "CMD":
        return json.dumps(rest)
    return json.dumps([kind, *rest])  # no marker: an argv, as podman reads a JSON array


def _task_dir(task: LocalTask):
    from localaws.dataplane.podman import containers_dir

    return containers_dir() / "tasks" / task.model.id


def remove_stale_containers() -> int:
    """Remove containers of endpoints that are gone (label ``localaws=1``, owner pid not alive)."""
    stale = []
    for c in podman_json("ps", "-a", "--filter", "label=localaws=1", "--format", "json"):
        pid = (c.get("Labels") or {}).get("localaws.pid", "")
        if not pid.isdigit() or not netns._pid_alive(int(pid)):
            stale.append(c["Id"])
    if stale:
        podman("rm", "-f", "-t", "0", *stale, check=False)
    return len(stale)


# -- moto backend hooks (installed when the engine starts) ------------------------------------
def _patch_ecs_backend() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    if getattr(EC2ContainerServiceBackend, "_localaws_tasks", False):
        return
    EC2ContainerServiceBackend._localaws_tasks = True
    original_stop_task = EC2ContainerServiceBackend.stop_task
    original_list_tasks = EC2ContainerServiceBackend.list_tasks
    original_run_task = EC2ContainerServiceBackend.run_task

    def stop_task(self, cluster_str, task_str, reason):
        """StopTask: SIGTERM now, STOPPED when the containers are (stopCode UserInitiated)."""
        cluster = self._get_cluster(cluster_str)
        for arn in list(ENGINE.tasks):
            if arn.endswith(task_str.split("/")[-1]) and ENGINE.tasks[arn].model.cluster_name == cluster.name:
                return ENGINE.request_stop(arn, reason or "Task stopped by user", "UserInitiated")
        return original_stop_task(self, cluster_str, task_str, reason)

    def list_tasks(self, cluster_str=None, container_instance=None, family=None, started_by=None,
                   service_name=None, desiredStatus=None):
        """ListTasks: ``serviceName`` filters on the task's group ``service:<name>``; without
        ``desiredStatus`` only RUNNING-desired tasks are listed (ListTasks API reference)."""
        tasks = original_list_tasks(self, cluster_str, container_instance, family, started_by, service_name,
                                    desiredStatus or "RUNNING")
        if service_name:
            tasks = [t for t in tasks if t.group == f"service:{service_name.split('/')[-1]}"]
        return tasks

    def run_task(self, *args, **kwargs):
        """RunTask: each task runs as containers too (standalone tasks are not replaced)."""
        tasks = original_run_task(self, *args, **kwargs)
        cls = _task_model_class()
        for model in tasks:
            model.__class__ = cls
            model.status = "PROVISIONING"
            model.created_at = _now()
            model.started_at = None
            model.health_status = "UNKNOWN"
            task_definition = self.describe_task_definition(model.task_definition_arn)
            network = getattr(model, "network_configuration", None)
            task = LocalTask(model=model, key=("", model.task_arn), task_definition=task_definition,
                             network_configuration=network, load_balancers=[], account=self.account_id,
                             region=self.region_name, replace=False)
            ENGINE.adopt(task)
        return tasks

    EC2ContainerServiceBackend.stop_task = stop_task
    EC2ContainerServiceBackend.list_tasks = list_tasks
    EC2ContainerServiceBackend.run_task = run_task


ENGINE = TaskEngine()


def active() -> bool:
    """True when the runner runs tasks (data plane on, host able to run containers)."""
    return dataplane.running("tasks") and ENGINE.problem is None


def wake() -> None:
    """Reconcile now (called by the ECS patches after task sets or desired counts change)."""
    if active():
        ENGINE.wake()


dataplane.register_engine("tasks", ENGINE.start, ENGINE.stop, ENGINE.reset)
