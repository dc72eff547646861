"""tools/lint_policies.py's linting: parliament finds what a wrong policy gets wrong, and a trust policy (given
its role as resource) passes only with condition keys and operators that exist."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tools.lint_policies import findings

ROLE = "arn:aws:iam::123456789012:role/seed-api-task"


def statement(**over):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow"} | over]}


def test_a_resource_the_action_cannot_take_is_a_finding():
    assert findings(statement(Action="s3:GetObject", Resource="arn:aws:s3:::bucket"))
    assert findings(statement(Action="s3:GetObject", Resource="arn:aws:s3:::bucket/*")) == []


def test_an_unknown_action_is_a_finding():
    assert findings(statement(Action="ecs:RegisterTaskDefinitions", Resource="*"))


def test_a_trust_policy_with_its_role_as_resource_is_checked_on_its_conditions():
    trust = {"Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole", "Resource": ROLE}
    assert findings(statement(**trust, Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}})) == []
    assert findings(statement(**trust, Condition={"StringEquals": {"aws:SourceAccounts": "123456789012"}}))
