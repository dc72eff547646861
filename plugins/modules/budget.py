#!/usr/bin/python
# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


from __future__ import annotations

DOCUMENTATION = r"""
---
module: budget
short_description: Manage an AWS Budgets cost budget and its notifications
version_added: 0.1.0
description:
  - Create, update or delete a cost budget in AWS Budgets, with notifications at thresholds
    of the limit that go to email addresses and/or SNS topics.
  - The budget, each notification, each notification's subscribers and the tags are compared
    with what exists and only differences are written.
  - amazon.aws and community.aws have no AWS Budgets module.
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  name:
    description: Name of the budget (unique in the account).
    type: str
    required: true
    aliases: [budget_name]
  state:
    description: V(present) creates or updates the budget, V(absent) deletes it and its notifications.
    type: str
    choices: [present, absent]
    default: present
  account_id:
    description: The account that owns the budget. Defaults to the caller's account (STS C(GetCallerIdentity)).
    type: str
  limit_amount:
    description: The cost limit per O(time_unit). Required when O(state=present).
    type: float
  limit_unit:
    description: Currency of O(limit_amount).
    type: str
    default: USD
  time_unit:
    description: Period the limit applies to.
    type: str
    choices: [MONTHLY, QUARTERLY, ANNUALLY]
    default: MONTHLY
  cost_filters:
    description:
      - 'Cost filters, for example C({"TagKeyValue": ["user:stack$seed"]}) to count only the resources
        carrying the cost allocation tag C(stack=seed) (the tag must be activated for cost allocation).'
      - Omitted means all costs of the account.
    type: dict
  notifications:
    description: Notifications of the budget. The list is authoritative; notifications not listed are removed.
    type: list
    elements: dict
    default: []
    suboptions:
      threshold:
        description:
          - Threshold, a percentage of the limit (or an amount with O(notifications[].threshold_type=ABSOLUTE_VALUE)).
        type: float
        required: true
      threshold_type:
        description: How O(notifications[].threshold) is read.
        type: str
        choices: [PERCENTAGE, ABSOLUTE_VALUE]
        default: PERCENTAGE
      notification_type:
        description: Actual spend or forecasted spend.
        type: str
        choices: [ACTUAL, FORECASTED]
        default: ACTUAL
      comparison_operator:
        description: Comparison of spend with the threshold.
        type: str
        choices: [GREATER_THAN, LESS_THAN, EQUAL_TO]
        default: GREATER_THAN
      emails:
        description: Email addresses notified (AWS allows up to 10 subscribers per notification).
        type: list
        elements: str
        default: []
      sns_topic_arns:
        description: SNS topics notified. The topic policy must allow C(budgets.amazonaws.com) to publish.
        type: list
        elements: str
        default: []
  tags:
    description:
      - Tags on the budget. V(None) (the default) leaves the tags alone.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags not in O(tags).
    type: bool
    default: true
notes:
  - AWS Budgets is a global service; the region does not matter.
  - Each notification needs at least one subscriber (AWS rejects a notification without one).
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Monthly budget for the stack's tagged resources
  seed.fargate.budget:
    name: seed-local-monthly
    limit_amount: 100
    cost_filters:
      TagKeyValue: ["user:stack$seed"]
    notifications:
      - threshold: 80
        emails: [platform-team@example.com]
      - threshold: 100
        notification_type: FORECASTED
        sns_topic_arns: ["{{ alarm_topic_arn }}"]
    tags:
      stack: seed
      environment: local

- name: Remove it
  seed.fargate.budget:
    name: seed-local-monthly
    state: absent
"""

