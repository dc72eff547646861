#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codepipeline_info
version_added: 0.1.0
short_description: Read a CodePipeline pipeline and its state
description:
  - Returns the declaration of one pipeline (C(GetPipeline)), its metadata and, with O(state=true), the
    state of its stages and actions (C(GetPipelineState)); RV(exists=false) when there is no such pipeline.
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
  state:
    description:
      - Also return the state of the stages and actions (RV(stage_states)).
    type: bool
    default: false
notes:
  - RV(pipeline) and RV(stage_states) keep AWS's key names (camelCase), because action configuration keys are
    case-sensitive and the declaration compares with what community.aws.codepipeline takes as O(community.aws.codepipeline#module:stages).
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
    state: true
  register: release_pipeline
"""

RETURN = r"""
exists:
  description: Whether the pipeline exists.
  returned: always
  type: bool
pipeline:
  description: The declaration (C(GetPipeline) C(pipeline), AWS key names); empty when it does not exist.
  returned: always
  type: dict
  sample: {"name": "seed", "version": 1, "stages": []}
metadata:
  description: C(pipelineArn), C(created), C(updated).
  returned: when the pipeline exists
  type: dict
stage_states:
  description: C(GetPipelineState) C(stageStates), one per stage in order.
  returned: when O(state=true) and the pipeline exists
  type: list
  elements: dict
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def main():
    module = AnsibleAWSModule(
        argument_spec={"name": {"type": "str", "required": True}, "state": {"type": "bool", "default": False}},
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
    result = {"changed": False, "exists": True, "pipeline": found["pipeline"], "metadata": found.get("metadata", {})}
    if module.params["state"]:
        try:
            result["stage_states"] = client.get_pipeline_state(name=name, aws_retry=True).get("stageStates", [])
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Unable to read the pipeline state")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
