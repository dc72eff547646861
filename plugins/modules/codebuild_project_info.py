#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codebuild_project_info
version_added: 0.1.0
short_description: Read a CodeBuild project
description:
  - Returns one CodeBuild project as C(BatchGetProjects) describes it, snake-cased, or RV(exists=false).
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
  - RV(project) is snake-cased (C(serviceRole) is RV(project.service_role)) and its RV(project.tags) is a
    dictionary, as in amazon.aws; the names and values of the C(environment_variables) of RV(project.environment) are kept as
    they are.
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

- name: Show its build image and role
  ansible.builtin.debug:
    msg: "{{ build_project.project.environment.image }} as {{ build_project.project.service_role }}"
  when: build_project.exists
"""

RETURN = r"""
exists:
  description: Whether the project exists.
  returned: always
  type: bool
  sample: true
project:
  description: The project as C(BatchGetProjects) returns it, snake-cased; empty when it does not exist.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the project.
      type: str
      sample: seed-release
    arn:
      description: ARN of the project.
      type: str
      sample: arn:aws:codebuild:us-east-1:123456789012:project/seed-release
    description:
      description: Description of the project.
      type: str
    source:
      description: Source settings (C(type), C(buildspec), ...).
      type: dict
      sample: {"type": "CODEPIPELINE", "buildspec": "buildspec.yml"}
    artifacts:
      description: Artifact settings (C(type), ...).
      type: dict
      sample: {"type": "CODEPIPELINE"}
    environment:
      description: >-
        Build environment: C(type), C(image), C(compute_type), C(privileged_mode), C(environment_variables)
        (a list of C(name), C(value), C(type)).
      type: dict
      sample: {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "compute_type": "BUILD_GENERAL1_SMALL",
               "privileged_mode": true, "environment_variables": [{"name": "RELEASE_INVENTORY", "value": "inventories/prod",
                                                                    "type": "PLAINTEXT"}]}
    service_role:
      description: ARN of the project's service role.
      type: str
      sample: arn:aws:iam::123456789012:role/seed-codebuild
    timeout_in_minutes:
      description: Build timeout, minutes.
      type: int
      sample: 30
    tags:
      description: The project's tags.
      type: dict
      sample: {"stack": "seed"}
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    boto3_tag_list_to_ansible_dict,
)


def normalize_project(project):
    """A BatchGetProjects project in amazon.aws's shape: snake-cased keys, tags as a dictionary."""
    if not project:
        return {}
    tags = boto3_tag_list_to_ansible_dict(project.get("tags") or [], tag_name_key_name="key", tag_value_key_name="value")
    result = camel_dict_to_snake_dict(dict(project, tags={}), ignore_list=["tags"])
    result["tags"] = tags
    return result


def main():
    module = AnsibleAWSModule(argument_spec={"name": {"type": "str", "required": True}}, supports_check_mode=True)
    client = module.client("codebuild", retry_decorator=AWSRetry.jittered_backoff())
    try:
        projects = client.batch_get_projects(names=[module.params["name"]], aws_retry=True).get("projects", [])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Unable to read the CodeBuild project")
    project = normalize_project(projects[0] if projects else {})
    module.exit_json(changed=False, exists=bool(project), project=project)


if __name__ == "__main__":
    main()
