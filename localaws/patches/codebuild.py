"""CodeBuild: UpdateProject and the project shape AWS returns.

moto creates, reads and deletes projects. After AWS's CodeBuild API reference
this patch adds:

- ``UpdateProject``: changes only the fields given (``tags`` given replaces the
  tag set), refreshes ``lastModified``, validates like CreateProject and answers
  ``ResourceNotFoundException`` for an unknown project;
- ``lastModified`` (moto spelt it ``lastModifiedDate``; community.aws's
  codebuild_project reads ``lastModified``);
- the defaults AWS fills in on create: ``environment.privilegedMode`` false,
  ``environment.imagePullCredentialsType`` CODEBUILD, ``environment.environmentVariables``
  [], ``timeoutInMinutes`` 60, ``queuedTimeoutInMinutes`` 480, ``logsConfig``
  (CloudWatch Logs enabled, S3 logs disabled), ``tags`` [];
- CreateProject/UpdateProject accept a ``CODEPIPELINE`` or ``NO_SOURCE`` source and
  ``CODEPIPELINE`` / ``NO_ARTIFACTS`` artifacts without a location (AWS ignores one
  there; moto required it);
- ``BatchGetProjects`` lists unknown names in ``projectsNotFound``.
"""

from __future__ import annotations

import copy
from typing import Any

_PATCHED = "_localaws_codebuild"

SOURCE_TYPES = ("BITBUCKET", "CODECOMMIT", "CODEPIPELINE", "GITHUB", "GITHUB_ENTERPRISE", "GITLAB",
                "GITLAB_SELF_MANAGED", "NO_SOURCE", "S3")
# Sources and artifacts whose location AWS does not use.
LOCATIONLESS_SOURCES = ("CODEPIPELINE", "NO_SOURCE")
LOCATIONLESS_ARTIFACTS = ("CODEPIPELINE", "NO_ARTIFACTS")
DEFAULT_LOGS_CONFIG = {
    "cloudWatchLogs": {"status": "ENABLED"},
    "s3Logs": {"status": "DISABLED", "encryptionDisabled": False},
}


def _validate_source(source: dict[str, Any]) -> None:
    from moto.codebuild.exceptions import InvalidInputException

    if not isinstance(source, dict) or source.get("type") not in SOURCE_TYPES:
        raise InvalidInputException("Invalid type provided: Project source type")
    if source["type"] not in LOCATIONLESS_SOURCES and not source.get("location"):
        raise InvalidInputException("Project source location is required")


def _validate_artifacts(artifacts: dict[str, Any]) -> None:
    from moto.codebuild.exceptions import InvalidInputException

    if not isinstance(artifacts, dict) or artifacts.get("type") not in ("CODEPIPELINE", "S3", "NO_ARTIFACTS"):
        raise InvalidInputException("Invalid type provided: Artifact type")
    if artifacts["type"] == "NO_ARTIFACTS" and artifacts.get("location"):
        raise InvalidInputException("Invalid artifacts: artifact type NO_ARTIFACTS should have null location")
    if artifacts["type"] not in LOCATIONLESS_ARTIFACTS and not artifacts.get("location"):
        raise InvalidInputException("Project artifacts location is required")


def _with_defaults(metadata: dict[str, Any]) -> dict[str, Any]:
    """The fields AWS fills in that moto leaves out (in place; returns ``metadata``)."""
    if "lastModifiedDate" in metadata:
        metadata["lastModified"] = metadata.pop("lastModifiedDate")
    environment = metadata.get("environment")
    if isinstance(environment, dict):
        environment.setdefault("privilegedMode", False)
        environment.setdefault("imagePullCredentialsType", "CODEBUILD")
        environment.setdefault("environmentVariables", [])
        for variable in environment["environmentVariables"]:
            variable.setdefault("type", "PLAINTEXT")
    source = metadata.get("source")
    if isinstance(source, dict):
        source.setdefault("insecureSsl", False)
    if not metadata.get("timeoutInMinutes"):
        metadata["timeoutInMinutes"] = 60
    if not metadata.get("queuedTimeoutInMinutes"):
        metadata["queuedTimeoutInMinutes"] = 480
    metadata.setdefault("logsConfig", copy.deepcopy(DEFAULT_LOGS_CONFIG))
    if metadata.get("tags") is None:
        metadata["tags"] = []
    return metadata


# UpdateProject request field -> where it lives in the project (same name unless listed).
UPDATABLE = ("description", "source", "secondarySources", "sourceVersion", "secondarySourceVersions", "artifacts",
             "secondaryArtifacts", "cache", "environment", "serviceRole", "timeoutInMinutes",
             "queuedTimeoutInMinutes", "encryptionKey", "tags", "vpcConfig", "logsConfig", "fileSystemLocations",
             "buildBatchConfig", "concurrentBuildLimit", "autoRetryLimit")


def apply() -> None:
    from moto.codebuild import responses as cb_responses
    from moto.codebuild.exceptions import ResourceNotFoundException
    from moto.codebuild.responses import CodeBuildResponse
    from moto.core.responses import ActionResult
    from moto.core.utils import unix_time
    from moto.utilities.utils import get_partition

    if getattr(CodeBuildResponse, _PATCHED, False):
        return

    # moto's responses module looks these up at call time.
    cb_responses._validate_required_params_source = _validate_source
    cb_responses._validate_required_params_artifacts = _validate_artifacts

    original_create = CodeBuildResponse.create_project

    def create_project(self):
        result = original_create(self)
        project = self.codebuild_backend.codebuild_projects[self._get_param("name")]
        _with_defaults(project.project_metadata)
        return result

    def batch_get_projects(self):
        names = self._get_param("names") or []
        projects = [_with_defaults(p) for p in self.codebuild_backend.batch_get_projects(names)]
        found = {p["name"] for p in projects} | {p["arn"] for p in projects}
        return ActionResult({"projects": projects, "projectsNotFound": [n for n in names if n not in found]})

    def update_project(self):
        name = self._get_param("name")
        cb_responses._validate_required_params_project_name(name)
        project = self.codebuild_backend.codebuild_projects.get(name)
        if project is None:
            arn = f"arn:{get_partition(self.region)}:codebuild:{self.region}:{self.current_account}:project/{name}"
            raise ResourceNotFoundException(f"Project cannot be found: {arn}")
        changes = {key: self._get_param(key) for key in UPDATABLE if self._get_param(key) is not None}
        if "source" in changes:
            _validate_source(changes["source"])
        if "artifacts" in changes:
            _validate_artifacts(changes["artifacts"])
        if "environment" in changes:
            cb_responses._validate_required_params_environment(changes["environment"])
        if "serviceRole" in changes:
            cb_responses._validate_required_params_service_role(self.current_account, self.region,
                                                                changes["serviceRole"])
            project.service_role = changes["serviceRole"]
        metadata = project.project_metadata
        metadata.update(copy.deepcopy(changes))
        if "tags" in changes:
            project.tags = metadata["tags"]
        metadata["lastModified"] = unix_time()
        _with_defaults(metadata)
        return ActionResult({"project": metadata})

    CodeBuildResponse.create_project = create_project
    CodeBuildResponse.batch_get_projects = batch_get_projects
    CodeBuildResponse.update_project = update_project
    setattr(CodeBuildResponse, _PATCHED, True)