RETURN = r"""
budget:
  description: The budget as AWS describes it, snake-cased. Empty when absent.
  returned: always
  type: dict
  contains:
    budget_name:
      description: Name of the budget.
      type: str
      sample: seed-local-monthly
    budget_limit:
      description: The limit.
      type: dict
      sample: {"amount": "100.0", "unit": "USD"}
    time_unit:
      description: Period of the limit.
      type: str
      sample: MONTHLY
    budget_type:
      description: Always C(COST) for this module.
      type: str
      sample: COST
    cost_filters:
      description: Cost filters (keys as AWS spells them).
      type: dict
      sample: {"TagKeyValue": ["user:stack$seed"]}
notifications:
  description: The notifications with their subscribers, snake-cased.
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{"notification": {"notification_type": "ACTUAL", "comparison_operator": "GREATER_THAN",
            "threshold": 80.0, "threshold_type": "PERCENTAGE"},
            "subscribers": [{"subscription_type": "EMAIL", "address": "platform-team@example.com"}]}]
tags:
  description: Tags of the budget.
  returned: when O(state=present)
  type: dict
  sample: {"stack": "seed"}
"""

try:
    from botocore.exceptions import BotoCoreError, ClientError

    BOTO_ERRORS = (BotoCoreError, ClientError)
except ImportError:
    BOTO_ERRORS = ()  # botocore missing: AnsibleAWSModule fails with a clear message

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags


# -- desired state from the parameters ------------------------------------------------
def notification_key(notification):
    """Identity of a notification: what AWS matches on (state ignored, threshold as float)."""
    return (
        notification["NotificationType"],
        notification["ComparisonOperator"],
        float(notification["Threshold"]),
        notification.get("ThresholdType", "PERCENTAGE"),
    )


def desired_notifications(params):
    """{key: (Notification, [Subscriber])} from the module's notifications option."""
    result = {}
    for item in params or []:
        notification = {
            "NotificationType": item["notification_type"],
            "ComparisonOperator": item["comparison_operator"],
            "Threshold": float(item["threshold"]),
            "ThresholdType": item["threshold_type"],
        }
        subscribers = [{"SubscriptionType": "EMAIL", "Address": a} for a in item["emails"]]
        subscribers += [{"SubscriptionType": "SNS", "Address": a} for a in item["sns_topic_arns"]]
        result[notification_key(notification)] = (notification, subscribers)
    return result


def desired_budget(params):
    budget = {
        "BudgetName": params["name"],
        "BudgetType": "COST",
        "TimeUnit": params["time_unit"],
        "BudgetLimit": {"Amount": str(float(params["limit_amount"])), "Unit": params["limit_unit"]},
    }
    if params["cost_filters"]:
        budget["CostFilters"] = {
            k: sorted(v) if isinstance(v, list) else [v] for k, v in params["cost_filters"].items()
        }
    return budget


def budget_differs(current, desired):
    """True when the settings this module manages differ (limit, time unit, type, filters)."""
    limit = current.get("BudgetLimit", {})
    try:
        same_amount = float(limit.get("Amount", "nan")) == float(desired["BudgetLimit"]["Amount"])
    except ValueError:
        same_amount = False
    current_filters = {k: sorted(v) for k, v in (current.get("CostFilters") or {}).items()}
    return not (
        same_amount
        and limit.get("Unit") == desired["BudgetLimit"]["Unit"]
        and current.get("TimeUnit") == desired["TimeUnit"]
        and current.get("BudgetType") == desired["BudgetType"]
        and current_filters == desired.get("CostFilters", {})
    )


def _subscriber_key(subscriber):
    return (subscriber["SubscriptionType"], subscriber["Address"])


# -- AWS reads --------------------------------------------------------------------------
def budget_arn(account_id, name):
    return f"arn:aws:budgets::{account_id}:budget/{name}"


def get_budget(client, account_id, name):
    try:
        return client.describe_budget(AccountId=account_id, BudgetName=name, aws_retry=True)["Budget"]
    except is_boto3_error_code("NotFoundException"):
        return None


