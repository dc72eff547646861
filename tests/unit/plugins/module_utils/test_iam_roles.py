"""module_utils/iam_roles: a role as GetAccountAuthorizationDetails describes it, and the calls that converge it
(pure functions: no client, no stub)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[4]
if str(ROOT / ".collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.seed.fargate.plugins.module_utils.iam_roles import (
    current_role,
    plan_create,
    plan_delete,
    plan_update,
    policy_document,
)

TRUST = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}
MANAGED = "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECSLimited"


def detail(**over):
    """A RoleDetail as GetAccountAuthorizationDetails answers it."""
    return {"RoleName": "r", "Path": "/", "Arn": "arn:aws:iam::123456789012:role/r", "RoleId": "AROA1",
            "AssumeRolePolicyDocument": TRUST, "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": POLICY}],
            "AttachedManagedPolicies": [{"PolicyName": "m", "PolicyArn": MANAGED}],
            "Tags": [{"Key": "stack", "Value": "seed"}], "InstanceProfileList": []} | over


def spec(**over):
    return {"name": "r", "state": "present", "path": "/", "description": "d", "assume_role_policy_document": TRUST,
            "max_session_duration": None, "managed_policies": [MANAGED], "purge_policies": True,
            "inline_policies": {"p": POLICY}, "purge_inline_policies": False, "tags": {"stack": "seed"},
            "purge_tags": True} | over


def current(**over):
    return current_role(detail(**over), {"Description": "d", "MaxSessionDuration": 3600})


def test_policy_document_reads_dicts_json_and_url_encoded_json():
    assert policy_document(POLICY) is POLICY
    assert policy_document(json.dumps(POLICY)) == POLICY
    assert policy_document(quote(json.dumps(POLICY))) == POLICY


def test_current_role_without_listing_has_no_description_or_duration():
    role = current_role(detail())
    assert role["description"] is None and role["max_session_duration"] is None
    assert role["inline_policies"] == {"p": POLICY} and role["managed_policies"] == [MANAGED]
    assert role["tags"] == {"stack": "seed"}


def test_converged_role_plans_no_call():
    assert plan_update(spec(), current())[0] == []


def test_policies_compare_as_iam_reads_them():
    # key order, a one-element list for a string, the statement as a dict: the same policy
    same = {"Statement": {"Resource": "*", "Action": "s3:GetObject", "Effect": "Allow"}, "Version": "2012-10-17"}
    trust = {"Version": "2012-10-17", "Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow",
                                                    "Principal": {"Service": ["ecs-tasks.amazonaws.com"]}}]}
    assert plan_update(spec(inline_policies={"p": same}, assume_role_policy_document=trust), current())[0] == []


def test_options_not_given_leave_the_role_alone():
    untouched = spec(description=None, managed_policies=None, inline_policies=None, tags=None,
                     assume_role_policy_document=None)
    assert plan_update(untouched, current(Tags=[{"Key": "x", "Value": "y"}], RolePolicyList=[]))[0] == []


def test_changes_write_new_before_removing_old():
    other = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    changed = spec(managed_policies=[other], description="new", max_session_duration=7200,
                   inline_policies={"q": POLICY, "p": None}, tags={"stack": "seed", "env": "prod"})
    calls, after = plan_update(changed, current(Tags=[{"Key": "stack", "Value": "seed"}, {"Key": "old", "Value": "1"}]))
    assert [c[0] for c in calls] == ["update_role", "untag_role", "tag_role", "attach_role_policy", "detach_role_policy",
                                     "put_role_policy", "delete_role_policy"]
    assert calls[0][1] == {"RoleName": "r", "Description": "new", "MaxSessionDuration": 7200}
    assert calls[1][1]["TagKeys"] == ["old"] and calls[2][1]["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert calls[3][1]["PolicyArn"] == other and calls[4][1]["PolicyArn"] == MANAGED
    assert calls[5][1]["PolicyName"] == "q" and json.loads(calls[5][1]["PolicyDocument"]) == POLICY
    assert after["managed_policies"] == [other] and sorted(after["inline_policies"]) == ["q"]
    assert after["tags"] == {"stack": "seed", "env": "prod"}


def test_purges_follow_amazon_aws():
    other = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    keep = spec(managed_policies=[other], purge_policies=False, tags={}, purge_tags=False, inline_policies={})
    calls, _after = plan_update(keep, current())
    assert [c[0] for c in calls] == ["attach_role_policy"]  # nothing detached, untagged or deleted
    purge = spec(inline_policies={}, purge_inline_policies=True, tags={})
    assert [c[0] for c in plan_update(purge, current(Tags=[{"Key": "aws:x", "Value": "1"}, {"Key": "a", "Value": "b"}]))[0]] \
        == ["untag_role", "delete_role_policy"]  # aws: tags are never removed


def test_trust_change_is_one_call():
    other = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"Service": "codedeploy.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    calls, after = plan_update(spec(assume_role_policy_document=other), current())
    assert [c[0] for c in calls] == ["update_assume_role_policy"] and after["assume_role_policy_document"] == other


def test_create_tags_the_role_as_it_is_made_then_writes_its_policies():
    calls, after = plan_create(spec(inline_policies={"p": POLICY, "gone": None}))
    assert [c[0] for c in calls] == ["create_role", "attach_role_policy", "put_role_policy"]
    assert calls[0][1]["Tags"] == [{"Key": "stack", "Value": "seed"}] and calls[0][1]["Description"] == "d"
    assert "MaxSessionDuration" not in calls[0][1] and after["arn"] is None


def test_delete_empties_the_role_first():
    calls = plan_delete(current(InstanceProfileList=[{"InstanceProfileName": "ip"}]))
    assert [c[0] for c in calls] == ["remove_role_from_instance_profile", "detach_role_policy", "delete_role_policy",
                                     "delete_role"]
