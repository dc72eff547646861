
# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared logic for the seed.fargate CodeDeploy modules (ECS blue/green).

Small functions that the modules compose: readers that return ``None`` for a
missing resource, builders that turn module parameters into the CodeDeploy API
shape, normalisers that reduce an AWS description to the fields a module
manages (so that desired and current compare with ``==``), the ECS AppSpec
builder, the deployment progress recorder (the "traffic-shift timeline") and
the one polling helper with a deadline.

Every call takes a client created with ``retry_decorator=AWSRetry.jittered_backoff()``
and passes ``aws_retry=True``. Errors other than "does not exist" propagate as
botocore exceptions; the modules turn them into ``fail_json_aws``.
"""

import datetime
import hashlib
import json
import re
import time

try:
    import yaml

    HAS_YAML = True
except ImportError:
    HAS_YAML = False

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
)
from ansible_collections.amazon.aws.plugins.module_utils.iam import get_aws_account_info
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)

# Deployment statuses (DeploymentInfo.status).
ACTIVE_STATUSES = ["Created", "Queued", "InProgress", "Baking", "Ready"]
TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")
FAILED_STATUSES = ("Failed", "Stopped")

# The lifecycle hooks an ECS AppSpec accepts, in the order CodeDeploy runs them.
ECS_HOOKS = (
    ("before_install", "BeforeInstall"),
    ("after_install", "AfterInstall"),
    ("after_allow_test_traffic", "AfterAllowTestTraffic"),
    ("before_allow_traffic", "BeforeAllowTraffic"),
    ("after_allow_traffic", "AfterAllowTraffic"),
)

PREDEFINED_CONFIG_PREFIX = "CodeDeployDefault."

AUTO_ROLLBACK_ON_FAILURE = "DEPLOYMENT_FAILURE"
AUTO_ROLLBACK_ON_ALARM = "DEPLOYMENT_STOP_ON_ALARM"


class CodeDeployError(Exception):
    """A condition the module must report as a failure (not an AWS API error).

    ``result`` carries the return values to fail with (progress, error information, ...).
    """

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


# --------------------------------------------------------------------------------------
# ARNs and tags
# --------------------------------------------------------------------------------------
def account_and_partition(module, client):
    """The account and partition of the ARNs the tags are read and written on: O(account_id) with the client's
    partition when given (no call), else the caller's (one C(sts:GetCallerIdentity) call)."""
    account_id = module.params.get("account_id")
    if account_id:
        return account_id, client.meta.partition
    return get_aws_account_info(module)


def check_account_id(module):
    """Refuse a malformed O(account_id) before any call."""
    account_id = module.params.get("account_id")
    if account_id is not None and not re.match(r"^[0-9]{12}$", account_id):
        module.fail_json(msg=f"account_id: {account_id!r} is not a 12-digit AWS account ID")


def application_arn(partition, region, account_id, application_name):
    return f"arn:{partition}:codedeploy:{region}:{account_id}:application:{application_name}"


def deployment_group_arn(partition, region, account_id, application_name, group_name):
    return f"arn:{partition}:codedeploy:{region}:{account_id}:deploymentgroup:{application_name}/{group_name}"


def get_tags(client, arn):
    response = client.list_tags_for_resource(ResourceArn=arn, aws_retry=True)
    return boto3_tag_list_to_ansible_dict(response.get("Tags", []))


def with_tags(client, resource, arn_key, arn):
    """``resource`` (a Get* answer, or None when absent) with its tags and ARN added, as modules return it."""
    if resource is None:
        return None
    resource["tags"] = get_tags(client, arn)
    resource[arn_key] = arn
    return resource


def snake_keep_tags(resource):
    """Snake-case a resource for a module result; tag keys stay as the user wrote them."""
    if not resource:
        return {}
    return camel_dict_to_snake_dict(resource, ignore_list=["tags"])


