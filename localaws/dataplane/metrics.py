"""CloudWatch metrics of the data plane: the load balancer's, ECS services' and log metric filters'.

The load balancer, the health checker and the task runner report what happens
through the functions below (cheap and thread-safe: they are on the request
path); the metrics engine aggregates the reports into one datapoint per metric
and AWS minute and puts it into moto's CloudWatch backend, where
GetMetricStatistics, ListMetrics and the alarm evaluator (:mod:`.alarms`) read it.

* :func:`record_request` -- one proxied request: ``AWS/ApplicationELB``
  RequestCount, HTTPCode_Target_2XX..5XX_Count, HTTPCode_ELB_4XX/5XX_Count,
  HTTPCode_ELB_500/502/503/504_Count, TargetResponseTime, per load balancer
  (``LoadBalancer``) and per target group (``TargetGroup`` + ``LoadBalancer``).
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
* :func:`set_host_counts` -- after a health-check round: HealthyHostCount and
  UnHealthyHostCount (``TargetGroup`` + ``LoadBalancer``), reported every minute
  while the target group exists, as AWS does when health checks are enabled.
* :func:`record_service_usage` -- a cgroup reading of a task: ``AWS/ECS``
  CPUUtilization and MemoryUtilization (``ClusterName`` + ``ServiceName``), percent of
  the task's reservation; several tasks of a service average out as in AWS.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html
* :mod:`.logfilters` emits the metric filters' values through :func:`record_value`.

Time. AWS aggregates these metrics per 60-second period. Here one AWS minute
lasts ``LOCALAWS_TIME_SCALE`` real seconds (the endpoint's one time scale, read
from the CodeDeploy settings so that ``POST /_localaws/codedeploy/time-scale``
changes it for everything). Datapoints carry *real* timestamps -- the start of
their scaled minute -- so a client asking for "the last hour" finds them, and
alarm history, deployments and log events all share one calendar; only the
lengths of periods are scaled (see :func:`period_length`).

Every report is a sample and a datapoint is a statistic set of its samples
(count, sum, min, max) plus a histogram of the values rounded to three
significant digits, so Sum/Average/Minimum/Maximum/SampleCount come from moto
and percentiles (p99) from the histogram: "CloudWatch needs raw data points to
calculate percentile statistics" (GetMetricStatistics API reference). Counts
are samples of 1, as AWS reports them ("Minimum, Maximum, and Average all
return 1" for RequestCount).

Off unless ``LOCALAWS_DATAPLANE=1``: nothing here is imported or patched then.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localaws.dataplane import register_engine

log = logging.getLogger("localaws.dataplane.metrics")

ELB_NAMESPACE = "AWS/ApplicationELB"
ECS_NAMESPACE = "AWS/ECS"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
# How long a gauge (host counts) is carried over minutes without a new report, at most,
# when the reporter stops (e.g. the engine was reset): AWS keeps reporting while health
# checks run; here the target group must still exist too (see _gauge_alive).
GAUGE_CARRY_MINUTES = 10

Dims = tuple[tuple[str, str], ...]
Key = tuple[str, str, str, str, Dims]  # account, region, namespace, metric name, dimensions


# -- the time scale --------------------------------------------------------------------------

def seconds_per_minute() -> float:
    """Real seconds per AWS minute: the endpoint's one time scale (CodeDeploy's setting)."""
    from localaws.patches import codedeploy

    return codedeploy.SETTINGS.seconds_per_minute


def period_length(aws_seconds: float) -> float:
    """Real seconds an AWS period of ``aws_seconds`` lasts on the endpoint."""
    return aws_seconds / 60.0 * seconds_per_minute()


def minute_index(epoch_seconds: float, spm: float | None = None) -> int:
    spm = spm or seconds_per_minute()
    return math.floor(epoch_seconds / spm)


def minute_start(index: int, spm: float | None = None) -> datetime:
    spm = spm or seconds_per_minute()
    return datetime.fromtimestamp(index * spm, UTC)


# -- ARNs to AWS dimension values ---------------------------------------------------------------

def load_balancer_dimension(arn: str) -> str:
    """``arn:...:loadbalancer/app/web/50dc6c495c0c9188`` -> ``app/web/50dc6c495c0c9188``."""
    return arn.split(":loadbalancer/", 1)[-1]


def target_group_dimension(arn: str) -> str:
    """``arn:...:targetgroup/web-blue/73e2d6bc24d8a067`` -> ``targetgroup/web-blue/73e2d6bc24d8a067``."""
    return arn.rsplit(":", 1)[-1]


def _account_region(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    if len(parts) > 4 and parts[3] and parts[4]:
        return parts[4], parts[3]
    return DEFAULT_ACCOUNT, DEFAULT_REGION


# -- the datapoint moto stores ------------------------------------------------------------------

def _round3(value: float) -> float:
    return float(f"{value:.3g}")


def _datum_class():
    from moto.cloudwatch.models import MetricAggregatedDatum

    class DistributionDatum(MetricAggregatedDatum):
        """A statistic set (moto computes the standard statistics) with the samples' histogram."""

        def __init__(self, namespace: str, name: str, dims: Dims, timestamp: datetime, unit: str | None,
                     acc: _Acc):
            super().__init__(namespace, name, min_stat=acc.low, max_stat=acc.high, sample_count=acc.count,
                             sum_stat=acc.total, dimensions=[{"Name": n, "Value": v} for n, v in dims],
                             timestamp=timestamp, unit=unit)
            self.histogram = dict(acc.hist)

    return DistributionDatum


