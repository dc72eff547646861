#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cloudwatchlogs_log_groups
short_description: Converge a list of CloudWatch Logs log groups and their metric filters in one call
version_added: 0.1.0
description:
  - Reads the listed log groups with C(DescribeLogGroups) (one paginated read by the names' common prefix, or by
    O(purge_prefix)), their tags with C(ListTagsForResource) and their metric filters with C(DescribeMetricFilters)
    (one call per existing group, and only when O(log_groups[].tags) or O(log_groups[].metric_filters) are given),
    then writes only the differences.
  - Written because C(amazon.aws.cloudwatchlogs_log_group) and C(amazon.aws.cloudwatchlogs_log_group_metric_filter)
    take one group or one filter per call; looped over a stack's services they made about 18 AWS calls and one module
    process per item on a no-op converge.
  - Deleting a log group deletes its metric filters and log events with it.
options:
  log_groups:
    description: The log groups.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Log group name, unique in the list.
        type: str
        required: true
      state:
        description: Whether the group exists.
        type: str
        choices: [present, absent]
        default: present
      retention_in_days:
        description: Days the events are kept; C(0) never expires them. The retention is left alone when omitted.
        type: int
        choices: [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
      kms_key_id:
        description:
          - ARN of the KMS key the group is encrypted with. Left alone when omitted; an empty string removes the key.
        type: str
      tags:
        description: Tags of the group; left alone when omitted.
        type: dict
      purge_tags:
        description: Remove the tags of the group that are not in O(log_groups[].tags).
        type: bool
        default: true
      metric_filters:
        description: Metric filters of the group; left alone when omitted.
        type: list
        elements: dict
        suboptions:
          name:
            description: Filter name, unique in the group.
            type: str
            required: true
          pattern:
            description: Filter pattern.
            type: str
            required: true
          metric_name:
            description: Name of the metric the filter publishes.
            type: str
            required: true
          metric_namespace:
            description: Namespace of the metric.
            type: str
            required: true
          metric_value:
            description: Value published for each matching event.
            type: str
            default: "1"
          default_value:
            description: Value published when no event matches; none when omitted.
            type: float
      purge_metric_filters:
        description: Delete the group's metric filters that are not in O(log_groups[].metric_filters).
        type: bool
        default: true
  purge_prefix:
    description:
      - Delete the log groups whose names start with this prefix and are not listed (a removed service's groups).
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
- name: Two services' log groups with an error-line metric filter each
  seed.fargate.cloudwatchlogs_log_groups:
    log_groups:
      - name: /ecs/seed/api
        retention_in_days: 30
        tags: {stack: seed, service: api}
        metric_filters:
          - name: api-error-lines
            pattern: '{ $.level = "error" }'
            metric_name: api-error-lines
            metric_namespace: seed/prod
            default_value: 0
      - name: /ecs/seed/web
        retention_in_days: 30
        tags: {stack: seed, service: web}

- name: Every log group of the stack removed
  seed.fargate.cloudwatchlogs_log_groups:
    log_groups: []
    purge_prefix: /ecs/seed/
"""

RETURN = r"""
log_groups:
  description: The listed groups with state C(present), name and ARN (C(null) in check mode for one still to be made).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "/ecs/seed/api", "arn": "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/seed/api"}]
written:
  description: Names of the groups created or changed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the groups deleted (state C(absent) or under O(purge_prefix)), or that would be in check mode.
  returned: always
  type: list
  elements: str