def ensure_tags(client, arn, current_tags, desired_tags, purge_tags, check_mode):
    """Bring the resource's tags to ``desired_tags``; ``None`` leaves them alone.

    Returns ``(changed, tags_after)``. In check mode nothing is written.
    """
    current_tags = current_tags or {}
    if desired_tags is None:
        return False, current_tags
    to_add, to_remove = compare_aws_tags(current_tags, desired_tags, purge_tags)
    if not to_add and not to_remove:
        return False, current_tags
    after = {k: v for k, v in current_tags.items() if k not in to_remove}
    after.update(to_add)
    if check_mode:
        return True, after
    if to_remove:
        client.untag_resource(ResourceArn=arn, TagKeys=to_remove, aws_retry=True)
    if to_add:
        client.tag_resource(ResourceArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_add), aws_retry=True)
    return True, after


# --------------------------------------------------------------------------------------
# Readers: None when the resource does not exist
# --------------------------------------------------------------------------------------
def get_application(client, name):
    try:
        return client.get_application(applicationName=name, aws_retry=True)["application"]
    except is_boto3_error_code("ApplicationDoesNotExistException"):
        return None


def get_deployment_group(client, application_name, group_name):
    try:
        response = client.get_deployment_group(
            applicationName=application_name, deploymentGroupName=group_name, aws_retry=True
        )
    except is_boto3_error_code(["DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException"]):
        return None
    return response["deploymentGroupInfo"]


def get_deployment_config(client, name):
    try:
        return client.get_deployment_config(deploymentConfigName=name, aws_retry=True)["deploymentConfigInfo"]
    except is_boto3_error_code("DeploymentConfigDoesNotExistException"):
        return None


def get_deployment(client, deployment_id):
    return client.get_deployment(deploymentId=deployment_id, aws_retry=True)["deploymentInfo"]


def batch_get_deployments(client, deployment_ids):
    """DeploymentInfo for each id, in the order given (BatchGetDeployments takes at most 25)."""
    found = {}
    ids = list(deployment_ids)
    for start in range(0, len(ids), 25):
        chunk = ids[start:start + 25]
        response = client.batch_get_deployments(deploymentIds=chunk, aws_retry=True)
        for info in response.get("deploymentsInfo", []):
            found[info["deploymentId"]] = info
    return [found[i] for i in ids if i in found]


def list_deployment_ids(client, application_name, group_name, statuses=None):
    """Every deployment id of a group (optionally only those in ``statuses``), following nextToken."""
    params = {"applicationName": application_name, "deploymentGroupName": group_name}
    if statuses:
        params["includeOnlyStatuses"] = list(statuses)
    ids = []
    while True:
        response = client.list_deployments(aws_retry=True, **params)
        ids.extend(response.get("deployments", []))
        token = response.get("nextToken")
        if not token:
            return ids
        params["nextToken"] = token


def list_deployments(client, application_name, group_name, statuses=None):
    """DeploymentInfo of a group's deployments, newest first."""
    ids = list_deployment_ids(client, application_name, group_name, statuses)
    deployments = batch_get_deployments(client, ids)
    return sorted(deployments, key=lambda d: _timestamp_key(d.get("createTime")), reverse=True)


def _timestamp_key(value):
    if value is None:
        return 0.0
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)  # noqa: UP017 - modules may run on Python < 3.11
        return value.timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def get_ecs_deployment_target(client, deployment_id, target_ids=None):
    """The ECS target of a deployment (task sets, traffic weights, lifecycle events), or None.

    ``target_ids`` may carry the ids found by an earlier call to save the List call.
    Before CodeDeploy has started the deployment there is no target yet.
    """
    try:
        if not target_ids:
            target_ids = []
            params = {"deploymentId": deployment_id}
            while True:
                response = client.list_deployment_targets(aws_retry=True, **params)
                target_ids.extend(response.get("targetIds", []))
                if not response.get("nextToken"):
                    break
                params["nextToken"] = response["nextToken"]
        if not target_ids:
            return None
        response = client.batch_get_deployment_targets(
            deploymentId=deployment_id, targetIds=target_ids[:25], aws_retry=True
        )
    except is_boto3_error_code(["DeploymentNotStartedException", "DeploymentTargetDoesNotExistException"]):
        return None
    for target in response.get("deploymentTargets", []):
        if target.get("deploymentTargetType") == "ECSTarget" and target.get("ecsTarget"):
            return target["ecsTarget"]
    return None


