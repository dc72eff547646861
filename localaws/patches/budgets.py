"""AWS Budgets: the calls moto lacks for keeping a budget converged.

moto creates, describes and deletes budgets and their notifications. AWS also
has (and seed.fargate.budget uses):

- ``UpdateBudget`` (change the limit of an existing budget);
- ``DescribeSubscribersForNotification``, ``CreateSubscriber``, ``DeleteSubscriber``
  (moto keeps the subscribers given at creation but cannot show or change them);
- ``TagResource``, ``UntagResource``, ``ListTagsForResource`` and ``ResourceTags``
  on ``CreateBudget`` (cost allocation tags on the budget itself);
- ``DescribeNotificationsForBudget`` of an unknown budget answers ``NotFoundException``
  (moto raised an internal error).
"""

from __future__ import annotations

import json

_PATCHED = "_localaws_budgets"
# budget ARN -> {key: value}; outside moto's backend, cleared by reset().
_TAGS: dict[str, dict[str, str]] = {}


def reset() -> None:
    _TAGS.clear()


def _arn(account_id: str, name: str) -> str:
    return f"arn:aws:budgets::{account_id}:budget/{name}"


def apply() -> None:
    from moto.budgets.exceptions import NotFoundException
    from moto.budgets.models import Notification
    from moto.budgets.responses import BudgetsResponse

    if getattr(BudgetsResponse, _PATCHED, False):
        return

    def _budget(backend, account_id, name):
        if name not in backend.budgets[account_id]:
            raise NotFoundException(f"Unable to get budget: {name} - the budget doesn't exist.")
        return backend.budgets[account_id][name]

    def _notification(budget, details) -> Notification:
        for notification in budget.notifications:
            if all(notification.details.get(k) == v for k, v in details.items()):
                return notification
        raise NotFoundException("Unable to find notification - the notification doesn't exist.")

    def _arn_parts(arn: str) -> tuple[str, str]:
        # arn:aws:budgets::<account>:budget/<name>
        try:
            prefix, name = arn.split(":budget/", 1)
            return prefix.rsplit(":", 1)[1], name
        except (ValueError, IndexError):
            raise NotFoundException(f"Unable to find resource {arn}") from None

    original_create = BudgetsResponse.create_budget
    original_delete = BudgetsResponse.delete_budget

    def create_budget(self):
        result = original_create(self)
        account_id = self._get_param("AccountId")
        budget = self._get_param("Budget")
        tags = self._get_param("ResourceTags") or []
        if tags:
            _TAGS[_arn(account_id, budget["BudgetName"])] = {t["Key"]: t["Value"] for t in tags}
        return result

    def delete_budget(self):
        result = original_delete(self)
        _TAGS.pop(_arn(self._get_param("AccountId"), self._get_param("BudgetName")), None)
        return result

    def update_budget(self):
        account_id = self._get_param("AccountId")
        new = self._get_param("NewBudget")
        budget = _budget(self.backend, account_id, new["BudgetName"])
        keep = {k: budget.budget[k] for k in ("LastUpdatedTime",) if k in budget.budget}
        if "TimePeriod" not in new and "TimePeriod" in budget.budget:
            keep["TimePeriod"] = budget.budget["TimePeriod"]
        budget.budget = dict(new, **keep)
        return json.dumps({})

    def describe_notifications_for_budget(self):
        account_id = self._get_param("AccountId")
        budget = _budget(self.backend, account_id, self._get_param("BudgetName"))
        return json.dumps({"Notifications": budget.get_notifications()})

    def describe_subscribers_for_notification(self):
        budget = _budget(self.backend, self._get_param("AccountId"), self._get_param("BudgetName"))
        notification = _notification(budget, self._get_param("Notification"))
        return json.dumps({"Subscribers": list(notification.subscribers)})

    def create_subscriber(self):
        budget = _budget(self.backend, self._get_param("AccountId"), self._get_param("BudgetName"))
        notification = _notification(budget, self._get_param("Notification"))
        subscriber = self._get_param("Subscriber")
        if subscriber not in notification.subscribers:
            notification.subscribers = list(notification.subscribers) + [subscriber]
        return json.dumps({})

    def delete_subscriber(self):
        budget = _budget(self.backend, self._get_param("AccountId"), self._get_param("BudgetName"))
        notification = _notification(budget, self._get_param("Notification"))
        subscriber = self._get_param("Subscriber")
        notification.subscribers = [s for s in notification.subscribers if s != subscriber]
        return json.dumps({})

    def _tagged_budget(self):
        account_id, name = _arn_parts(self._get_param("ResourceARN"))
        _budget(self.backend, account_id, name)
        return _arn(account_id, name)

    def list_tags_for_resource(self):
        arn = _tagged_budget(self)
        return json.dumps({"ResourceTags": [{"Key": k, "Value": v} for k, v in _TAGS.get(arn, {}).items()]})

    def tag_resource(self):
        arn = _tagged_budget(self)
        _TAGS.setdefault(arn, {}).update({t["Key"]: t["Value"] for t in self._get_param("ResourceTags") or []})
        return json.dumps({})

    def untag_resource(self):
        arn = _tagged_budget(self)
        for key in self._get_param("ResourceTagKeys") or []:
            _TAGS.get(arn, {}).pop(key, None)
        return json.dumps({})

    for func in (
        create_budget,
        delete_budget,
        update_budget,
        describe_notifications_for_budget,
        describe_subscribers_for_notification,
        create_subscriber,
        delete_subscriber,
        list_tags_for_resource,
        tag_resource,
        untag_resource,
    ):
        setattr(BudgetsResponse, func.__name__, func)
    setattr(BudgetsResponse, _PATCHED, True)
