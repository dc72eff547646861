"""CodePipeline: GetPipelineState, and the trust policies AWS accepts.

moto creates, reads, updates and deletes pipelines and records executions
(which succeed at once: no action runs). After AWS's CodePipeline API reference
this patch adds:

- ``GetPipelineState``: ``pipelineName``, ``pipelineVersion``, ``created``,
  ``updated`` and one ``stageStates`` entry per stage in declaration order, with
  ``inboundTransitionState.enabled`` and one ``actionStates`` entry per action.
  Once the pipeline has run, each stage and action carries the latest
  execution (``latestExecution`` with the execution id and its status, as moto
  recorded it); before, only the names. ``PipelineNotFoundException`` for an
  unknown pipeline.
- CreatePipeline accepts a role whose trust policy names the service principal
  ``codepipeline.amazonaws.com`` in a list (``"Service": ["codepipeline.amazonaws.com"]``)
  as AWS does; moto only accepted a single string.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

_PATCHED = "_localaws_codepipeline"
PRINCIPAL = "codepipeline.amazonaws.com"


def _trusts_codepipeline(document: str) -> bool:
    statements = json.loads(document).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if statement.get("Effect", "Allow") != "Allow":
            continue
        service = (statement.get("Principal") or {}).get("Service", [])
        services = [service] if isinstance(service, str) else list(service)
        if PRINCIPAL in services:
            return True
    return False


def pipeline_state(codepipeline: Any) -> dict[str, Any]:
    """GetPipelineState's answer for one of moto's ``CodePipeline`` objects."""
    from moto.core.utils import iso_8601_datetime_with_milliseconds

    pipeline = codepipeline.pipeline
    executions = list(codepipeline.executions.values())
    latest = executions[-1] if executions else None
    stages = []
    for stage in pipeline.get("stages", []):
        state: dict[str, Any] = {"stageName": stage["name"], "inboundTransitionState": {"enabled": True},
                                 "actionStates": []}
        for action in stage.get("actions", []):
            action_state: dict[str, Any] = {"actionName": action["name"]}
            if latest is not None:
                action_state["latestExecution"] = {
                    "actionExecutionId": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                        f"{latest.pipeline_execution_id}/{action['name']}")),
                    "status": latest.status,
                    "lastStatusChange": iso_8601_datetime_with_milliseconds(latest.last_update_time),
                }
            state["actionStates"].append(action_state)
        if latest is not None:
            state["latestExecution"] = {"pipelineExecutionId": latest.pipeline_execution_id,
                                        "status": latest.status}
        stages.append(state)
    metadata = codepipeline.metadata
    return {"pipelineName": pipeline["name"], "pipelineVersion": pipeline["version"], "stageStates": stages,
            "created": metadata["created"], "updated": metadata["updated"]}


def apply() -> None:
    from moto.codepipeline.exceptions import InvalidStructureException
    from moto.codepipeline.models import CodePipeline, CodePipelineBackend
    from moto.codepipeline.responses import CodePipelineResponse
    from moto.iam.exceptions import NotFoundException as IAMNotFoundException

    if getattr(CodePipelineResponse, _PATCHED, False):
        return

    def create_pipeline(self, pipeline, tags):
        # moto's create_pipeline with AWS's reading of the trust policy.
        name = pipeline["name"]
        if name in self.pipelines:
            raise InvalidStructureException(
                f"A pipeline with the name '{name}' already exists in account '{self.account_id}'")
        try:
            role = self.iam_backend.get_role_by_arn(pipeline["roleArn"])
        except IAMNotFoundException:
            role = None
        if role is None or not _trusts_codepipeline(role.assume_role_policy_document):
            raise InvalidStructureException(
                f"CodePipeline is not authorized to perform AssumeRole on role {pipeline['roleArn']}")
        if len(pipeline["stages"]) < 2:
            raise InvalidStructureException(f"Pipeline has only {len(pipeline['stages'])} stage(s). "
                                            "There should be a minimum of 2 stages in a pipeline")
        created = CodePipeline(self.account_id, self.region_name, pipeline)
        tags = tags or []
        created.validate_tags(tags)
        created.tags.update({tag["key"]: tag["value"] for tag in tags})
        self.pipelines[name] = created
        return created.pipeline, sorted(tags, key=lambda t: t["key"])

    def get_pipeline_state(self):
        name = self._get_param("name")
        self.codepipeline_backend.get_pipeline(name)  # PipelineNotFoundException
        return json.dumps(pipeline_state(self.codepipeline_backend.pipelines[name]))

    CodePipelineBackend.create_pipeline = create_pipeline
    CodePipelineResponse.get_pipeline_state = get_pipeline_state
    setattr(CodePipelineResponse, _PATCHED, True)