# --------------------------------------------------------------------------------------
# Deployment groups
# --------------------------------------------------------------------------------------
def build_deployment_group_spec(params):
    """The managed fields of an ECS blue/green deployment group, in API shape, from module params."""
    events = []
    if params.get("auto_rollback_on_failure"):
        events.append(AUTO_ROLLBACK_ON_FAILURE)
    if params.get("auto_rollback_on_alarm"):
        events.append(AUTO_ROLLBACK_ON_ALARM)
    alarms = sorted(set(params.get("alarms") or []))
    pair = {
        "targetGroups": [{"name": params["blue_target_group"]}, {"name": params["green_target_group"]}],
        "prodTrafficRoute": {"listenerArns": list(params["production_listener_arns"])},
        "testTrafficRoute": {"listenerArns": list(params.get("test_listener_arns") or [])},
    }
    ready = {"actionOnTimeout": params["action_on_timeout"]}
    ready["waitTimeInMinutes"] = params.get("ready_wait_time") or 0
    return {
        "deploymentConfigName": params["deployment_config_name"],
        "serviceRoleArn": params["service_role_arn"],
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": params["termination_wait_time"],
            },
            "deploymentReadyOption": ready,
        },
        "loadBalancerInfo": {"targetGroupPairInfoList": [pair]},
        "ecsServices": [{"serviceName": params["service_name"], "clusterName": params["cluster_name"]}],
        "alarmConfiguration": {
            "enabled": bool(alarms),
            "ignorePollAlarmFailure": bool(params.get("ignore_poll_alarm_failure")),
            "alarms": [{"name": name} for name in alarms],
        },
        "autoRollbackConfiguration": {"enabled": bool(events), "events": sorted(events)},
    }


def normalize_deployment_group(info):
    """Reduce GetDeploymentGroup's deploymentGroupInfo to the fields build_deployment_group_spec manages.

    Missing or empty structures take the value AWS gives them when unset, so
    that "not configured" compares equal to the spec's "disabled".
    """
    info = info or {}
    style = info.get("deploymentStyle") or {}
    blue_green = info.get("blueGreenDeploymentConfiguration") or {}
    terminate = blue_green.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    ready = blue_green.get("deploymentReadyOption") or {}
    pairs = (info.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
    normal_pairs = []
    for pair in pairs:
        normal_pairs.append(
            {
                "targetGroups": [{"name": tg.get("name")} for tg in pair.get("targetGroups") or []],
                "prodTrafficRoute": {"listenerArns": list((pair.get("prodTrafficRoute") or {}).get("listenerArns") or [])},
                "testTrafficRoute": {"listenerArns": list((pair.get("testTrafficRoute") or {}).get("listenerArns") or [])},
            }
        )
    alarm_config = info.get("alarmConfiguration") or {}
    alarms = sorted({a.get("name") for a in alarm_config.get("alarms") or [] if a.get("name")})
    rollback = info.get("autoRollbackConfiguration") or {}
    rollback_enabled = bool(rollback.get("enabled"))
    return {
        "deploymentConfigName": info.get("deploymentConfigName"),
        "serviceRoleArn": info.get("serviceRoleArn"),
        "deploymentStyle": {
            "deploymentType": style.get("deploymentType", "IN_PLACE"),
            "deploymentOption": style.get("deploymentOption", "WITHOUT_TRAFFIC_CONTROL"),
        },
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": terminate.get("action", "TERMINATE"),
                "terminationWaitTimeInMinutes": terminate.get("terminationWaitTimeInMinutes", 0),
            },
            "deploymentReadyOption": {
                "actionOnTimeout": ready.get("actionOnTimeout", "CONTINUE_DEPLOYMENT"),
                "waitTimeInMinutes": ready.get("waitTimeInMinutes", 0),
            },
        },
        "loadBalancerInfo": {"targetGroupPairInfoList": normal_pairs},
        "ecsServices": [
            {"serviceName": s.get("serviceName"), "clusterName": s.get("clusterName")}
            for s in info.get("ecsServices") or []
        ],
        "alarmConfiguration": {
            "enabled": bool(alarm_config.get("enabled")),
            "ignorePollAlarmFailure": bool(alarm_config.get("ignorePollAlarmFailure")),
            "alarms": [{"name": name} for name in alarms],
        },
        "autoRollbackConfiguration": {
            "enabled": rollback_enabled,
            "events": sorted(rollback.get("events") or []) if rollback_enabled else [],
        },
    }


