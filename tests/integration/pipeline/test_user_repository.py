"""The pipeline and deploy_build for an application repository laid out its own way (docs/pipeline.md): a
directory written here with only the user's Dockerfiles, inventory and collections requirements (not this
repository's services/, tools/, inventories/ or buildspec.yml).

The pipeline role converges against the local endpoint and the CodeBuild project must use the user's paths; the
buildspec set on the project is then run as CodeBuild would run it, in the user's directory, with stand-ins for
``docker``, ``aws``, ``ansible-galaxy`` and ``pip`` that record what they are asked: the images are built from the
user's Dockerfiles and the release artifacts written by the collection's own release_artifacts.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.pipeline.test_pipeline_role import PLAYBOOK, TEARDOWN

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = "playbooks/deploy.yml"
INSTALLED_TOOL = ".ansible/collections/ansible_collections/seed/fargate/roles/pipeline/files/release_artifacts.py"
STACK = yaml.safe_load((ROOT / "inventories" / "local" / "group_vars" / "all" / "stack.yml").read_text())
# The user's layout: api from src/api/ with its Dockerfile there, web from the repository root with
# docker/web.Dockerfile.
BUILDS = {"api": {"context": "src/api"}, "web": {"context": ".", "dockerfile": "docker/web.Dockerfile"}}


def user_repository(tmp_path: Path, stack_pipeline: dict | None = None) -> Path:
    repo = tmp_path / "myapp"
    (repo / "src" / "api").mkdir(parents=True)
    (repo / "src" / "api" / "Dockerfile").write_text("FROM python:3.12-slim\nCOPY . /app\n")
    (repo / "docker").mkdir()
    (repo / "docker" / "web.Dockerfile").write_text("FROM nginx:1.27\n")
    (repo / "collections").mkdir()
    (repo / "collections" / "requirements.yml").write_text(
        yaml.safe_dump({"collections": [{"name": "seed.fargate", "version": ">=0.1.0"}]}))
    inventory = repo / "deploy" / "prod"
    shutil.copytree(ROOT / "inventories" / "local", inventory)
    stack = dict(STACK, stack_services=[dict(s, build=BUILDS[s["name"]]) for s in STACK["stack_services"]],
                 stack_pipeline=stack_pipeline if stack_pipeline is not None else {
                     "source": "s3", "inventory": "deploy/prod", "buildspec_inline": True,
                     "collection_requirements": "collections/requirements.yml"})
    (inventory / "group_vars" / "all" / "stack.yml").write_text(yaml.safe_dump(stack, sort_keys=False))
    return repo


STAND_INS = {
    # every call of each command is appended to calls.log as one JSON list
    # `docker login --password-stdin` reads the password (a stand-in that does not would SIGPIPE `aws` under pipefail)
    "docker": 'if [ "$1" = login ]; then cat > /dev/null; fi\n',
    # no image exists yet: every service is built
    "aws": 'if [ "$1 $2" = "ecr describe-images" ]; then exit 254; fi\n'
           'if [ "$1 $2" = "ecr get-login-password" ]; then echo password; fi\n',
    # installs the collection the requirements name: this checkout, linked where -p says
    "ansible-galaxy": 'mkdir -p "$6/ansible_collections/seed" && ln -sfn "$SEED_ROOT" "$6/ansible_collections/seed/fargate"\n',
    # pip is recorded, not run (the test's interpreter has what release_artifacts.py needs)
    "python3": 'if [ "$1 $2" = "-m pip" ]; then exit 0; fi\nexec "$SEED_PYTHON" "$@"\n',
}


def run_buildspec(buildspec: dict, repo: Path, environment: dict[str, str], tmp_path: Path) -> list[list[str]]:
    """The buildspec's commands, phase by phase in one bash as CodeBuild runs them, in ``repo``; returns the calls
    of the stand-ins."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for name, body in STAND_INS.items():
        path = bin_dir / name
        path.write_text("#!/bin/bash\n"
                        f"{sys.executable} -c 'import json, sys; print(json.dumps(sys.argv[1:]))' {name} \"$@\" >> {log}\n"
                        + body)
        path.chmod(0o755)
    script = "set -eo pipefail\n" + "\n".join(
        command for phase in ("install", "pre_build", "build") for command in buildspec["phases"][phase]["commands"])
    env = dict(os.environ, **environment, PATH=f"{bin_dir}:/usr/bin:/bin", SEED_ROOT=str(ROOT), SEED_PYTHON=sys.executable,
               AWS_REGION="us-east-1", CODEBUILD_RESOLVED_SOURCE_VERSION="0123456789abcdef")
    proc = subprocess.run(["bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.slow(minutes=3)
def test_pipeline_builds_a_user_repository_with_its_own_layout(run_playbook, boto, tmp_path):
    repo = user_repository(tmp_path)
    up = run_playbook(PLAYBOOK, inventory=str(repo / "deploy" / "prod"))
    assert up.rc == 0, up.failure_messages() or up.stdout[-3000:]

    [project] = boto("codebuild").batch_get_projects(names=["seed-release"])["projects"]
    variables = {v["name"]: v["value"] for v in project["environment"]["environmentVariables"]}
    assert variables["RELEASE_INVENTORY"] == "deploy/prod"
    assert variables["RELEASE_TOOL"] == INSTALLED_TOOL
    assert variables["COLLECTION_REQUIREMENTS"] == "collections/requirements.yml"
    # The collection's buildspec, set on the project (the user's repository has none): one artifact per service.
    buildspec = yaml.safe_load(project["source"]["buildspec"])
    assert sorted(buildspec["artifacts"]["secondary-artifacts"]) == ["release_api", "release_web"]
    build_action = boto("codepipeline").get_pipeline(name="seed")["pipeline"]["stages"][1]["actions"][0]
    assert sorted(a["name"] for a in build_action["outputArtifacts"]) == sorted(buildspec["artifacts"]["secondary-artifacts"])

    calls = run_buildspec(buildspec, repo, variables, tmp_path)
    assert ["ansible-galaxy", "collection", "install", "-r", "collections/requirements.yml", "-p", ".ansible/collections"] in calls
    builds = [c[2:] for c in calls if c[:2] == ["docker", "build"]]
    registry = variables["ECR_REGISTRY"]
    assert builds == [
        ["--pull", "--file", "src/api/Dockerfile", "--tag", f"{registry}/seed/api:01234567", "src/api"],
        ["--pull", "--file", "docker/web.Dockerfile", "--tag", f"{registry}/seed/web:01234567", "."],
    ]
    assert [c for c in calls if c[:2] == ["docker", "push"]] == [
        ["docker", "push", f"{registry}/seed/{s}:01234567"] for s in ("api", "web")]
    for service in ("api", "web"):
        artifact = buildspec["artifacts"]["secondary-artifacts"][f"release_{service}"]
        written = sorted(p.name for p in (repo / artifact["base-directory"]).iterdir())
        assert written == sorted(artifact["files"])
        assert json.loads((repo / artifact["base-directory"] / "taskdef.json").read_text())["family"] == f"seed-{service}"

    # Re-converge: nothing changes (the inline buildspec compares equal).
    again = run_playbook(PLAYBOOK, inventory=str(repo / "deploy" / "prod"))
    assert again.rc == 0 and again.changed == 0 and again.writes == [], again.writes

    down = run_playbook(PLAYBOOK, {"pipeline_state": "absent"}, inventory=str(repo / "deploy" / "prod"))
    assert down.rc == 0, down.failure_messages()
    assert run_playbook(TEARDOWN, inventory=str(repo / "deploy" / "prod")).rc == 0


def test_default_paths_keep_this_repository_layout(run_playbook, boto):
    run = run_playbook(PLAYBOOK)
    assert run.rc == 0, run.failure_messages()
    [project] = boto("codebuild").batch_get_projects(names=["seed-release"])["projects"]
    assert project["source"]["buildspec"] == "buildspec.yml"
    variables = {v["name"]: v["value"] for v in project["environment"]["environmentVariables"]}
    assert (variables["RELEASE_INVENTORY"], variables["RELEASE_TOOL"]) == ("inventories/local", "roles/pipeline/files/release_artifacts.py")
    assert "COLLECTION_REQUIREMENTS" not in variables


@pytest.mark.parametrize(("stack_pipeline", "name"), [
    ({"release_tool": "/opt/release_artifacts.py"}, "pipeline_release_tool"),
    ({"release_tool": "tools/release.sh"}, "pipeline_release_tool"),
    ({"inventory": "../prod"}, "pipeline_release_inventory"),
    ({"buildspec": "ci/../../buildspec.yml"}, "pipeline_buildspec"),
    ({"collection_requirements": "collections/my requirements.yml"}, "pipeline_collection_requirements"),
])
def test_bad_build_paths_fail_before_any_write_naming_the_variable(run_playbook, tmp_path, stack_pipeline, name):
    repo = user_repository(tmp_path, stack_pipeline)
    run = run_playbook(PLAYBOOK, inventory=str(repo / "deploy" / "prod"))
    assert run.rc != 0
    assert any(name in m for m in run.failure_messages()), run.failure_messages()
    assert run.writes == []


def test_a_service_build_context_outside_the_source_is_refused(run_playbook, tmp_path):
    repo = user_repository(tmp_path)
    services = [dict(s, build={"context": "../elsewhere"}) if s["name"] == "api" else dict(s, build=BUILDS[s["name"]])
                for s in STACK["stack_services"]]
    run = run_playbook(PLAYBOOK, {"stack_services": services}, inventory=str(repo / "deploy" / "prod"))
    assert run.rc != 0
    assert any("build.context" in m for m in run.failure_messages()), run.failure_messages()
    assert run.writes == []


def test_deploy_build_uses_the_user_build_paths(run_playbook, tmp_path):
    """deploy.yml -e deploy_build=true resolves each service's build paths under deploy_build_root before any
    AWS call; with the user's repository it gets past that check (and then finds no stack: none was converged)."""
    repo = user_repository(tmp_path)
    inventory = str(repo / "deploy" / "prod")
    common = {"deploy_image_tag": "v2", "deploy_build": True, "deploy_seed_local_images": False}

    # This collection's root has no src/api or docker/web.Dockerfile: refused, naming the paths and the variable.
    run = run_playbook(DEPLOY, common, inventory=inventory)
    assert run.rc != 0 and run.calls == []
    [message] = [m for m in run.failure_messages() if "deploy_build_root" in m]
    assert "api: build.context" in message and "src/api" in message and "web: build.dockerfile" in message

    run = run_playbook(DEPLOY, dict(common, deploy_build_root=str(repo)), inventory=inventory)
    assert run.rc != 0
    messages = run.failure_messages()
    assert not [m for m in messages if "deploy_build_root" in m], messages
    assert [m.split(":")[0] for m in messages] == ["Current | read the services"], messages  # past every validation
