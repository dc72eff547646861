
# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Releases of ECS task definitions with CodeDeploy blue/green: the work of the release modules.

``Release`` is one module run of seed.fargate.codedeploy_deployment (state present, stopped or
continued on one deployment group). ``Releases`` is one run of seed.fargate.codedeploy_deployments:
it starts a release in each of several deployment groups (one ``Release`` each, with the same checks
and idempotence), then waits for all of them in one polling loop with one deadline, so that releases
of different groups run at the same time as CodeDeploy allows (one active deployment per group).
Both take the AWS clients and the clock injected, and raise or return plain results.
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
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy import (
    ACTIVE_STATUSES,
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
    poll_deployments,
    revision_is_live,
    revision_task_definition,
    same_task_definition,
    wait_for_deployments,
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
        result, pending = self.begin()
        if pending is None:
            return result
        watcher, changed, extra = pending
        return self._finish(watcher, changed=changed, **extra)

    def begin(self):
        """The part of state=present before any wait: checks, idempotence, CreateDeployment.

        Returns ``(result, None)`` when there is nothing to wait for (the revision is live, or check
        mode predicts a creation), else ``(None, (watcher, changed, extra))``: the deployment created
        or attached to, and the return values to finish with. Raises CodeDeployError when the group
        cannot take the release (missing, not ECS, another revision's deployment active).
        """
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
            return None, (watcher, False, {"attached": True, "live_task_definition": live})
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
            return result, None

        if self.check_mode:
            return {"changed": True, "attached": False, "live_task_definition": live, "appspec": appspec}, None

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
        return None, (watcher, True, {"attached": False, "live_task_definition": live, "appspec": appspec})

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


def _error_result(error):
    """Message and return values for an AWS error of one release (what fail_json_aws would give)."""
    message = f"CodeDeploy deployment failed: {error}"
    extra = {}
    response = getattr(error, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        extra["error"] = camel_dict_to_snake_dict(response["Error"])
    return message, extra


class Releases:
    """One run of codedeploy_deployments: a release in each of several groups, waited for together.

    Each entry of ``params["deployments"]`` is one ``Release`` (state=present) with the shared
    application and wait settings. Every release is started first (checks, idempotence,
    CreateDeployment), then one loop polls all the deployments still running
    (BatchGetDeployments + their ECS targets) until each has ended or reached Ready, within one
    deadline; rollback deployments CodeDeploy starts are followed the same way. A release that
    fails does not stop the others: ``run()`` returns one result per entry, in the order given,
    each with ``failed`` and, when failed, ``msg``.
    """

    def __init__(self, codedeploy, ecs, params, check_mode, sleep=time.sleep, clock=time.monotonic):
        self.codedeploy = codedeploy
        self.params = params
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock
        self.deadline = Deadline(params["wait_timeout"], clock)
        start = clock()
        self.releases = []
        for entry in params["deployments"]:
            release_params = {
                "state": "present",
                "application_name": params["application_name"],
                "wait": params["wait"],
                "wait_timeout": params["wait_timeout"],
                "poll_interval": params["poll_interval"],
            }
            release_params.update(entry)
            release = Release(codedeploy, ecs, release_params, check_mode, sleep=sleep, clock=clock)
            release.deadline = self.deadline  # one deadline for the whole run
            release.start = start             # one time origin for every timeline
            self.releases.append(release)

    def _wait(self, watchers, done):
        """Poll ``watchers`` together until each is ``done``; the ones still not done at the deadline."""
        if not watchers:
            return []
        return wait_for_deployments(self.codedeploy, watchers, done, self.deadline.remaining(),
                                    self.params["poll_interval"], sleep=self.sleep, clock=self.clock)

    def run(self):
        outcomes = [None] * len(self.releases)
        pending = {}
        for index, release in enumerate(self.releases):
            if release.params.get("deployment_id"):  # started by an earlier call: only waited for here
                pending[index] = (release._watcher(release.params["deployment_id"]), True, {"attached": True})
                continue
            try:
                result, waiting = release.begin()
            except CodeDeployError as e:
                outcomes[index] = dict(e.result, changed=False, failed=True, msg=e.msg)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                message, extra = _error_result(e)
                outcomes[index] = dict(extra, changed=False, failed=True, msg=message, progress=release.progress)
            else:
                if waiting is None:
                    outcomes[index] = dict(result, failed=False)
                else:
                    pending[index] = waiting

        watchers = [waiting[0] for waiting in pending.values()]
        if self.params["wait"] and not self.check_mode:
            timed_out = self._wait(watchers, is_terminal_or_ready)
        else:  # check mode and wait=false observe once and report
            if watchers:
                poll_deployments(self.codedeploy, watchers)
            timed_out = []

        rollbacks = {}
        for index, (watcher, changed, extra) in pending.items():
            release = self.releases[index]
            result = release._result(watcher, changed=changed, **extra)
            deployment = watcher.deployment or {}
            if watcher in timed_out:
                message = (f"Timed out after {self.deadline.timeout:g}s waiting for deployment "
                           f"{watcher.deployment_id} (last status {deployment.get('status')}); it keeps running in AWS")
                outcomes[index] = dict(result, failed=True, msg=message)
            elif deployment.get("status") in FAILED_STATUSES:
                outcomes[index] = dict(result, failed=True, msg=failure_message(deployment))
                rollback_id = (deployment.get("rollbackInfo") or {}).get("rollbackDeploymentId")
                if rollback_id and self.params["wait"]:
                    rollbacks[index] = release._watcher(rollback_id)
            else:
                outcomes[index] = dict(result, failed=False)

        # CodeDeploy's rollback deployments, followed within the same deadline (as Release does)
        self._wait(list(rollbacks.values()), is_terminal)
        for index, rollback in rollbacks.items():
            outcomes[index]["rollback_deployment"] = deployment_result(rollback.deployment, rollback.target)

        for release, outcome in zip(self.releases, outcomes):
            outcome["deployment_group_name"] = release.params["deployment_group_name"]
        return outcomes