def get_notifications(client, account_id, name):
    """{key: (Notification, [Subscriber])} as AWS has them."""
    result = {}
    paginator_args = {"AccountId": account_id, "BudgetName": name, "aws_retry": True}
    notifications = client.describe_notifications_for_budget(**paginator_args).get("Notifications", [])
    for notification in notifications:
        notification = {k: v for k, v in notification.items() if k != "NotificationState"}
        subscribers = client.describe_subscribers_for_notification(
            AccountId=account_id, BudgetName=name, Notification=notification, aws_retry=True
        ).get("Subscribers", [])
        result[notification_key(notification)] = (notification, subscribers)
    return result


def get_tags(client, account_id, name):
    response = client.list_tags_for_resource(ResourceARN=budget_arn(account_id, name), aws_retry=True)
    return {t["Key"]: t["Value"] for t in response.get("ResourceTags", [])}


# -- convergence ------------------------------------------------------------------------
class BudgetManager:
    def __init__(self, module, client, account_id):
        self.module = module
        self.client = client
        self.account_id = account_id
        self.name = module.params["name"]
        self.changed = False

    def _write(self, method, **kwargs):
        """Call a write API unless in check mode; records the change either way."""
        self.changed = True
        if self.module.check_mode:
            return None
        try:
            return getattr(self.client, method)(aws_retry=True, **kwargs)
        except BOTO_ERRORS as e:
            self.module.fail_json_aws(e, msg=f"Failed to {method.replace('_', ' ')} for budget {self.name}")

    def _state(self, budget, notifications, tags):
        if budget is None:
            return {}
        return {
            "budget_limit": budget.get("BudgetLimit"),
            "time_unit": budget.get("TimeUnit"),
            "cost_filters": budget.get("CostFilters") or {},
            "notifications": sorted(
                [dict(n, Subscribers=sorted(s, key=_subscriber_key)) for n, s in notifications.values()],
                key=notification_key,
            ),
            "tags": tags,
        }

    def present(self):
        params = self.module.params
        want = desired_budget(params)
        want_notifications = desired_notifications(params["notifications"])
        current = get_budget(self.client, self.account_id, self.name)

        if current is None:
            before = {}
            request = {
                "AccountId": self.account_id,
                "Budget": want,
                "NotificationsWithSubscribers": [
                    {"Notification": n, "Subscribers": s} for n, s in want_notifications.values()
                ],
            }
            if params["tags"]:
                request["ResourceTags"] = [{"Key": k, "Value": v} for k, v in params["tags"].items()]
            self._write("create_budget", **request)
            have_notifications, have_tags = {}, {}
        else:
            have_notifications = get_notifications(self.client, self.account_id, self.name)
            have_tags = get_tags(self.client, self.account_id, self.name)
            before = self._state(current, have_notifications, have_tags)
            if budget_differs(current, want):
                new = {
                    k: v for k, v in current.items() if k not in ("CalculatedSpend", "LastUpdatedTime", "HealthStatus")
                }
                new.update(want)
                if "CostFilters" not in want:
                    new.pop("CostFilters", None)
                self._write("update_budget", AccountId=self.account_id, NewBudget=new)
            self._converge_notifications(have_notifications, want_notifications)
            self._converge_tags(have_tags, params["tags"], params["purge_tags"])

        after_tags = (
            have_tags
            if params["tags"] is None
            else (params["tags"] if params["purge_tags"] else dict(have_tags, **params["tags"]))
        )
        after = self._state(want, want_notifications, after_tags)
        if not self.module.check_mode and self.changed:
            current = get_budget(self.client, self.account_id, self.name)
            after = self._state(
                current,
                get_notifications(self.client, self.account_id, self.name),
                get_tags(self.client, self.account_id, self.name),
            )
        return before, after, (current or want)

    def _converge_notifications(self, have, want):
        common = {"AccountId": self.account_id, "BudgetName": self.name}
        for key in have.keys() - want.keys():
            self._write("delete_notification", Notification=have[key][0], **common)
        for key in want.keys() - have.keys():
            notification, subscribers = want[key]
            self._write("create_notification", Notification=notification, Subscribers=subscribers, **common)
        for key in want.keys() & have.keys():
            notification = have[key][0]
            have_subs = {_subscriber_key(s): s for s in have[key][1]}
            want_subs = {_subscriber_key(s): s for s in want[key][1]}
            # Add before removing: AWS refuses to remove a notification's last subscriber.
            for sub in want_subs.keys() - have_subs.keys():
                self._write("create_subscriber", Notification=notification, Subscriber=want_subs[sub], **common)
            for sub in have_subs.keys() - want_subs.keys():
                self._write("delete_subscriber", Notification=notification, Subscriber=have_subs[sub], **common)

    def _converge_tags(self, have, want, purge):
        if want is None:
            return
        to_add, to_remove = compare_aws_tags(have, want, purge)
        arn = budget_arn(self.account_id, self.name)
        if to_remove:
            self._write("untag_resource", ResourceARN=arn, ResourceTagKeys=to_remove)
        if to_add:
            self._write(
                "tag_resource", ResourceARN=arn, ResourceTags=[{"Key": k, "Value": v} for k, v in to_add.items()]
            )

    def absent(self):
        current = get_budget(self.client, self.account_id, self.name)
        if current is None:
            return {}, {}
        before = self._state(
            current,
            get_notifications(self.client, self.account_id, self.name),
            get_tags(self.client, self.account_id, self.name),
        )
        self._write("delete_budget", AccountId=self.account_id, BudgetName=self.name)
        return before, {}