def spec_differences(desired, current):
    """Top-level keys whose values differ, sorted (empty when nothing needs to change)."""
    return sorted(key for key in desired if desired[key] != current.get(key))


# --------------------------------------------------------------------------------------
# Deployment configs
# --------------------------------------------------------------------------------------
def build_deployment_config_spec(routing_type, percentage=None, interval=None):
    """The definition of a custom ECS deployment config in API shape."""
    routing = {"type": routing_type}
    if routing_type == "TimeBasedCanary":
        routing["timeBasedCanary"] = {"canaryPercentage": percentage, "canaryInterval": interval}
    elif routing_type == "TimeBasedLinear":
        routing["timeBasedLinear"] = {"linearPercentage": percentage, "linearInterval": interval}
    return {"computePlatform": "ECS", "trafficRoutingConfig": routing}


def normalize_deployment_config(info):
    """Reduce DeploymentConfigInfo to what build_deployment_config_spec describes."""
    info = info or {}
    routing = info.get("trafficRoutingConfig") or {}
    routing_type = routing.get("type", "AllAtOnce")
    normal = {"type": routing_type}
    if routing_type == "TimeBasedCanary":
        canary = routing.get("timeBasedCanary") or {}
        normal["timeBasedCanary"] = {
            "canaryPercentage": canary.get("canaryPercentage"),
            "canaryInterval": canary.get("canaryInterval"),
        }
    elif routing_type == "TimeBasedLinear":
        linear = routing.get("timeBasedLinear") or {}
        normal["timeBasedLinear"] = {
            "linearPercentage": linear.get("linearPercentage"),
            "linearInterval": linear.get("linearInterval"),
        }
    return {"computePlatform": info.get("computePlatform"), "trafficRoutingConfig": normal}


# --------------------------------------------------------------------------------------
# AppSpec and revisions
# --------------------------------------------------------------------------------------
def build_appspec(task_definition_arn, container_name, container_port, platform_version=None, hooks=None):
    """The AppSpec (version 0.0) for an ECS blue/green deployment of one task definition."""
    properties = {
        "TaskDefinition": task_definition_arn,
        "LoadBalancerInfo": {"ContainerName": container_name, "ContainerPort": int(container_port)},
    }
    if platform_version:
        properties["PlatformVersion"] = platform_version
    appspec = {
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": properties}}],
    }
    hook_list = []
    for option, event in ECS_HOOKS:
        function = (hooks or {}).get(option)
        if function:
            hook_list.append({event: function})
    if hook_list:
        appspec["Hooks"] = hook_list
    return appspec


def appspec_revision(appspec):
    """RevisionLocation for CreateDeployment: the AppSpec as JSON content with its SHA-256."""
    content = json.dumps(appspec, separators=(",", ":"))
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode("utf-8")).hexdigest()},
    }


def parse_appspec(content):
    """An AppSpec document (JSON or YAML) as a dict, or None when it cannot be read."""
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        pass
    if HAS_YAML:
        try:
            data = yaml.safe_load(content)
        except yaml.YAMLError:
            return None
        return data if isinstance(data, dict) else None
    return None


def revision_task_definition(revision):
    """The TaskDefinition an ECS deployment's revision (RevisionLocation) releases, or None."""
    revision = revision or {}
    if revision.get("revisionType") == "AppSpecContent":
        content = (revision.get("appSpecContent") or {}).get("content")
    elif revision.get("revisionType") == "String":
        content = (revision.get("string") or {}).get("content")
    else:
        return None
    appspec = parse_appspec(content)
    if not appspec:
        return None
    for resource in appspec.get("Resources") or []:
        if not isinstance(resource, dict):
            continue
        for body in resource.values():
            if isinstance(body, dict) and body.get("Type") == "AWS::ECS::Service":
                return (body.get("Properties") or {}).get("TaskDefinition")
    return None


def task_definition_key(value):
    """'family:revision' of a task definition ARN (or of 'family:revision' itself), for comparison."""
    if not value:
        return None
    return value.split("task-definition/", 1)[-1]


def same_task_definition(first, second):
    return first is not None and second is not None and task_definition_key(first) == task_definition_key(second)


