"""How many worker processes, and blocking threads in each, the API runs (seedapi/server.py).

One per vCPU the task may use (threads within each worker wait on I/O), but
exactly one with the in-memory store: each worker would hold its own list.
The vCPUs come from, first to last:

1. ``WORKERS`` (explicit);
2. the ECS task's CPU limit from the task metadata endpoint v4 (``Limits.CPU``
   in vCPUs: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate-response.html);
   a Fargate task sees its host's CPUs but is throttled to its task size;
3. the cgroup CPU quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``), which is
   what ``podman run --cpus`` and ``docker run --cpus`` set;
4. the CPUs the process may run on (``os.sched_getaffinity``).
"""

from __future__ import annotations

import json
import math
import os
import urllib.request
from pathlib import Path

MAX_WORKERS = 64
THREADS_DYNAMODB = 8


def _ceil_cpus(value: float) -> int:
    return max(1, math.ceil(value - 1e-9))


def _ecs_task_cpus(env) -> int | None:
    uri = env.get("ECS_CONTAINER_METADATA_URI_V4", "")
    if not uri:
        return None
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/task", timeout=1) as resp:
            limit = json.load(resp).get("Limits", {}).get("CPU")
    except (OSError, ValueError):
        return None
    return _ceil_cpus(float(limit)) if isinstance(limit, int | float) and limit > 0 else None


def _cgroup_cpus(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return _ceil_cpus(int(quota) / int(period))
        return None
    except (OSError, ValueError):
        pass
    for v1 in (root / "cpu", root / "cpu,cpuacct"):
        try:
            quota = int((v1 / "cpu.cfs_quota_us").read_text())
            period = int((v1 / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        if quota > 0 and period > 0:
            return _ceil_cpus(quota / period)
    return None


def available_cpus(env=None, cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    env = os.environ if env is None else env
    task = _ecs_task_cpus(env)
    if task is not None:
        return task
    affinity = len(os.sched_getaffinity(0))
    quota = _cgroup_cpus(cgroup_root)
    return min(affinity, quota) if quota else affinity


def thread_count(config) -> int:
    """Threads running the app in each worker.

    The in-memory store makes every request CPU work under the GIL: one thread serves the
    most (more threads only hand the GIL back and forth). A DynamoDB request mostly waits on
    the network, so then THREADS_DYNAMODB threads overlap those waits.
    """
    if config.threads:
        return config.threads
    return THREADS_DYNAMODB if config.items_table else 1


def worker_count(config, env=None, cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    if not config.items_table:
        return 1
    if config.workers:
        return config.workers
    return min(MAX_WORKERS, available_cpus(env, cgroup_root))