"""

import os

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

RETENTIONS = [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]


def group_arn(group):
    """DescribeLogGroups answers `...:log-group:<name>:*`; the tagging API takes the ARN without `:*`."""
    arn = group.get("arn", "")
    return arn.removesuffix(":*")


def desired_filter(spec):
    transformation = {"metricName": spec["metric_name"], "metricNamespace": spec["metric_namespace"],
                      "metricValue": spec["metric_value"]}
    if spec["default_value"] is not None:
        transformation["defaultValue"] = float(spec["default_value"])
    return {"filterPattern": spec["pattern"], "metricTransformations": [transformation]}


def current_filter(found):
    out = []
    for t in found.get("metricTransformations", []):
        one = {k: t[k] for k in ("metricName", "metricNamespace", "metricValue") if k in t}
        if t.get("defaultValue") is not None:
            one["defaultValue"] = float(t["defaultValue"])
        out.append(one)
    return {"filterPattern": found.get("filterPattern", ""), "metricTransformations": out}


def validate(module):
    """Every input check, before any AWS call."""
    specs = module.params["log_groups"]
    names = [s["name"] for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        module.fail_json(msg=f"log_groups: names must be unique, got {twice} more than once")
    if module.params["purge_prefix"] == "":
        module.fail_json(msg="purge_prefix: an empty prefix would delete every log group of the account; omit it instead")
    for spec in specs:
        if not spec["name"]:
            module.fail_json(msg="log_groups: a name is empty")
        filters = [f["name"] for f in spec["metric_filters"] or []]
        twice = sorted({n for n in filters if filters.count(n) > 1})
        if twice:
            module.fail_json(msg=f"log_groups: {spec['name']}: metric filter names must be unique, got {twice} more than once")


def read_groups(module, client, names):
    """The groups by name: one paginated read by the common prefix (or purge_prefix), else one per name."""
    prefix = module.params["purge_prefix"]
    current = {}
    paginator = client.get_paginator("describe_log_groups")
    prefixes = []
    if prefix:
        prefixes.append(prefix)
    rest = [n for n in names if not (prefix and n.startswith(prefix))]
    common = os.path.commonprefix(rest) if len(rest) > 1 else ""
    # A common prefix that is a path (`/ecs/<stack>/`) reads every group of the stack in one call.
    if len(common) > 1 and "/" in common[1:]:
        prefixes.append(common)
    else:
        prefixes.extend(rest)
    try:
        for one in prefixes:
            for page in paginator.paginate(logGroupNamePrefix=one):
                current.update({g["logGroupName"]: g for g in page.get("logGroups", [])})
    except (BotoCoreError, ClientError) as e:
        module.fail_json_aws(e, msg="Couldn't describe the log groups")
    return current


def read_filters(module, client, name):
    try:
        paginator = client.get_paginator("describe_metric_filters")
        found = {}
        for page in paginator.paginate(logGroupName=name):
            found.update({f["filterName"]: f for f in page.get("metricFilters", []) if f.get("logGroupName", name) == name})
        return found
    except (BotoCoreError, ClientError) as e:
        module.fail_json_aws(e, msg=f"Couldn't describe the metric filters of {name}")


def converge_group(module, client, spec, have):
    """The writes a present group needs, as (before, after, calls); the calls are made unless in check mode."""
    name = spec["name"]
    before, after, calls = {}, {}, []
    if have is None:
        create = {"logGroupName": name}
        if spec["kms_key_id"]:
            create["kmsKeyId"] = spec["kms_key_id"]
        if spec["tags"]:
            create["tags"] = spec["tags"]
        calls.append(("create_log_group", create))
        after.update({"exists": True, "kms_key_id": spec["kms_key_id"] or None, "tags": spec["tags"] or {}})
        before["exists"] = False
        if spec["retention_in_days"]:
            calls.append(("put_retention_policy", {"logGroupName": name, "retentionInDays": spec["retention_in_days"]}))
            after["retention_in_days"] = spec["retention_in_days"]
        current_filters = {}
    else:
        arn = group_arn(have)
        want = spec["retention_in_days"]
        if want is not None and (have.get("retentionInDays") or 0) != want:
            before["retention_in_days"], after["retention_in_days"] = have.get("retentionInDays"), want or None
            if want:
                calls.append(("put_retention_policy", {"logGroupName": name, "retentionInDays": want}))
            else:
                calls.append(("delete_retention_policy", {"logGroupName": name}))
        if spec["kms_key_id"] is not None and (have.get("kmsKeyId") or "") != spec["kms_key_id"]:
            before["kms_key_id"], after["kms_key_id"] = have.get("kmsKeyId"), spec["kms_key_id"] or None
            if spec["kms_key_id"]:
                calls.append(("associate_kms_key", {"logGroupName": name, "kmsKeyId": spec["kms_key_id"]}))
            else:
                calls.append(("disassociate_kms_key", {"logGroupName": name}))
        if spec["tags"] is not None:
            try:
                tags = client.list_tags_for_resource(resourceArn=arn, aws_retry=True).get("tags", {})
            except (BotoCoreError, ClientError) as e:
                module.fail_json_aws(e, msg=f"Couldn't list the tags of {name}")
            to_set, to_remove = compare_aws_tags(tags, spec["tags"], purge_tags=spec["purge_tags"])
            if to_set or to_remove:
                before["tags"] = tags
                after["tags"] = {k: v for k, v in tags.items() if k not in to_remove} | to_set
                if to_remove:
                    calls.append(("untag_resource", {"resourceArn": arn, "tagKeys": sorted(to_remove)}))
                if to_set:
                    calls.append(("tag_resource", {"resourceArn": arn, "tags": to_set}))
        current_filters = read_filters(module, client, name) if spec["metric_filters"] is not None else {}

    if spec["metric_filters"] is not None:
        wanted = {f["name"]: desired_filter(f) for f in spec["metric_filters"]}
        for fname, want in wanted.items():
            got = current_filter(current_filters[fname]) if fname in current_filters else None
            if got == want:
                continue
            before.setdefault("metric_filters", {})[fname] = got
            after.setdefault("metric_filters", {})[fname] = want
            calls.append(("put_metric_filter", {"logGroupName": name, "filterName": fname, **want}))
        if spec["purge_metric_filters"]:
            for fname in sorted(set(current_filters) - set(wanted)):
                before.setdefault("metric_filters", {})[fname] = current_filter(current_filters[fname])
                after.setdefault("metric_filters", {})[fname] = None
                calls.append(("delete_metric_filter", {"logGroupName": name, "filterName": fname}))
    return before, after, calls


def main():
    metric_filter = dict(
        name=dict(type="str", required=True),
        pattern=dict(type="str", required=True),
        metric_name=dict(type="str", required=True),
        metric_namespace=dict(type="str", required=True),
        metric_value=dict(type="str", default="1"),
        default_value=dict(type="float"),
    )
    log_group = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        retention_in_days=dict(type="int", choices=RETENTIONS),
        kms_key_id=dict(type="str", no_log=False),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
        metric_filters=dict(type="list", elements="dict", options=metric_filter),
        purge_metric_filters=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            log_groups=dict(type="list", elements="dict", required=True, options=log_group),
            purge_prefix=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    validate(module)
    specs = module.params["log_groups"]
    prefix = module.params["purge_prefix"]
    names = [s["name"] for s in specs]

    client = module.client("logs", retry_decorator=AWSRetry.jittered_backoff())
    current = read_groups(module, client, names)

    written, deleted, before, after = [], [], {}, {}
    for spec in specs:
        name, have = spec["name"], current.get(spec["name"])
        if spec["state"] == "absent":
            if have is not None:
                deleted.append(name)
                before[name], after[name] = {"exists": True}, {"exists": False}
            continue
        was, will, calls = converge_group(module, client, spec, have)
        if not calls:
            continue
        written.append(name)
        before[name], after[name] = was, will
        if module.check_mode:
            continue
        for method, kwargs in calls:
            try:
                getattr(client, method)(aws_retry=True, **kwargs)
            except (BotoCoreError, ClientError) as e:
                module.fail_json_aws(e, msg=f"Couldn't {method.replace('_', ' ')} for {name}")

    listed = set(names)
    for name in sorted(current):
        if prefix and name.startswith(prefix) and name not in listed:
            deleted.append(name)
            before[name], after[name] = {"exists": True}, {"exists": False}
    if not module.check_mode:
        for name in deleted:
            try:
                client.delete_log_group(logGroupName=name, aws_retry=True)
            except (BotoCoreError, ClientError) as e:
                module.fail_json_aws(e, msg=f"Couldn't delete log group {name}")

    arns = {n: group_arn(g) for n, g in current.items()}
    new = [n for n in written if n not in current]
    if new and not module.check_mode:
        read_back = read_groups(module, client, new)
        arns.update({n: group_arn(g) for n, g in read_back.items()})
    module.exit_json(
        changed=bool(written or deleted),
        log_groups=[{"name": s["name"], "arn": arns.get(s["name"])} for s in specs if s["state"] == "present"],
        written=written, deleted=deleted, diff={"before": before, "after": after},
    )


if __name__ == "__main__":
    main()
