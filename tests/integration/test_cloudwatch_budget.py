"""seed.fargate.budget against the local endpoint (moto + localaws's budgets patch)."""

from __future__ import annotations

import yaml

ACCOUNT = "123456789012"


def playbook(tmp_path, args, name):
    path = tmp_path / name
    task = {"name": "budget", "seed.fargate.budget": dict({"name": "unit-budget"}, **args)}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def notifications(client):
    out = {}
    for n in client.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName="unit-budget")["Notifications"]:
        n = {k: v for k, v in n.items() if k != "NotificationState"}
        subs = client.describe_subscribers_for_notification(
            AccountId=ACCOUNT, BudgetName="unit-budget", Notification=n
        )["Subscribers"]
        out[(n["NotificationType"], n["Threshold"])] = sorted(s["Address"] for s in subs)
    return out


def test_budget_lifecycle(run_playbook, boto, tmp_path):
    budgets = boto("budgets")
    topic = boto("sns").create_topic(Name="budget-alerts")["TopicArn"]
    first = playbook(
        tmp_path,
        {
            "limit_amount": 100,
            "cost_filters": {"TagKeyValue": ["user:stack$seed"]},
            "notifications": [
                {"threshold": 80, "emails": ["a@example.com"], "sns_topic_arns": [topic]},
                {"threshold": 100, "notification_type": "FORECASTED", "emails": ["a@example.com"]},
            ],
            "tags": {"stack": "seed", "environment": "local"},
        },
        "first.yml",
    )

    check = run_playbook(first, check=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert budgets.describe_budgets(AccountId=ACCOUNT).get("Budgets", []) == []

    run = run_playbook(first)
    assert run.rc == 0, run.failure_messages()
    assert [c["action"] for c in run.writes] == ["CreateBudget"]
    budget = budgets.describe_budget(AccountId=ACCOUNT, BudgetName="unit-budget")["Budget"]
    assert float(budget["BudgetLimit"]["Amount"]) == 100.0 and budget["TimeUnit"] == "MONTHLY"
    assert notifications(budgets) == {
        ("ACTUAL", 80.0): sorted(["a@example.com", topic]),
        ("FORECASTED", 100.0): ["a@example.com"],
    }
    tags = budgets.list_tags_for_resource(ResourceARN=f"arn:aws:budgets::{ACCOUNT}:budget/unit-budget")
    assert {t["Key"]: t["Value"] for t in tags["ResourceTags"]} == {"stack": "seed", "environment": "local"}

    again = run_playbook(first)
    assert again.rc == 0 and again.changed == 0 and again.writes == []

    second = playbook(
        tmp_path,
        {
            "limit_amount": 250.0,
            "cost_filters": {"TagKeyValue": ["user:stack$seed"]},
            "notifications": [{"threshold": 80, "emails": ["b@example.com"], "sns_topic_arns": [topic]}],
            "tags": {"stack": "seed", "environment": "local"},
        },
        "second.yml",
    )
    check = run_playbook(second, check=True, diff=True)
    assert check.changed == 1 and check.writes == []
    run = run_playbook(second)
    assert run.rc == 0, run.failure_messages()
    assert sorted(c["action"] for c in run.writes) == [
        "CreateSubscriber",
        "DeleteNotification",
        "DeleteSubscriber",
        "UpdateBudget",
    ]
    budget = budgets.describe_budget(AccountId=ACCOUNT, BudgetName="unit-budget")["Budget"]
    assert float(budget["BudgetLimit"]["Amount"]) == 250.0
    assert notifications(budgets) == {("ACTUAL", 80.0): sorted(["b@example.com", topic])}
    assert run_playbook(second).writes == []

    gone = playbook(tmp_path, {"state": "absent"}, "gone.yml")
    assert run_playbook(gone, check=True).writes == []
    run = run_playbook(gone)
    assert run.changed == 1 and [c["action"] for c in run.writes] == ["DeleteBudget"]
    assert budgets.describe_budgets(AccountId=ACCOUNT).get("Budgets", []) == []
    again = run_playbook(gone)
    assert again.changed == 0 and again.writes == []


def test_budget_notification_needs_a_subscriber(run_playbook, tmp_path):
    run = run_playbook(playbook(tmp_path, {"limit_amount": 10, "notifications": [{"threshold": 50}]}, "bad.yml"))
    assert run.rc != 0
    assert "needs at least one email or SNS topic" in run.failure_messages()[0]
    assert run.writes == []
