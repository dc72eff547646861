"""seed.fargate.iam_roles against the local endpoint: one read of the account's roles for a converged list,
writes only for what differs, check mode writing nothing, removal of everything a role holds."""

from __future__ import annotations

import json

import yaml

TRUST = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
CODEDEPLOY_TRUST = {"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "codedeploy.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
LIMITED = "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECSLimited"
EXECUTION = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def statement_policy(action, resource="*"):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


def playbook(tmp_path, roles, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "roles", "seed.fargate.iam_roles": {"roles": roles}, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def role(name, **over):
    spec = {"name": name, "description": f"{name} role", "assume_role_policy_document": TRUST,
            "managed_policies": [], "inline_policies": {f"{name}-table": statement_policy("dynamodb:GetItem")},
            "tags": {"stack": "t", "service": name}} | over
    return {k: v for k, v in spec.items() if v is not None}


def result(run):
    return run.task_results("roles")[0]


def inline(iam, name):
    out = {}
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        out[policy] = json.loads(doc) if isinstance(doc, str) else doc
    return out


def managed(iam, name):
    return [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]


def tags(iam, name):
    return {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}


def test_roles_lifecycle(run_playbook, boto, tmp_path):
    iam = boto("iam")
    # A role not listed: never read as a change, never touched.
    iam.create_role(RoleName="other", AssumeRolePolicyDocument=json.dumps(TRUST))
    roles = [role("t-api"), role("t-web", inline_policies={"t-web-table": None}),
             role("t-deploy", assume_role_policy_document=CODEDEPLOY_TRUST, managed_policies=[LIMITED], max_session_duration=7200)]
    create = playbook(tmp_path, roles)

    # --check on nothing: three roles to make, nothing written, no ARNs yet.
    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert result(check)["written"] == ["t-api", "t-web", "t-deploy"]
    assert result(check)["role_arns"] == {"t-api": None, "t-web": None, "t-deploy": None}

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    assert [c["action"] for c in run.writes] == ["CreateRole", "PutRolePolicy", "CreateRole", "CreateRole",
                                                 "AttachRolePolicy", "PutRolePolicy"]
    for name in ("t-api", "t-web", "t-deploy"):
        got = iam.get_role(RoleName=name)["Role"]
        assert result(run)["role_arns"][name] == got["Arn"]
        assert got["Description"] == f"{name} role" and tags(iam, name) == {"stack": "t", "service": name}
    assert inline(iam, "t-api") == {"t-api-table": statement_policy("dynamodb:GetItem")}
    assert inline(iam, "t-web") == {} and managed(iam, "t-deploy") == [LIMITED]
    assert iam.get_role(RoleName="t-deploy")["Role"]["MaxSessionDuration"] == 7200
    assert iam.get_role(RoleName="t-deploy")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] \
        == {"Service": "codedeploy.amazonaws.com"}

    # Converged: one read of every role (and one listing for descriptions and durations), nothing written,
    # in check mode too.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert [c["action"] for c in again.calls] == ["GetAccountAuthorizationDetails", "ListRoles"]
    assert result(again)["role_arns"] == result(run)["role_arns"]
    quiet = run_playbook(create, check=True, diff=True)
    assert quiet.changed == 0 and quiet.writes == []

    # Trust, inline and managed policies, tags and description change; only those calls.
    changed_roles = [
        role("t-api", assume_role_policy_document=CODEDEPLOY_TRUST, description="api, changed",
             inline_policies={"t-api-table": statement_policy(["dynamodb:GetItem", "dynamodb:Query"])},
             tags={"stack": "t", "service": "t-api", "owner": "me"}),
        role("t-web", inline_policies={"t-web-table": None}),
        role("t-deploy", assume_role_policy_document=CODEDEPLOY_TRUST, managed_policies=[EXECUTION], max_session_duration=7200,
             tags={"stack": "t"}),
    ]
    change = playbook(tmp_path, changed_roles, "change.yml")
    check = run_playbook(change, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    assert result(check)["written"] == ["t-api", "t-deploy"]
    diff = result(check)["diff"]
    assert diff["before"]["t-api"]["description"] == "t-api role" and diff["after"]["t-api"]["description"] == "api, changed"
    assert diff["after"]["t-deploy"]["managed_policies"] == [EXECUTION]
    run = run_playbook(change)
    assert run.rc == 0, run.failure_messages()
    assert sorted(c["action"] for c in run.writes) == sorted([
        "UpdateAssumeRolePolicy", "UpdateRole", "TagRole", "PutRolePolicy",  # t-api
        "UntagRole", "AttachRolePolicy", "DetachRolePolicy"])  # t-deploy
    assert iam.get_role(RoleName="t-api")["Role"]["Description"] == "api, changed"
    assert iam.get_role(RoleName="t-api")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] \
        == {"Service": "codedeploy.amazonaws.com"}
    assert inline(iam, "t-api")["t-api-table"]["Statement"][0]["Action"] == ["dynamodb:GetItem", "dynamodb:Query"]
    assert tags(iam, "t-api") == {"stack": "t", "service": "t-api", "owner": "me"}
    assert managed(iam, "t-deploy") == [EXECUTION] and tags(iam, "t-deploy") == {"stack": "t"}
    assert run_playbook(change).writes == []

    # Without purges: a policy and a tag added out of band stay; with them, they go.
    iam.put_role_policy(RoleName="t-web", PolicyName="extra", PolicyDocument=json.dumps(statement_policy("s3:GetObject")))
    iam.attach_role_policy(RoleName="t-web", PolicyArn=LIMITED)
    iam.tag_role(RoleName="t-web", Tags=[{"Key": "extra", "Value": "1"}])
    keep = playbook(tmp_path, [role("t-web", inline_policies={}, purge_policies=False, purge_tags=False)], "keep.yml")
    assert run_playbook(keep).writes == []
    purge = playbook(tmp_path, [role("t-web", inline_policies={}, purge_inline_policies=True)], "purge.yml")
    run = run_playbook(purge)
    assert sorted(c["action"] for c in run.writes) == ["DeleteRolePolicy", "DetachRolePolicy", "UntagRole"]
    assert inline(iam, "t-web") == {} and managed(iam, "t-web") == [] and tags(iam, "t-web") == {"stack": "t", "service": "t-web"}

    # Removal: check mode writes nothing; then every policy goes before the role; a second run has nothing to do.
    absent = playbook(tmp_path, [{"name": n, "state": "absent"} for n in ("t-api", "t-web", "t-deploy", "t-never")], "absent.yml")
    check = run_playbook(absent, check=True, diff=True)
    assert check.changed == 1 and check.writes == [] and result(check)["written"] == ["t-api", "t-web", "t-deploy"]
    run = run_playbook(absent)
    assert run.rc == 0, run.failure_messages()
    assert [c["action"] for c in run.writes] == ["DeleteRolePolicy", "DeleteRole", "DeleteRole",
                                                 "DetachRolePolicy", "DeleteRolePolicy", "DeleteRole"]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["other"]
    gone = run_playbook(absent)
    assert gone.changed == 0 and [c["action"] for c in gone.calls] == ["GetAccountAuthorizationDetails"]


def test_bad_input_fails_before_any_call(run_playbook, tmp_path):
    bad = [
        ([role("t-a"), role("t-a")], "names must be unique"),
        ([role("t-a", assume_role_policy_document=None)], "assume_role_policy_document is required"),
        ([role("t-a", managed_policies=["AWSCodeDeployRoleForECSLimited"])], "must be policy ARNs"),
        ([role("t-a", max_session_duration=60)], "max_session_duration"),
        ([role("t-a", path="ecs")], "path must start and end with /"),
        ([role("t-a", inline_policies={"p": "{not json"})], "not JSON"),
    ]
    for i, (roles, message) in enumerate(bad):
        run = run_playbook(playbook(tmp_path, roles, f"bad{i}.yml"))
        assert run.rc != 0 and run.calls == [], run.calls
        assert any(message in m for m in run.failure_messages()), run.failure_messages()
