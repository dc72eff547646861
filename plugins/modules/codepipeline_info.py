#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codepipeline_info
version_added: 0.1.0
short_description: Read a CodePipeline pipeline and its state
description:
  - Returns the declaration of one pipeline (C(GetPipeline)), its metadata and, with O(include_stage_states=true), the
    state of its stages and actions (C(GetPipelineState)), snake-cased; RV(exists=false) when there is no such pipeline.
  - community.aws.codepipeline has no read-only counterpart and calls C(UpdatePipeline) (which increments
    the pipeline's version) on every run; the pipeline role reads the pipeline with this module and calls
    community.aws.codepipeline only when the declaration differs from what it should be.
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  name:
    description:
      - Name of the pipeline.
    required: true
    type: str
  include_stage_states:
    description:
      - Also return the state of the stages and actions (RV(stage_states)), one more call (C(GetPipelineState)).
      - Called C(state) in earlier versions; in amazon.aws C(state) only ever means C(present) or C(absent).
    type: bool
    default: false
notes:
  - RV(pipeline), RV(metadata) and RV(stage_states) are snake-cased (C(actionTypeId) is C(action_type_id)),
    as in amazon.aws, except the C(configuration) of each action, whose keys (C(S3Bucket), C(ProjectName), ...) are
    the action provider's own settings and are returned as they are.
extends_documentation_fragment:
  - seed.fargate.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the release pipeline and where its last execution is
  seed.fargate.codepipeline_info:
    name: seed
    include_stage_states: true
  register: release_pipeline

- name: Show the status of each stage's latest execution
  ansible.builtin.debug:
    msg: "{{ item.stage_name }}: {{ item.latest_execution.status | default('never run') }}"
  loop: "{{ release_pipeline.stage_states | default([]) }}"
"""

RETURN = r"""
exists:
  description: Whether the pipeline exists.
  returned: always
  type: bool
  sample: true
pipeline:
  description: >-
    The declaration (C(GetPipeline) C(pipeline)), snake-cased but for each action's C(configuration); empty when it
    does not exist.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the pipeline.
      type: str
      sample: seed
    role_arn:
      description: ARN of the pipeline's service role.
      type: str
      sample: arn:aws:iam::123456789012:role/seed-codepipeline
    artifact_store:
      description: Where the artifacts are kept (C(type), C(location)).
      type: dict
      sample: {"type": "S3", "location": "seed-pipeline-123456789012-us-east-1"}
    stages:
      description: >-
        The stages in order, each C(name) and C(actions) (C(name), C(action_type_id), C(configuration) with the
        provider's own keys, C(input_artifacts), C(output_artifacts), C(run_order)).
      type: list
      elements: dict
      sample: [{"name": "Build", "actions": [{"name": "build", "run_order": 1,
                "action_type_id": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "seed-release"}, "input_artifacts": [{"name": "source"}],
                "output_artifacts": [{"name": "release_api"}]}]}]
    version:
      description: Version of the declaration (each C(UpdatePipeline) adds one).
      type: int
      sample: 1
metadata:
  description: The pipeline's C(pipeline_arn), C(created), C(updated).
  returned: when the pipeline exists
  type: dict
  sample: {"pipeline_arn": "arn:aws:codepipeline:us-east-1:123456789012:seed"}
stage_states:
  description: C(GetPipelineState) C(stageStates), snake-cased, one per stage in order (C(stage_name), C(latest_execution), C(action_states)).
  returned: when O(include_stage_states=true) and the pipeline exists
  type: list
  elements: dict
  sample: [{"stage_name": "Source", "latest_execution": {"pipeline_execution_id": "6f0d...", "status": "Succeeded"}}]
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import _camel_to_snake, camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Keys whose values are returned as AWS gives them: an action's configuration keys are the provider's settings,
# case-sensitive (community.aws.codepipeline takes them so).
KEEP = ("configuration",)


def snake(value, keep=KEEP):
    """camel_dict_to_snake_dict with ``keep`` honoured at every depth: its ``ignore_list`` is not applied to the
    dictionaries inside lists (stages, actions), where an action's configuration is."""
    if isinstance(value, dict):
        return {_camel_to_snake(k): (v if k in keep else snake(v, keep)) for k, v in value.items()}
    if isinstance(value, list):
        return [snake(v, keep) for v in value]
    return value


def main():
    module = AnsibleAWSModule(
        argument_spec={"name": {"type": "str", "required": True}, "include_stage_states": {"type": "bool", "default": False}},
        supports_check_mode=True,
    )
    client = module.client("codepipeline", retry_decorator=AWSRetry.jittered_backoff())
    name = module.params["name"]
    try:
        found = client.get_pipeline(name=name, aws_retry=True)
    except is_boto3_error_code("PipelineNotFoundException"):
        module.exit_json(changed=False, exists=False, pipeline={})
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg="Unable to read the pipeline")
    result = {"changed": False, "exists": True, "pipeline": snake(found["pipeline"]),
              "metadata": camel_dict_to_snake_dict(found.get("metadata", {}))}
    if module.params["include_stage_states"]:
        try:
            states = client.get_pipeline_state(name=name, aws_retry=True).get("stageStates", [])
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Unable to read the pipeline state")
        result["stage_states"] = [camel_dict_to_snake_dict(s) for s in states]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
