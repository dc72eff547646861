#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_service_deployment
version_added: 0.1.0
short_description: Release an ECS task definition to an ECS-controlled service (ECS-native blue/green)
description:
  - For services whose deployment controller is C(ECS) (strategy C(BLUE_GREEN), C(CANARY), C(LINEAR) or
    C(ROLLING)), where ECS itself runs the release as a I(service deployment). For services released by CodeDeploy
    use M(seed.fargate.codedeploy_deployment); the return values are the same where they mean the same, so a
    playbook can treat both controllers alike.
  - With O(state=present), releases O(task_definition_arn) with C(UpdateService) and waits for the service
    deployment it starts (C(ListServiceDeployments), C(DescribeServiceDeployments)) with a deadline, not
    for C(services-stable), which says nothing about the traffic shift, the bake time or a rollback.
  - While it waits the module records every observed change of the deployment's status, lifecycle stage,
    lifecycle hook status, monitors (alarms, circuit breaker) and production traffic weights, in order, in
    RV(progress). A module cannot stream output, so the timeline is returned at the end, also on failure.
  - A deployment that ends C(ROLLBACK_SUCCESSFUL), C(ROLLBACK_FAILED) or C(STOPPED) fails the task with the
    reason (RV(error_information)) and the rollback information (RV(rollback_info)).
  - Idempotence. Nothing is released when O(task_definition_arn) is live, that is the task definition of
    the service revision of the newest successful deployment (or the one the newest rollback returned to).
    When a deployment of the same task definition is in progress, the module attaches to it and waits
    (RV(attached)). Both return C(changed=false). A deployment of another task definition in progress
    makes the task fail rather than replace it, as the CodeDeploy modules do.
  - With O(state=stopped), stops the service's deployment in progress (or O(deployment_id)) with
    C(StopServiceDeployment) and C(stopType=ROLLBACK), and ECS moves the traffic back to the source revision.
  - With O(state=continued), continues the service's deployment in progress (or O(deployment_id)) where a
    lifecycle hook of target type C(PAUSE) holds it (C(ContinueServiceDeployment) with C(action=CONTINUE) for each
    hook awaiting action), then waits until it ends or pauses at another such hook. To roll back a paused
    deployment instead, use O(state=stopped).
  - With O(state=rolled_back), rolls the service back whatever it is doing, as C(playbooks/rollback.yml)
    does for CodeDeploy services. During a release it stops it with rollback (O(state=stopped)). Otherwise it
    releases the previous revision again, with the service's own deployment strategy. The previous revision
    is the task definition of the newest successful service deployment that is not live or, when there is
    none, the revision before the live one in its family (when ACTIVE).
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  cluster:
    description:
      - The cluster of the service (name or ARN).
    required: true
    type: str
  service:
    description:
      - The ECS-controlled service (name or ARN).
    required: true
    type: str
  state:
    description:
      - V(present) releases O(task_definition_arn).
      - V(stopped) stops the deployment in progress and rolls it back.
      - V(continued) continues the deployment in progress where a C(PAUSE) lifecycle hook holds it.
      - V(rolled_back) stops the deployment in progress or, when there is none, releases the previous revision.
    choices: ['present', 'stopped', 'continued', 'rolled_back']
    default: present
    type: str
  task_definition_arn:
    description:
      - ARN (or C(family:revision)) of the task definition to release.
      - Required when O(state=present).
    type: str
  force:
    description:
      - Release even when O(task_definition_arn) is live (C(forceNewDeployment)).
    type: bool
    default: false
  deployment_id:
    description:
      - With O(state=stopped) or O(state=continued), the service deployment ARN to stop or continue. By default
        the service's deployment in progress.
    type: str
  wait:
    description:
      - Wait until the service deployment ends (C(SUCCESSFUL), C(STOPPED), C(ROLLBACK_SUCCESSFUL) or
        C(ROLLBACK_FAILED)).
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
  - A lifecycle hook of target type C(PAUSE) keeps the deployment C(IN_PROGRESS) until it is continued
    (O(state=continued) from another task or run, or C(ContinueServiceDeployment)); with O(state=present) the module
    waits for it within O(wait_timeout), so release with O(wait=false) (or a short O(wait_timeout)) when the
    release pauses for a manual check.
  - The bake time (C(bakeTimeInMinutes)) is part of the deployment, so a deployment only ends
    C(SUCCESSFUL) after it.
seealso:
  - module: seed.fargate.ecs_service_deployments
  - module: seed.fargate.codedeploy_deployment
extends_documentation_fragment:
  - seed.fargate.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Release revision 7 of the api task definition
  seed.fargate.ecs_service_deployment:
    cluster: shop
    service: api
    task_definition_arn: arn:aws:ecs:us-east-1:123456789012:task-definition/api:7
    wait_timeout: 1200
  register: release

- name: Show the traffic shift
  ansible.builtin.debug:
    msg: "{{ release.progress | selectattr('type', 'equalto', 'traffic') | map(attribute='weights') | list }}"

- name: Stop the release in progress and roll back
  seed.fargate.ecs_service_deployment:
    cluster: shop
    service: api
    state: stopped

- name: Continue a release that a PAUSE lifecycle hook holds (after the checks it paused for)
  seed.fargate.ecs_service_deployment:
    cluster: shop
    service: api
    state: continued

