"""Issue #7: the whole flow against the local endpoint. Converge the stack (playbooks/site.yml) and its
pipeline (playbooks/pipeline.yml), then simulate one pipeline execution by hand, since nothing runs a
build or a pipeline locally:

- CodeBuild: push the image (a stand-in manifest under the commit tag, as deploy.yml's local images) and
  write the release artifacts with roles/pipeline/files/release_artifacts.py, with the environment the pipeline role
  gave the CodeBuild project (RELEASE_INVENTORY, PLATFORM_OUTPUTS);
- CodePipeline's CodeDeployToECS action: put imageDetail.json's ImageURI in taskdef.json's <IMAGE1_NAME>,
  register that task definition, put its ARN in appspec.yaml's <TASK_DEFINITION>, and release it with
  seed.fargate.codedeploy_deployment (the container and port read from appspec.yaml).

The release must succeed, move api's production traffic to green and run the new image; handing the same
revision off again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.bluegreen.test_bluegreen import image_of, live, task_sets, time_scale

ROOT = Path(__file__).resolve().parents[3]
SITE = "playbooks/site.yml"
PIPELINE = "playbooks/pipeline.yml"
HANDOFF = "tests/integration/pipeline/handoff.yml"
SERVICE = "api"
TAG = "c0ffee1"

pytestmark = pytest.mark.slow(minutes=3)


def codebuild_environment(boto) -> dict[str, str]:
    """The environment variables the pipeline role set on the release project."""
    [project] = boto("codebuild").batch_get_projects(names=["seed-release"])["projects"]
    return {v["name"]: v["value"] for v in project["environment"]["environmentVariables"]}


def push_standin_image(boto, repository: str, tag: str) -> None:
    """What the build's ``docker push`` leaves in ECR (the manifest deploy.yml puts for local releases)."""
    def digest(text: str) -> str:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 0,
                   "digest": digest(f"config {repository}:{tag}")},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 0,
                    "digest": digest(f"layer {repository}:{tag}")}],
    }
    boto("ecr").put_image(repositoryName=repository, imageTag=tag, imageManifest=json.dumps(manifest),
                          imageManifestMediaType=manifest["mediaType"])


def codebuild(aws_env, variables: dict[str, str], tag: str, out: Path) -> Path:
    """buildspec.yml's ``release_artifacts.py write`` step, with the project's environment."""
    env = dict(aws_env, RELEASE_INVENTORY=variables["RELEASE_INVENTORY"], PLATFORM_OUTPUTS=variables["PLATFORM_OUTPUTS"])
    proc = subprocess.run([sys.executable, "roles/pipeline/files/release_artifacts.py", "write", "--tag", tag, "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return out


def codedeploy_to_ecs(boto, artifacts: Path) -> dict:
    """The action's own work before CreateDeployment: the registered revision and the filled-in AppSpec."""
    image_uri = json.loads((artifacts / "imageDetail.json").read_text())["ImageURI"]
    template = (artifacts / "taskdef.json").read_text()
    assert "<IMAGE1_NAME>" in template
    taskdef = json.loads(template.replace("<IMAGE1_NAME>", image_uri))
    arn = boto("ecs").register_task_definition(**taskdef)["taskDefinition"]["taskDefinitionArn"]
    appspec_text = (artifacts / "appspec.yaml").read_text()
    assert "<TASK_DEFINITION>" in appspec_text
    appspec = yaml.safe_load(appspec_text.replace("<TASK_DEFINITION>", arn))
    [resource] = appspec["Resources"]
    properties = next(iter(resource.values()))["Properties"]
    assert properties["TaskDefinition"] == arn
    return {"arn": arn, "image": image_uri, "load_balancer": properties["LoadBalancerInfo"]}


def test_pipeline_execution_handoff_releases_the_new_image(endpoint, run_playbook, boto, aws_env, tmp_path):
    time_scale(endpoint, 0.05)

    site = run_playbook(SITE)
    assert site.rc == 0, site.failure_messages() or site.stderr[-3000:]
    pipeline = run_playbook(PIPELINE)
    assert pipeline.rc == 0, pipeline.failure_messages() or pipeline.stderr[-3000:]
    assert live(boto)[SERVICE] == "seed-api-blue"
    deploy = {a["name"]: a["configuration"] for a in
              boto("codepipeline").get_pipeline(name="seed")["pipeline"]["stages"][2]["actions"]}[f"deploy-{SERVICE}"]
    before = task_sets(boto, SERVICE)
    assert [s["status"] for s in before] == ["PRIMARY"] and image_of(boto, before[0]["taskDefinition"]) != TAG

    # CodeBuild: push the image, write the artifacts (release/<service>/, artifact release_<service>).
    variables = codebuild_environment(boto)
    repository = json.loads(variables["PLATFORM_OUTPUTS"])["ecr_repository_uris"][SERVICE].split("/", 1)[1]
    push_standin_image(boto, repository, TAG)
    release = codebuild(aws_env, variables, TAG, tmp_path / "release")
    artifacts = release / deploy["TaskDefinitionTemplateArtifact"].removeprefix("release_")
    assert deploy["TaskDefinitionTemplatePath"] == "taskdef.json" and deploy["AppSpecTemplatePath"] == "appspec.yaml"

    # CodePipeline's CodeDeployToECS action.
    revision = codedeploy_to_ecs(boto, artifacts)
    assert revision["image"].endswith(f"/{repository}:{TAG}")
    handoff_vars = {
        "handoff_group": deploy["DeploymentGroupName"],
        "handoff_task_definition_arn": revision["arn"],
        "handoff_container_name": revision["load_balancer"]["ContainerName"],
        "handoff_container_port": revision["load_balancer"]["ContainerPort"],
    }
    handoff = run_playbook(HANDOFF, handoff_vars)
    assert handoff.rc == 0, handoff.failure_messages() or handoff.stderr[-3000:]
    [result] = handoff.task_results("Hand-off | create the deployment and wait")
    assert result["changed"] is True and result["status"] == "Succeeded", result.get("msg")
    assert result["deployment"]["task_definition_arn"] == revision["arn"]
    assert [c["action"] for c in handoff.writes].count("CreateDeployment") == 1

    # Production forwards api to green, whose (only) task set runs the new image.
    assert live(boto)[SERVICE] == "seed-api-green"
    after = task_sets(boto, SERVICE)
    assert [s["status"] for s in after] == ["PRIMARY"], after
    assert after[0]["taskDefinition"] == revision["arn"]
    assert image_of(boto, after[0]["taskDefinition"]) == TAG
    ecs_service = boto("ecs").describe_services(cluster="seed", services=[SERVICE])["services"][0]
    assert ecs_service["taskDefinition"] == revision["arn"]

    # The same hand-off again (a retried action): nothing to do.
    again = run_playbook(HANDOFF, handoff_vars)
    assert again.rc == 0, again.failure_messages()
    assert again.changed == 0 and again.writes == [], again.writes
    assert live(boto)[SERVICE] == "seed-api-green"
