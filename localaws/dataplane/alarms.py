"""The metric alarm evaluator: moto stores alarms, this moves their state from the datapoints.

After "Using Amazon CloudWatch alarms" and "Configuring how CloudWatch alarms
treat missing data"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):

* Each period of ``Period`` seconds (scaled: :func:`metrics.period_length`) gives
  one datapoint: the alarm's ``Statistic`` (SampleCount, Sum, Average, Minimum,
  Maximum) or ``ExtendedStatistic`` (``pNN``, from the samples' histogram, which
  moto cannot compute) of the datapoints whose namespace, name and *exact*
  dimension set (and unit, when the alarm has one) match the alarm.
* When a period completes, the alarm is evaluated over its evaluation range:
  the last ``EvaluationPeriods`` (N) complete periods plus :data:`EXTRA_PERIODS`
  older ones, because "CloudWatch attempts to retrieve a higher number of data
  points than the number specified as Evaluation Periods".
  - N or more real datapoints in the range: the most recent N decide; ALARM when
    at least ``DatapointsToAlarm`` (M, default N) of them breach, else OK; the
    missing-data treatment is not used.
  - none: ``missing`` -> INSUFFICIENT_DATA, ``breaching`` -> ALARM,
    ``notBreaching`` -> OK, ``ignore`` -> the state is kept.
  - some (k < N): the k real ones count, the N-k missing ones are filled by the
    treatment: ``breaching`` count as breaching, ``notBreaching`` as not; with
    ``missing`` they count as neither (ALARM needs M breaching real datapoints);
    with ``ignore`` the state is kept whenever the filled ones would decide.
  As in AWS, an alarm may re-evaluate its last datapoints for a few periods
  after the metric stopped ("alarms might repeatedly re-evaluate the last set of
  data points for a period of time after the metric has stopped flowing").
* ``EvaluateLowSampleCountPercentile=ignore`` keeps the state when a percentile
  rests on too few samples (fewer than 1 / (1 - p/100)).
* A state change goes through moto's ``set_alarm_state`` (DescribeAlarms shows it,
  the CodeDeploy emulation reads it to stop deployments), with AWS's reason
  wording and ``StateReasonData`` (``evaluatedDatapoints``, ``recentDatapoints``).
* SetAlarmState from a client stays fault injection as in AWS: "the alarm
  returns to its actual state" at its next evaluation, here one period later.

Not evaluated: metric math alarms (``Metrics``), anomaly-detection comparisons
(``LessThanLowerOrGreaterThanUpperThreshold`` & co.), composite alarms, and alarm
actions (no SNS notification is sent).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from typing import Any

from localaws.dataplane import metrics

log = logging.getLogger("localaws.dataplane.alarms")

EXTRA_PERIODS = 2
HISTORY = 40  # evaluations kept per alarm for GET /_localaws/dataplane/alarms
# Datapoints on a period boundary may come back from datetime's microsecond rounding a
# hair early; this tolerance (seconds) keeps them in their own period.
EDGE = 1e-3

COMPARISONS = {
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}

_LOCK = threading.Lock()


class _Index:
    """moto's metric_data list of one CloudWatch backend, indexed by metric as it grows."""

    def __init__(self, data: list) -> None:
        self.ref = data
        self.pos = 0
        self.series: dict[tuple, list[tuple[float, Any]]] = defaultdict(list)

    def refresh(self) -> None:
        end = len(self.ref)
        for datum in self.ref[self.pos:end]:
            key = (datum.namespace, datum.name, frozenset((d.name, d.value) for d in datum.dimensions))
            self.series[key].append((_epoch(datum.timestamp), datum))
        self.pos = end

    def prune(self, oldest: float) -> None:
        for key in list(self.series):
            kept = [item for item in self.series[key] if item[0] >= oldest]
            if kept:
                self.series[key] = kept
            else:
                del self.series[key]


_INDEXES: dict[tuple[str, str], _Index] = {}
_EVALUATED: dict[tuple[str, str, str], tuple[int, int]] = {}  # alarm -> (id(alarm object), last period)
_RECORDS: dict[tuple[str, str, str], deque] = {}
_last_prune = 0.0


def _epoch(stamp: datetime) -> float:
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def reset() -> None:
    with _LOCK:
        _INDEXES.clear()
        _EVALUATED.clear()
        _RECORDS.clear()


