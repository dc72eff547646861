#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codebuild_project_info
version_added: 0.1.0
short_description: Read a CodeBuild project
description:
  - Returns one CodeBuild project as C(BatchGetProjects) describes it, or RV(exists=false).
  - community.aws.codebuild_project has no read-only counterpart and calls C(UpdateProject) on every run;
    the pipeline role reads the project with this module and calls community.aws.codebuild_project only when
    the project differs from what it should be.
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  name:
    description:
      - Name (or ARN) of the project.
    required: true
    type: str
notes:
  - RV(project) keeps AWS's key names (camelCase) so that it compares with the request shapes of
    C(CreateProject); RV(tags) is a plain dictionary.
extends_documentation_fragment:
  - seed.fargate.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the build project
  seed.fargate.codebuild_project_info:
    name: seed-release
  register: build_project
"""

RETURN = r"""
exists:
  description: Whether the project exists.
  returned: always
  type: bool
project:
  description: The project as C(BatchGetProjects) returns it (AWS key names); empty when it does not exist.
  returned: always
  type: dict
  sample: {"name": "seed-release", "arn": "arn:aws:codebuild:us-east-1:123456789012:project/seed-release"}
tags:
  description: The project's tags.
  returned: always
  type: dict
  sample: {"stack": "seed"}
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    boto3_tag_list_to_ansible_dict,
)


def main():
    module = AnsibleAWSModule(argument_spec={"name": {"type": "str", "required": True}}, supports_check_mode=True)
    client = module.client("codebuild", retry_decorator=AWSRetry.jittered_backoff())
    try:
        projects = client.batch_get_projects(names=[module.params["name"]], aws_retry=True).get("projects", [])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Unable to read the CodeBuild project")
    project = projects[0] if projects else {}
    tags = boto3_tag_list_to_ansible_dict(project.get("tags") or [], tag_name_key_name="key",
                                          tag_value_key_name="value")
    module.exit_json(changed=False, exists=bool(project), project=project, tags=tags)


if __name__ == "__main__":
    main()
