#!/usr/bin/env python
"""Release artifacts for CodePipeline's CodeDeployToECS action, from the stack description.

Run by ``buildspec.yml`` in CodeBuild (and by hand or by tests)::

    release_artifacts.py tag                         # image tag of this build (the commit, short)
    release_artifacts.py images --tag TAG            # "<service>\t<image>\t<context>\t<dockerfile>" per image to build
    release_artifacts.py write --tag TAG --out DIR   # DIR/<service>/{taskdef.json,appspec.yaml,imageDetail.json}

What a service's task definition is comes from the same places a converge
takes it from, never a copy:

* the inventory's group vars (``--inventory``, env ``RELEASE_INVENTORY``): the stack
  description (``stack_services``, ``stack_name``, ``stack_region``, ...) and any
  ``ecs_service_*`` override;
* the ecs_service role's ``defaults/main.yml`` (health check timings, default
  user, log group prefix, platform version), rendered with Jinja as Ansible would;
* the outputs of the platform roles the ecs_service role reads (``--outputs``, env
  ``PLATFORM_OUTPUTS``, JSON): ``ecr_repository_uris``, ``iam_task_execution_role_arn``,
  ``iam_task_role_arns`` (the pipeline role passes them to the build);
* the container and task definition builders of ``plugins/filter/taskdef.py``.

``taskdef.json`` names the image ``<IMAGE1_NAME>`` and ``appspec.yaml`` the task
definition ``<TASK_DEFINITION>``: CodeDeployToECS substitutes the image from
``imageDetail.json`` (its action sets ``Image1ContainerName: IMAGE1_NAME``) and the ARN
of the revision it registers.

Needs Python 3.9+, PyYAML and Jinja2 (``requirements-release.txt`` beside it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined
from jinja2.nativetypes import NativeEnvironment

# roles/pipeline/files/ of the collection (this repository, or where ansible-galaxy installed it)
ROOT = Path(__file__).resolve().parents[3]
ECS_SERVICE_DEFAULTS = ROOT / "roles" / "ecs_service" / "defaults" / "main.yml"
TASKDEF_FILTER = ROOT / "plugins" / "filter" / "taskdef.py"

IMAGE_PLACEHOLDER = "<IMAGE1_NAME>"
TASK_DEFINITION_PLACEHOLDER = "<TASK_DEFINITION>"
# The value of the CodeDeployToECS action's Image1ContainerName (the placeholder without <>).
IMAGE_PLACEHOLDER_NAME = IMAGE_PLACEHOLDER.strip("<>")
ARTIFACT_FILES = ("taskdef.json", "appspec.yaml", "imageDetail.json")
TAG_LENGTH = 8


class ReleaseError(Exception):
    """A setting is missing or wrong; the message names it."""


def _load_taskdef():
    spec = importlib.util.spec_from_file_location("seed_fargate_taskdef", TASKDEF_FILTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


taskdef = _load_taskdef()


# -- settings ------------------------------------------------------------------------------------

def _read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ReleaseError(f"{path}: expected a mapping of variables")
    return data


def inventory_vars(inventory: Path) -> dict[str, Any]:
    """The ``all`` group vars of an inventory directory (``group_vars/all.yml`` or ``group_vars/all/*``)."""
    group_vars = inventory / "group_vars"
    files = [p for p in (group_vars / "all.yml", group_vars / "all.yaml") if p.is_file()]
    if (group_vars / "all").is_dir():
        files += sorted(p for p in (group_vars / "all").iterdir() if p.suffix in (".yml", ".yaml"))
    if not files:
        raise ReleaseError(f"{inventory}: no group_vars/all found (the stack description)")
    merged: dict[str, Any] = {}
    for path in files:
        merged.update(_read_yaml(path))
    return merged


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "on", "1", "y")
    return bool(value)


class _Lazy(dict):
    """A Jinja context whose variables are templated when a template reads them (as Ansible does)."""

    def __init__(self, variables: Variables, depth: int):
        super().__init__()
        self.variables, self.depth = variables, depth

    def __contains__(self, key: object) -> bool:
        return key in self.variables.raw

    def __getitem__(self, key: str) -> Any:
        return self.variables.render(self.variables.raw[key], self.depth + 1)


class Variables:
    """Ansible-like variables: role defaults < inventory vars < facts, templated on read."""

    def __init__(self, *layers: dict[str, Any]):
        self.raw: dict[str, Any] = {}
        for layer in layers:
            self.raw.update(layer)
        self.env = NativeEnvironment(undefined=StrictUndefined)
        self.env.filters["bool"] = _bool

    def render(self, value: Any, depth: int = 0) -> Any:
        if depth > 20:
            raise ReleaseError(f"recursive template: {value!r}")
        if isinstance(value, str) and "{{" in value:
            try:
                template = self.env.from_string(value)
                context = template.new_context(_Lazy(self, depth), shared=True)
                rendered = self.env.concat(template.root_render_func(context))
            except ReleaseError:
                raise
            except Exception as exc:
                raise ReleaseError(f"cannot template {value!r}: {exc}") from exc
            return self.render(rendered, depth + 1)
        if isinstance(value, dict):
            return {k: self.render(v, depth) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, depth) for v in value]
        return value

    def __getitem__(self, name: str) -> Any:
        if name not in self.raw:
            raise ReleaseError(f"variable {name} is not defined")
        return self.render(self.raw[name])

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self.raw else default


def load_variables(inventory: Path, outputs: dict[str, Any]) -> Variables:
    return Variables(_read_yaml(ECS_SERVICE_DEFAULTS), inventory_vars(inventory), outputs)


# -- what to release -----------------------------------------------------------------------------

def _require(variables: Variables, name: str, what: str) -> Any:
    value = variables.get(name)
    if value in (None, "", {}, []):
        raise ReleaseError(f"{name} is empty: {what}")
    return value


def services(variables: Variables, only: list[str] | None = None) -> list[dict[str, Any]]:
    entries = _require(variables, "ecs_service_services", "the services (stack_services) of the stack description")
    names = [s["name"] for s in entries]
    unknown = sorted(set(only or []) - set(names))
    if unknown:
        raise ReleaseError(f"--service {', '.join(unknown)}: not in stack_services ({', '.join(names)})")
    return [s for s in entries if not only or s["name"] in only]


def image_of(variables: Variables, service: dict[str, Any], tag: str) -> str:
    """The image a release of ``service`` runs: its fixed ``image`` or ``<ECR repository>:<tag>``."""
    if service.get("image"):
        return service["image"]
    uris = variables.get("ecs_service_repository_uris") or {}
    if not uris.get(service["name"]):
        raise ReleaseError(f"ecs_service_repository_uris (platform output ecr_repository_uris) has no repository "
                           f"for service {service['name']}")
    return f"{uris[service['name']]}:{tag}"


def build_paths(service: dict[str, Any]) -> tuple[str, str]:
    """(context, Dockerfile) of ``service``'s image, relative to the repository root: its ``build.context``
    (default ``services/<name>``) and ``build.dockerfile`` (default ``<context>/Dockerfile``)."""
    build = service.get("build") or {}
    if not isinstance(build, dict):
        raise ReleaseError(f"stack_services[{service['name']}].build must be a mapping (context, dockerfile)")
    context = str(build.get("context") or f"services/{service['name']}").rstrip("/") or "."
    dockerfile = str(build.get("dockerfile") or f"{context}/Dockerfile")
    for key, path in (("context", context), ("dockerfile", dockerfile)):
        if path.startswith("/") or ".." in Path(path).parts or re.search(r"\s", path):
            raise ReleaseError(f"stack_services[{service['name']}].build.{key} '{path}' must be a path inside the "
                               f"repository: relative, without '..' or whitespace")
    return context, dockerfile


def images(variables: Variables, tag: str, only: list[str] | None = None) -> list[tuple[str, str, str, str]]:
    """(service, image, context, Dockerfile) for each service whose image the build makes (not those with a
    fixed ``image``)."""
    return [(s["name"], image_of(variables, s, tag), *build_paths(s))
            for s in services(variables, only) if not s.get("image")]


def task_definition(variables: Variables, service: dict[str, Any], image: str) -> dict[str, Any]:
    """The RegisterTaskDefinition request of ``service``, exactly as the ecs_service role builds it."""
    name = service["name"]
    task_roles = variables.get("ecs_service_task_role_arns") or {}
    if not task_roles.get(name):
        raise ReleaseError(f"ecs_service_task_role_arns (platform output iam_task_role_arns) has no role for "
                           f"service {name}")
    execution_role = _require(variables, "ecs_service_execution_role_arn",
                              "the platform output iam_task_execution_role_arn is missing")
    container = taskdef.ecs_container_definition(
        service, image,
        log_group=f"{variables['ecs_service_log_group_prefix']}/{name}",
        region=variables["ecs_service_region"],
        default_user=variables["ecs_service_default_user"],
        health_check_interval=variables["ecs_service_health_check_interval"],
        health_check_timeout=variables["ecs_service_health_check_timeout"],
        health_check_retries=variables["ecs_service_health_check_retries"],
        health_check_start_period=variables["ecs_service_health_check_start_period"],
        stack_name=variables["ecs_service_stack_name"],
        tracing=variables.get("ecs_service_tracing"),
    )
    sidecars = taskdef.task_sidecars(service, variables.get("ecs_service_tracing"),
                                     f"{variables['ecs_service_log_group_prefix']}/{name}",
                                     variables["ecs_service_region"], variables["ecs_service_default_user"])
    return taskdef.ecs_task_definition(service, variables["ecs_service_stack_name"], execution_role,
                                       task_roles[name], [container, *sidecars])


def appspec(variables: Variables, service: dict[str, Any]) -> dict[str, Any]:
    """The ECS AppSpec of a release of ``service`` (CodeDeploy fills in the task definition)."""
    properties: dict[str, Any] = {
        "TaskDefinition": TASK_DEFINITION_PLACEHOLDER,
        "LoadBalancerInfo": {"ContainerName": service["name"], "ContainerPort": int(service["container_port"])},
    }
    platform_version = variables.get("ecs_service_platform_version")
    if platform_version:
        properties["PlatformVersion"] = str(platform_version)
    return {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service",
                                                             "Properties": properties}}]}


def write(variables: Variables, tag: str, out: Path, only: list[str] | None = None) -> list[Path]:
    """Write ``out/<service>/{taskdef.json,appspec.yaml,imageDetail.json}``; return the directories."""
    written = []
    for service in services(variables, only):
        directory = out / service["name"]
        directory.mkdir(parents=True, exist_ok=True)
        image = image_of(variables, service, tag)
        (directory / "taskdef.json").write_text(
            json.dumps(task_definition(variables, service, IMAGE_PLACEHOLDER), indent=2) + "\n")
        (directory / "appspec.yaml").write_text(yaml.safe_dump(appspec(variables, service), sort_keys=False))
        (directory / "imageDetail.json").write_text(json.dumps({"ImageURI": image}, indent=2) + "\n")
        written.append(directory)
    return written


def image_tag(source_version: str | None, length: int = TAG_LENGTH) -> str:
    """An ECR tag from CodeBuild's ``CODEBUILD_RESOLVED_SOURCE_VERSION`` (a commit id: its first ``length`` chars)."""
    if not source_version:
        raise ReleaseError("CODEBUILD_RESOLVED_SOURCE_VERSION is not set: no commit to tag the images with")
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", source_version.strip())[:length]
    if not re.match(r"^[A-Za-z0-9_]", tag):
        tag = f"r{tag}"[:length]
    return tag


# -- command line ----------------------------------------------------------------------------------

def _outputs(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    if value.startswith("@"):
        value = Path(value[1:]).read_text()
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise ReleaseError(f"--outputs / PLATFORM_OUTPUTS is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ReleaseError("--outputs / PLATFORM_OUTPUTS must be a JSON object")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="release_artifacts.py", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--inventory", type=Path, default=os.environ.get("RELEASE_INVENTORY", "inventories/local"),
                        help="inventory directory with group_vars/all (env RELEASE_INVENTORY)")
    parser.add_argument("--outputs", default=os.environ.get("PLATFORM_OUTPUTS", ""),
                        help="platform role outputs as JSON or @file (env PLATFORM_OUTPUTS)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("tag", help="print the image tag (env CODEBUILD_RESOLVED_SOURCE_VERSION)")
    for name in ("images", "write"):
        command = sub.add_parser(name)
        command.add_argument("--tag", required=True, help="image tag of this release")
        command.add_argument("--service", action="append", help="only this service (repeatable)")
        if name == "write":
            command.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)

    try:
        if args.command == "tag":
            print(image_tag(os.environ.get("CODEBUILD_RESOLVED_SOURCE_VERSION")))
            return 0
        inventory = args.inventory if args.inventory.is_absolute() else Path.cwd() / args.inventory
        variables = load_variables(inventory, _outputs(args.outputs))
        if args.command == "images":
            for row in images(variables, args.tag, args.service):
                print("\t".join(row))
        else:
            for directory in write(variables, args.tag, args.out, args.service):
                print(directory)
    except ReleaseError as exc:
        print(f"release_artifacts: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
