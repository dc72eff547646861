#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cloudwatch_metric_alarms
short_description: Converge a list of CloudWatch metric alarms in one call, optionally removing the others of a prefix
version_added: 0.1.0
description:
  - Reads every listed alarm with C(DescribeAlarms) (100 names per call, or one paginated read by O(purge_prefix)),
    calls C(PutMetricAlarm) only for the alarms that differ, and C(DeleteAlarms) for the alarms of O(purge_prefix)
    that are not listed.
  - Written because C(amazon.aws.cloudwatch_metric_alarm) takes one alarm per call; looped over a stack's
    20 alarms it was the largest task of a converge (21 s of module processes, C(DescribeAlarms) 40 times).
  - Alarm state is not touched; a changed alarm keeps its state until CloudWatch evaluates it again.
options:
  alarms:
    description: The alarms.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Alarm name, unique in the list.
        type: str
        required: true
      description:
        description: Alarm description.
        type: str
        default: ""
      namespace:
        description: Metric namespace.
        type: str
        required: true
      metric_name:
        description: Metric name.
        type: str
        required: true
      dimensions:
        description: Metric dimensions, name to value.
        type: dict
        default: {}
      statistic:
        description: Statistic; exactly one of O(alarms[].statistic) and O(alarms[].extended_statistic).
        type: str
        choices: [SampleCount, Average, Sum, Minimum, Maximum]
      extended_statistic:
        description: A percentile such as C(p99).
        type: str
      comparison:
        description: Comparison operator.
        type: str
        required: true
        choices: [GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold]
      threshold:
        description: Threshold.
        type: float
        required: true
      period:
        description: Period in seconds (10, 30 or a multiple of 60).
        type: int
        required: true
      evaluation_periods:
        description: Periods to evaluate.
        type: int
        required: true
      datapoints_to_alarm:
        description: Breaching datapoints of O(alarms[].evaluation_periods) that set the alarm (all when omitted).
        type: int
      treat_missing_data:
        description: How missing data is treated.
        type: str
        choices: [breaching, notBreaching, ignore, missing]
        default: missing
      unit:
        description: Unit of the metric.
        type: str
      actions_enabled:
        description: Whether the actions run.
        type: bool
        default: true
      alarm_actions:
        description: ARNs notified in C(ALARM); O(alarm_actions) when omitted.
        type: list
        elements: str
      ok_actions:
        description: ARNs notified in C(OK); O(ok_actions) when omitted.
        type: list
        elements: str
      insufficient_data_actions:
        description: ARNs notified in C(INSUFFICIENT_DATA); O(insufficient_data_actions) when omitted.
        type: list
        elements: str
  alarm_actions:
    description: Default C(ALARM) actions of every alarm.
    type: list
    elements: str
    default: []
  ok_actions:
    description: Default C(OK) actions of every alarm.
    type: list
    elements: str
    default: []
  insufficient_data_actions:
    description: Default C(INSUFFICIENT_DATA) actions of every alarm.
    type: list
    elements: str
    default: []
  purge_prefix:
    description:
      - Delete the metric alarms whose names start with this prefix and are not listed (a removed service's alarms).
      - Nothing is deleted when omitted.
    type: str
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: CPU alarms of two services, to one topic; other alarms of the stack removed
  seed.fargate.cloudwatch_metric_alarms:
    alarm_actions: ["{{ topic_arn }}"]
    ok_actions: ["{{ topic_arn }}"]
    purge_prefix: seed-prod-
    alarms:
      - name: seed-prod-api-cpu-high
        namespace: AWS/ECS
        metric_name: CPUUtilization
        dimensions: {ClusterName: seed, ServiceName: api}
        statistic: Average
        comparison: GreaterThanThreshold
        threshold: 80
        period: 60
        evaluation_periods: 3
"""

RETURN = r"""
alarms:
  description: The listed alarms, name and ARN (C(null) in check mode for one still to be made).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "seed-prod-api-cpu-high", "arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:seed-prod-api-cpu-high"}]
written:
  description: Names of the alarms created or updated (or that would be, in check mode).
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the alarms deleted under O(purge_prefix) (or that would be, in check mode).
  returned: always
  type: list
  elements: str
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

ACTIONS = {"alarm_actions": "AlarmActions", "ok_actions": "OKActions", "insufficient_data_actions": "InsufficientDataActions"}
COMPARISONS = ["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"]
# the fields of PutMetricAlarm this module sets, as DescribeAlarms answers them
FIELDS = ("AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "ExtendedStatistic",
          "ComparisonOperator", "Threshold", "Period", "EvaluationPeriods", "DatapointsToAlarm", "TreatMissingData",
          "Unit", "ActionsEnabled") + tuple(ACTIONS.values())


def desired_alarm(module, spec):
    if bool(spec["statistic"]) == bool(spec["extended_statistic"]):
        module.fail_json(msg=f"alarms: {spec['name']} needs exactly one of statistic and extended_statistic")
    out = {
        "AlarmName": spec["name"],
        "AlarmDescription": spec["description"],
        "Namespace": spec["namespace"],
        "MetricName": spec["metric_name"],
        "Dimensions": [{"Name": k, "Value": str(v)} for k, v in sorted(spec["dimensions"].items())],
        "ComparisonOperator": spec["comparison"],
        "Threshold": float(spec["threshold"]),
        "Period": spec["period"],
        "EvaluationPeriods": spec["evaluation_periods"],
        "TreatMissingData": spec["treat_missing_data"],
        "ActionsEnabled": spec["actions_enabled"],
    }
    for option, key in ACTIONS.items():
        out[key] = sorted(spec[option] if spec[option] is not None else module.params[option])
    if spec["statistic"]:
        out["Statistic"] = spec["statistic"]
    else:
        out["ExtendedStatistic"] = spec["extended_statistic"]
    if spec["datapoints_to_alarm"] is not None:
        out["DatapointsToAlarm"] = spec["datapoints_to_alarm"]
    if spec["unit"]:
        out["Unit"] = spec["unit"]
    return out


