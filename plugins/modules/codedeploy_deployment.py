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
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return changed status prediction without modifying target.
    details: Reports whether a deployment would be created, stopped or continued, without doing it.
  diff_mode:
    support: none
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    support: full
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    details: Decided from the ECS service's PRIMARY task set and the group's deployments, see the description.
notes:
  - A deployment in status C(Ready) is returned (not failed) when it reaches that status; continue it
    with O(state=continued).
  - CodeDeploy counts the termination wait of the original task set as part of the deployment, so
    a deployment only ends C(Succeeded) after the group's termination wait time.
extends_documentation_fragment:
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

import time

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy import (
    ACTIVE_STATUSES,
    ECS_HOOKS,
    FAILED_STATUSES,
    CodeDeployError,
    DeploymentProgress,
    DeploymentWatcher,
    appspec_revision,
    build_appspec,
    deployment_result,
    ecs_service_primary,
    failure_message,
    find_deployment_for_revision,
    get_deployment,
    get_deployment_group,
    is_terminal,
    is_terminal_or_ready,
    list_deployments,
    revision_is_live,
    revision_task_definition,
    same_task_definition,
    waiting_for_termination,
)


class Deadline:
    """One deadline shared by every wait of a module run."""

    def __init__(self, timeout, clock=time.monotonic):
        self.clock = clock
        self.timeout = float(timeout)
        self.end = clock() + self.timeout

    def remaining(self):
        return max(self.end - self.clock(), 0.0)


