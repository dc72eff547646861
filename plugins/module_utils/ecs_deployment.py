
# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Releases of ECS-controlled services (ECS-native blue/green): the work of the ecs_service_deployment modules.

An ECS-controlled service (deployment controller ``ECS``, strategy ``BLUE_GREEN``, ``LINEAR``, ``CANARY`` or
``ROLLING``) is released with ``UpdateService(taskDefinition=...)``; ECS then runs a *service deployment*
(ListServiceDeployments / DescribeServiceDeployments: status, lifecycle stage, traffic weights of the source
and target service revisions, monitors, rollback). ``Release`` is one run of
seed.fargate.ecs_service_deployment (state present, stopped, continued or rolled_back on one service); ``Releases`` is
one run of seed.fargate.ecs_service_deployments: a release of each of several services, started in order and
waited for in one polling loop with one deadline. The results have the keys of the CodeDeploy release modules
(``deployment_id``, ``status``, ``attached``, ``live_task_definition``, ``deployment``, ``progress``,
``error_information``, ``rollback_info``) so that playbooks treat both controllers alike.

AWS documents service deployments in the ECS developer guide ("View service history using Amazon ECS
service deployments") and the lifecycle in "Amazon ECS blue/green service deployments lifecycle".
"""

import datetime
import time

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy import wait_until
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy_release import Deadline

ACTIVE_STATUSES = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
RELEASING_STATUSES = ("PENDING", "IN_PROGRESS")
FAILED_STATUSES = ("STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
TERMINAL_STATUSES = ("SUCCESSFUL",) + FAILED_STATUSES
DESCRIBE_BATCH = 20  # DescribeServiceDeployments / DescribeServiceRevisions take at most 20 ARNs


class ServiceDeploymentError(Exception):
    """A release that cannot start or did not succeed: the message and the return values to fail with."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - modules may run on Python < 3.11


def _chunks(items, size=DESCRIBE_BATCH):
    return [items[i:i + size] for i in range(0, len(items), size)]


def is_terminal(deployment):
    return (deployment or {}).get("status") in TERMINAL_STATUSES


def target_group_name(arn):
    """``api-blue`` from ``arn:aws:elasticloadbalancing:...:targetgroup/api-blue/0123``."""
    if not arn:
        return None
    return arn.split(":targetgroup/")[-1].split("/")[0]


# -- reads ----------------------------------------------------------------------------------------

def describe_service(ecs, cluster, service):
    """The ACTIVE service, or None."""
    try:
        services = ecs.describe_services(cluster=cluster, services=[service], aws_retry=True).get("services") or []
    except is_boto3_error_code("ClusterNotFoundException"):
        return None
    for found in services:
        if found.get("status") == "ACTIVE":
            return found
    return None


def controller(service):
    return (service.get("deploymentController") or {}).get("type") or "ECS"


def list_service_deployments(ecs, cluster, service, statuses=None):
    """The service's deployments (ServiceDeploymentBrief), newest first."""
    request = {"cluster": cluster, "service": service, "maxResults": 100}
    if statuses:
        request["status"] = list(statuses)
    found = []
    while True:
        answer = ecs.list_service_deployments(aws_retry=True, **request)
        found.extend(answer.get("serviceDeployments") or [])
        if not answer.get("nextToken"):
            break
        request["nextToken"] = answer["nextToken"]
    return sorted(found, key=lambda d: d.get("createdAt") or 0, reverse=True)


def describe_service_deployments(ecs, arns):
    """{arn: ServiceDeployment} of the ARNs that exist."""
    found = {}
    for chunk in _chunks(list(arns)):
        answer = ecs.describe_service_deployments(serviceDeploymentArns=chunk, aws_retry=True)
        for deployment in answer.get("serviceDeployments") or []:
            found[deployment["serviceDeploymentArn"]] = deployment
    return found


class Revisions:
    """DescribeServiceRevisions with a cache (a service revision never changes but its resolved load balancer)."""

    def __init__(self, ecs):
        self.ecs = ecs
        self.cache = {}

    def get(self, arns, refresh=False):
        wanted = [arn for arn in dict.fromkeys(arns) if arn and (refresh or arn not in self.cache)]
        for chunk in _chunks(wanted):
            answer = self.ecs.describe_service_revisions(serviceRevisionArns=chunk, aws_retry=True)
            for revision in answer.get("serviceRevisions") or []:
                self.cache[revision["serviceRevisionArn"]] = revision
        return {arn: self.cache[arn] for arn in arns if arn in self.cache}

    def one(self, arn, refresh=False):
        return self.get([arn], refresh=refresh).get(arn) if arn else None

    def task_definition(self, arn):
        return (self.one(arn) or {}).get("taskDefinition")

    def live_target_group(self, arn):
        """The target group production traffic goes to when the revision is live (its resolved load balancer)."""
        resolved = ((self.one(arn, refresh=True) or {}).get("resolvedConfiguration") or {}).get("loadBalancers") or []
        return resolved[0].get("targetGroupArn") if resolved else None


def service_target_groups(service):
    """(primary, alternate) target group ARNs of a blue/green service's load balancer, else (None, None)."""
    for lb in service.get("loadBalancers") or []:
        advanced = lb.get("advancedConfiguration") or {}
        if advanced.get("alternateTargetGroupArn"):
            return lb.get("targetGroupArn"), advanced["alternateTargetGroupArn"]
    return None, None


def live_revision(ecs, cluster, service_name, deployments=None):
    """The service revision ARN that is live: the newest successful deployment's target, or the revision the
    newest rolled-back deployment returned to. None when the history says nothing (no deployment ended)."""
    if deployments is None:
        deployments = list_service_deployments(ecs, cluster, service_name)
    for brief in deployments:
        status = brief.get("status")
        if status == "SUCCESSFUL":
            return brief.get("targetServiceRevisionArn")
        if status == "ROLLBACK_SUCCESSFUL":
            full = describe_service_deployments(ecs, [brief["serviceDeploymentArn"]]).get(brief["serviceDeploymentArn"])
            back = ((full or {}).get("rollback") or {}).get("serviceRevisionArn")
            if back:
                return back
    return None


def previous_task_definition(ecs, cluster, service_name, live_task_definition, revisions):
    """The task definition to roll back to after a release: the newest successful release's task definition
    that is not the live one (the previous service revision), else the revision before the live one in its
    family when it is ACTIVE. None when there is neither."""
    successful = list_service_deployments(ecs, cluster, service_name, ["SUCCESSFUL"])
    for brief in successful:
        task_definition = revisions.task_definition(brief.get("targetServiceRevisionArn"))
        if task_definition and task_definition != live_task_definition:
            return task_definition
    family, _sep, number = (live_task_definition or "").rpartition(":")
    if number.isdigit() and int(number) > 1:
        candidate = f"{family}:{int(number) - 1}"
        try:
            found = ecs.describe_task_definition(taskDefinition=candidate, aws_retry=True)["taskDefinition"]
        except is_boto3_error_code("ClientException"):
            return None
        if found.get("status") == "ACTIVE":
            return found["taskDefinitionArn"]
    return None


# -- the progress timeline ----------------------------------------------------------------------

class ServiceDeploymentProgress:
    """Records every observed change of a service deployment, in order (the shape of the CodeDeploy modules').

    Entry types: ``status`` (``status``), ``lifecycle_stage`` (``stage``), ``traffic`` (``weights`` and
    ``target_groups`` keyed ``blue`` = the source revision, ``green`` = the target revision; the production
    traffic weights ECS requests), ``hook`` (``hook_id``, ``target_type``, ``target_arn``, ``status``) and
    ``monitor`` (``name`` ``alarms`` or ``circuit_breaker``, ``status``, ``triggered_alarm_names``).
    """

    def __init__(self, deployment_id, entries, clock=time.monotonic, now=_utcnow, start=None, target_groups=None):
        self.deployment_id = deployment_id
        self.entries = entries
        self._clock = clock
        self._now = now
        self._start = clock() if start is None else start
        self.target_groups = target_groups or {}
        self._status = None
        self._stage = None
        self._weights = None
        self._hooks = {}
        self._monitors = {}

    def _entry(self, kind, **fields):
        entry = {"timestamp": self._now().isoformat(), "elapsed": round(self._clock() - self._start, 3), "type": kind,
                 "deployment_id": self.deployment_id}
        entry.update(fields)
        self.entries.append(entry)

    def observe(self, deployment):
        status = deployment.get("status")
        if status and status != self._status:
            self._entry("status", status=status)
            self._status = status
        stage = deployment.get("lifecycleStage")
        if stage and stage != self._stage:
            self._entry("lifecycle_stage", stage=stage)
            self._stage = stage
        for hook in deployment.get("lifecycleHookDetails") or []:
            if self._hooks.get(hook.get("hookId")) != hook.get("status"):
                self._entry("hook", hook_id=hook.get("hookId"), target_type=hook.get("targetType"),
                            target_arn=hook.get("targetArn"), status=hook.get("status"))
                self._hooks[hook.get("hookId")] = hook.get("status")
        for name, key in (("alarms", "alarms"), ("circuit_breaker", "deploymentCircuitBreaker")):
            monitor = deployment.get(key) or {}
            if monitor.get("status") and monitor["status"] != self._monitors.get(name):
                fields = {"name": name, "status": monitor["status"]}
                if monitor.get("triggeredAlarmNames"):
                    fields["triggered_alarm_names"] = monitor["triggeredAlarmNames"]
                if name == "circuit_breaker" and monitor["status"] == "TRIGGERED":
                    fields["failure_count"] = monitor.get("failureCount")
                self._entry("monitor", **fields)
                self._monitors[name] = monitor["status"]
        weights = traffic_weights(deployment)
        if weights and weights != self._weights:
            self._entry("traffic", weights=weights, target_groups=dict(self.target_groups))
            self._weights = weights


def traffic_weights(deployment):
    """``{'blue': 90.0, 'green': 10.0}``: the production traffic weights ECS requests for the source and
    target revisions, or {} while the deployment does not route traffic."""
    target = deployment.get("targetServiceRevision") or {}
    if target.get("requestedProductionTrafficWeight") is None:
        return {}
    green = float(target["requestedProductionTrafficWeight"])
    sources = [s for s in deployment.get("sourceServiceRevisions") or []
               if s.get("requestedProductionTrafficWeight") is not None]
    blue = sum(float(s["requestedProductionTrafficWeight"]) for s in sources) if sources else 100.0 - green
    return {"blue": blue, "green": green}


# -- watching ---------------------------------------------------------------------------------------

class Watcher:
    """One service deployment being watched: its last observation and its timeline."""

    def __init__(self, deployment_id, progress):
        self.deployment_id = deployment_id
        self.progress = progress
        self.deployment = None

    def observe(self, deployment):
        if deployment is not None:
            self.deployment = deployment
            self.progress.observe(deployment)


def poll(ecs, watchers):
    """Observe each watcher's deployment (one DescribeServiceDeployments call per 20)."""
    found = describe_service_deployments(ecs, [w.deployment_id for w in watchers])
    for watcher in watchers:
        watcher.observe(found.get(watcher.deployment_id))


def wait_for(ecs, watchers, done, timeout, interval, sleep=time.sleep, clock=time.monotonic):
    """Poll ``watchers`` together until ``done(deployment)`` for each, or the deadline; the ones not done."""
    remaining = list(watchers)

    def observe():
        poll(ecs, remaining)
        remaining[:] = [w for w in remaining if not done(w.deployment or {})]
        return remaining

    if remaining:
        wait_until(observe, lambda left: not left, timeout, interval, sleep=sleep, clock=clock)
    return list(remaining)


def deployment_result(deployment, task_definition=None):
    """Return shape of one service deployment: the ServiceDeployment snake-cased, plus its task definition."""
    if not deployment:
        return {}
    result = camel_dict_to_snake_dict(deployment)
    if task_definition:
        result["task_definition_arn"] = task_definition
    return result


def error_information(deployment):
    """``{code, message}`` as the CodeDeploy modules return it: why a service deployment failed.

    The code names the cause the way CodeDeploy's ErrorCode does where one applies (ALARM_ACTIVE,
    HOOK_EXECUTION_FAILURE, MANUAL_STOP), CIRCUIT_BREAKER for the deployment circuit breaker, else the status.
    """
    status = deployment.get("status")
    if status not in FAILED_STATUSES:
        return None
    reason = deployment.get("statusReason") or ((deployment.get("rollback") or {}).get("reason")) or ""
    if (deployment.get("alarms") or {}).get("status") == "TRIGGERED":
        code = "ALARM_ACTIVE"
    elif (deployment.get("deploymentCircuitBreaker") or {}).get("status") == "TRIGGERED":
        code = "CIRCUIT_BREAKER"
    elif any(h.get("status") in ("FAILED", "TIMED_OUT") for h in deployment.get("lifecycleHookDetails") or []) \
            or "lifecycle hook" in reason or "ContinueServiceDeployment" in reason:
        code = "HOOK_EXECUTION_FAILURE"
    elif "StopServiceDeployment" in reason:
        code = "MANUAL_STOP"
    else:
        code = status
    return {"code": code, "message": reason}


def rollback_info(deployment):
    rollback = deployment.get("rollback")
    if not rollback:
        return None
    info = camel_dict_to_snake_dict(rollback)
    info["rollback_message"] = rollback.get("reason")
    return info


def failure_message(deployment):
    text = f"Service deployment {deployment.get('serviceDeploymentArn')} ended with status {deployment.get('status')}"
    error = error_information(deployment) or {}
    if error.get("message"):
        text += f": {error['code']} {error['message']}"
    rollback = deployment.get("rollback") or {}
    if rollback.get("serviceRevisionArn"):
        text += f" (rolled back to service revision {rollback['serviceRevisionArn']})"
    return text


# -- one release ------------------------------------------------------------------------------------

class Release:
    """The work of one module run on one service, with the ECS client and the wait settings injected.

    Methods return the module result (a dict with ``changed``) or raise ServiceDeploymentError.
    """

    def __init__(self, ecs, params, check_mode, sleep=time.sleep, clock=time.monotonic):
        self.ecs = ecs
        self.params = params
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock
        self.deadline = Deadline(params["wait_timeout"], clock)
        self.start = clock()
        self.progress = []
        self.revisions = Revisions(ecs)
        self.service = None
        self.live_task_definition = None

    @property
    def name(self):
        return self.params["service"]

    # -- helpers ---------------------------------------------------------------------------------
    def _service(self):
        cluster = self.params["cluster"]
        service = describe_service(self.ecs, cluster, self.name)
        if service is None:
            raise ServiceDeploymentError(f"Service {self.name} does not exist in cluster {cluster}")
        if controller(service) != "ECS":
            raise ServiceDeploymentError(
                f"Service {self.name} uses the {controller(service)} deployment controller, not ECS: release it with "
                "seed.fargate.codedeploy_deployment (or move it to the ECS controller first)")
        self.service = service
        return service

    def _live(self, deployments):
        """The live task definition and target group (from the history; the service's own before any)."""
        live = live_revision(self.ecs, self.params["cluster"], self.name, deployments)
        if live is None:
            return self.service.get("taskDefinition"), None
        return self.revisions.task_definition(live) or self.service.get("taskDefinition"), \
            self.revisions.live_target_group(live)

    def _target_groups(self, deployment):
        """{'blue': name, 'green': name}: the live group of the source revision and the other one."""
        primary, alternate = service_target_groups(self.service or {})
        if not primary:
            return {}
        sources = deployment.get("sourceServiceRevisions") or []
        blue = self.revisions.live_target_group(sources[0]["arn"]) if sources else None
        if blue not in (primary, alternate):
            blue = primary if sources else None
        green = (alternate if blue == primary else primary) if blue else primary
        groups = {"green": target_group_name(green)}
        if blue:
            groups["blue"] = target_group_name(blue)
        return groups

    def watcher(self, deployment_id):
        deployment = describe_service_deployments(self.ecs, [deployment_id]).get(deployment_id)
        if deployment is None:
            raise ServiceDeploymentError(f"Service deployment {deployment_id} does not exist")
        progress = ServiceDeploymentProgress(deployment_id, self.progress, clock=self.clock, start=self.start,
                                             target_groups=self._target_groups(deployment))
        watcher = Watcher(deployment_id, progress)
        watcher.observe(deployment)
        return watcher

    def _task_definition_of(self, deployment):
        return self.revisions.task_definition((deployment.get("targetServiceRevision") or {}).get("arn"))

    def result(self, watcher, changed=False, **extra):
        deployment = watcher.deployment or {}
        result = {
            "changed": changed,
            "deployment_id": watcher.deployment_id,
            "service_deployment_arn": watcher.deployment_id,
            "status": deployment.get("status"),
            "lifecycle_stage": deployment.get("lifecycleStage"),
            "deployment": deployment_result(deployment, self._task_definition_of(deployment)),
            "progress": self.progress,
        }
        error = error_information(deployment)
        if error:
            result["error_information"] = error
        rollback = rollback_info(deployment)
        if rollback:
            result["rollback_info"] = rollback
        if is_terminal(deployment):
            result["live_target_group"] = target_group_name(self._after_target_group(deployment))
        result.update(extra)
        return result

    def _after_target_group(self, deployment):
        if deployment.get("status") == "SUCCESSFUL":
            return self.revisions.live_target_group((deployment.get("targetServiceRevision") or {}).get("arn"))
        back = (deployment.get("rollback") or {}).get("serviceRevisionArn")
        return self.revisions.live_target_group(back) if back else None

    def _wait(self, watcher, done=is_terminal, **extra):
        left = wait_for(self.ecs, [watcher], done, self.deadline.remaining(), self.params["poll_interval"],
                        sleep=self.sleep, clock=self.clock)
        if left:
            raise ServiceDeploymentError(self.timeout_message(watcher), **self.result(watcher, **extra))

    def timeout_message(self, watcher):
        deployment = watcher.deployment or {}
        return (f"Timed out after {self.deadline.timeout:g}s waiting for service deployment {watcher.deployment_id} "
                f"(last status {deployment.get('status')}, stage {deployment.get('lifecycleStage')}); "
                "it keeps running in AWS")

    def finish(self, watcher, changed, done=is_terminal, **extra):
        """Wait (if asked) for the end (or ``done``) and turn it into a result; a failed deployment raises."""
        if self.params["wait"] and not self.check_mode:
            self._wait(watcher, done=done, changed=changed, **extra)
        else:
            poll(self.ecs, [watcher])
        result = self.result(watcher, changed=changed, **extra)
        if (watcher.deployment or {}).get("status") in FAILED_STATUSES:
            raise ServiceDeploymentError(failure_message(watcher.deployment), **result)
        return result

    # -- state=present --------------------------------------------------------------------------
    def present(self):
        result, pending = self.begin()
        if pending is None:
            return result
        watcher, changed, extra = pending
        return self.finish(watcher, changed, **extra)

    def begin(self, task_definition=None):
        """Checks, idempotence and UpdateService, before any wait.

        Returns ``(result, None)`` when there is nothing to wait for (the revision is live, or check mode
        predicts a release), else ``(None, (watcher, changed, extra))``.
        """
        params = self.params
        task_definition = task_definition or params["task_definition_arn"]
        self._service()
        deployments = list_service_deployments(self.ecs, params["cluster"], self.name)
        live, live_tg = self._live(deployments)
        self.live_task_definition = live
        base = {"attached": False, "live_task_definition": live}
        try:  # the ARN, also when given as family:revision, and a clear error before any write
            task_definition = self.ecs.describe_task_definition(
                taskDefinition=task_definition, aws_retry=True)["taskDefinition"]["taskDefinitionArn"]
        except is_boto3_error_code("ClientException") as e:
            raise ServiceDeploymentError(
                f"Task definition {task_definition} cannot be released to {self.name}: "
                f"{e.response['Error'].get('Message', e)}", **base)
        active = [d for d in deployments if d.get("status") in ACTIVE_STATUSES]
        for brief in active:
            if (brief.get("status") in RELEASING_STATUSES
                    and self.revisions.task_definition(brief.get("targetServiceRevisionArn")) == task_definition):
                extra = {"attached": True, "live_task_definition": live}
                return None, (self.watcher(brief["serviceDeploymentArn"]), False, extra)
        if active:
            other = active[0]
            raise ServiceDeploymentError(
                f"Service deployment {other['serviceDeploymentArn']} of "
                f"{self.revisions.task_definition(other.get('targetServiceRevisionArn'))} is {other.get('status')} "
                f"on service {self.name}; wait for it, or stop it with state=stopped (a new UpdateService would "
                "replace it)", **base)
        if not params.get("force") and live == task_definition:
            result = dict(base, changed=False, live_target_group=target_group_name(live_tg))
            for brief in deployments:
                if brief.get("status") == "SUCCESSFUL" and \
                        self.revisions.task_definition(brief.get("targetServiceRevisionArn")) == task_definition:
                    full = describe_service_deployments(self.ecs, [brief["serviceDeploymentArn"]])
                    deployment = full.get(brief["serviceDeploymentArn"]) or brief
                    result.update(deployment_id=brief["serviceDeploymentArn"],
                                  service_deployment_arn=brief["serviceDeploymentArn"], status=brief.get("status"),
                                  deployment=deployment_result(deployment, task_definition))
                    break
            return result, None
        if self.check_mode:
            return dict(base, changed=True, task_definition_arn=task_definition), None

        known = {d["serviceDeploymentArn"] for d in deployments}
        request = {"cluster": params["cluster"], "service": self.name, "taskDefinition": task_definition}
        if params.get("force") and live == task_definition:
            request["forceNewDeployment"] = True
        try:
            self.ecs.update_service(aws_retry=True, **request)
        except is_boto3_error_code(["ClientException", "InvalidParameterException"]) as e:
            raise ServiceDeploymentError(
                f"UpdateService refused to release {task_definition} to {self.name}: "
                f"{e.response['Error'].get('Message', e)}", **base)
        created = [d for d in list_service_deployments(self.ecs, params["cluster"], self.name)
                   if d["serviceDeploymentArn"] not in known]
        if not created:
            raise ServiceDeploymentError(
                f"UpdateService of {self.name} to {task_definition} started no service deployment", changed=True, **base)
        return None, (self.watcher(created[0]["serviceDeploymentArn"]), True, base)

    # -- state=stopped ----------------------------------------------------------------------------
    def _active(self):
        if self.params.get("deployment_id"):
            found = describe_service_deployments(self.ecs, [self.params["deployment_id"]])
            if not found:
                raise ServiceDeploymentError(f"Service deployment {self.params['deployment_id']} does not exist")
            return self.params["deployment_id"]
        self._service()
        active = list_service_deployments(self.ecs, self.params["cluster"], self.name, RELEASING_STATUSES)
        return active[0]["serviceDeploymentArn"] if active else None

    def _watch_active(self, verb):
        """(watcher, None) for the service deployment to act on (deployment_id, or the service's running one), or
        (None, the unchanged result) when there is none to ``verb``."""
        deployment_id = self._active()
        if deployment_id is None:
            return None, {"changed": False, "msg": f"No service deployment of {self.name} in progress to {verb}"}
        if self.service is None:
            self._service()
        return self.watcher(deployment_id), None

    def stopped(self):
        watcher, idle = self._watch_active("stop")
        if watcher is None:
            return idle
        deployment_id = watcher.deployment_id
        if watcher.deployment.get("status") not in RELEASING_STATUSES:
            if self.params["wait"] and not is_terminal(watcher.deployment) and not self.check_mode:
                self._wait(watcher)
            return self.result(watcher, msg=f"Service deployment is {watcher.deployment.get('status')}, not stoppable")
        if self.check_mode:
            return self.result(watcher, changed=True)
        try:
            self.ecs.stop_service_deployment(serviceDeploymentArn=deployment_id, stopType="ROLLBACK", aws_retry=True)
        except is_boto3_error_code("ConflictException"):  # it ended between the look and the stop
            poll(self.ecs, [watcher])
            return self.result(watcher)
        if self.params["wait"]:
            self._wait(watcher)
        else:
            poll(self.ecs, [watcher])
        return self.result(watcher, changed=True, stop_type="ROLLBACK")

    # -- state=continued ----------------------------------------------------------------------------
    def continued(self):
        """Continue the lifecycle hooks of target type PAUSE that wait for an answer (ContinueServiceDeployment),
        then wait until the deployment ends or pauses at another hook."""
        watcher, idle = self._watch_active("continue")
        if watcher is None:
            return idle
        paused = [h["hookId"] for h in watcher.deployment.get("lifecycleHookDetails") or []
                  if h.get("status") == "AWAITING_ACTION"]
        if not paused:
            return self.result(watcher, continued_hooks=[],
                               msg=f"Service deployment is {watcher.deployment.get('status')} and no lifecycle hook of "
                                   "it awaits action")
        if self.check_mode:
            return self.result(watcher, changed=True, continued_hooks=paused)
        for hook_id in paused:
            try:
                self.ecs.continue_service_deployment(serviceDeploymentArn=watcher.deployment_id, hookId=hook_id,
                                                     action="CONTINUE", aws_retry=True)
            except is_boto3_error_code("InvalidParameterException"):  # it was answered or timed out meanwhile
                continue

        def done(deployment):
            return is_terminal(deployment) or any(
                h.get("status") == "AWAITING_ACTION" and h.get("hookId") not in paused
                for h in deployment.get("lifecycleHookDetails") or [])

        return self.finish(watcher, True, done=done, continued_hooks=paused)

    # -- state=rolled_back --------------------------------------------------------------------------
    def rolled_back(self):
        """During a release: stop it with rollback. Otherwise: release the previous revision again."""
        service = self._service()
        active = list_service_deployments(self.ecs, self.params["cluster"], self.name, RELEASING_STATUSES)
        if active:
            self.params = dict(self.params, deployment_id=active[0]["serviceDeploymentArn"])
            result = self.stopped()
            result["rollback_action"] = "stopped"
            return result
        live, _live_tg = self._live(None)
        previous = previous_task_definition(self.ecs, self.params["cluster"], self.name, live, self.revisions)
        if previous is None:
            raise ServiceDeploymentError(
                f"{self.name} runs {live or service.get('taskDefinition')} and no release is in progress: there is "
                "no earlier successful release nor an active earlier revision to roll back to",
                live_task_definition=live)
        result, pending = self.begin(previous)
        if pending is not None:
            watcher, changed, extra = pending
            result = self.finish(watcher, changed, **extra)
        result.update(rollback_action="released_previous", task_definition_arn=previous)
        return result

    def run(self):
        return getattr(self, self.params["state"])()


# -- several releases at once -------------------------------------------------------------------------

def _error_result(error):
    message = f"ECS service deployment failed: {error}"
    extra = {}
    response = getattr(error, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        extra["error"] = camel_dict_to_snake_dict(response["Error"])
    return message, extra


class Releases:
    """One run of ecs_service_deployments: a release of each of several services, waited for together.

    Every release is started first (checks, idempotence, UpdateService, in the order given), then one loop
    polls the service deployments still running (DescribeServiceDeployments, 20 per call) until each has
    ended, within one deadline. A release that fails does not stop the others: ``run()`` returns one
    result per entry, in order, each with ``failed`` and, when failed, ``msg``.
    """

    def __init__(self, ecs, params, check_mode, sleep=time.sleep, clock=time.monotonic):
        self.ecs = ecs
        self.params = params
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock
        self.deadline = Deadline(params["wait_timeout"], clock)
        start = clock()
        self.releases = []
        for entry in params["deployments"]:
            release_params = {"state": "present", "cluster": params["cluster"], "wait": params["wait"],
                              "wait_timeout": params["wait_timeout"], "poll_interval": params["poll_interval"]}
            release_params.update(entry)
            release = Release(ecs, release_params, check_mode, sleep=sleep, clock=clock)
            release.deadline = self.deadline  # one deadline for the whole run
            release.start = start             # one time origin for every timeline
            self.releases.append(release)

    def run(self):
        outcomes = [None] * len(self.releases)
        pending = {}
        for index, release in enumerate(self.releases):
            try:
                result, waiting = release.begin()
            except ServiceDeploymentError as e:
                outcomes[index] = dict(e.result, changed=e.result.get("changed", False), failed=True, msg=e.msg,
                                       progress=release.progress)
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
            timed_out = wait_for(self.ecs, watchers, is_terminal, self.deadline.remaining(),
                                 self.params["poll_interval"], sleep=self.sleep, clock=self.clock)
        else:
            if watchers:
                poll(self.ecs, watchers)
            timed_out = []

        for index, (watcher, changed, extra) in pending.items():
            release = self.releases[index]
            result = release.result(watcher, changed=changed, **extra)
            deployment = watcher.deployment or {}
            if watcher in timed_out:
                outcomes[index] = dict(result, failed=True, msg=release.timeout_message(watcher))
            elif deployment.get("status") in FAILED_STATUSES:
                outcomes[index] = dict(result, failed=True, msg=failure_message(deployment))
            else:
                outcomes[index] = dict(result, failed=False)

        for release, outcome in zip(self.releases, outcomes):
            outcome["service"] = release.name
        return outcomes
