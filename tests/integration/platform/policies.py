"""Every inline IAM policy a converge wrote, checked by a policy linter (parliament, from PyPI).

parliament knows each action's resource types and condition keys: a statement whose resource
cannot match its action (``s3:GetObject`` on a bucket ARN), an unknown action, a malformed ARN or
a condition key the action does not take is a finding. The roles render their policies from the
stack description at converge time, so they are checked as written to the endpoint, not as
templates.
"""

from __future__ import annotations

from tools.lint_policies import findings, inline_policies

__all__ = ["assert_policies_lint_clean", "findings", "inline_policies"]


def assert_policies_lint_clean(iam, expected: set[str]) -> None:
    """The account's inline policies are ``expected`` (``role/policy`` names) and none has a finding."""
    policies = inline_policies(iam)
    assert set(policies) == expected, sorted(policies)
    problems = {name: findings(doc) for name, doc in policies.items()}
    assert not any(problems.values()), {name: found for name, found in problems.items() if found}
