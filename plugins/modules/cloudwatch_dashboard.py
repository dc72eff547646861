#!/usr/bin/python
# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudwatch_dashboard
short_description: Manage a CloudWatch dashboard
version_added: 0.1.0
description:
  - Create, update or delete an Amazon CloudWatch dashboard.
  - The body is compared with the stored one as a structure, not as text. Key order and the
    spelling of numbers (V(1), V(1.0), V(1e0)) do not count as differences; list order, strings
    and booleans do. A dashboard is written only when the structures differ.
  - AWS validates the body on write. Errors (C(InvalidParameterInput)) fail the task with AWS's
    message and any validation messages. Warnings come back in RV(validation_messages).
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  name:
    description:
      - Name of the dashboard. Up to 255 characters, letters, digits, V(-) and V(_).
    type: str
    required: true
    aliases: [dashboard_name]
  state:
    description:
      - V(present) creates or updates the dashboard, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  body:
    description:
      - The dashboard body, as a dict or as a JSON string.
      - See U(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
      - Required when O(state=present).
    type: raw
    aliases: [dashboard_body]
notes:
  - CloudWatch dashboards cannot be tagged (C(TagResource) covers alarms and Contributor Insights rules only).
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: A dashboard from a structure
  seed.fargate.cloudwatch_dashboard:
    name: seed-local
    body:
      widgets:
        - type: metric
          x: 0
          y: 0
          width: 12
          height: 6
          properties:
            title: Requests
            region: us-east-1
            stat: Sum
            period: 60
            metrics:
              - [AWS/ApplicationELB, RequestCount, TargetGroup, "targetgroup/seed-api-blue/0123456789abcdef",
                 LoadBalancer, "app/seed/0123456789abcdef"]

- name: A dashboard from a template
  seed.fargate.cloudwatch_dashboard:
    name: seed-local
    body: "{{ lookup('ansible.builtin.template', 'dashboard.json.j2') }}"

- name: Remove a dashboard
  seed.fargate.cloudwatch_dashboard:
    name: seed-local
    state: absent
"""

RETURN = r"""
dashboard:
  description: The dashboard after the task. Empty when O(state=absent).
  returned: always
  type: dict
  contains:
    dashboard_name:
      description: Name of the dashboard.
      type: str
      returned: when it exists
      sample: seed-local
    dashboard_arn:
      description: ARN of the dashboard. Not known in check mode when the dashboard would be created.
      type: str
      returned: when it exists
      sample: arn:aws:cloudwatch::123456789012:dashboard/seed-local
    dashboard_body:
      description: The body as a structure (keys as written, not snake-cased).
      type: dict
      returned: when it exists
      sample: {"widgets": []}
validation_messages:
  description: Warnings AWS returned on a write (the dashboard was saved but parts may not render).
  returned: always
  type: list
  elements: dict
  sample: [{"data_path": "/widgets/0/properties/metrics/0", "message": "..."}]
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.seed.fargate.plugins.module_utils.cloudwatch_dashboard import (
    DashboardBodyError,
    body_to_json,
    delete_dashboard,
    get_dashboard,
    normalize_body,
    put_dashboard,
    validation_messages,
)


def _describe(name, arn, body):
    if body is None:
        return {}
    return {"dashboard_name": name, "dashboard_arn": arn, "dashboard_body": body}


def _snake_messages(messages):
    return [camel_dict_to_snake_dict(m) for m in messages or []]


def ensure_present(module, client, name, desired, current):
    """(changed, dashboard, messages) for state=present; writes nothing in check mode."""
    current_body = normalize_body(current["DashboardBody"]) if current else None
    if current_body is not None and body_to_json(current_body) == body_to_json(desired):
        return False, _describe(name, current.get("DashboardArn"), current_body), []
    if module.check_mode:
        return True, _describe(name, current.get("DashboardArn") if current else None, desired), []
    try:
        messages = put_dashboard(client, name, desired)
    except is_boto3_error_code("InvalidParameterInput") as e:
        module.fail_json_aws(
            e,
            msg=f"AWS rejected the body of dashboard {name}",
            validation_messages=_snake_messages(validation_messages(e)),
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to put dashboard {name}")
    stored = get_dashboard(client, name) or {}
    return True, _describe(name, stored.get("DashboardArn"), desired), messages


def ensure_absent(module, client, name, current):
    if not current:
        return False
    if not module.check_mode:
        try:
            delete_dashboard(client, name)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Failed to delete dashboard {name}")
    return True


def main():
    argument_spec = {
        "name": {"type": "str", "required": True, "aliases": ["dashboard_name"]},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "body": {"type": "raw", "aliases": ["dashboard_body"]},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["body"])],
        supports_check_mode=True,
    )
    name = module.params["name"]
    state = module.params["state"]

    desired = None
    if state == "present":
        try:
            desired = normalize_body(module.params["body"])
        except DashboardBodyError as e:
            module.fail_json(msg=f"Invalid body for dashboard {name}: {e}")

    client = module.client("cloudwatch", retry_decorator=AWSRetry.jittered_backoff())
    try:
        current = get_dashboard(client, name)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to get dashboard {name}")
    before = normalize_body(current["DashboardBody"]) if current else {}

    messages = []
    if state == "present":
        changed, dashboard, messages = ensure_present(module, client, name, desired, current)
        after = desired
    else:
        changed = ensure_absent(module, client, name, current)
        dashboard, after = {}, {}

    for message in messages:
        module.warn(f"dashboard {name}: {message.get('DataPath', '')} {message.get('Message', '')}".strip())

    result = {"changed": changed, "dashboard": dashboard, "validation_messages": _snake_messages(messages)}
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