_DATUM: Any = None


class _Acc:
    """The samples of one metric in one AWS minute."""

    __slots__ = ("count", "end", "high", "hist", "low", "start", "total", "unit")

    def __init__(self, unit: str | None, minute: int, spm: float) -> None:
        # the minute's bounds are fixed when it opens, so a time-scale change later moves nothing
        self.start = minute * spm
        self.end = (minute + 1) * spm
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = -math.inf
        self.hist: dict[float, int] = defaultdict(int)
        self.unit = unit

    def add(self, value: float, n: int = 1) -> None:
        self.count += n
        self.total += value * n
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        self.hist[_round3(value)] += n


class _Gauge:
    __slots__ = ("last_minute", "unit", "value")

    def __init__(self, value: float, unit: str | None, minute: int) -> None:
        self.value = value
        self.unit = unit
        self.last_minute = minute


_LOCK = threading.Lock()
_BUCKETS: dict[tuple[Key, int], _Acc] = {}
_GAUGES: dict[Key, _Gauge] = {}
_CLUSTERS: dict[str, tuple[str, str]] = {}


def _add(key: Key, minute: int, value: float, unit: str | None, n: int = 1) -> None:
    acc = _BUCKETS.get((key, minute))
    if acc is None:
        acc = _BUCKETS[(key, minute)] = _Acc(unit, minute, seconds_per_minute())
    acc.add(value, n)


def record_value(account: str, region: str, namespace: str, metric: str, dims: Dims, value: float,
                 timestamp: float | None = None, unit: str | None = None, count: int = 1) -> None:
    """One sample of any metric at ``timestamp`` (epoch seconds; now when None)."""
    with _LOCK:
        _add((account, region, namespace, metric, dims), minute_index(time.time() if timestamp is None else timestamp),
             value, unit, count)


def _status_metrics(elb_status: int, target_status: int | None) -> list[tuple[str, bool]]:
    """(metric name, per target group too) for the status codes of one request.

    Target codes are the target's own responses; ELB codes are the ones the load
    balancer generated (no target answered, or it failed: 502/503/504).
    """
    names: list[tuple[str, bool]] = []
    if target_status is not None:
        klass = target_status // 100
        if 2 <= klass <= 5:
            names.append((f"HTTPCode_Target_{klass}XX_Count", True))
    else:
        klass = elb_status // 100
        if klass in (3, 4, 5):
            names.append((f"HTTPCode_ELB_{klass}XX_Count", False))
        if elb_status in (500, 502, 503, 504):
            names.append((f"HTTPCode_ELB_{elb_status}_Count", False))
    return names


