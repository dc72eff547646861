"""roles/pipeline (playbooks/pipeline.yml) against the local endpoint: converge, idempotence,
check mode, teardown, CodeStar source, validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.integration.platform.policies import findings

PLAYBOOK = "playbooks/pipeline.yml"
TEARDOWN = "tests/integration/pipeline/teardown_platform.yml"
ACCOUNT = "123456789012"
BUCKET = f"seed-pipeline-{ACCOUNT}-us-east-1"
CONNECTION = f"arn:aws:codeconnections:us-east-1:{ACCOUNT}:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"


def inventory(boto) -> dict[str, list[str]]:
    """What the pipeline playbook creates, by type (teardown must leave none of it)."""
    return {
        "buckets": [b["Name"] for b in boto("s3").list_buckets()["Buckets"]],
        "projects": boto("codebuild").list_projects()["projects"],
        "pipelines": [p["name"] for p in boto("codepipeline").list_pipelines()["pipelines"]],
        "roles": [r["RoleName"] for r in boto("iam").list_roles()["Roles"]],
        "log_groups": [g["logGroupName"] for g in boto("logs").describe_log_groups()["logGroups"]],
        "repositories": [r["repositoryName"] for r in boto("ecr").describe_repositories()["repositories"]],
    }


def _statements(boto, role: str) -> dict[str, dict]:
    document = boto("iam").get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    return {s["Sid"]: s for s in document["Statement"]}


@pytest.mark.slow(minutes=5)
def test_converge_idempotence_check_mode_and_teardown(run_playbook, boto):
    empty = inventory(boto)

    first = run_playbook(PLAYBOOK)
    assert first.rc == 0, first.failure_messages() or first.stdout[-3000:]
    assert first.changed > 0

    # Bucket: encrypted, versioned, private.
    s3 = boto("s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"].values())

    # One CodeBuild project for both services, handing the platform outputs to the build.
    [project] = boto("codebuild").batch_get_projects(names=["seed-release"])["projects"]
    assert project["source"]["type"] == "CODEPIPELINE" and project["source"]["buildspec"] == "buildspec.yml"
    assert project["environment"]["privilegedMode"] is True
    variables = {v["name"]: v["value"] for v in project["environment"]["environmentVariables"]}
    assert variables["RELEASE_INVENTORY"] == "inventories/local"
    outputs = json.loads(variables["PLATFORM_OUTPUTS"])
    assert sorted(outputs["ecr_repository_uris"]) == ["api", "web"]
    assert outputs["iam_task_execution_role_arn"].endswith(":role/seed-task-execution")
    assert variables["ECR_REGISTRY"] == outputs["ecr_repository_uris"]["api"].split("/")[0]
    assert project["serviceRole"] == f"arn:aws:iam::{ACCOUNT}:role/seed-codebuild"
    assert {t["key"]: t["value"] for t in project["tags"]}["stack"] == "seed"

    # Least privilege: this stack's repositories, its log group, its bucket.
    build = _statements(boto, "seed-codebuild")
    assert sorted(build["EcrPush"]["Resource"]) == [f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/seed/{s}"
                                                    for s in ("api", "web")]
    assert build["Logs"]["Resource"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/codebuild/seed-release:*"
    assert build["Artifacts"]["Resource"] == f"arn:aws:s3:::{BUCKET}/*"
    assert "ecr:*" not in json.dumps(build) and '"Resource": "*"' not in json.dumps(build["EcrPush"])

    # Source (S3) -> Build -> Deploy (one CodeDeployToECS action per service).
    pipeline = boto("codepipeline").get_pipeline(name="seed")["pipeline"]
    assert [s["name"] for s in pipeline["stages"]] == ["Source", "Build", "Deploy"]
    source = pipeline["stages"][0]["actions"][0]
    assert source["actionTypeId"]["provider"] == "S3"
    assert source["configuration"]["S3Bucket"] == BUCKET
    assert [a["name"] for a in pipeline["stages"][1]["actions"][0]["outputArtifacts"]] == ["release_api", "release_web"]
    deploys = {a["name"]: a for a in pipeline["stages"][2]["actions"]}
    assert sorted(deploys) == ["deploy-api", "deploy-web"]
    for service in ("api", "web"):
        action = deploys[f"deploy-{service}"]
        assert action["actionTypeId"]["provider"] == "CodeDeployToECS"
        assert action["configuration"] == {
            "ApplicationName": "seed", "DeploymentGroupName": f"seed-{service}",
            "TaskDefinitionTemplateArtifact": f"release_{service}", "TaskDefinitionTemplatePath": "taskdef.json",
            "AppSpecTemplateArtifact": f"release_{service}", "AppSpecTemplatePath": "appspec.yaml",
            "Image1ArtifactName": f"release_{service}", "Image1ContainerName": "IMAGE1_NAME"}
    deploy = _statements(boto, "seed-codepipeline")
    assert f"arn:aws:codedeploy:us-east-1:{ACCOUNT}:deploymentgroup:seed/seed-api" in deploy["Deploy"]["Resource"]
    assert deploy["TaskDefinitions"]["Resource"] == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/seed-{s}:*"
                                                     for s in ("api", "web")]
    assert deploy["PassTaskRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    # parliament finds nothing in either role's policy (each action on a resource type it takes, known keys)
    for role in ("seed-codebuild", "seed-codepipeline"):
        assert findings(boto("iam").get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"]) == [], role
    state = boto("codepipeline").get_pipeline_state(name="seed")
    assert [s["stageName"] for s in state["stageStates"]] == ["Source", "Build", "Deploy"]

    second = run_playbook(PLAYBOOK)
    assert second.rc == 0, second.failure_messages()
    assert second.changed == 0, [t for t in second.plays[0]["tasks"]
                                 if any(h.get("changed") for h in t["hosts"].values())]
    assert second.writes == []
    assert boto("codepipeline").get_pipeline(name="seed")["pipeline"]["version"] == 1

    check = run_playbook(PLAYBOOK, check=True)
    assert check.rc == 0, check.failure_messages()
    assert check.writes == []
    assert check.changed == 0

    # A changed setting: --check reports it without writing, the converge applies it.
    changed_vars = {"pipeline_codebuild_compute_type": "BUILD_GENERAL1_MEDIUM"}
    check = run_playbook(PLAYBOOK, extra_vars=changed_vars, check=True)
    assert check.rc == 0 and check.writes == [] and check.changed == 1
    update = run_playbook(PLAYBOOK, extra_vars=changed_vars)
    assert update.rc == 0 and update.changed == 1
    assert [c["action"] for c in update.writes] == ["UpdateProject"]

    down = run_playbook(PLAYBOOK, extra_vars={"pipeline_state": "absent"})
    assert down.rc == 0, down.failure_messages()
    again = run_playbook(PLAYBOOK, extra_vars={"pipeline_state": "absent"})
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    platform = run_playbook(TEARDOWN)
    assert platform.rc == 0, platform.failure_messages()
    assert inventory(boto) == empty


def test_codestar_source(run_playbook, boto):
    stack_pipeline = {"stack_pipeline": {"source": "codestar", "connection_arn": CONNECTION,
                                         "repository": "seed/fargate", "branch": "release"}}
    run = run_playbook(PLAYBOOK, extra_vars=stack_pipeline)
    assert run.rc == 0, run.failure_messages()
    source = boto("codepipeline").get_pipeline(name="seed")["pipeline"]["stages"][0]["actions"][0]
    assert source["actionTypeId"]["provider"] == "CodeStarSourceConnection"
    assert source["configuration"] == {"ConnectionArn": CONNECTION, "FullRepositoryId": "seed/fargate",
                                       "BranchName": "release", "OutputArtifactFormat": "CODE_ZIP",
                                       "DetectChanges": "true"}
    use = _statements(boto, "seed-codepipeline")["Source"]
    assert (use["Action"], use["Resource"]) == ("codeconnections:UseConnection", CONNECTION)


def test_bad_input_fails_before_any_write_naming_the_variable(run_playbook):
    run = run_playbook(PLAYBOOK, extra_vars={"stack_pipeline": {"source": "codestar", "connection_arn": "nope"}})
    assert run.rc != 0
    assert any("pipeline_connection_arn" in m for m in run.failure_messages()), run.failure_messages()
    assert run.writes == []
    run = run_playbook(PLAYBOOK, extra_vars={"stack_pipeline": {"source": "git"}})
    assert run.rc != 0
    assert "pipeline_source" in run.stdout + run.stderr


def test_an_ecs_released_service_is_deployed_with_the_ecs_action(run_playbook, boto):
    """deployment_controller: ecs (issue 15): CodePipeline's ECS action (imagedefinitions.json) instead of
    CodeDeployToECS, and the pipeline role may update that service only; the CodeDeploy service is unchanged."""
    stack = run_playbook("playbooks/pipeline.yml", extra_vars={"stack_services": _ecs_api_services()})
    assert stack.rc == 0, stack.failure_messages() or stack.stdout[-3000:]
    deploy = boto("codepipeline").get_pipeline(name="seed")["pipeline"]["stages"][2]["actions"]
    actions = {a["name"]: a for a in deploy}
    assert actions["deploy-api"]["actionTypeId"]["provider"] == "ECS"
    assert actions["deploy-api"]["configuration"] == {"ClusterName": "seed", "ServiceName": "api",
                                                      "FileName": "imagedefinitions.json"}
    assert actions["deploy-web"]["actionTypeId"]["provider"] == "CodeDeployToECS"
    assert actions["deploy-web"]["configuration"]["DeploymentGroupName"] == "seed-web"
    statements = _statements(boto, "seed-codepipeline")
    assert statements["EcsDeploy"]["Resource"] in (f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/seed/api",
                                                   [f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/seed/api"])
    assert not any("deploymentgroup:seed/seed-api" in str(s.get("Resource")) for s in statements.values())
    document = {"Version": "2012-10-17", "Statement": list(statements.values())}
    assert findings(document) == []
    again = run_playbook("playbooks/pipeline.yml", extra_vars={"stack_services": _ecs_api_services()})
    assert again.rc == 0 and again.changed == 0, again.failure_messages()
    assert run_playbook(TEARDOWN).rc == 0


def _ecs_api_services() -> list[dict]:
    """The local stack's services with api released by ECS."""
    stack = yaml.safe_load((Path(__file__).resolve().parents[3] / "inventories/local/group_vars/all/stack.yml").read_text())
    api, web = stack["stack_services"]
    return [dict(api, deployment_controller="ecs"), web]
