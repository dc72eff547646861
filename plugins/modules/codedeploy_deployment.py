#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_deployment
version_added: 0.1.0
short_description: Release an ECS task definition with a CodeDeploy blue/green deployment
description:
  - With O(state=present), releases O(task_definition_arn) to the ECS service of a CodeDeploy deployment
    group. The module builds the AppSpec (version 0.0, one C(AWS::ECS::Service) target with the task
    definition, the container and port the load balancer routes to, an optional platform version and
    optional lifecycle hooks), creates the deployment and waits for it with a deadline.
  - While it waits the module polls the deployment and its ECS target and records every observed change
    of deployment status, lifecycle event status and task set traffic weight, in order, in RV(progress)
    (the traffic-shift timeline). A module cannot stream output, so the timeline is returned at the end,
    also when the deployment fails.
  - A deployment that ends C(Failed) or C(Stopped) fails the task with CodeDeploy's reason
    (RV(error_information)) and the rollback information (RV(rollback_info)). When CodeDeploy rolls back
    with a new deployment, the module waits for that one too (within O(wait_timeout)) and returns it as
    RV(rollback_deployment).
  - Idempotence. No deployment is created when the task definition is already live and healthy, that
    is when the PRIMARY task set of the ECS service (C(DescribeServices)) runs it and the group's last
    attempted deployment did not fail while releasing it. When a deployment of the same task definition is
    already in progress in the group, the module attaches to it and waits instead of creating another
    (RV(attached)). Both return C(changed=false). A deployment of another revision in progress makes
    the task fail, since CodeDeploy runs one deployment per group at a time.
  - With O(state=stopped), stops the group's running deployment (or O(deployment_id)), rolling back when
    O(auto_rollback=true).
  - With O(state=continued), continues a deployment that waits in status C(Ready) for the go-ahead
    (deployment group O(seed.fargate.codedeploy_deployment_group#module:action_on_timeout=STOP_DEPLOYMENT)),
    or with O(wait_type=termination) one that waits to terminate the original task set.
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
      - The deployment group (one ECS service).
    required: true
    type: str
  state:
    description:
      - V(present) releases O(task_definition_arn).
      - V(stopped) stops a running deployment.
      - V(continued) continues a waiting deployment.
    choices: ['present', 'stopped', 'continued']
    default: present
    type: str
  task_definition_arn:
    description:
      - ARN of the task definition revision to release.
      - Required when O(state=present).
    type: str
  container_name:
    description:
      - The container the load balancer routes to, as named in the task definition.
      - Required when O(state=present).
    type: str
  container_port:
    description:
      - The container port the load balancer routes to.
      - Required when O(state=present).
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
      - Create a deployment even when O(task_definition_arn) is already live.
    type: bool
    default: false
  deployment_id:
    description:
      - The deployment to stop or continue. By default the group's active deployment.
      - Only used with O(state=stopped) and O(state=continued).
    type: str
  auto_rollback:
    description:
      - With O(state=stopped), whether CodeDeploy rolls the service back to the original task set.
    type: bool
    default: true
  wait_type:
    description:
      - With O(state=continued), what the deployment waits for.
      - V(ready) continues a deployment in status C(Ready) (shift traffic now).
      - V(termination) ends the wait before the original task set is terminated.
    choices: ['ready', 'termination']
    default: ready
    type: str
  wait:
    description:
      - Wait until the deployment ends (C(Succeeded), C(Failed) or C(Stopped)) or reaches C(Ready).
      - With O(state=continued), also wait for the deployment to reach the state to continue from.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait before failing the task. The deployment keeps running in AWS.
    type: float
    default: 1800
  poll_interval:
    description:
      - Seconds between two observations of the deployment. Changes shorter than this can be missed
        in RV(progress).
    type: float
    default: 5
notes:
  - A deployment in status C(Ready) is returned (not failed) when it reaches that status; continue it
    with O(state=continued).
  - CodeDeploy counts the termination wait of the original task set as part of the deployment, so
    a deployment only ends C(Succeeded) after the group's termination wait time.
extends_documentation_fragment:
  - seed.fargate.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Release revision 7 of the api task definition
  seed.fargate.codedeploy_deployment:
    application_name: shop-api
    deployment_group_name: shop-api-prod
    task_definition_arn: arn:aws:ecs:us-east-1:123456789012:task-definition/api:7
    container_name: api
    container_port: 8080
    hooks:
      after_allow_test_traffic: shop-api-smoke-test
    wait_timeout: 1200
  register: release

- name: Show the traffic shift
  ansible.builtin.debug:
    msg: "{{ release.progress | selectattr('type', 'equalto', 'traffic') | map(attribute='weights') | list }}"

- name: Start a release and return at once
  seed.fargate.codedeploy_deployment:
    application_name: shop-api
    deployment_group_name: shop-api-prod
    task_definition_arn: arn:aws:ecs:us-east-1:123456789012:task-definition/api:8
    container_name: api
    container_port: 8080
    wait: false

- name: Go ahead with a deployment held in Ready
  seed.fargate.codedeploy_deployment:
    application_name: shop-api
    deployment_group_name: shop-api-prod
    state: continued

- name: Stop the running deployment and roll back
  seed.fargate.codedeploy_deployment:
    application_name: shop-api
    deployment_group_name: shop-api-prod
    state: stopped
    auto_rollback: true
"""

RETURN = r"""
deployment_id:
  description: The deployment created, attached to, stopped or continued.
  returned: when there is one (not in check mode before creation)
  type: str
  sample: d-ABCDEF123
status:
  description: The deployment's last observed status.
  returned: when there is a deployment
  type: str
  sample: Succeeded
attached:
  description: Whether the module attached to a deployment of the same revision already in progress.
  returned: when O(state=present)
  type: bool
live_task_definition:
  description: The task definition of the service's PRIMARY task set before the module acted.
  returned: when O(state=present)
  type: str
appspec:
  description: The AppSpec the deployment was (or would be) created with.
  returned: when O(state=present) and a deployment was created or would be
  type: dict
  sample:
    version: 0.0
    Resources:
      - TargetService:
          Type: AWS::ECS::Service
          Properties:
            TaskDefinition: arn:aws:ecs:us-east-1:123456789012:task-definition/api:7
            LoadBalancerInfo: {ContainerName: api, ContainerPort: 8080}
deployment:
  description:
    - The deployment (snake-cased DeploymentInfo) with its ECS target's C(lifecycle_events) and C(task_sets)
      and the C(task_definition_arn) it releases.
    - When the revision was already live, the group's last deployment of it, if any.
  returned: when there is a deployment
  type: dict
lifecycle_events:
  description: The ECS target's lifecycle events (name, status, start and end time, diagnostics).
  returned: when the deployment has an ECS target
  type: list
  elements: dict
  sample: [{"lifecycle_event_name": "BeforeInstall", "status": "Succeeded"}]
progress:
  description:
    - Every observed change, in order. C(type) is C(status) (with C(status)), C(lifecycle_event)
      (with C(name) and C(status)) or C(traffic) (with C(weights) and C(target_groups), keyed by
      task set label C(blue) / C(green)).
    - Each entry has C(timestamp) (ISO 8601, UTC), C(elapsed) (seconds since the module started
      watching) and C(deployment_id).
  returned: when the module waited or polled a deployment
  type: list
  elements: dict
  sample:
    - {"type": "status", "status": "InProgress", "elapsed": 0.0, "timestamp": "2024-05-01T10:00:00+00:00"}
    - {"type": "traffic", "weights": {"blue": 100.0, "green": 0.0}, "elapsed": 3.1}
    - {"type": "traffic", "weights": {"blue": 90.0, "green": 10.0}, "elapsed": 6.2}
    - {"type": "traffic", "weights": {"blue": 0.0, "green": 100.0}, "elapsed": 65.0}
    - {"type": "status", "status": "Succeeded", "elapsed": 70.4}
error_information:
  description: Why the deployment failed (C(code), C(message)).
  returned: when the deployment failed or was stopped
  type: dict
rollback_info:
  description: Rollback information (C(rollback_deployment_id), C(rollback_message), ...).
  returned: when CodeDeploy reports it
  type: dict
rollback_deployment:
  description: The rollback deployment CodeDeploy created, as last observed.
  returned: when the deployment was rolled back with a new deployment and O(wait=true)
  type: dict
stop_status:
  description: What C(StopDeployment) answered (C(Pending) or C(Succeeded)).
  returned: when O(state=stopped) and a deployment was stopped
  type: str
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy import (
    ECS_HOOKS,
    CodeDeployError,
)
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy_release import Release


def main():
    argument_spec = {
        "application_name": {"required": True, "type": "str"},
        "deployment_group_name": {"required": True, "type": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "stopped", "continued"]},
        "task_definition_arn": {"type": "str"},
        "container_name": {"type": "str"},
        "container_port": {"type": "int"},
        "platform_version": {"type": "str"},
        "hooks": {
            "type": "dict",
            "options": {option: {"type": "str"} for option, _event in ECS_HOOKS},
        },
        "description": {"type": "str"},
        "deployment_config_name": {"type": "str"},
        "force": {"type": "bool", "default": False},
        "deployment_id": {"type": "str"},
        "auto_rollback": {"type": "bool", "default": True},
        "wait_type": {"type": "str", "default": "ready", "choices": ["ready", "termination"]},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "float", "default": 1800},
        "poll_interval": {"type": "float", "default": 5},
    }
    required_if = [("state", "present", ["task_definition_arn", "container_name", "container_port"])]
    module = AnsibleAWSModule(argument_spec=argument_spec, required_if=required_if, supports_check_mode=True)
    if module.params["poll_interval"] <= 0:
        module.fail_json(msg="poll_interval must be greater than 0")
    retry = AWSRetry.jittered_backoff()
    release = Release(
        module.client("codedeploy", retry_decorator=retry),
        module.client("ecs", retry_decorator=retry),
        module.params,
        module.check_mode,
    )
    try:
        result = release.run()
    except CodeDeployError as e:
        module.fail_json(msg=e.msg, **e.result)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="CodeDeploy deployment failed", progress=release.progress)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