def _request_samples(load_balancer_arn: str, target_group_arn: str | None, elb_status: int,
                     target_status: int | None, elapsed_seconds: float):
    account, region = _account_region(load_balancer_arn)
    lb: Dims = (("LoadBalancer", load_balancer_dimension(load_balancer_arn)),)
    tg: Dims | None = None
    if target_group_arn:
        tg = (("TargetGroup", target_group_dimension(target_group_arn)), lb[0])
    # RequestCount: "only incremented for requests where the load balancer node was able to
    # choose a target" -- here, when the request was forwarded to a target group.
    names = ([("RequestCount", True)] if tg else []) + _status_metrics(elb_status, target_status)
    for name, per_group in names:
        yield (account, region, ELB_NAMESPACE, name, lb), 1.0, "Count"
        if per_group and tg:
            yield (account, region, ELB_NAMESPACE, name, tg), 1.0, "Count"
    if target_status is not None:
        # "The time elapsed, in seconds, after the request leaves the load balancer until
        # the target starts to send the response headers" -- the caller measures it.
        yield (account, region, ELB_NAMESPACE, "TargetResponseTime", lb), float(elapsed_seconds), "Seconds"
        if tg:
            yield (account, region, ELB_NAMESPACE, "TargetResponseTime", tg), float(elapsed_seconds), "Seconds"


def record_request(load_balancer_arn: str, target_group_arn: str | None, elb_status: int,
                   target_status: int | None, elapsed_seconds: float) -> None:
    """One request the load balancer answered.

    ``target_status`` is the target's status code (None when no target answered:
    the load balancer generated ``elb_status`` itself); ``elapsed_seconds`` the
    target's response time.
    """
    samples = list(_request_samples(load_balancer_arn, target_group_arn, elb_status, target_status,
                                    elapsed_seconds))
    with _LOCK:
        minute = minute_index(time.time())
        for key, value, unit in samples:
            _add(key, minute, value, unit)


def record_requests(batch: list[dict], minute: int) -> int:
    """Several requests into one minute, atomically (the control route's fault injection)."""
    prepared = []
    for item in batch:
        count = int(item.get("count", 1))
        if count < 1:
            raise ValueError("count must be >= 1")
        samples = list(_request_samples(str(item["loadBalancerArn"]), item.get("targetGroupArn"),
                                        int(item.get("elbStatus", item.get("targetStatus") or 200)),
                                        None if item.get("targetStatus") is None else int(item["targetStatus"]),
                                        float(item.get("elapsedSeconds", 0.0))))
        prepared.append((samples, count, item.get("minutesFromNow", 0)))
    total = 0
    with _LOCK:
        for samples, count, offset in prepared:
            for key, value, unit in samples:
                _add(key, minute + int(offset), value, unit, count)
            total += count
    return total


def set_host_counts(load_balancer_arn: str, target_group_arn: str, healthy: int, unhealthy: int) -> None:
    """The outcome of a health-check round of one target group."""
    account, region = _account_region(target_group_arn)
    dims: Dims = (("TargetGroup", target_group_dimension(target_group_arn)),
                  ("LoadBalancer", load_balancer_dimension(load_balancer_arn)))
    with _LOCK:
        minute = minute_index(time.time())
        for name, value in (("HealthyHostCount", healthy), ("UnHealthyHostCount", unhealthy)):
            key = (account, region, ELB_NAMESPACE, name, dims)
            _add(key, minute, float(value), "Count")
            _GAUGES[key] = _Gauge(float(value), "Count", minute)


