"""roles/pipeline/files/release_artifacts.py: the CodeDeployToECS artifacts, checked against the stack description
and against the task definition the ecs_service role registers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "roles" / "pipeline" / "files"))

import release_artifacts as ra

INVENTORY = ROOT / "inventories" / "local"
ACCOUNT = "123456789012"
OUTPUTS = {
    "ecr_repository_uris": {s: f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/seed/{s}" for s in ("api", "web")},
    "iam_task_execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/seed-task-execution",
    "iam_task_role_arns": {s: f"arn:aws:iam::{ACCOUNT}:role/seed-{s}-task" for s in ("api", "web")},
}
STACK = yaml.safe_load((INVENTORY / "group_vars" / "all" / "stack.yml").read_text())
DEFAULTS = yaml.safe_load((ROOT / "roles" / "ecs_service" / "defaults" / "main.yml").read_text())


@pytest.fixture
def written(tmp_path):
    ra.write(ra.load_variables(INVENTORY, OUTPUTS), "0a1b2c3d", tmp_path)
    return tmp_path


def _read(directory: Path) -> tuple[dict, dict, dict]:
    return (json.loads((directory / "taskdef.json").read_text()),
            yaml.safe_load((directory / "appspec.yaml").read_text()),
            json.loads((directory / "imageDetail.json").read_text()))


def test_one_artifact_directory_per_service_with_the_three_files(written):
    assert sorted(p.name for p in written.iterdir()) == sorted(s["name"] for s in STACK["stack_services"])
    for service in STACK["stack_services"]:
        assert sorted(p.name for p in (written / service["name"]).iterdir()) == sorted(ra.ARTIFACT_FILES)


@pytest.mark.parametrize("service", STACK["stack_services"], ids=lambda s: s["name"])
def test_taskdef_follows_the_stack_description(written, service):
    taskdef, _, _ = _read(written / service["name"])
    assert taskdef["family"] == f"{STACK['stack_name']}-{service['name']}"
    assert taskdef["networkMode"] == "awsvpc"
    assert taskdef["requiresCompatibilities"] == ["FARGATE"]
    assert (taskdef["cpu"], taskdef["memory"]) == (str(service["cpu"]), str(service["memory"]))
    assert taskdef["executionRoleArn"] == OUTPUTS["iam_task_execution_role_arn"]
    assert taskdef["taskRoleArn"] == OUTPUTS["iam_task_role_arns"][service["name"]]
    [container] = taskdef["containerDefinitions"]
    assert container["name"] == service["name"]
    assert container["portMappings"] == [{"containerPort": service["container_port"], "protocol": "tcp"}]
    assert container["user"] == service.get("user", DEFAULTS["ecs_service_default_user"])
    assert container["readonlyRootFilesystem"] is service.get("read_only_root_filesystem", True)
    # each writable path is a task volume mounted read-write
    paths = service.get("writable_paths", [])
    assert [m["containerPath"] for m in container["mountPoints"]] == paths
    assert [m["sourceVolume"] for m in container["mountPoints"]] == [v["name"] for v in taskdef["volumes"]]
    assert len(taskdef["volumes"]) == len(paths) and not any(m["readOnly"] for m in container["mountPoints"])
    # a service with `table: true` also finds its table (the data role's `<stack>-<service>`) in ITEMS_TABLE
    table = {"ITEMS_TABLE": f"{STACK['stack_name']}-{service['name']}"} if service.get("table") else {}
    assert container["environment"] == [{"name": k, "value": str(v)}
                                        for k, v in sorted({**(service.get("environment") or {}), **table}.items())]
    # the service's own health command (the image's check) when it has one, else the role's default on its path
    if service.get("health_check_command"):
        assert container["healthCheck"]["command"] == service["health_check_command"]
    else:
        assert service["health_check_path"] in container["healthCheck"]["command"][1]
    assert container["healthCheck"]["interval"] == DEFAULTS["ecs_service_health_check_interval"]
    assert container["logConfiguration"]["options"] == {
        "awslogs-group": f"/ecs/{STACK['stack_name']}/{service['name']}",
        "awslogs-region": STACK["stack_region"], "awslogs-stream-prefix": service["name"]}


@pytest.mark.parametrize("service", STACK["stack_services"], ids=lambda s: s["name"])
def test_placeholders_follow_the_codedeploytoecs_conventions(written, service):
    taskdef, appspec, image_detail = _read(written / service["name"])
    # The container image is <IMAGE1_NAME>; the action's Image1ContainerName is IMAGE1_NAME.
    assert taskdef["containerDefinitions"][0]["image"] == "<IMAGE1_NAME>"
    assert ra.IMAGE_PLACEHOLDER_NAME == "IMAGE1_NAME"
    assert "<" not in json.dumps({k: v for k, v in taskdef.items() if k != "containerDefinitions"})
    assert image_detail == {"ImageURI": f"{OUTPUTS['ecr_repository_uris'][service['name']]}:0a1b2c3d"}
    assert appspec["version"] == 0.0
    [resource] = appspec["Resources"]
    target = resource["TargetService"]
    assert target["Type"] == "AWS::ECS::Service"
    assert target["Properties"]["TaskDefinition"] == "<TASK_DEFINITION>"
    assert target["Properties"]["LoadBalancerInfo"] == {"ContainerName": service["name"],
                                                        "ContainerPort": service["container_port"]}
    assert target["Properties"]["PlatformVersion"] == DEFAULTS["ecs_service_platform_version"]


def test_the_role_settings_in_the_inventory_win_over_the_role_defaults(tmp_path):
    inventory = tmp_path / "inventory"
    shutil.copytree(INVENTORY / "group_vars", inventory / "group_vars")
    (inventory / "group_vars" / "all" / "zz-overrides.yml").write_text(
        "ecs_service_health_check_interval: 10\necs_service_default_user: '4242'\nstack_name: other\n")
    variables = ra.load_variables(inventory, OUTPUTS)
    web = next(s for s in variables["ecs_service_services"] if s["name"] == "web")
    web.pop("user", None)
    taskdef = ra.task_definition(variables, web, "image")
    container = taskdef["containerDefinitions"][0]
    assert container["healthCheck"]["interval"] == 10
    assert container["user"] == "4242"
    assert taskdef["family"] == "other-web"
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/other/web"


def test_images_lists_the_services_to_build_and_skips_fixed_images(tmp_path):
    inventory = tmp_path / "inventory"
    shutil.copytree(INVENTORY / "group_vars", inventory / "group_vars")
    services = [dict(s) for s in STACK["stack_services"]]
    services[1]["image"] = "public.ecr.aws/nginx/nginx:1.27"
    (inventory / "group_vars" / "all" / "zz-services.yml").write_text(yaml.safe_dump({"stack_services": services}))
    variables = ra.load_variables(inventory, OUTPUTS)
    assert ra.images(variables, "t1") == [("api", f"{OUTPUTS['ecr_repository_uris']['api']}:t1", "services/api",
                                           "services/api/Dockerfile")]
    out = tmp_path / "out"
    ra.write(variables, "t1", out)
    assert json.loads((out / "web" / "imageDetail.json").read_text()) == {"ImageURI": services[1]["image"]}


@pytest.mark.parametrize(("version", "tag"), [
    ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "9f86d081"),
    ("AbC.dEf_12/x", "AbC.dEf_"),
    (".hidden-version", "r.hidden"),
])
def test_image_tag_is_the_short_commit_and_a_valid_ecr_tag(version, tag):
    assert ra.image_tag(version) == tag


def test_image_tag_needs_a_source_version():
    with pytest.raises(ra.ReleaseError, match="CODEBUILD_RESOLVED_SOURCE_VERSION"):
        ra.image_tag("")


def _cli(*args, env=None):
    return subprocess.run([sys.executable, str(ROOT / "roles" / "pipeline" / "files" / "release_artifacts.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, **(env or {})))


def test_command_line_reads_the_environment_codebuild_sets(tmp_path):
    env = {"RELEASE_INVENTORY": "inventories/local", "PLATFORM_OUTPUTS": json.dumps(OUTPUTS),
           "CODEBUILD_RESOLVED_SOURCE_VERSION": "0123456789abcdef"}
    tag = _cli("tag", env=env)
    assert (tag.returncode, tag.stdout) == (0, "01234567\n")
    images = _cli("images", "--tag", "01234567", env=env)
    assert images.stdout.splitlines() == [f"{s}\t{OUTPUTS['ecr_repository_uris'][s]}:01234567\tservices/{s}\tservices/{s}/Dockerfile"
                                          for s in ("api", "web")]
    written = _cli("write", "--tag", "01234567", "--out", str(tmp_path), "--service", "web", env=env)
    assert written.returncode == 0, written.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["web"]


def test_command_line_names_what_is_missing(tmp_path):
    outputs = dict(OUTPUTS, iam_task_role_arns={"api": OUTPUTS["iam_task_role_arns"]["api"]})
    run = _cli("--outputs", json.dumps(outputs), "write", "--tag", "t", "--out", str(tmp_path))
    assert run.returncode == 2
    assert "iam_task_role_arns" in run.stderr and "web" in run.stderr
    run = _cli("--outputs", "{}", "images", "--tag", "t")
    assert run.returncode == 2 and "ecr_repository_uris" in run.stderr
    run = _cli("--outputs", json.dumps(OUTPUTS), "images", "--tag", "t", "--service", "nope")
    assert run.returncode == 2 and "nope" in run.stderr


def test_buildspec_publishes_one_release_artifact_per_service():
    buildspec = yaml.safe_load((ROOT / "buildspec.yml").read_text())
    assert buildspec["version"] == 0.2
    secondary = buildspec["artifacts"]["secondary-artifacts"]
    names = [s["name"] for s in STACK["stack_services"]]
    # The pipeline role names the build's output artifacts release_<service>.
    assert sorted(secondary) == sorted(f"release_{n}" for n in names)
    for name in names:
        assert secondary[f"release_{name}"]["base-directory"] == f"release/{name}"
        assert sorted(secondary[f"release_{name}"]["files"]) == sorted(ra.ARTIFACT_FILES)
    commands = json.dumps(buildspec["phases"])
    assert "roles/pipeline/files/release_artifacts.py" in commands
    assert "CODEBUILD_RESOLVED_SOURCE_VERSION" in commands or 'release_artifacts.py}\\" tag' in commands


def test_buildspec_is_the_pipeline_role_template_for_this_repository():
    """buildspec.yml is roles/pipeline/templates/buildspec.yml.j2 (what pipeline_buildspec_inline sets on the project)
    rendered for this repository's services, as Ansible's template lookup renders it: one buildspec to maintain."""
    from jinja2 import Environment

    template = (ROOT / "roles" / "pipeline" / "templates" / "buildspec.yml.j2").read_text()
    rendered = Environment(trim_blocks=True, keep_trailing_newline=True).from_string(template).render(
        services=[s["name"] for s in STACK["stack_services"]])
    assert rendered == (ROOT / "buildspec.yml").read_text(), "render the template again into buildspec.yml"


@pytest.mark.parametrize(("build", "paths"), [
    (None, ("services/api", "services/api/Dockerfile")),
    ({"context": "src/api/"}, ("src/api", "src/api/Dockerfile")),
    ({"context": ".", "dockerfile": "docker/api.Dockerfile"}, (".", "docker/api.Dockerfile")),
    ({"dockerfile": "Dockerfile.api"}, ("services/api", "Dockerfile.api")),
])
def test_build_paths_default_to_services_and_follow_the_service_build(build, paths):
    assert ra.build_paths({"name": "api", **({"build": build} if build else {})}) == paths


@pytest.mark.parametrize("build", [{"context": "/src/api"}, {"context": "../api"}, {"dockerfile": "a/../../Dockerfile"},
                                   {"context": "my api"}, "src/api"])
def test_build_paths_outside_the_repository_are_refused_naming_the_setting(build):
    with pytest.raises(ra.ReleaseError, match=r"stack_services\[api\]\.build"):
        ra.build_paths({"name": "api", "build": build})