# --------------------------------------------------------------------------------------
# Liveness of a revision (idempotence of codedeploy_deployment)
# --------------------------------------------------------------------------------------
def ecs_service_primary(ecs_client, cluster_name, service_name):
    """The ECS service and the task definition it serves production traffic with.

    For a CODE_DEPLOY-controlled service that is the task definition of the
    PRIMARY task set; the service-level taskDefinition is the fallback.
    Returns ``(service, task_definition)``; ``(None, None)`` when the service is missing.
    """
    response = ecs_client.describe_services(cluster=cluster_name, services=[service_name], aws_retry=True)
    services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        return None, None
    service = services[0]
    for task_set in service.get("taskSets") or []:
        if task_set.get("status") == "PRIMARY":
            return service, task_set.get("taskDefinition")
    return service, service.get("taskDefinition")


def revision_is_live(task_definition_arn, live_task_definition, last_attempted):
    """Whether ``task_definition_arn`` is what the service runs, and not from a failed deployment.

    ``last_attempted`` is the group's last attempted deployment (DeploymentInfo)
    or None. A revision is live and healthy when the PRIMARY task set runs it and
    the last deployment that tried to release it did not fail or get stopped
    (without auto rollback, a failed deployment can leave the new task set primary).
    """
    if not same_task_definition(task_definition_arn, live_task_definition):
        return False
    if not last_attempted:
        return True
    attempted_revision = revision_task_definition(last_attempted.get("revision"))
    if same_task_definition(attempted_revision, task_definition_arn):
        return last_attempted.get("status") == "Succeeded"
    return True


def find_deployment_for_revision(deployments, task_definition_arn):
    for deployment in deployments:
        if same_task_definition(revision_task_definition(deployment.get("revision")), task_definition_arn):
            return deployment
    return None


# --------------------------------------------------------------------------------------
# Progress: the traffic-shift timeline
# --------------------------------------------------------------------------------------
def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - modules may run on Python < 3.11


class DeploymentProgress:
    """Records every observed change of a deployment, in order.

    Each observation (a DeploymentInfo and, when available, its ECS target)
    is compared with the previous one; a change in deployment status, in a
    lifecycle event's status, or in the task sets' traffic weights appends one
    entry to ``entries``. Entries carry an ISO 8601 UTC ``timestamp`` and the
    ``elapsed`` seconds since the recorder started.
    """

    def __init__(self, deployment_id=None, entries=None, clock=time.monotonic, now=_utcnow, start=None):
        self.deployment_id = deployment_id
        self._clock = clock
        self._now = now
        self._start = clock() if start is None else start
        self.entries = [] if entries is None else entries
        self._status = None
        self._events = {}
        self._weights = None

    def _entry(self, kind, **fields):
        entry = {
            "timestamp": self._now().isoformat(),
            "elapsed": round(self._clock() - self._start, 3),
            "type": kind,
        }
        if self.deployment_id:
            entry["deployment_id"] = self.deployment_id
        entry.update(fields)
        self.entries.append(entry)

    def observe(self, deployment, target=None):
        status = (deployment or {}).get("status")
        if status and status != self._status:
            self._entry("status", status=status)
            self._status = status
        if not target:
            return
        for event in target.get("lifecycleEvents") or []:
            name = event.get("lifecycleEventName")
            event_status = event.get("status")
            previous = self._events.get(name)
            if event_status != previous and not (previous is None and event_status == "Pending"):
                self._entry("lifecycle_event", name=name, status=event_status)
            self._events[name] = event_status
        weights, target_groups = traffic_weights(target)
        if weights and weights != self._weights:
            self._entry("traffic", weights=weights, target_groups=target_groups)
            self._weights = weights


def traffic_weights(target):
    """``({'blue': 90.0, 'green': 10.0}, {'blue': 'tg-a', 'green': 'tg-b'})`` from an ECS target."""
    weights = {}
    target_groups = {}
    for task_set in (target or {}).get("taskSetsInfo") or []:
        label = (task_set.get("taskSetLabel") or task_set.get("identifer") or "unknown").lower()
        if task_set.get("trafficWeight") is None:
            continue
        weights[label] = float(task_set["trafficWeight"])
        target_groups[label] = (task_set.get("targetGroup") or {}).get("name")
    return weights, target_groups