def _cluster_location(cluster_name: str) -> tuple[str, str]:
    """The account and region of an ECS cluster, by name (moto's ECS backends)."""
    found = _CLUSTERS.get(cluster_name)
    if found:
        return found
    from moto.ecs.models import ecs_backends

    for account, regions in list(ecs_backends.items()):
        for region, backend in list(regions.items()):
            if cluster_name in getattr(backend, "clusters", {}):
                _CLUSTERS[cluster_name] = (account, region)
                return account, region
    return DEFAULT_ACCOUNT, os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION)


def record_service_usage(cluster_name: str, service_name: str, cpu_percent: float, memory_percent: float) -> None:
    """A CPU and memory reading of one task of a service, percent of the task's reservation."""
    account, region = _cluster_location(cluster_name)
    dims: Dims = (("ClusterName", cluster_name), ("ServiceName", service_name))
    with _LOCK:
        minute = minute_index(time.time())
        _add((account, region, ECS_NAMESPACE, "CPUUtilization", dims), minute, float(cpu_percent), "Percent")
        _add((account, region, ECS_NAMESPACE, "MemoryUtilization", dims), minute, float(memory_percent), "Percent")


# -- cgroups ----------------------------------------------------------------------------------

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_dir(cgroup_path: str | os.PathLike, controller: str | None) -> Path:
    path = Path(cgroup_path)
    if path.is_absolute() and path.exists() and str(path).startswith(str(CGROUP_ROOT)):
        return path
    relative = str(cgroup_path).lstrip("/")
    if controller and (CGROUP_ROOT / controller).is_dir():
        return CGROUP_ROOT / controller / relative
    return CGROUP_ROOT / relative


def cgroup_usage(cgroup_path: str | os.PathLike) -> tuple[float, int]:
    """(CPU seconds used so far, memory bytes in use) of a cgroup, v2 or v1.

    ``cgroup_path`` is a cgroup's path (``/machine.slice/libpod-<id>.scope``, as in
    ``/proc/<pid>/cgroup``) or a directory under /sys/fs/cgroup. cgroup v2:
    ``cpu.stat`` usage_usec and ``memory.current``; v1: ``cpuacct.usage`` (ns) and
    ``memory.usage_in_bytes`` of the cpuacct and memory hierarchies.
    """
    unified = _cgroup_dir(cgroup_path, None)
    if (unified / "cpu.stat").exists() and (unified / "memory.current").exists():
        stats = dict(line.split() for line in (unified / "cpu.stat").read_text().splitlines() if " " in line)
        return int(stats.get("usage_usec", 0)) / 1e6, int((unified / "memory.current").read_text())
    cpu_dir = _cgroup_dir(cgroup_path, "cpuacct")
    if not (cpu_dir / "cpuacct.usage").exists():
        cpu_dir = _cgroup_dir(cgroup_path, "cpu,cpuacct")
    mem_dir = _cgroup_dir(cgroup_path, "memory")
    try:
        cpu = int((cpu_dir / "cpuacct.usage").read_text()) / 1e9
        memory = int((mem_dir / "memory.usage_in_bytes").read_text())
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no cgroup v2 or v1 accounting files for {cgroup_path}: {exc.filename}") from None
    return cpu, memory


def utilization(cpu_seconds_delta: float, elapsed_seconds: float, cpu_units: float, memory_bytes: int,
                memory_mib: float) -> tuple[float, float]:
    """(CPU %, memory %) of a task's reservation: 1024 CPU units = one vCPU.

    ECS service CPUUtilization = CPU used by the service's tasks / CPU reserved
    (likewise memory): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html
    """
    vcpus = (cpu_units or 1024) / 1024.0
    cpu = 100.0 * cpu_seconds_delta / (elapsed_seconds * vcpus) if elapsed_seconds > 0 else 0.0
    mem = 100.0 * memory_bytes / (memory_mib * 1024 * 1024) if memory_mib else 0.0
    return cpu, mem


# -- publishing into moto ------------------------------------------------------------------------

