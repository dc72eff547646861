"""CodeBuild UpdateProject and CodePipeline GetPipelineState on the local endpoint (localaws/patches)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"


def _role(boto, name: str, service) -> str:
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    return boto("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def _project(boto, **overrides) -> dict:
    params = {
        "name": "build",
        "source": {"type": "CODEPIPELINE", "buildspec": "buildspec.yml"},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                        "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True,
                        "environmentVariables": [{"name": "A", "value": "1"}]},
        "serviceRole": _role(boto, "cb", "codebuild.amazonaws.com"),
        "tags": [{"key": "stack", "value": "seed"}],
    }
    params.update(overrides)
    return boto("codebuild").create_project(**params)["project"]


def test_create_project_codepipeline_source_needs_no_location_and_gets_aws_defaults(boto):
    project = _project(boto)
    assert project["source"] == {"type": "CODEPIPELINE", "buildspec": "buildspec.yml", "insecureSsl": False}
    assert project["timeoutInMinutes"] == 60
    assert project["queuedTimeoutInMinutes"] == 480
    assert project["logsConfig"]["cloudWatchLogs"] == {"status": "ENABLED"}
    assert project["environment"]["imagePullCredentialsType"] == "CODEBUILD"
    assert project["environment"]["environmentVariables"] == [{"name": "A", "value": "1", "type": "PLAINTEXT"}]
    got = boto("codebuild").batch_get_projects(names=["build", "nope"])
    assert [p["name"] for p in got["projects"]] == ["build"]
    assert got["projectsNotFound"] == ["nope"]
    assert "lastModified" in got["projects"][0]


def test_create_project_s3_source_still_needs_a_location(boto):
    with pytest.raises(ClientError) as err:
        _project(boto, source={"type": "S3"})
    assert err.value.response["Error"]["Code"] == "InvalidInputException"


def test_update_project_changes_only_what_is_given(boto):
    before = _project(boto)
    codebuild = boto("codebuild")
    after = codebuild.update_project(name="build", description="both services",
                                     environment=dict(before["environment"], image="aws/codebuild/standard:8.0"),
                                     tags=[{"key": "stack", "value": "other"}])["project"]
    assert after["description"] == "both services"
    assert after["environment"]["image"] == "aws/codebuild/standard:8.0"
    assert after["source"] == before["source"]
    assert after["serviceRole"] == before["serviceRole"]
    assert after["tags"] == [{"key": "stack", "value": "other"}]
    assert after["lastModified"] >= before["lastModified"]
    stored = codebuild.batch_get_projects(names=["build"])["projects"][0]
    assert stored["description"] == "both services"
    assert stored["environment"]["image"] == "aws/codebuild/standard:8.0"


def test_update_project_unknown_and_invalid(boto):
    codebuild = boto("codebuild")
    with pytest.raises(ClientError) as err:
        codebuild.update_project(name="missing", description="x")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/missing" in err.value.response["Error"]["Message"]
    _project(boto)
    with pytest.raises(ClientError) as err:
        codebuild.update_project(name="build", artifacts={"type": "S3"})
    assert err.value.response["Error"]["Code"] == "InvalidInputException"


def _pipeline(boto, service=("codepipeline.amazonaws.com",)) -> dict:
    role = _role(boto, "cp", list(service))
    return boto("codepipeline").create_pipeline(pipeline={
        "name": "seed",
        "roleArn": role,
        "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3",
                                                   "version": "1"},
                "configuration": {"S3Bucket": "bucket", "S3ObjectKey": "src.zip"},
                "outputArtifacts": [{"name": "source"}]}]},
            {"name": "Build", "actions": [{
                "name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild",
                                                  "version": "1"},
                "configuration": {"ProjectName": "build"}, "inputArtifacts": [{"name": "source"}]},
                {"name": "Lint", "actionTypeId": {"category": "Test", "owner": "AWS", "provider": "CodeBuild",
                                                  "version": "1"},
                 "configuration": {"ProjectName": "build"}, "inputArtifacts": [{"name": "source"}]}]},
        ],
    })["pipeline"]


def test_create_pipeline_accepts_a_service_principal_list_and_refuses_other_roles(boto):
    assert _pipeline(boto)["version"] == 1
    role = _role(boto, "other", "ecs-tasks.amazonaws.com")
    with pytest.raises(ClientError) as err:
        boto("codepipeline").create_pipeline(pipeline={
            "name": "x", "roleArn": role, "artifactStore": {"type": "S3", "location": "bucket"}, "stages": []})
    assert err.value.response["Error"]["Code"] == "InvalidStructureException"


def test_get_pipeline_state_before_and_after_an_execution(boto):
    _pipeline(boto)
    codepipeline = boto("codepipeline")
    state = codepipeline.get_pipeline_state(name="seed")
    assert state["pipelineName"] == "seed"
    assert state["pipelineVersion"] == 1
    assert [s["stageName"] for s in state["stageStates"]] == ["Source", "Build"]
    assert [a["actionName"] for a in state["stageStates"][1]["actionStates"]] == ["Build", "Lint"]
    assert all(s["inboundTransitionState"]["enabled"] for s in state["stageStates"])
    assert all("latestExecution" not in s for s in state["stageStates"])
    assert state["created"] <= state["updated"]

    execution_id = codepipeline.start_pipeline_execution(name="seed")["pipelineExecutionId"]
    state = codepipeline.get_pipeline_state(name="seed")
    for stage in state["stageStates"]:
        assert stage["latestExecution"] == {"pipelineExecutionId": execution_id, "status": "Succeeded"}
        assert all(a["latestExecution"]["status"] == "Succeeded" for a in stage["actionStates"])


def test_get_pipeline_state_of_an_unknown_pipeline(boto):
    with pytest.raises(ClientError) as err:
        boto("codepipeline").get_pipeline_state(name="missing")
    assert err.value.response["Error"]["Code"] == "PipelineNotFoundException"
