#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_deployment_info
version_added: 0.1.0
short_description: Read the deployments of a CodeDeploy deployment group
description:
  - Returns the deployments of one deployment group, newest first - the latest O(max_results),
    only those in O(statuses), or those named in O(deployment_ids) - with their details.
  - A deployment group or application that does not exist has no deployments (an empty list).
  - With O(include_targets=true), each deployment also carries its ECS target's lifecycle events and
    task sets (traffic weights).
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  application_name:
    description:
      - The CodeDeploy application.
    required: true
    type: str
  deployment_group_name:
    description:
      - The deployment group.
      - Required unless O(deployment_ids) is given.
    type: str
  deployment_ids:
    description:
      - Return these deployments (the group's other deployments are not listed).
    type: list
    elements: str
  statuses:
    description:
      - Only deployments in one of these statuses.
    type: list
    elements: str
    choices: ['Created', 'Queued', 'InProgress', 'Baking', 'Succeeded', 'Failed', 'Stopped', 'Ready']
  max_results:
    description:
      - At most this many deployments, the newest first. C(0) returns all of them.
    type: int
    default: 10
  include_targets:
    description:
      - Add each deployment's ECS target (C(lifecycle_events), C(task_sets)); two more calls per deployment.
    type: bool
    default: false
extends_documentation_fragment:
  - seed.fargate.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The last five deployments of the group
  seed.fargate.codedeploy_deployment_info:
    application_name: shop-api
    deployment_group_name: shop-api-prod
    max_results: 5

- name: Running deployments with their traffic weights
  seed.fargate.codedeploy_deployment_info:
    application_name: shop-api
    deployment_group_name: shop-api-prod
    statuses: [Created, Queued, InProgress, Ready]
    include_targets: true

- name: One deployment
  seed.fargate.codedeploy_deployment_info:
    application_name: shop-api
    deployment_ids: [d-ABCDEF123]
"""

RETURN = r"""
deployments:
  description: The deployments, newest first (snake-cased DeploymentInfo).
  returned: always
  type: list
  elements: dict
  contains:
    deployment_id:
      description: The ID.
      returned: always
      type: str
    status:
      description: The status.
      returned: always
      type: str
      sample: Succeeded
    task_definition_arn:
      description: The task definition the deployment's AppSpec releases (null when it cannot be read).
      returned: always
      type: str
    revision:
      description: The revision (AppSpec content) deployed.
      returned: always
      type: dict
    error_information:
      description: Why it failed.
      returned: when it failed
      type: dict
    rollback_info:
      description: Rollback information.
      returned: when CodeDeploy reports it
      type: dict
    create_time:
      description: When it was created.
      returned: always
      type: str
    complete_time:
      description: When it ended.
      returned: when it ended
      type: str
    lifecycle_events:
      description: The ECS target's lifecycle events.
      returned: when O(include_targets=true) and the deployment has a target
      type: list
      elements: dict
    task_sets:
      description: The ECS target's task sets, with C(traffic_weight) and C(task_set_label).
      returned: when O(include_targets=true) and the deployment has a target
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
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy import (
    batch_get_deployments,
    deployment_result,
    get_ecs_deployment_target,
    list_deployments,
)


def read_deployments(client, params):
    if params["deployment_ids"]:
        deployments = batch_get_deployments(client, params["deployment_ids"])
        deployments = [d for d in deployments if d.get("applicationName") == params["application_name"]]
        if params["deployment_group_name"]:
            deployments = [d for d in deployments if d.get("deploymentGroupName") == params["deployment_group_name"]]
        if params["statuses"]:
            deployments = [d for d in deployments if d.get("status") in params["statuses"]]
    else:
        try:
            deployments = list_deployments(
                client, params["application_name"], params["deployment_group_name"], params["statuses"]
            )
        except is_boto3_error_code(["DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException"]):
            deployments = []
    if params["max_results"]:
        deployments = deployments[:params["max_results"]]
    results = []
    for deployment in deployments:
        target = None
        if params["include_targets"]:
            target = get_ecs_deployment_target(client, deployment["deploymentId"]) or {}
        results.append(deployment_result(deployment, target))
    return results


def main():
    argument_spec = {
        "application_name": {"required": True, "type": "str"},
        "deployment_group_name": {"type": "str"},
        "deployment_ids": {"type": "list", "elements": "str"},
        "statuses": {
            "type": "list", "elements": "str",
            "choices": ["Created", "Queued", "InProgress", "Baking", "Succeeded", "Failed", "Stopped", "Ready"],
        },
        "max_results": {"type": "int", "default": 10},
        "include_targets": {"type": "bool", "default": False},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_one_of=[["deployment_group_name", "deployment_ids"]],
        supports_check_mode=True,
    )
    if module.params["max_results"] < 0:
        module.fail_json(msg="max_results must be 0 (all) or more")
    client = module.client("codedeploy", retry_decorator=AWSRetry.jittered_backoff())
    try:
        deployments = read_deployments(client, module.params)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to read CodeDeploy deployments")
    module.exit_json(changed=False, deployments=deployments)


if __name__ == "__main__":
    main()