def wait_until(poll, done, timeout, interval, sleep=time.sleep, clock=time.monotonic):
    """Call ``poll()`` until ``done(value)`` or the deadline passes.

    Returns ``(value, timed_out)``. ``poll`` runs at least once; the last sleep
    is shortened so that the deadline is honoured.
    """
    deadline = clock() + max(float(timeout), 0.0)
    while True:
        value = poll()
        if done(value):
            return value, False
        remaining = deadline - clock()
        if remaining <= 0:
            return value, True
        sleep(min(float(interval), remaining))


class DeploymentWatcher:
    """Polls one deployment (GetDeployment + its ECS target) and records its progress."""

    def __init__(self, client, deployment_id, progress=None):
        self.client = client
        self.deployment_id = deployment_id
        self.progress = progress if progress is not None else DeploymentProgress(deployment_id)
        self.deployment = None
        self.target = None
        self._target_ids = None

    def poll(self):
        return self.observe(get_deployment(self.client, self.deployment_id))

    def observe(self, deployment):
        """Record ``deployment`` (a DeploymentInfo just read) with its ECS target, read now."""
        self.deployment = deployment
        target = get_ecs_deployment_target(self.client, self.deployment_id, self._target_ids)
        if target:
            self.target = target
            if target.get("targetId"):
                self._target_ids = [target["targetId"]]
        self.progress.observe(self.deployment, self.target)
        return self.deployment

    def wait(self, done, timeout, interval, sleep=time.sleep, clock=time.monotonic):
        return wait_until(self.poll, done, timeout, interval, sleep=sleep, clock=clock)


def poll_deployments(client, watchers):
    """Observe several deployments with one BatchGetDeployments (and each one's ECS target)."""
    found = {d["deploymentId"]: d for d in batch_get_deployments(client, [w.deployment_id for w in watchers])}
    for watcher in watchers:
        deployment = found.get(watcher.deployment_id)
        if deployment is None:  # not listed by the batch call: ask for it alone (raises if it is gone)
            deployment = get_deployment(client, watcher.deployment_id)
        watcher.observe(deployment)


def wait_for_deployments(client, watchers, done, timeout, interval, sleep=time.sleep, clock=time.monotonic):
    """Poll ``watchers`` together until ``done(deployment)`` for each, or the deadline passes.

    A deployment that is done is no longer polled. Returns the watchers not done at the deadline
    (empty when all are).
    """
    remaining = list(watchers)

    def poll():
        poll_deployments(client, remaining)
        remaining[:] = [w for w in remaining if not done(w.deployment)]
        return remaining

    wait_until(poll, lambda left: not left, timeout, interval, sleep=sleep, clock=clock)
    return list(remaining)


def is_terminal(deployment):
    return deployment.get("status") in TERMINAL_STATUSES


def is_terminal_or_ready(deployment):
    return deployment.get("status") in TERMINAL_STATUSES + ("Ready",)


def waiting_for_termination(deployment):
    """An ECS deployment that shifted all traffic and waits out the original task set's termination."""
    return deployment.get("status") == "InProgress" and bool(deployment.get("instanceTerminationWaitTimeStarted"))


def failure_message(deployment):
    error = deployment.get("errorInformation") or {}
    status = deployment.get("status")
    text = f"Deployment {deployment.get('deploymentId')} ended with status {status}"
    if error.get("code") or error.get("message"):
        text += f": {error.get('code', '')} {error.get('message', '')}".rstrip()
    rollback = deployment.get("rollbackInfo") or {}
    if rollback.get("rollbackDeploymentId"):
        text += f" (rolled back by deployment {rollback['rollbackDeploymentId']})"
    elif rollback.get("rollbackMessage"):
        text += f" ({rollback['rollbackMessage']})"
    return text


def deployment_result(deployment, target=None):
    """Return shape for one deployment: DeploymentInfo snake-cased, with its lifecycle events and task sets."""
    result = camel_dict_to_snake_dict(deployment or {})
    if target is not None:
        result["lifecycle_events"] = [camel_dict_to_snake_dict(e) for e in target.get("lifecycleEvents") or []]
        result["task_sets"] = [camel_dict_to_snake_dict(t) for t in target.get("taskSetsInfo") or []]
    result["task_definition_arn"] = revision_task_definition((deployment or {}).get("revision"))
    return result
