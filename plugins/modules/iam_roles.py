#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: iam_roles
short_description: Converge a list of IAM roles (trust, managed and inline policies, tags) in one call
version_added: 0.1.0
description:
  - Reads every role of the account with one paginated C(GetAccountAuthorizationDetails) (C(Filter=[Role])), which gives
    each role's trust policy, attached managed policies, inline policies with their documents, tags and instance profiles
    in one answer. Description and maximum session duration are not part of that answer (C(RoleDetail) has
    neither), so when a listed role exists and sets either, one paginated C(ListRoles) under the roles' common
    path reads them.
  - Then calls only what differs - C(CreateRole) (tagged as it is made), C(UpdateAssumeRolePolicy),
    C(UpdateRole), C(TagRole)/C(UntagRole), C(AttachRolePolicy)/C(DetachRolePolicy),
    C(PutRolePolicy)/C(DeleteRolePolicy) - and, with O(roles[].state=absent), removes a role with everything
    IAM requires gone first.
  - Policies are compared as IAM reads them (key order, a single value or a one-element list, the C(Version)
    default), with C(amazon.aws)'s C(compare_policies).
  - A policy attached or put is written before the one it replaces is detached or deleted, so the role never
    holds neither.
  - Written because C(amazon.aws.iam_role) and C(amazon.aws.iam_policy) take one role or one policy per call;
    the four roles of a stack cost 35 AWS calls and 13 module runs on a converge that changed nothing, this
    module 2 calls and one run.
  - Instance profiles and permissions boundaries are not managed (a role being removed is taken out of its
    instance profiles, which are left in place).
options:
  roles:
    description: The roles, each identified by its name, unique in the list.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The role's name.
        type: str
        required: true
      state:
        description: C(present) converges the role; C(absent) detaches its managed policies, deletes its inline ones and the role.
        type: str
        choices: [present, absent]
        default: present
      path:
        description: The role's path, used when it is created (IAM cannot change it later; a different path warns).
        type: str
        default: /
      description:
        description: The role's description. Not given, an existing role's description is left as it is.
        type: str
      assume_role_policy_document:
        description:
          - The trust policy, as a dict or JSON text. Required when O(roles[].state=present).
        type: json
      max_session_duration:
        description:
          - Maximum session duration in seconds (3600 to 43200).
          - Not given, an existing role's is left as it is (a new role gets IAM's default, 3600).
        type: int
      managed_policies:
        description:
          - ARNs of the managed policies attached to the role.
          - Not given, the attached policies are left as they are.
        type: list
        elements: str
      purge_policies:
        description: Detach managed policies not in O(roles[].managed_policies) (as C(amazon.aws.iam_role)).
        type: bool
        default: true
      inline_policies:
        description:
          - Inline policies, name to document (a dict or JSON text). A name given C(null) is deleted if the role has it.
          - Not given, the inline policies are left as they are.
        type: dict
      purge_inline_policies:
        description: Delete inline policies not named in O(roles[].inline_policies).
        type: bool
        default: false
      tags:
        description: Tags of the role. Not given, the tags are left as they are.
        type: dict
      purge_tags:
        description: Remove tags not in O(roles[].tags) (tags starting with C(aws:) are never removed), as C(amazon.aws.iam_role).
        type: bool
        default: true
  wait_timeout:
    description: Seconds to wait for a created role to be readable (IAM is eventually consistent) before its policies are written.
    type: int
    default: 120
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: An ECS task execution role and a task role with its own inline policy; an old role removed
  seed.fargate.iam_roles:
    roles:
      - name: seed-task-execution
        description: ECS task execution role of stack seed
        assume_role_policy_document:
          Version: "2012-10-17"
          Statement: [{Effect: Allow, Principal: {Service: ecs-tasks.amazonaws.com}, Action: sts:AssumeRole}]
        managed_policies: [arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy]
        tags: {stack: seed}
      - name: seed-api-task
        description: Task role of service api
        assume_role_policy_document:
          Version: "2012-10-17"
          Statement: [{Effect: Allow, Principal: {Service: ecs-tasks.amazonaws.com}, Action: sts:AssumeRole}]
        managed_policies: []
        inline_policies:
          seed-api:
            Version: "2012-10-17"
            Statement: [{Effect: Allow, Action: dynamodb:GetItem, Resource: "{{ table_arn }}"}]
          seed-api-old: null  # deleted if the role has it
        tags: {stack: seed, service: api}
      - name: seed-worker-task
        state: absent
  register: roles

- name: Use the ARNs
  ansible.builtin.debug:
    msg: "{{ roles.role_arns['seed-api-task'] }}"