# -- statistics of one period ---------------------------------------------------------------------

def _stat(datums: list[Any], statistic: str | None, extended: str | None) -> tuple[float | None, float]:
    """(value of the statistic or None, sample count) over the datums of one period."""
    count = 0.0
    total = 0.0
    low, high = math.inf, -math.inf
    for d in datums:
        if hasattr(d, "value"):
            count += 1
            total += d.value
            low, high = min(low, d.value), max(high, d.value)
        else:
            count += d.sample_count
            total += d.sum
            low, high = min(low, d.min), max(high, d.max)
    if not datums:
        return None, 0.0
    if extended:
        if not extended.startswith("p"):
            return None, count
        hist = metrics.histogram_of(datums)
        return (metrics.percentile(hist, float(extended[1:])) if hist else None), count
    return {
        "SampleCount": count,
        "Sum": total,
        "Average": total / count if count else None,
        "Minimum": low,
        "Maximum": high,
    }.get(statistic or "", None), count


def _fmt_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%d/%m/%y %H:%M:%S")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# -- evaluation --------------------------------------------------------------------------------------

def evaluate(alarm: Any, index: _Index, now: float) -> dict | None:
    """The state an alarm should be in now, with AWS's reason; None when it cannot be evaluated."""
    if alarm.metric_data_queries or not alarm.metric_name or alarm.comparison_operator not in COMPARISONS:
        return None
    compare, words = COMPARISONS[alarm.comparison_operator]
    width = metrics.period_length(float(alarm.period or 60))
    n = max(1, int(alarm.evaluation_periods or 1))
    m = min(n, max(1, int(alarm.datapoints_to_alarm or n)))
    last = math.floor(now / width) - 1
    first = last - n - EXTRA_PERIODS + 1
    key = (alarm.namespace, alarm.metric_name, frozenset((d.name, d.value) for d in alarm.dimensions))
    per_period: dict[int, list[Any]] = defaultdict(list)
    for stamp, datum in index.series.get(key, ()):
        period = math.floor((stamp + EDGE) / width)
        if first <= period <= last and (not alarm.unit or datum.unit == alarm.unit):
            per_period[period].append(datum)
    points = []  # (period, value, samples), oldest first
    for period in range(first, last + 1):
        value, samples = _stat(per_period.get(period, []), alarm.statistic, alarm.extended_statistic)
        if value is not None:
            points.append((period, value, samples))
    threshold = float(alarm.threshold)
    treatment = alarm.treat_missing_data or "missing"
    stat_name = alarm.extended_statistic or alarm.statistic
    if alarm.extended_statistic and alarm.evaluate_low_sample_count_percentile == "ignore" and points:
        needed = math.ceil(1 / max(1e-9, 1 - float(alarm.extended_statistic[1:]) / 100))
        if points[-1][2] < needed:
            return {"state": None, "last": last, "points": points, "reason": "low sample count"}

    evaluated = points[-n:]
    breaching = [p for p in evaluated if compare(p[1], threshold)]
    missing = n - len(evaluated)
    listing = ", ".join(f"{p[1]} ({_fmt_time(p[0] * width)})" for p in evaluated)
    if missing == 0:
        state = "ALARM" if len(breaching) >= m else "OK"
        shown = breaching if state == "ALARM" else evaluated
        listing = ", ".join(f"{p[1]} ({_fmt_time(p[0] * width)})" for p in shown)
        if n == 1:
            reason = (f"Threshold Crossed: 1 datapoint [{listing}] was "
                      f"{'' if state == 'ALARM' else 'not '}{words} the threshold ({threshold}).")
        else:
            count = len(breaching) if state == "ALARM" else len(evaluated) - len(breaching)
            reason = (f"Threshold Crossed: {count} out of the last {n} datapoints [{listing}] were "
                      f"{'' if state == 'ALARM' else 'not '}{words} the threshold ({threshold}) "
                      f"(minimum {m} datapoint{'s' if m > 1 else ''} for "
                      f"{'OK -> ALARM' if state == 'ALARM' else 'ALARM -> OK'} transition).")
    elif not evaluated:
        state = {"missing": "INSUFFICIENT_DATA", "breaching": "ALARM", "notBreaching": "OK"}.get(treatment)
        if state == "INSUFFICIENT_DATA":
            reason = f"Insufficient Data: {_plural(n, 'datapoint')} {'was' if n == 1 else 'were'} unknown."
        else:
            reason = (f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} and "
                      f"{_plural(n, 'missing datapoint')} {'was' if n == 1 else 'were'} treated as "
                      f"[{'Breaching' if treatment == 'breaching' else 'NonBreaching'}].")
    else:
        if treatment == "breaching":
            state = "ALARM" if len(breaching) + missing >= m else "OK"
        elif treatment == "notBreaching" or treatment == "missing":
            state = "ALARM" if len(breaching) >= m else "OK"
        else:  # ignore: keep the state when the missing datapoints would decide
            if len(breaching) >= m:
                state = "ALARM"
            elif len(breaching) + missing < m:
                state = "OK"
            else:
                state = None
        treated = {"breaching": "Breaching", "notBreaching": "NonBreaching"}.get(treatment, "Missing")
        reason = (f"Threshold Crossed: {len(breaching)} out of the last {n} datapoints [{listing}] were "
                  f"{words} the threshold ({threshold}) and {_plural(missing, 'missing datapoint')} "
                  f"{'was' if missing == 1 else 'were'} treated as [{treated}] "
                  f"(minimum {m} datapoint{'s' if m > 1 else ''} for OK -> ALARM transition).")
    data = {
        "version": "1.0",
        "queryDate": _iso(now),
        "startDate": _iso(first * width),
        "statistic" if not alarm.extended_statistic else "extendedStatistic": stat_name,
        "unit": alarm.unit,
        "period": alarm.period,
        "recentDatapoints": [p[1] for p in points],
        "threshold": threshold,
        "evaluatedDatapoints": [{"timestamp": _iso(p[0] * width), "sampleCount": p[2], "value": p[1]}
                                for p in reversed(evaluated)],
    }
    if data["unit"] is None:
        del data["unit"]
    return {"state": state, "reason": reason, "data": data, "last": last, "points": points}


