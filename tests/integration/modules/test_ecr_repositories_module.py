"""seed.fargate.ecr_repositories against the local endpoint: one DescribeRepositories for every repository and one
GetLifecyclePolicy each on a no-op, writes only for what differs, check mode and diff writing nothing, removal, and
bad input failing before any call."""

from __future__ import annotations

import json

import yaml

POLICY = {"rules": [{"rulePriority": 1, "description": "Expire untagged images after 7 days",
                     "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                                   "countNumber": 7},
                     "action": {"type": "expire"}}]}
# As a template renders it: the integers as strings.
POLICY_TEMPLATED = {"rules": [dict(POLICY["rules"][0], rulePriority="1",
                                   selection=dict(POLICY["rules"][0]["selection"], countNumber="7"))]}
NAMES = ["t/api", "t/web"]


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "repos", "seed.fargate.ecr_repositories": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def repos(**over):
    return {"repositories": [{"name": n, "image_tag_mutability": "IMMUTABLE", "scan_on_push": True,
                              "lifecycle_policy": POLICY} | over for n in NAMES]}


def result(run):
    return run.task_results("repos")[0]


def actions(calls):
    return sorted(c["action"] for c in calls)


def test_repositories_lifecycle(run_playbook, boto, tmp_path):
    ecr = boto("ecr")
    ecr.create_repository(repositoryName="other")  # another repository of the registry: never touched
    create = playbook(tmp_path, repos())

    # --check on nothing: both to make, no URI yet, nothing written.
    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    out = result(check)
    assert [r["repository_uri"] for r in out["repositories"]] == [None, None]
    assert out["diff"]["before"] == {"t/api": None, "t/web": None}
    assert out["diff"]["after"]["t/api"]["image_tag_mutability"] == "IMMUTABLE"

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    assert actions(run.writes) == ["CreateRepository"] * 2 + ["PutLifecyclePolicy"] * 2
    described = {r["repositoryName"]: r for r in ecr.describe_repositories(repositoryNames=NAMES)["repositories"]}
    assert [r["repository_uri"] for r in result(run)["repositories"]] == [described[n]["repositoryUri"] for n in NAMES]
    assert all(r["imageTagMutability"] == "IMMUTABLE" and r["imageScanningConfiguration"]["scanOnPush"]
               for r in described.values())
    assert json.loads(ecr.get_lifecycle_policy(repositoryName="t/api")["lifecyclePolicyText"]) == POLICY

    # Converged: one describe for both and a lifecycle read each; the templated policy (strings) is the same one.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert actions(again.calls) == ["DescribeRepositories", "GetLifecyclePolicy", "GetLifecyclePolicy"]
    same = run_playbook(playbook(tmp_path, repos(lifecycle_policy=POLICY_TEMPLATED), "same.yml"))
    assert same.changed == 0 and same.writes == []
    assert run_playbook(create, check=True, diff=True).writes == []

    # Mutability, scanning, lifecycle and tags change: check mode shows it, then only those writes.
    policy = {"rules": [dict(POLICY["rules"][0], selection=dict(POLICY["rules"][0]["selection"], countNumber=3))]}
    change = playbook(tmp_path, {"repositories": [{"name": "t/api", "image_tag_mutability": "MUTABLE",
                                                   "scan_on_push": False, "lifecycle_policy": policy,
                                                   "tags": {"stack": "t"}}]}, "change.yml")
    check = run_playbook(change, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    diff = result(check)["diff"]
    assert diff["before"]["t/api"]["image_tag_mutability"] == "IMMUTABLE"
    assert diff["after"]["t/api"]["scan_on_push"] is False
    assert diff["after"]["t/api"]["lifecycle_policy"] == policy and diff["after"]["t/api"]["tags"] == {"stack": "t"}
    run = run_playbook(change)
    assert run.rc == 0, run.failure_messages()
    assert actions(run.writes) == ["PutImageScanningConfiguration", "PutImageTagMutability", "PutLifecyclePolicy",
                                   "TagResource"]
    repo = ecr.describe_repositories(repositoryNames=["t/api"])["repositories"][0]
    assert repo["imageTagMutability"] == "MUTABLE" and not repo["imageScanningConfiguration"]["scanOnPush"]
    assert json.loads(ecr.get_lifecycle_policy(repositoryName="t/api")["lifecyclePolicyText"]) == policy
    assert ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == [{"Key": "stack", "Value": "t"}]
    again = run_playbook(change)
    reads = ["DescribeRepositories", "GetLifecyclePolicy", "ListTagsForResource"]
    assert again.changed == 0 and actions(again.calls) == reads

    # The encryption of a repository cannot change: refused before any write.
    kms = run_playbook(playbook(tmp_path, {"repositories": [{"name": "t/api", "encryption_type": "KMS"}]}, "kms.yml"))
    assert kms.rc != 0 and kms.writes == []
    assert any("cannot change the encryption" in m for m in kms.failure_messages()), kms.failure_messages()

    # Removal: check mode writes nothing; then both go (with their images); a second run has nothing to do.
    absent = playbook(tmp_path, {"repositories": [{"name": n} for n in NAMES], "state": "absent",
                                 "force_absent": True}, "absent.yml")
    check = run_playbook(absent, check=True, diff=True)
    assert check.changed == 1 and check.writes == []
    assert result(check)["diff"]["after"] == {"t/api": None, "t/web": None}
    run = run_playbook(absent)
    assert run.rc == 0 and actions(run.writes) == ["DeleteRepository", "DeleteRepository"]
    assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["other"]
    gone = run_playbook(absent)
    assert gone.changed == 0 and gone.writes == []


def test_bad_input_fails_before_any_call(run_playbook, tmp_path):
    bad = [
        ({"repositories": [{"name": "T/Api"}]}, "not a repository name"),
        ({"repositories": [{"name": "t/api"}, {"name": "t/api"}]}, "given twice"),
        ({"repositories": [{"name": "t/api", "kms_key": "alias/x"}]}, "only with encryption_type KMS"),
        ({"repositories": [{"name": "t/api", "lifecycle_policy": {"rule": []}}]}, "lifecycle_policy"),
        ({"repositories": [{"name": "t/api", "image_tag_mutability": "sometimes"}]}, "image_tag_mutability"),
    ]
    for i, (args, message) in enumerate(bad):
        run = run_playbook(playbook(tmp_path, args, f"bad{i}.yml"))
        assert run.rc != 0 and run.calls == [], run.calls
        assert any(message in m for m in run.failure_messages()), run.failure_messages()
