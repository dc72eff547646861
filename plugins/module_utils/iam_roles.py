# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM roles for seed.fargate.iam_roles: a role as the account's read describes it, and the calls that bring it to
what a task asks for (pure functions, no AWS call here).

A plan is a list of ``(method, kwargs)`` of the botocore IAM client, in the order they must run: a new role before
its policies, a policy attached or put before the one it replaces is detached or deleted, so a role never holds
less than one of the two sets of permissions in between.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)


def policy_document(value):
    """A policy document as a dict: given as a dict or JSON text, or as IAM answers it (URL-encoded JSON, which
    botocore decodes for the shapes it knows)."""
    if value is None or isinstance(value, dict):
        return value
    text = str(value)
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(unquote(text))


def current_role(detail, listed=None):
    """A role of ``GetAccountAuthorizationDetails``' ``RoleDetailList``, in this module's terms.

    ``RoleDetail`` has neither ``Description`` nor ``MaxSessionDuration`` (botocore's model, and AWS's API
    reference); ``listed`` is the role as ``ListRoles`` gives it, which has both (but no tags). Without it both
    are ``None``: not read."""
    return {
        "name": detail["RoleName"],
        "path": detail.get("Path", "/"),
        "arn": detail.get("Arn"),
        "role_id": detail.get("RoleId"),
        "description": listed.get("Description", "") if listed else None,
        "max_session_duration": listed.get("MaxSessionDuration") if listed else None,
        "assume_role_policy_document": policy_document(detail.get("AssumeRolePolicyDocument")),
        "managed_policies": sorted(p["PolicyArn"] for p in detail.get("AttachedManagedPolicies") or []),
        "inline_policies": {p["PolicyName"]: policy_document(p["PolicyDocument"]) for p in detail.get("RolePolicyList") or []},
        "tags": boto3_tag_list_to_ansible_dict(detail.get("Tags") or []),
        "instance_profiles": sorted(p["InstanceProfileName"] for p in detail.get("InstanceProfileList") or []),
    }


def _dumps(document):
    return json.dumps(document, sort_keys=True)


def plan_create(spec):
    """Calls and resulting state of a role that does not exist."""
    name = spec["name"]
    create = {"RoleName": name, "Path": spec["path"], "AssumeRolePolicyDocument": _dumps(spec["assume_role_policy_document"])}
    if spec["description"] is not None:
        create["Description"] = spec["description"]
    if spec["max_session_duration"] is not None:
        create["MaxSessionDuration"] = spec["max_session_duration"]
    if spec["tags"]:
        create["Tags"] = ansible_dict_to_boto3_tag_list(spec["tags"])
    calls = [("create_role", create)]
    managed = sorted(set(spec["managed_policies"] or []))
    calls += [("attach_role_policy", {"RoleName": name, "PolicyArn": arn}) for arn in managed]
    inline = {k: v for k, v in (spec["inline_policies"] or {}).items() if v is not None}
    calls += [("put_role_policy", {"RoleName": name, "PolicyName": k, "PolicyDocument": _dumps(v)}) for k, v in sorted(inline.items())]
    after = {"name": name, "path": spec["path"], "arn": None, "description": spec["description"] or "",
             "max_session_duration": spec["max_session_duration"] or 3600,
             "assume_role_policy_document": spec["assume_role_policy_document"], "managed_policies": managed,
             "inline_policies": inline, "tags": dict(spec["tags"] or {})}
    return calls, after


def plan_update(spec, current):
    """Calls and resulting state that bring an existing role (``current_role``) to ``spec``; options given as
    ``None`` leave that part of the role as it is."""
    name = spec["name"]
    after = {k: current[k] for k in ("name", "path", "arn", "description", "max_session_duration",
                                     "assume_role_policy_document", "managed_policies", "inline_policies", "tags")}
    after["inline_policies"] = dict(current["inline_policies"])
    calls = []
    trust = spec["assume_role_policy_document"]
    if trust is not None and compare_policies(current["assume_role_policy_document"], trust):
        calls.append(("update_assume_role_policy", {"RoleName": name, "PolicyDocument": _dumps(trust)}))
        after["assume_role_policy_document"] = trust
    update = {}
    if spec["description"] is not None and spec["description"] != (current["description"] or ""):
        update["Description"] = after["description"] = spec["description"]
    if spec["max_session_duration"] is not None and spec["max_session_duration"] != current["max_session_duration"]:
        update["MaxSessionDuration"] = after["max_session_duration"] = spec["max_session_duration"]
    if update:
        calls.append(("update_role", dict({"RoleName": name}, **update)))

    if spec["tags"] is not None:
        add, remove = compare_aws_tags(current["tags"], spec["tags"], purge_tags=spec["purge_tags"])
        if remove:
            calls.append(("untag_role", {"RoleName": name, "TagKeys": sorted(remove)}))
        if add:
            calls.append(("tag_role", {"RoleName": name, "Tags": ansible_dict_to_boto3_tag_list(add)}))
        after["tags"] = dict({k: v for k, v in current["tags"].items() if k not in remove}, **add)

    if spec["managed_policies"] is not None:
        want = set(spec["managed_policies"])
        attach = sorted(want - set(current["managed_policies"]))
        detach = sorted(set(current["managed_policies"]) - want) if spec["purge_policies"] else []
        calls += [("attach_role_policy", {"RoleName": name, "PolicyArn": arn}) for arn in attach]
        calls += [("detach_role_policy", {"RoleName": name, "PolicyArn": arn}) for arn in detach]
        after["managed_policies"] = sorted((set(current["managed_policies"]) | want) - set(detach))

    if spec["inline_policies"] is not None:
        have = current["inline_policies"]
        wanted = spec["inline_policies"]
        delete = sorted(k for k, v in wanted.items() if v is None and k in have)
        if spec["purge_inline_policies"]:
            delete = sorted(set(delete) | {k for k in have if k not in wanted})
        for policy, document in sorted(wanted.items()):
            if document is not None and (policy not in have or compare_policies(have[policy], document)):
                calls.append(("put_role_policy", {"RoleName": name, "PolicyName": policy, "PolicyDocument": _dumps(document)}))
                after["inline_policies"][policy] = document
        for policy in delete:
            calls.append(("delete_role_policy", {"RoleName": name, "PolicyName": policy}))
            after["inline_policies"].pop(policy)
    return calls, after


def plan_delete(current):
    """Calls that delete an existing role: IAM refuses to delete a role with policies or in an instance profile."""
    name = current["name"]
    calls = [("remove_role_from_instance_profile", {"RoleName": name, "InstanceProfileName": p}) for p in current["instance_profiles"]]
    calls += [("detach_role_policy", {"RoleName": name, "PolicyArn": arn}) for arn in current["managed_policies"]]
    calls += [("delete_role_policy", {"RoleName": name, "PolicyName": p}) for p in sorted(current["inline_policies"])]
    calls.append(("delete_role", {"RoleName": name}))
    return calls


def shown(state):
    """A role's state as the diff and the return value show it (no ARN/ID, which a diff need not repeat)."""
    if not state:
        return {}
    return {k: state[k] for k in ("path", "description", "max_session_duration", "assume_role_policy_document",
                                  "managed_policies", "inline_policies", "tags")}