def comparable(alarm, keep_datapoints):
    """The fields this module sets, normalised (dimension and action order, numbers, defaults AWS fills in)."""
    out = {k: alarm[k] for k in FIELDS if alarm.get(k) not in (None, "", [])}
    out["Dimensions"] = sorted(({"Name": d["Name"], "Value": d["Value"]} for d in alarm.get("Dimensions", [])),
                               key=lambda d: d["Name"])
    for key in ACTIONS.values():
        out[key] = sorted(alarm.get(key) or [])
    out["Threshold"] = float(alarm.get("Threshold", 0))
    out.setdefault("TreatMissingData", "missing")
    out.setdefault("ActionsEnabled", True)
    out.setdefault("AlarmDescription", "")
    if not keep_datapoints and out.get("DatapointsToAlarm") in (None, out.get("EvaluationPeriods")):
        out.pop("DatapointsToAlarm", None)  # not given: AWS's default (all periods), which it may echo
    return out


def main():
    alarm = dict(
        name=dict(type="str", required=True),
        description=dict(type="str", default=""),
        namespace=dict(type="str", required=True),
        metric_name=dict(type="str", required=True),
        dimensions=dict(type="dict", default={}),
        statistic=dict(type="str", choices=["SampleCount", "Average", "Sum", "Minimum", "Maximum"]),
        extended_statistic=dict(type="str"),
        comparison=dict(type="str", required=True, choices=COMPARISONS),
        threshold=dict(type="float", required=True),
        period=dict(type="int", required=True),
        evaluation_periods=dict(type="int", required=True),
        datapoints_to_alarm=dict(type="int"),
        treat_missing_data=dict(type="str", default="missing", choices=["breaching", "notBreaching", "ignore", "missing"]),
        unit=dict(type="str"),
        actions_enabled=dict(type="bool", default=True),
        **{option: dict(type="list", elements="str") for option in ACTIONS},
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            alarms=dict(type="list", elements="dict", required=True, options=alarm),
            purge_prefix=dict(type="str"),
            **{option: dict(type="list", elements="str", default=[]) for option in ACTIONS},
        ),
        supports_check_mode=True,
    )
    specs = module.params["alarms"]
    names = [s["name"] for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        module.fail_json(msg=f"alarms: names must be unique, got {twice} more than once")
    prefix = module.params["purge_prefix"]
    if prefix == "":
        module.fail_json(msg="purge_prefix: an empty prefix would delete every alarm of the account; omit it instead")
    desired = {s["name"]: desired_alarm(module, s) for s in specs}

    client = module.client("cloudwatch", retry_decorator=AWSRetry.jittered_backoff())
    current = {}
    try:
        paginator = client.get_paginator("describe_alarms")
        if prefix:
            for page in paginator.paginate(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]):
                current.update({a["AlarmName"]: a for a in page.get("MetricAlarms", [])})
        rest = [n for n in names if not (prefix and n.startswith(prefix))]
        for start in range(0, len(rest), 100):
            for page in paginator.paginate(AlarmNames=rest[start:start + 100], AlarmTypes=["MetricAlarm"]):
                current.update({a["AlarmName"]: a for a in page.get("MetricAlarms", [])})
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Couldn't describe the alarms")

    written, before, after = [], {}, {}
    for name, want in desired.items():
        have = current.get(name)
        keep = "DatapointsToAlarm" in want
        shown_want, shown_have = comparable(want, keep), comparable(have, keep) if have else None
        if shown_have == shown_want:
            continue
        written.append(name)
        before[name], after[name] = shown_have or {}, shown_want
        if module.check_mode:
            continue
        try:
            client.put_metric_alarm(aws_retry=True, **want)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't put alarm {name}")

    deleted = sorted(n for n in current if prefix and n.startswith(prefix) and n not in desired)
    for name in deleted:
        before[name], after[name] = comparable(current[name], True), {}
    if deleted and not module.check_mode:
        try:
            for start in range(0, len(deleted), 100):
                client.delete_alarms(AlarmNames=deleted[start:start + 100], aws_retry=True)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't delete alarms {deleted}")

    arns = {n: a.get("AlarmArn") for n, a in current.items()}
    if written and not module.check_mode:
        new = [n for n in written if not arns.get(n)]
        try:
            for start in range(0, len(new), 100):
                for page in paginator.paginate(AlarmNames=new[start:start + 100], AlarmTypes=["MetricAlarm"]):
                    arns.update({a["AlarmName"]: a["AlarmArn"] for a in page.get("MetricAlarms", [])})
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg="Couldn't describe the new alarms")
    module.exit_json(changed=bool(written or deleted), alarms=[{"name": n, "arn": arns.get(n)} for n in names],
                     written=written, deleted=deleted, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