"""

RETURN = r"""
roles:
  description: The listed roles in the order of O(roles), as they are after the call (as they would be, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The role's name.
      type: str
    state:
      description: C(present) or C(absent).
      type: str
    arn:
      description: The role's ARN; C(null) for a removed role, and in check mode for a role still to be made.
      type: str
      sample: arn:aws:iam::123456789012:role/seed-api-task
    path:
      description: The role's path.
      type: str
    description:
      description: The role's description; C(null) for an existing role whose description was not asked for (not read).
      type: str
    max_session_duration:
      description: Maximum session duration in seconds; C(null) for an existing role whose duration was not asked for (not read).
      type: int
    assume_role_policy_document:
      description: The trust policy.
      type: dict
    managed_policies:
      description: ARNs of the attached managed policies.
      type: list
      elements: str
    inline_policies:
      description: Inline policies, name to document.
      type: dict
    tags:
      description: The role's tags.
      type: dict
role_arns:
  description: Name -> ARN of every listed role (C(null) for a removed role, and in check mode for one still to be made).
  returned: always
  type: dict
  sample: {seed-api-task: "arn:aws:iam::123456789012:role/seed-api-task"}
written:
  description: Names of the roles created, changed or removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
"""

import os

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.seed.fargate.plugins.module_utils.iam_roles import (
    current_role,
    plan_create,
    plan_delete,
    plan_update,
    policy_document,
    shown,
)


@AWSRetry.jittered_backoff()
def _read_roles(client):
    """Every role of the account, name -> RoleDetail (one call per 1,000 roles)."""
    paginator = client.get_paginator("get_account_authorization_details")
    pages = paginator.paginate(Filter=["Role"], PaginationConfig={"PageSize": 1000})
    return {r["RoleName"]: r for page in pages for r in page.get("RoleDetailList", [])}


@AWSRetry.jittered_backoff()
def _list_roles(client, path_prefix):
    """Roles under ``path_prefix``, name -> Role (with Description and MaxSessionDuration, without tags)."""
    pages = client.get_paginator("list_roles").paginate(PathPrefix=path_prefix, PaginationConfig={"PageSize": 1000})
    return {r["RoleName"]: r for page in pages for r in page.get("Roles", [])}


def _common_path(paths):
    """The longest IAM path every path of ``paths`` starts with (``/`` at least)."""
    prefix = os.path.commonprefix(list(paths))
    return prefix[:prefix.rfind("/") + 1] or "/"


def _validate(module, specs):
    names = [s["name"] for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        module.fail_json(msg=f"roles: names must be unique, got {twice} more than once")
    for spec in specs:
        where = f"roles: {spec['name']}"
        if spec["state"] == "absent":
            continue
        if spec["assume_role_policy_document"] is None:
            module.fail_json(msg=f"{where}: assume_role_policy_document is required when state is present")
        if not (spec["path"].startswith("/") and spec["path"].endswith("/")):
            module.fail_json(msg=f"{where}: path must start and end with /, got {spec['path']!r}")
        duration = spec["max_session_duration"]
        if duration is not None and not 3600 <= duration <= 43200:
            module.fail_json(msg=f"{where}: max_session_duration must be between 3600 and 43200 seconds, got {duration}")
        bad = [arn for arn in spec["managed_policies"] or [] if not arn.startswith("arn:")]
        if bad:
            module.fail_json(msg=f"{where}: managed_policies must be policy ARNs, got {bad}")
        try:
            spec["assume_role_policy_document"] = policy_document(spec["assume_role_policy_document"])
            if spec["inline_policies"] is not None:
                spec["inline_policies"] = {k: policy_document(v) for k, v in spec["inline_policies"].items()}
        except ValueError as e:
            module.fail_json(msg=f"{where}: a policy document is not JSON: {e}")


def main():
    role = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        path=dict(type="str", default="/"),
        description=dict(type="str"),
        assume_role_policy_document=dict(type="json"),
        max_session_duration=dict(type="int"),
        managed_policies=dict(type="list", elements="str"),
        purge_policies=dict(type="bool", default=True),
        inline_policies=dict(type="dict"),
        purge_inline_policies=dict(type="bool", default=False),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            roles=dict(type="list", elements="dict", required=True, options=role),
            wait_timeout=dict(type="int", default=120),
        ),
        supports_check_mode=True,
    )
    specs = module.params["roles"]
    _validate(module, specs)

    client = module.client("iam", retry_decorator=AWSRetry.jittered_backoff())
    try:
        details = _read_roles(client) if specs else {}
        wants_listing = [s for s in specs if s["name"] in details and s["state"] == "present"
                         and (s["description"] is not None or s["max_session_duration"] is not None)]
        listed = _list_roles(client, _common_path(details[s["name"]]["Path"] for s in wants_listing)) if wants_listing else {}
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Couldn't read the account's roles")

    plans, before, after, results = [], {}, {}, []
    for spec in specs:
        name = spec["name"]
        current = current_role(details[name], listed.get(name)) if name in details else None
        if spec["state"] == "absent":
            calls, state = (plan_delete(current), None) if current else ([], None)
        elif current is None:
            calls, state = plan_create(spec)
        else:
            calls, state = plan_update(spec, current)
            if spec["path"] != current["path"]:
                module.warn(f"roles: {name}: IAM cannot change a role's path: it stays {current['path']!r} (asked {spec['path']!r})")
        if calls:
            before[name], after[name] = shown(current), shown(state)
        plans.append((name, calls))
        results.append(dict(shown(state) if state else {}, name=name, state=spec["state"], arn=state and state["arn"]))

    written = [name for name, calls in plans if calls]
    if not module.check_mode:
        for (name, calls), result in zip(plans, results):
            for method, kwargs in calls:
                try:
                    answer = getattr(client, method)(aws_retry=True, **kwargs)
                    if method == "create_role":
                        result["arn"] = answer["Role"]["Arn"]
                        # IAM is eventually consistent: the policies go to a role that reads back
                        client.get_waiter("role_exists").wait(RoleName=name, WaiterConfig={
                            "Delay": 1, "MaxAttempts": max(1, module.params["wait_timeout"])})
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
                        botocore.exceptions.WaiterError) as e:
                    module.fail_json_aws(e, msg=f"Couldn't {method.replace('_', ' ')} for {name}")
    module.exit_json(changed=bool(written), roles=results, role_arns={r["name"]: r["arn"] for r in results},
                     written=written, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