class Release:
    """The work of one module run, with the AWS clients and the wait settings injected.

    Methods return the module result (a dict with ``changed``) or raise
    CodeDeployError with the message and result to fail with.
    """

    def __init__(self, codedeploy, ecs, params, check_mode, sleep=time.sleep, clock=time.monotonic):
        self.codedeploy = codedeploy
        self.ecs = ecs
        self.params = params
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock
        self.deadline = Deadline(params["wait_timeout"], clock)
        self.start = clock()
        self.progress = []  # the timeline of every deployment this run watches, in order

    # -- helpers ------------------------------------------------------------------
    def _group(self):
        params = self.params
        group = get_deployment_group(self.codedeploy, params["application_name"], params["deployment_group_name"])
        if group is None:
            raise CodeDeployError(
                f"Deployment group {params['deployment_group_name']} of application "
                f"{params['application_name']} does not exist"
            )
        return group

    def _active(self):
        return list_deployments(
            self.codedeploy, self.params["application_name"], self.params["deployment_group_name"], ACTIVE_STATUSES
        )

    def _watcher(self, deployment_id):
        progress = DeploymentProgress(deployment_id, entries=self.progress, clock=self.clock, start=self.start)
        return DeploymentWatcher(self.codedeploy, deployment_id, progress)

    def _wait(self, watcher, done):
        """Poll until done() or the shared deadline; raise on timeout."""
        deployment, timed_out = watcher.wait(
            done, self.deadline.remaining(), self.params["poll_interval"], sleep=self.sleep, clock=self.clock
        )
        if timed_out:
            raise CodeDeployError(
                f"Timed out after {self.deadline.timeout:g}s waiting for deployment {watcher.deployment_id}"
                f" (last status {deployment.get('status')}); it keeps running in AWS",
                **self._result(watcher),
            )
        return deployment

    def _result(self, watcher, changed=False, **extra):
        deployment = watcher.deployment or {}
        result = {
            "changed": changed,
            "deployment_id": watcher.deployment_id,
            "status": deployment.get("status"),
            "deployment": deployment_result(deployment, watcher.target),
            "progress": self.progress,
        }
        if watcher.target is not None:
            result["lifecycle_events"] = result["deployment"]["lifecycle_events"]
        if deployment.get("errorInformation"):
            result["error_information"] = camel_dict_to_snake_dict(deployment["errorInformation"])
        if deployment.get("rollbackInfo"):
            result["rollback_info"] = camel_dict_to_snake_dict(deployment["rollbackInfo"])
        result.update(extra)
        return result

    def _follow_rollback(self, watcher, result):
        """When CodeDeploy rolled back with a new deployment, wait for that one (same deadline)."""
        rollback_id = ((watcher.deployment or {}).get("rollbackInfo") or {}).get("rollbackDeploymentId")
        if not rollback_id or not self.params["wait"]:
            return
        rollback = self._watcher(rollback_id)
        rollback.wait(is_terminal, self.deadline.remaining(), self.params["poll_interval"],
                      sleep=self.sleep, clock=self.clock)
        result["rollback_deployment"] = deployment_result(rollback.deployment, rollback.target)

    def _finish(self, watcher, changed, done=is_terminal_or_ready, **extra):
        """Wait (if asked) until ``done`` and turn the outcome into a result; Failed/Stopped raise.

        Check mode observes once and does not wait: it only reports.
        """
        if self.params["wait"] and not self.check_mode:
            deployment = self._wait(watcher, done)
        else:
            deployment = watcher.poll()
        result = self._result(watcher, changed=changed, **extra)
        if deployment.get("status") in FAILED_STATUSES:
            self._follow_rollback(watcher, result)
            raise CodeDeployError(failure_message(deployment), **result)
        return result

    # -- state=present -------------------------------------------------------------
    def present(self):
        params = self.params
        task_definition = params["task_definition_arn"]
        group = self._group()
        appspec = build_appspec(task_definition, params["container_name"], params["container_port"],
                                params["platform_version"], params["hooks"])

        active = self._active()
        existing = find_deployment_for_revision(active, task_definition)
        services = group.get("ecsServices") or []
        if not services:
            raise CodeDeployError(
                f"Deployment group {params['deployment_group_name']} has no ECS service; "
                "codedeploy_deployment releases ECS task definitions only"
            )
        _service, live = ecs_service_primary(self.ecs, services[0]["clusterName"], services[0]["serviceName"])
        if existing:
            watcher = self._watcher(existing["deploymentId"])
            return self._finish(watcher, changed=False, attached=True, live_task_definition=live)
        if active:
            other = active[0]
            raise CodeDeployError(
                f"Deployment {other['deploymentId']} of {revision_task_definition(other.get('revision'))} is "
                f"{other.get('status')} in group {params['deployment_group_name']}; CodeDeploy runs one deployment "
                "per group at a time. Wait for it, or stop it with state=stopped.",
                attached=False, live_task_definition=live,
            )

        last_attempted = None
        last_id = (group.get("lastAttemptedDeployment") or {}).get("deploymentId")
        if last_id:
            last_attempted = get_deployment(self.codedeploy, last_id)
        if not params["force"] and revision_is_live(task_definition, live, last_attempted):
            result = {"changed": False, "attached": False, "live_task_definition": live}
            if last_attempted and same_task_definition(revision_task_definition(last_attempted.get("revision")),
                                                       task_definition):
                result.update(deployment_id=last_id, status=last_attempted.get("status"),
                              deployment=deployment_result(last_attempted))
            return result

        if self.check_mode:
            return {"changed": True, "attached": False, "live_task_definition": live, "appspec": appspec}

        request = {
            "applicationName": params["application_name"],
            "deploymentGroupName": params["deployment_group_name"],
            "revision": appspec_revision(appspec),
        }
        if params["description"]:
            request["description"] = params["description"]
        if params["deployment_config_name"]:
            request["deploymentConfigName"] = params["deployment_config_name"]
        deployment_id = self.codedeploy.create_deployment(aws_retry=True, **request)["deploymentId"]
        watcher = self._watcher(deployment_id)
        return self._finish(watcher, changed=True, attached=False, live_task_definition=live, appspec=appspec)

    # -- state=stopped -------------------------------------------------------------
    def _target_deployment(self, wanted=None):
        """The deployment named by deployment_id, else the group's active one (preferring ``wanted``)."""
        if self.params["deployment_id"]:
            return get_deployment(self.codedeploy, self.params["deployment_id"])
        self._group()
        active = self._active()
        for deployment in active:
            if wanted and wanted(deployment):
                return deployment
        return active[0] if active else None

    def stopped(self):
        deployment = self._target_deployment()
        if deployment is None:
            return {"changed": False, "msg": "No active deployment to stop"}
        watcher = self._watcher(deployment["deploymentId"])
        if is_terminal(deployment):
            watcher.deployment = deployment
            return self._result(watcher)
        if self.check_mode:
            watcher.deployment = deployment
            return self._result(watcher, changed=True)
        try:
            response = self.codedeploy.stop_deployment(
                deploymentId=deployment["deploymentId"], autoRollbackEnabled=self.params["auto_rollback"],
                aws_retry=True,
            )
        except is_boto3_error_code("DeploymentAlreadyCompletedException"):
            watcher.poll()
            return self._result(watcher)
        if self.params["wait"]:
            self._wait(watcher, is_terminal)
        else:
            watcher.poll()
        result = self._result(watcher, changed=True, stop_status=response.get("status"))
        self._follow_rollback(watcher, result)
        return result

    # -- state=continued -----------------------------------------------------------
    def continued(self):
        termination = self.params["wait_type"] == "termination"
        waiting = waiting_for_termination if termination else (lambda d: d.get("status") == "Ready")
        deployment = self._target_deployment(waiting)
        if deployment is None:
            return {"changed": False, "msg": "No active deployment to continue"}
        watcher = self._watcher(deployment["deploymentId"])
        watcher.deployment = deployment
        if not waiting(deployment) and not is_terminal(deployment):
            if not self.params["wait"]:
                return self._result(watcher, msg=f"Deployment is {deployment.get('status')}, not waiting to continue")
            self._wait(watcher, lambda d: waiting(d) or is_terminal(d))
        if is_terminal(watcher.deployment):
            return self._result(watcher, msg="Deployment already ended")
        if self.check_mode:
            return self._result(watcher, changed=True)
        try:
            self.codedeploy.continue_deployment(
                deploymentId=watcher.deployment_id,
                deploymentWaitType="TERMINATION_WAIT" if termination else "READY_WAIT",
                aws_retry=True,
            )
        except is_boto3_error_code("DeploymentAlreadyCompletedException"):
            watcher.poll()
            return self._result(watcher)
        # right after ContinueDeployment the deployment may still read Ready: wait for its end
        return self._finish(watcher, changed=True, done=is_terminal)

    def run(self):
        return getattr(self, self.params["state"])()


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