def _backends():
    from moto.cloudwatch.models import cloudwatch_backends

    for account, regions in list(cloudwatch_backends.items()):
        for region, backend in list(regions.items()):
            yield account, region, backend


def evaluate_due(now: float | None = None) -> int:
    """Evaluate every metric alarm whose period completed since its last evaluation; returns changes."""
    global _last_prune
    from localaws.patches._shared import LOCK

    now = time.time() if now is None else now
    changes = 0
    lookback = 600.0
    with _LOCK:
        for account, region, backend in _backends():
            alarms = list(backend.alarms.values())
            index = _INDEXES.get((account, region))
            if index is None or index.ref is not backend.metric_data:
                index = _INDEXES[(account, region)] = _Index(backend.metric_data)
            index.refresh()
            for alarm in alarms:
                width = metrics.period_length(float(alarm.period or 60))
                lookback = max(lookback, width * (int(alarm.evaluation_periods or 1) + EXTRA_PERIODS + 2))
                name_key = (account, region, alarm.name)
                last = math.floor(now / width) - 1
                done = _EVALUATED.get(name_key)
                if done == (id(alarm), last):
                    continue
                if getattr(alarm, "_localaws_manual_until", 0) > now:
                    continue  # a hand-set state holds until the next evaluation
                _EVALUATED[name_key] = (id(alarm), last)
                try:
                    result = evaluate(alarm, index, now)
                except Exception:
                    log.exception("localaws alarms: evaluating %s failed", alarm.name)
                    continue
                if result is None:
                    continue
                state = result["state"]
                changed = state is not None and state != alarm.state_value
                if changed:
                    with LOCK:
                        backend.set_alarm_state(alarm.name, result["reason"], json.dumps(result["data"]), state)
                    changes += 1
                records = _RECORDS.setdefault(name_key, deque(maxlen=HISTORY))
                records.append({
                    "periodEnd": datetime.fromtimestamp((result["last"] + 1) * width, UTC).isoformat(),
                    "datapoints": [{"timestamp": datetime.fromtimestamp(p[0] * width, UTC).isoformat(),
                                    "value": p[1], "sampleCount": p[2]} for p in result["points"]],
                    "state": state or alarm.state_value,
                    "changed": changed,
                    "reason": result.get("reason"),
                })
        if now - _last_prune > 5:
            _last_prune = now
            for index in _INDEXES.values():
                index.prune(now - 2 * lookback)
    return changes


