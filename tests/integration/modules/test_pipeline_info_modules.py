"""seed.fargate.codebuild_project_info and codepipeline_info against the local endpoint: amazon.aws's shapes
(snake-cased keys, tags as a dictionary), the action configuration keys kept as the provider spells them,
the stage states only when asked for (include_stage_states), and exists=false for what is not there."""

from __future__ import annotations

import json

import yaml

ACCOUNT = "123456789012"
BUCKET = "info-artifacts"


def playbook(tmp_path, tasks):
    path = tmp_path / "pb.yml"
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], sort_keys=False))
    return str(path)


def _role(iam, name, service):
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def create_project_and_pipeline(boto):
    iam = boto("iam")
    build_role = _role(iam, "info-codebuild", "codebuild.amazonaws.com")
    pipeline_role = _role(iam, "info-codepipeline", "codepipeline.amazonaws.com")
    boto("s3").create_bucket(Bucket=BUCKET)
    boto("codebuild").create_project(
        name="info-release", source={"type": "CODEPIPELINE", "buildspec": "ci/buildspec.yml"},
        artifacts={"type": "CODEPIPELINE"}, serviceRole=build_role, timeoutInMinutes=20,
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True,
                     "environmentVariables": [{"name": "RELEASE_INVENTORY", "value": "deploy/prod", "type": "PLAINTEXT"}]},
        tags=[{"key": "stack", "value": "info"}, {"key": "owner", "value": "team"}])
    boto("codepipeline").create_pipeline(pipeline={
        "name": "info", "roleArn": pipeline_role, "artifactStore": {"type": "S3", "location": BUCKET},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": BUCKET, "S3ObjectKey": "source.zip", "PollForSourceChanges": "true"},
                "outputArtifacts": [{"name": "source"}], "runOrder": 1}]},
            {"name": "Build", "actions": [{
                "name": "build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "info-release"}, "inputArtifacts": [{"name": "source"}],
                "outputArtifacts": [{"name": "release_api"}], "runOrder": 1}]}]})
    return build_role, pipeline_role


def test_info_modules_return_amazon_aws_shapes(run_playbook, boto, tmp_path):
    build_role, pipeline_role = create_project_and_pipeline(boto)
    tasks = [
        {"name": "project", "seed.fargate.codebuild_project_info": {"name": "info-release"}},
        {"name": "pipeline", "seed.fargate.codepipeline_info": {"name": "info"}},
        {"name": "pipeline with states", "seed.fargate.codepipeline_info": {"name": "info", "include_stage_states": True}},
        {"name": "no project", "seed.fargate.codebuild_project_info": {"name": "nope"}},
        {"name": "no pipeline", "seed.fargate.codepipeline_info": {"name": "nope", "include_stage_states": True}},
    ]
    run = run_playbook(playbook(tmp_path, tasks), check=True)
    assert run.rc == 0, run.failure_messages() or run.stdout[-3000:]
    assert run.writes == [] and run.changed == 0

    [project] = run.task_results("project")
    assert project["exists"] is True and "tags" not in project
    p = project["project"]
    assert p["service_role"] == build_role and p["timeout_in_minutes"] == 20
    assert (p["source"]["type"], p["source"]["buildspec"]) == ("CODEPIPELINE", "ci/buildspec.yml")
    assert p["environment"]["compute_type"] == "BUILD_GENERAL1_SMALL" and p["environment"]["privileged_mode"] is True
    assert p["environment"]["environment_variables"] == [{"name": "RELEASE_INVENTORY", "value": "deploy/prod",
                                                         "type": "PLAINTEXT"}]
    assert p["tags"] == {"stack": "info", "owner": "team"}
    assert not [k for k in _keys(p) if k != k.lower()], "camelCase keys left in project"

    [pipeline] = run.task_results("pipeline")
    assert pipeline["exists"] is True and "stage_states" not in pipeline
    d = pipeline["pipeline"]
    assert d["role_arn"] == pipeline_role and d["artifact_store"] == {"type": "S3", "location": BUCKET}
    source, build = (s["actions"][0] for s in d["stages"])
    assert source["action_type_id"] == {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}
    # the provider's settings keep their own (case-sensitive) names
    assert source["configuration"] == {"S3Bucket": BUCKET, "S3ObjectKey": "source.zip", "PollForSourceChanges": "true"}
    assert build["configuration"] == {"ProjectName": "info-release"}
    assert (build["input_artifacts"], build["output_artifacts"], build["run_order"]) == (
        [{"name": "source"}], [{"name": "release_api"}], 1)
    assert not [k for k in _keys(d, skip="configuration") if k != k.lower()], "camelCase keys left in pipeline"
    assert pipeline["metadata"]["pipeline_arn"].endswith(":info")

    [states] = run.task_results("pipeline with states")
    assert [s["stage_name"] for s in states["stage_states"]] == ["Source", "Build"]
    assert not [k for s in states["stage_states"] for k in _keys(s) if k != k.lower()]

    [none] = run.task_results("no project")
    assert (none["exists"], none["project"]) == (False, {})
    [none] = run.task_results("no pipeline")
    assert (none["exists"], none["pipeline"]) == (False, {}) and "stage_states" not in none


def test_state_is_no_longer_an_option_of_codepipeline_info(run_playbook, tmp_path):
    run = run_playbook(playbook(tmp_path, [{"name": "old", "seed.fargate.codepipeline_info": {"name": "x", "state": True}}]))
    assert run.rc != 0
    assert any("state" in m and "include_stage_states" in m for m in run.failure_messages()), run.failure_messages()


def _keys(value, skip=None):
    """Every dictionary key in ``value``, not descending into keys named ``skip``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            if key != skip:
                yield from _keys(item, skip)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item, skip)