def main():
    argument_spec = {
        "name": {"type": "str", "required": True, "aliases": ["budget_name"]},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "account_id": {"type": "str"},
        "limit_amount": {"type": "float"},
        "limit_unit": {"type": "str", "default": "USD"},
        "time_unit": {"type": "str", "choices": ["MONTHLY", "QUARTERLY", "ANNUALLY"], "default": "MONTHLY"},
        "cost_filters": {"type": "dict"},
        "notifications": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "threshold": {"type": "float", "required": True},
                "threshold_type": {"type": "str", "choices": ["PERCENTAGE", "ABSOLUTE_VALUE"], "default": "PERCENTAGE"},
                "notification_type": {"type": "str", "choices": ["ACTUAL", "FORECASTED"], "default": "ACTUAL"},
                "comparison_operator": {
                    "type": "str",
                    "choices": ["GREATER_THAN", "LESS_THAN", "EQUAL_TO"],
                    "default": "GREATER_THAN",
                },
                "emails": {"type": "list", "elements": "str", "default": []},
                "sns_topic_arns": {"type": "list", "elements": "str", "default": []},
            },
        },
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["limit_amount"])],
        supports_check_mode=True,
    )
    for item in module.params["notifications"]:
        if not item["emails"] and not item["sns_topic_arns"]:
            module.fail_json(msg=f"notification at threshold {item['threshold']} needs at least one email or SNS topic")

    client = module.client("budgets", retry_decorator=AWSRetry.jittered_backoff())
    account_id = module.params["account_id"]
    if not account_id:
        sts = module.client("sts", retry_decorator=AWSRetry.jittered_backoff())
        try:
            account_id = sts.get_caller_identity(aws_retry=True)["Account"]
        except BOTO_ERRORS as e:
            module.fail_json_aws(e, msg="Failed to find the account id (set account_id)")

    manager = BudgetManager(module, client, account_id)
    try:
        if module.params["state"] == "present":
            before, after, budget = manager.present()
            result = {
                "budget": camel_dict_to_snake_dict(budget, ignore_list=["CostFilters"]),
                "notifications": [
                    {
                        "notification": camel_dict_to_snake_dict({k: v for k, v in n.items() if k != "Subscribers"}),
                        "subscribers": [camel_dict_to_snake_dict(s) for s in n["Subscribers"]],
                    }
                    for n in after.get("notifications", [])
                ],
                "tags": after.get("tags", {}),
            }
        else:
            before, after = manager.absent()
            result = {"budget": {}}
    except BOTO_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read budget {module.params['name']}")

    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(changed=manager.changed, **result)


if __name__ == "__main__":
    main()