# -- SetAlarmState from clients ---------------------------------------------------------------------

def install() -> None:
    """Mark states set through SetAlarmState so the evaluator leaves them for one period."""
    from moto.cloudwatch.responses import CloudWatchResponse

    original = CloudWatchResponse.set_alarm_state
    if getattr(original, "_localaws_dataplane", False):
        return

    def set_alarm_state(self):
        result = original(self)
        alarm = self.cloudwatch_backend.alarms.get(self._get_param("AlarmName"))
        if alarm is not None:
            alarm._localaws_manual_until = time.time() + metrics.period_length(float(alarm.period or 60))
        return result

    set_alarm_state._localaws_dataplane = True
    CloudWatchResponse.set_alarm_state = set_alarm_state
    _install_history(CloudWatchResponse)
    from localaws.patches._shared import control_route

    control_route("/_localaws/dataplane/alarms", _alarms_route)


def _install_history(response_class: type) -> None:
    """DescribeAlarmHistory (moto keeps no usable history and has no handler): StateUpdate items.

    Shape after the API reference (AlarmHistoryItem): ``HistorySummary`` "Alarm updated
    from OK to ALARM", ``HistoryData`` JSON with ``oldState`` and ``newState``.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html
    """
    from moto.cloudwatch.models import Alarm
    from moto.core.responses import ActionResult

    original = Alarm.update_state

    def update_state(self, reason, reason_data, state_value):
        old = {"stateValue": self.state_value, "stateReason": self.state_reason}
        original(self, reason, reason_data, state_value)
        new = {"stateValue": state_value, "stateReason": reason}
        if reason_data:
            try:
                new["stateReasonData"] = json.loads(reason_data)
            except ValueError:
                pass
        history = self.__dict__.setdefault("_localaws_history", [])
        history.append({
            "AlarmName": self.name, "AlarmType": "MetricAlarm", "Timestamp": datetime.now(UTC),
            "HistoryItemType": "StateUpdate",
            "HistorySummary": f"Alarm updated from {old['stateValue']} to {state_value}",
            "HistoryData": json.dumps({"version": "1.0", "oldState": old, "newState": new}),
        })

    def describe_alarm_history(self):
        name = self._get_param("AlarmName")
        kind = self._get_param("HistoryItemType")
        start, end = self._get_param("StartDate"), self._get_param("EndDate")
        items = [item for alarm in list(self.cloudwatch_backend.alarms.values())
                 if not name or alarm.name == name
                 for item in getattr(alarm, "_localaws_history", [])
                 if (not kind or kind == item["HistoryItemType"])
                 and (not start or item["Timestamp"] >= _aware(start))
                 and (not end or item["Timestamp"] <= _aware(end))]
        items.sort(key=lambda i: i["Timestamp"], reverse=self._get_param("ScanBy") != "TimestampAscending")
        limit = self._get_param("MaxRecords")
        return ActionResult({"AlarmHistoryItems": items[:int(limit)] if limit else items})

    Alarm.update_state = update_state
    response_class.describe_alarm_history = describe_alarm_history
    _keep_state_on_update()


def _keep_state_on_update() -> None:
    """PutMetricAlarm: "When this operation creates an alarm, the alarm state is immediately set
    to INSUFFICIENT_DATA ... When you update an existing alarm, its state is left unchanged"
    (PutMetricAlarm API reference). moto starts every alarm, new or updated, in OK."""
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.put_metric_alarm

    def put_metric_alarm(self, name, *args, **kwargs):
        previous = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        if previous is None or previous is alarm:
            alarm.state_value = "INSUFFICIENT_DATA"
        else:
            for attr in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp"):
                setattr(alarm, attr, getattr(previous, attr))
            alarm.history = previous.history
            if hasattr(previous, "_localaws_history"):
                alarm._localaws_history = previous._localaws_history
        return alarm

    CloudWatchBackend.put_metric_alarm = put_metric_alarm


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _alarms_route(method: str, query: dict, body: dict) -> tuple[int, Any]:
    """GET ``?name=<alarm>``: the evaluator's recent evaluations of each alarm (newest last)."""
    if method != "GET":
        return 405, {"message": "use GET"}
    wanted = query.get("name")
    with _LOCK:
        result = {key[2]: list(records) for key, records in _RECORDS.items() if not wanted or key[2] == wanted}
    return 200, {"alarms": result}
