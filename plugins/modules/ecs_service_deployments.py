#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_service_deployments
version_added: 0.1.0
short_description: Release task definitions to several ECS-controlled services at once
description:
  - Releases one task definition to each of several services whose deployment controller is C(ECS), and
    waits for their service deployments together. It is to M(seed.fargate.ecs_service_deployment) what
    M(seed.fargate.codedeploy_deployments) is to M(seed.fargate.codedeploy_deployment).
  - The module first starts every release (the checks, the idempotence and the C(UpdateService) of
    M(seed.fargate.ecs_service_deployment) with O(seed.fargate.ecs_service_deployment#module:state=present),
    for each entry of O(deployments) in order), then polls all the service deployments still running in one
    loop (C(DescribeServiceDeployments), 20 per call) until each has ended. A release of N services takes
    about as long as the slowest of them, not their sum.
  - Each deployment's observed changes are recorded in its own C(progress) timeline;
    C(elapsed) counts from the start of the module for all of them.
  - A release that fails (rolled back, stopped, refused, another deployment in progress, the deadline) does
    not stop the others. When all have been waited for, the task fails if any failed, naming each failed
    service with the reason; RV(deployments) is returned either way, one result per entry, with C(failed)
    and C(msg).
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  cluster:
    description:
      - The cluster of every service.
    required: true
    type: str
  deployments:
    description:
      - The releases, one per service.
    required: true
    type: list
    elements: dict
    suboptions:
      service:
        description:
          - The ECS-controlled service. Each service may appear once.
        required: true
        type: str
      task_definition_arn:
        description:
          - ARN of the task definition to release.
        required: true
        type: str
      force:
        description:
          - Release even when O(deployments[].task_definition_arn) is live.
        type: bool
        default: false
  wait:
    description:
      - Wait until every service deployment ends.
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
      - Seconds between two observations of the deployments.
    type: float
    default: 5
seealso:
  - module: seed.fargate.ecs_service_deployment
  - module: seed.fargate.codedeploy_deployments
extends_documentation_fragment:
  - seed.fargate.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Release the api and the web service together
  seed.fargate.ecs_service_deployments:
    cluster: shop
    deployments:
      - service: api
        task_definition_arn: arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:7
      - service: web
        task_definition_arn: arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:4
    wait_timeout: 1200
  register: releases
"""

RETURN = r"""
deployments:
  description:
    - One result per entry of O(deployments), in the same order. Each has the return values of
      M(seed.fargate.ecs_service_deployment) with O(seed.fargate.ecs_service_deployment#module:state=present)
      for its service (C(deployment_id), C(status), C(lifecycle_stage), C(attached), C(live_task_definition),
      C(live_target_group), C(deployment), C(progress), C(error_information), C(rollback_info), each when it
      applies), plus the keys below.
  returned: when the arguments were valid
  type: list
  elements: dict
  contains:
    service:
      description: The service of the entry.
      type: str
      sample: api
    changed:
      description: Whether a release was started (or would be, in check mode).
      type: bool
    failed:
      description: Whether this release failed.
      type: bool
    msg:
      description: Why the release failed.
      returned: when C(failed)
      type: str
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.seed.fargate.plugins.module_utils.ecs_deployment import Releases


def main():
    argument_spec = {
        "cluster": {"required": True, "type": "str"},
        "deployments": {
            "required": True,
            "type": "list",
            "elements": "dict",
            "options": {
                "service": {"required": True, "type": "str"},
                "task_definition_arn": {"required": True, "type": "str"},
                "force": {"type": "bool", "default": False},
            },
        },
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "float", "default": 1800},
        "poll_interval": {"type": "float", "default": 5},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["poll_interval"] <= 0:
        module.fail_json(msg="poll_interval must be greater than 0")
    if module.params["wait_timeout"] <= 0:
        module.fail_json(msg="wait_timeout must be greater than 0")
    services = [entry["service"] for entry in module.params["deployments"]]
    twice = sorted({service for service in services if services.count(service) > 1})
    if twice:
        module.fail_json(msg=f"Each service may be released once per call (ECS runs one service deployment per "
                             f"service at a time): {', '.join(twice)} appear more than once")
    releases = Releases(module.client("ecs", retry_decorator=AWSRetry.jittered_backoff()), module.params,
                        module.check_mode)
    try:
        results = releases.run()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Waiting for the ECS service deployments failed")
    changed = any(r["changed"] for r in results)
    failed = [r for r in results if r["failed"]]
    if failed:
        module.fail_json(
            msg=f"{len(failed)} of {len(results)} releases failed: "
                + "; ".join(f"{r['service']}: {r['msg']}" for r in failed),
            changed=changed, deployments=results,
        )
    module.exit_json(changed=changed, deployments=results)


if __name__ == "__main__":
    main()
