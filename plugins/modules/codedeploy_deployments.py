#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_deployments
version_added: 0.1.0
short_description: Release ECS task definitions to several CodeDeploy deployment groups at once
description:
  - Releases one task definition revision to each of several ECS services, one CodeDeploy blue/green
    deployment per deployment group, and waits for all of them together.
  - CodeDeploy runs one active deployment per deployment group, and deployments of different groups at
    the same time. The module first starts every release (the checks, the idempotence and the
    C(CreateDeployment) of M(seed.fargate.codedeploy_deployment) with O(seed.fargate.codedeploy_deployment#module:state=present), for each entry of
    O(deployments) in order), then polls all the deployments still running in one loop
    (C(BatchGetDeployments) and each deployment's ECS target) until each has ended or reached C(Ready).
    A release of N services therefore takes about as long as the slowest of them, not their sum.
  - Each deployment's observed changes (status, lifecycle events, traffic weights) are recorded in its own
    RV(deployments[].progress) timeline; C(elapsed) counts from the start of the module for all of them.
  - A release that fails (C(Failed) or C(Stopped), a refused C(CreateDeployment), another revision's
    deployment active in its group, the deadline) does not stop the others. When all have been waited
    for, the task fails if any failed, naming each failed group with CodeDeploy's reason; RV(deployments)
    is returned either way, one result per entry, with C(failed) and C(msg).
  - When CodeDeploy rolls a failed deployment back with a new deployment, the module waits for that one
    too (within O(wait_timeout)) and returns it as C(rollback_deployment) in its RV(deployments) entry.
  - Idempotence is that of M(seed.fargate.codedeploy_deployment) per entry. No deployment is created for a
    revision that is already live and healthy, and the module attaches to a deployment of the same
    revision already in progress.
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  application_name:
    description:
      - The CodeDeploy application of every deployment group.
    required: true
    type: str
  deployments:
    description:
      - The releases, one per deployment group.
    required: true
    type: list
    elements: dict
    suboptions:
      deployment_group_name:
        description:
          - The deployment group (one ECS service).
          - Each group may appear once.
        required: true
        type: str
      task_definition_arn:
        description:
          - ARN of the task definition revision to release.
        required: true
        type: str
      container_name:
        description:
          - The container the load balancer routes to, as named in the task definition.
        required: true
        type: str
      container_port:
        description:
          - The container port the load balancer routes to.
        required: true
        type: int
      platform_version:
        description:
          - Fargate platform version of the replacement task set, for example C(LATEST) or C(1.4.0).
        type: str
      hooks:
        description:
          - Lambda functions (names or ARNs) CodeDeploy invokes at the ECS lifecycle hooks.
        type: dict
        suboptions:
          before_install:
            description: Runs before the replacement task set is created.
            type: str
          after_install:
            description: Runs after the replacement task set is created.
            type: str
          after_allow_test_traffic:
            description: Runs after the test listener routes to the replacement task set.
            type: str
          before_allow_traffic:
            description: Runs before production traffic shifts.
            type: str
          after_allow_traffic:
            description: Runs after production traffic has shifted.
            type: str
      description:
        description:
          - A description of the deployment.
        type: str
      deployment_config_name:
        description:
          - Deployment configuration for this deployment only; the group's configuration by default.
        type: str
      force:
        description:
          - Create a deployment even when O(deployments[].task_definition_arn) is already live.
        type: bool
        default: false
      deployment_id:
        description:
          - Wait for this deployment instead of releasing, for example one an earlier call started with
            O(wait=false) (its RV(deployments[].deployment_id)) while other work ran. Nothing is created, so a
            deployment that failed meanwhile is reported failed, not released again.
          - The entry's result then has C(changed=true) and C(attached=true).
        type: str
  wait:
    description:
      - Wait until every deployment ends (C(Succeeded), C(Failed) or C(Stopped)) or reaches C(Ready).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for all the deployments together before failing the ones still running. They keep
        running in AWS.
    type: float
    default: 1800
  poll_interval:
    description:
      - Seconds between two observations of the deployments. Changes shorter than this can be missed
        in RV(deployments[].progress).
    type: float
    default: 5
notes:
  - To stop or continue a deployment, use M(seed.fargate.codedeploy_deployment) with O(seed.fargate.codedeploy_deployment#module:state=stopped)
    or O(seed.fargate.codedeploy_deployment#module:state=continued).
seealso:
  - module: seed.fargate.codedeploy_deployment
  - module: seed.fargate.codedeploy_deployment_info
extends_documentation_fragment:
  - seed.fargate.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Release the api and the web service together
  seed.fargate.codedeploy_deployments:
    application_name: shop
    deployments:
      - deployment_group_name: shop-api
        task_definition_arn: arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:7
        container_name: api
        container_port: 8080
      - deployment_group_name: shop-web
        task_definition_arn: arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:4
        container_name: web
        container_port: 8080
    wait_timeout: 1200
  register: releases

- name: Show each service's traffic shift
  ansible.builtin.debug:
    msg: "{{ item.deployment_group_name }}: {{ item.progress | selectattr('type', 'equalto', 'traffic') | map(attribute='weights') | list }}"
  loop: "{{ releases.deployments }}"
  loop_control:
    label: "{{ item.deployment_group_name }}"
"""

RETURN = r"""
deployments:
  description:
    - One result per entry of O(deployments), in the same order. Each has the return values of
      M(seed.fargate.codedeploy_deployment) with O(seed.fargate.codedeploy_deployment#module:state=present)
      for its group (C(deployment_id), C(status), C(attached), C(live_task_definition), C(appspec),
      C(deployment), C(lifecycle_events), C(progress), C(error_information), C(rollback_info),
      C(rollback_deployment), each when it applies), plus the keys below.
  returned: when the arguments were valid
  type: list
  elements: dict
  contains:
    deployment_group_name:
      description: The deployment group of the entry.
      type: str
      sample: shop-api
    changed:
      description: Whether a deployment was created (or would be, in check mode).
      type: bool
    failed:
      description: Whether this release failed.
      type: bool
    msg:
      description: Why the release failed.
      returned: when C(failed)
      type: str
      sample: "Deployment d-ABCDEF123 ended with status Failed: HEALTH_CONSTRAINTS ..."
    deployment_id:
      description: The deployment created or attached to.
      returned: when there is one
      type: str
      sample: d-ABCDEF123
    status:
      description: The deployment's last observed status.
      returned: when there is a deployment
      type: str
      sample: Succeeded
    progress:
      description:
        - The deployment's observed changes, in order (see M(seed.fargate.codedeploy_deployment)'s C(progress)).
          C(elapsed) counts seconds from the start of the module, the same origin for every entry.
      returned: when the module polled the deployment
      type: list
      elements: dict
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy import ECS_HOOKS
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy_release import Releases


def main():
    argument_spec = {
        "application_name": {"required": True, "type": "str"},
        "deployments": {
            "required": True,
            "type": "list",
            "elements": "dict",
            "options": {
                "deployment_group_name": {"required": True, "type": "str"},
                "task_definition_arn": {"required": True, "type": "str"},
                "container_name": {"required": True, "type": "str"},
                "container_port": {"required": True, "type": "int"},
                "platform_version": {"type": "str"},
                "hooks": {
                    "type": "dict",
                    "options": {option: {"type": "str"} for option, _event in ECS_HOOKS},
                },
                "description": {"type": "str"},
                "deployment_config_name": {"type": "str"},
                "force": {"type": "bool", "default": False},
                "deployment_id": {"type": "str"},
            },
        },
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "float", "default": 1800},
        "poll_interval": {"type": "float", "default": 5},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["poll_interval"] <= 0:
        module.fail_json(msg="poll_interval must be greater than 0")
    groups = [entry["deployment_group_name"] for entry in module.params["deployments"]]
    twice = sorted({group for group in groups if groups.count(group) > 1})
    if twice:
        module.fail_json(msg=f"Each deployment group may be released once per call (CodeDeploy runs one "
                             f"deployment per group at a time): {', '.join(twice)} appear more than once")
    retry = AWSRetry.jittered_backoff()
    releases = Releases(
        module.client("codedeploy", retry_decorator=retry),
        module.client("ecs", retry_decorator=retry),
        module.params,
        module.check_mode,
    )
    try:
        results = releases.run()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Waiting for the CodeDeploy deployments failed")
    changed = any(r["changed"] for r in results)
    failed = [r for r in results if r["failed"]]
    if failed:
        module.fail_json(
            msg=f"{len(failed)} of {len(results)} releases failed: "
                + "; ".join(f"{r['deployment_group_name']}: {r['msg']}" for r in failed),
            changed=changed, deployments=results,
        )
    module.exit_json(changed=changed, deployments=results)


if __name__ == "__main__":
    main()