def _gauge_alive(key: Key) -> bool:
    """A host-count gauge is carried while its target group exists in moto's ELBv2."""
    from moto.elbv2.models import elbv2_backends

    account, region, _ns, _name, dims = key
    suffix = ":" + dict(dims).get("TargetGroup", "")
    try:
        groups = elbv2_backends[account][region].target_groups
    except KeyError:
        return False
    return any(arn.endswith(suffix) for arn in list(groups))


def flush(now: float | None = None) -> int:
    """Put every completed minute into moto's CloudWatch; returns the datapoints written."""
    global _DATUM
    if _DATUM is None:
        _DATUM = _datum_class()
    spm = seconds_per_minute()
    now = time.time() if now is None else now
    current = minute_index(now, spm)
    with _LOCK:
        due = {k: acc for k, acc in _BUCKETS.items() if acc.end <= now + 1e-9}
        for k in due:
            del _BUCKETS[k]
        gauges = list(_GAUGES.items())
    for key, gauge in gauges:
        if gauge.last_minute >= current - 1:
            continue
        if not _gauge_alive(key):
            with _LOCK:
                if _GAUGES.get(key) is gauge:
                    del _GAUGES[key]
            continue
        for minute in range(max(gauge.last_minute + 1, current - GAUGE_CARRY_MINUTES), current):
            if (key, minute) not in due:
                acc = _Acc(gauge.unit, minute, spm)
                acc.add(gauge.value)
                due[(key, minute)] = acc
        gauge.last_minute = current - 1
    if not due:
        return 0
    from moto.cloudwatch.models import cloudwatch_backends

    for (key, _minute), acc in sorted(due.items(), key=lambda item: item[1].start):
        account, region, namespace, name, dims = key
        backend = cloudwatch_backends[account][region]
        # naive UTC, as moto stores the timestamps PutMetricData sends
        stamp = datetime.fromtimestamp(acc.start, UTC).replace(tzinfo=None)
        backend.metric_data.append(_DATUM(namespace, name, dims, stamp, acc.unit, acc))
    return len(due)


def reset() -> None:
    with _LOCK:
        _BUCKETS.clear()
        _GAUGES.clear()
        _CLUSTERS.clear()


# -- GetMetricStatistics as AWS answers it ------------------------------------------------------