- name: Roll back, during a release or after it
  seed.fargate.ecs_service_deployment:
    cluster: shop
    service: api
    state: rolled_back
"""

RETURN = r"""
deployment_id:
  description: The service deployment ARN created, attached to or stopped (the key of the CodeDeploy modules).
  returned: when there is one (not in check mode before creation)
  type: str
  sample: arn:aws:ecs:us-east-1:123456789012:service-deployment/shop/api/Ab12Cd34
service_deployment_arn:
  description: The same as RV(deployment_id).
  returned: when there is one
  type: str
status:
  description: The deployment's last observed status.
  returned: when there is a deployment
  type: str
  sample: SUCCESSFUL
lifecycle_stage:
  description: The deployment's last observed lifecycle stage.
  returned: when there is a deployment in progress or ended
  type: str
  sample: CLEAN_UP
attached:
  description: Whether the module attached to a deployment of the same task definition already in progress.
  returned: when O(state=present), or O(state=rolled_back) released
  type: bool
live_task_definition:
  description: The task definition that was live before the module acted.
  returned: when O(state=present), or O(state=rolled_back) released
  type: str
live_target_group:
  description: The name of the target group production traffic goes to after the deployment.
  returned: when the deployment ended or nothing was released
  type: str
  sample: api-green
task_definition_arn:
  description: What was (or would be, in check mode) released.
  returned: in check mode when a release would happen, and with O(state=rolled_back) when it released
  type: str
rollback_action:
  description: What O(state=rolled_back) did, V(stopped) or V(released_previous).
  returned: when O(state=rolled_back)
  type: str
deployment:
  description:
    - The service deployment (snake-cased C(ServiceDeployment)) with the C(task_definition_arn) of its target
      revision. When the revision was already live, its last successful deployment.
  returned: when there is a deployment
  type: dict
progress:
  description:
    - Every observed change, in order. C(type) is C(status) (with C(status)), C(lifecycle_stage) (with
      C(stage)), C(hook) (with C(hook_id), C(target_type), C(target_arn), C(status)), C(monitor) (with
      C(name) C(alarms) or C(circuit_breaker), C(status), C(triggered_alarm_names)) or C(traffic) (with the
      production C(weights) and C(target_groups), keyed C(blue) = source revision, C(green) = target revision).
    - Each entry has C(timestamp) (ISO 8601, UTC), C(elapsed) (seconds since the module started) and
      C(deployment_id).
  returned: when the module watched a deployment
  type: list
  elements: dict
  sample:
    - {"type": "status", "status": "IN_PROGRESS", "elapsed": 0.0}
    - {"type": "lifecycle_stage", "stage": "PRE_SCALE_UP", "elapsed": 0.0}
    - {"type": "traffic", "weights": {"blue": 90.0, "green": 10.0}, "target_groups": {"blue": "api-blue", "green": "api-green"}}
    - {"type": "traffic", "weights": {"blue": 0.0, "green": 100.0}}
    - {"type": "status", "status": "SUCCESSFUL", "elapsed": 70.4}
error_information:
  description:
    - Why the deployment failed. C(code) is C(ALARM_ACTIVE), C(CIRCUIT_BREAKER), C(HOOK_EXECUTION_FAILURE),
      C(MANUAL_STOP) or the status; C(message) is ECS's C(statusReason).
  returned: when the deployment ended other than C(SUCCESSFUL)
  type: dict
rollback_info:
  description: ECS's C(rollback) (C(reason), C(started_at), C(service_revision_arn)), with C(rollback_message) = C(reason).
  returned: when ECS rolled the deployment back
  type: dict
continued_hooks:
  description: The IDs of the C(PAUSE) lifecycle hooks O(state=continued) continued (would continue in check mode).
  returned: when O(state=continued) found a deployment
  type: list
  elements: str
stop_type:
  description: The C(stopType) the deployment was stopped with.
  returned: when O(state=stopped) stopped a deployment
  type: str
  sample: ROLLBACK
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.seed.fargate.plugins.module_utils.ecs_deployment import Release, ServiceDeploymentError


def main():
    argument_spec = {
        "cluster": {"required": True, "type": "str"},
        "service": {"required": True, "type": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "stopped", "continued", "rolled_back"]},
        "task_definition_arn": {"type": "str"},
        "force": {"type": "bool", "default": False},
        "deployment_id": {"type": "str"},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "float", "default": 1800},
        "poll_interval": {"type": "float", "default": 5},
    }
    required_if = [("state", "present", ["task_definition_arn"])]
    module = AnsibleAWSModule(argument_spec=argument_spec, required_if=required_if, supports_check_mode=True)
    if module.params["poll_interval"] <= 0:
        module.fail_json(msg="poll_interval must be greater than 0")
    if module.params["wait_timeout"] <= 0:
        module.fail_json(msg="wait_timeout must be greater than 0")
    release = Release(module.client("ecs", retry_decorator=AWSRetry.jittered_backoff()), module.params,
                      module.check_mode)
    try:
        result = release.run()
    except ServiceDeploymentError as e:
        module.fail_json(msg=e.msg, **dict({"progress": release.progress}, **e.result))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="ECS service deployment failed", progress=release.progress)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
