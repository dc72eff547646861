"""Every inline IAM policy a converge wrote, checked by a policy linter (parliament, from PyPI).

parliament knows each action's resource types and condition keys: a statement whose resource
cannot match its action (``s3:GetObject`` on a bucket ARN), an unknown action, a malformed ARN or
a condition key the action does not take is a finding. The roles render their policies from the
stack description at converge time, so they are checked as written to the endpoint, not as
templates.
"""

from __future__ import annotations

import json

import parliament


def inline_policies(iam) -> dict[str, dict]:
    """``<role>/<policy>`` -> document, for every inline policy of every role in the account."""
    out = {}
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
                doc = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
                out[f"{role['RoleName']}/{name}"] = json.loads(doc) if isinstance(doc, str) else doc
    return out


def findings(document: dict) -> list[str]:
    """parliament's findings on one policy document (empty when it has none)."""
    policy = parliament.analyze_policy_string(json.dumps(document))
    return [f"{f.issue}: {f.detail}" for f in policy.findings]


def assert_policies_lint_clean(iam, expected: set[str]) -> None:
    """The account's inline policies are ``expected`` (``role/policy`` names) and none has a finding."""
    policies = inline_policies(iam)
    assert set(policies) == expected, sorted(policies)
    problems = {name: findings(doc) for name, doc in policies.items()}
    assert not any(problems.values()), {name: found for name, found in problems.items() if found}