def percentile(histogram: dict[float, int], p: float) -> float | None:
    """Nearest-rank percentile of a histogram {value: count}; None when empty."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(p / 100.0 * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


def histogram_of(data: list[Any]) -> dict[float, int] | None:
    """The histogram of raw values and distribution datums; None when a statistic set hides them.

    A statistic set counts only when SampleCount is 1 or Min equals Max (GetMetricStatistics
    API reference, percentiles).
    """
    hist: dict[float, int] = defaultdict(int)
    for datum in data:
        own = getattr(datum, "histogram", None)
        if own is not None:
            for value, count in own.items():
                hist[value] += count
        elif hasattr(datum, "value"):
            hist[_round3(datum.value)] += 1
        elif datum.sample_count == 1 or datum.min == datum.max:
            hist[_round3(datum.max)] += int(datum.sample_count)
        else:
            return None
    return hist


def dimensions_equal(datum_dims: list[Any], wanted: list[dict[str, str]]) -> bool:
    """AWS: "each unique combination of dimensions" is a separate metric -- match all, exactly."""
    return ({(d.name, d.value) for d in datum_dims} == {(w["Name"], w.get("Value")) for w in wanted or []})


def _patch_get_metric_statistics() -> None:
    """GetMetricStatistics: exact dimension sets and ExtendedStatistics (moto ignores both)."""
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse

    if getattr(CloudWatchBackend.get_metric_statistics, "_localaws_dataplane", False):
        return
    original_backend = CloudWatchBackend.get_metric_statistics
    original_response = CloudWatchResponse.get_metric_statistics
    local = threading.local()

    def get_metric_statistics(self, namespace, metric_name, start_time, end_time, period, stats, dimensions,
                              unit=None):
        result = original_backend(self, namespace, metric_name, start_time, end_time, period, stats,
                                  dimensions, unit)
        extended = getattr(local, "extended", None) or []
        kept = []
        for stat in result:
            stat.metric_data = [d for d in stat.metric_data if dimensions_equal(d.dimensions, dimensions)]
            if not stat.metric_data:
                continue
            if extended:
                hist = histogram_of(stat.metric_data) or {}
                values = {name: percentile(hist, float(name[1:])) for name in extended}
                stat.extended_statistics = {k: v for k, v in values.items() if v is not None}
            kept.append(stat)
        return kept

    def get_metric_statistics_response(self):
        local.extended = [s for s in self._get_param("ExtendedStatistics", []) or [] if s.startswith("p")]
        try:
            return original_response(self)
        finally:
            local.extended = None

    get_metric_statistics._localaws_dataplane = True
    CloudWatchBackend.get_metric_statistics = get_metric_statistics
    CloudWatchResponse.get_metric_statistics = get_metric_statistics_response


# -- control routes (fault injection and inspection) ---------------------------------------------

def _requests_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    """POST ``{"requests": [{loadBalancerArn, targetGroupArn, elbStatus, targetStatus,
    elapsedSeconds, count, minutesFromNow}]}``: requests as if the load balancer had served them."""
    if method != "POST":
        return 405, {"message": "use POST"}
    batch = body.get("requests")
    if not isinstance(batch, list) or not batch:
        return 400, {"message": "requests must be a non-empty list"}
    spm = seconds_per_minute()
    minute = minute_index(time.time(), spm)
    total = record_requests(batch, minute)
    minutes = sorted({minute + int(item.get("minutesFromNow", 0)) for item in batch})
    return 200, {"recorded": total, "minutes": [minute_start(m, spm).isoformat() for m in minutes]}


def _hosts_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    if method != "POST":
        return 405, {"message": "use POST"}
    set_host_counts(str(body["loadBalancerArn"]), str(body["targetGroupArn"]), int(body["healthy"]),
                    int(body["unhealthy"]))
    return 200, {"ok": True}


def _services_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    if method != "POST":
        return 405, {"message": "use POST"}
    record_service_usage(str(body["clusterName"]), str(body["serviceName"]), float(body["cpuPercent"]),
                         float(body["memoryPercent"]))
    return 200, {"ok": True}


def _clock_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    spm = seconds_per_minute()
    now = time.time()
    return 200, {"secondsPerMinute": spm, "minute": minute_start(minute_index(now, spm), spm).isoformat(),
                 "now": datetime.fromtimestamp(now, UTC).isoformat()}


# -- the engine -----------------------------------------------------------------------------------

_thread: threading.Thread | None = None
_stop = threading.Event()


def _tick_seconds() -> float:
    # a few ticks per AWS minute, never busier than 50 per second
    return min(0.25, max(0.02, seconds_per_minute() / 8))


def _loop() -> None:
    from localaws.dataplane import alarms

    while not _stop.wait(_tick_seconds()):
        try:
            flush()
            alarms.evaluate_due()
        except Exception:
            log.exception("localaws metrics engine: tick failed")


def start() -> None:
    global _thread
    from localaws.dataplane import alarms, logfilters
    from localaws.patches._shared import control_route

    _patch_get_metric_statistics()
    logfilters.install()
    alarms.install()
    control_route("/_localaws/dataplane/metrics/requests", _requests_route)
    control_route("/_localaws/dataplane/metrics/hosts", _hosts_route)
    control_route("/_localaws/dataplane/metrics/services", _services_route)
    control_route("/_localaws/dataplane/metrics/clock", _clock_route)
    _stop.clear()
    if _thread is None or not _thread.is_alive():
        _thread = threading.Thread(target=_loop, name="localaws-metrics", daemon=True)
        _thread.start()


def stop() -> None:
    global _thread
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=5)
    _thread = None


def _reset_all() -> None:
    from localaws.dataplane import alarms

    reset()
    alarms.reset()


register_engine("metrics", start, stop, _reset_all)
