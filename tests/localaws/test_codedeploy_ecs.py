"""The local CodeDeploy emulation runs ECS blue/green deployments the way AWS does.

Everything goes over HTTP to the real local endpoint (moto's server + localaws
patches); time runs at TIME_SCALE real seconds per AWS minute.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

ORDER = ["BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
         "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]


def error_code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def observe_weights(p, deployment_id: str, timeout: float = 15.0) -> tuple[list[float], list[list[dict]], dict]:
    """Poll the deployment target until the deployment ends: the distinct replacement (Green) traffic
    weights seen, in order, and the production listener's forward weights read right after each change."""
    weights: list[float] = []
    listener_states: list[list[dict]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            target = p.target(deployment_id)
        except ClientError as exc:  # Created: not started yet
            assert exc.response["Error"]["Code"] == "DeploymentNotStartedException"
            time.sleep(0.02)
            continue
        green = [t for t in target["taskSetsInfo"] if t["taskSetLabel"] == "Green"]
        if green and (not weights or weights[-1] != green[0]["trafficWeight"]):
            weights.append(green[0]["trafficWeight"])
            listener_states.append(p.forward_weights(p.prod_listener))
        if target["status"] in ("Succeeded", "Failed", "Skipped"):
            return weights, listener_states, p.deployment(deployment_id)
        time.sleep(0.02)
    raise AssertionError("deployment did not finish")


def forwards(p, listener_arn: str) -> list[dict]:
    """The forward action of the default action and of each rule of a listener, as DescribeRules answers."""
    rules = sorted(p.elb.describe_rules(ListenerArn=listener_arn)["Rules"], key=lambda r: (r["IsDefault"], r["Priority"]))
    return [a for rule in rules for a in rule["Actions"] if a["Type"] == "forward"]


def both_groups(first: str, second: str) -> dict:
    """A forward action to ``first`` at weight 100 and ``second`` at 0, with no TargetGroupArn."""
    return {"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": first, "Weight": 100}, {"TargetGroupArn": second, "Weight": 0}],
        "TargetGroupStickinessConfig": {"Enabled": False}}}


def test_release_v1_to_v2_and_back(platform):
    p = platform
    p.group()
    assert p.service_info()["taskSets"][0]["status"] == "PRIMARY"
    assert p.service_info()["deployments"] == []

    deployment_id = p.deploy(p.td2, description="v2")
    assert deployment_id.startswith("d-") and len(deployment_id) == 11
    info = p.wait(deployment_id)
    assert info["status"] == "Succeeded", info
    assert info["deploymentOverview"]["Succeeded"] == 1
    assert info["instanceTerminationWaitTimeStarted"] is True
    assert info["creator"] == "user" and info["computePlatform"] == "ECS"

    # production (default action and the /api/* rule) and test traffic now go to green only
    assert p.serves_only(p.prod_listener, p.green_tg)
    assert p.serves_only(p.test_listener, p.green_tg)
    assert len(p.forward_weights(p.prod_listener)) == 2
    # AWS's end state: both groups stay behind the listener, the replacement at 100 (first), the
    # original at 0 (CodeDeploy service team, quoted in traveloka/terraform-aws-alb-single-listener#47)
    assert forwards(p, p.prod_listener) == [both_groups(p.green_tg, p.blue_tg)] * 2

    service = p.service_info()
    assert service["taskDefinition"] == p.td2
    assert [(ts["status"], ts["taskDefinition"]) for ts in service["taskSets"]] == [("PRIMARY", p.td2)]
    assert service["taskSets"][0]["loadBalancers"][0]["targetGroupArn"] == p.green_tg
    assert service["taskSets"][0]["externalId"] == deployment_id

    target = p.target(deployment_id)
    assert [e["lifecycleEventName"] for e in target["lifecycleEvents"]] == ORDER
    assert {e["status"] for e in target["lifecycleEvents"]} == {"Succeeded"}
    starts = [e["startTime"] for e in target["lifecycleEvents"]]
    assert starts == sorted(starts)
    assert target["status"] == "Succeeded"
    assert p.cd.list_deployment_targets(deploymentId=deployment_id)["targetIds"] == ["web:web"]

    group = p.cd.get_deployment_group(applicationName=p.app, deploymentGroupName="web-dg")["deploymentGroupInfo"]
    assert group["lastSuccessfulDeployment"]["deploymentId"] == deployment_id
    assert group["lastAttemptedDeployment"]["status"] == "Succeeded"

    # the next release goes back to the (now idle) blue target group
    back = p.deploy(p.td1)
    assert p.wait(back)["status"] == "Succeeded"
    assert p.serves_only(p.prod_listener, p.blue_tg)
    assert forwards(p, p.prod_listener) == [both_groups(p.blue_tg, p.green_tg)] * 2
    assert p.service_info()["taskDefinition"] == p.td1
    assert p.deployment(back)["previousRevision"]["appSpecContent"]["content"] == info["revision"][
        "appSpecContent"]["content"]


def test_canary_then_linear_shift_in_steps(platform):
    p = platform
    p.group()
    # canary (predefined config, as a per-deployment override): 10 % for 5 minutes, then 100 %
    weights, listeners, info = observe_weights(
        p, p.deploy(p.td2, deploymentConfigName="CodeDeployDefault.ECSCanary10Percent5Minutes"))
    assert info["status"] == "Succeeded"
    assert weights[-2:] == [10.0, 100.0]
    canary = listeners[weights.index(10.0)]
    assert canary == [{p.blue_tg: 90, p.green_tg: 10}] * 2  # default action and rule alike

    # linear (custom config), shifting back from green to blue: 25 % every 2 minutes
    p.cd.create_deployment_config(
        deploymentConfigName="Linear25Every2", computePlatform="ECS",
        trafficRoutingConfig={"type": "TimeBasedLinear",
                              "timeBasedLinear": {"linearPercentage": 25, "linearInterval": 2}})
    weights, listeners, info = observe_weights(p, p.deploy(p.td1, deploymentConfigName="Linear25Every2"))
    assert info["status"] == "Succeeded" and info["deploymentConfigName"] == "Linear25Every2"
    assert [w for w in weights if w > 0] == [25.0, 50.0, 75.0, 100.0]
    assert listeners[weights.index(25.0)][0] == {p.green_tg: 75, p.blue_tg: 25}
    assert p.serves_only(p.prod_listener, p.blue_tg)


def test_alarm_in_alarm_stops_and_rolls_back(platform):
    p = platform
    cw = p.boto("cloudwatch")
    cw.put_metric_alarm(AlarmName="web-5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
    p.group(config="CodeDeployDefault.ECSCanary10Percent15Minutes", alarms=["web-5xx"],
            rollback_events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"])
    deployment_id = p.deploy(p.td2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.deployment(deployment_id)["status"] == "InProgress" and p.forward_weights(p.prod_listener)[0].get(
                p.green_tg) == 10:
            break
        time.sleep(0.03)
    else:
        raise AssertionError("canary step not reached")
    cw.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="test")
    info = p.wait(deployment_id)
    # AWS: "If any of the specified alarms are activated, the deployment stops, and the status is updated to Stopped."
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert "web-5xx" in info["errorInformation"]["message"]
    assert p.serves_only(p.prod_listener, p.blue_tg)
    assert p.serves_only(p.test_listener, p.blue_tg)
    service = p.service_info()
    assert [(ts["status"], ts["taskDefinition"]) for ts in service["taskSets"]] == [("PRIMARY", p.td1)]
    assert service["taskDefinition"] == p.td1
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    rollback = p.deployment(rollback_id)
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment_id
    assert rollback["status"] == "Succeeded"
    statuses = {e["lifecycleEventName"]: e["status"] for e in p.target(deployment_id)["lifecycleEvents"]}
    assert statuses["AllowTraffic"] == "Skipped" and statuses["AfterAllowTraffic"] == "Skipped"


def test_unhealthy_replacement_fails_and_rolls_back(platform, ctl):
    p = platform
    p.group(rollback_events=["DEPLOYMENT_FAILURE"])
    ctl("/_localaws/elbv2/target-health", {"targetGroupArn": p.green_tg, "state": "unhealthy"})
    deployment_id = p.deploy(p.td2)
    info = p.wait(deployment_id)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HEALTH_CONSTRAINTS"
    assert "web-green" in info["errorInformation"]["message"]
    assert info["rollbackInfo"]["rollbackDeploymentId"]
    assert info["deploymentOverview"]["Failed"] == 1
    assert p.serves_only(p.prod_listener, p.blue_tg)
    assert p.serves_only(p.test_listener, p.blue_tg)
    assert [ts["taskDefinition"] for ts in p.service_info()["taskSets"]] == [p.td1]
    events = {e["lifecycleEventName"]: e["status"] for e in p.target(deployment_id)["lifecycleEvents"]}
    assert "Failed" in events.values()
    # DescribeTargetHealth tells the same story while the override is set
    blue_health = p.elb.describe_target_health(TargetGroupArn=p.blue_tg)["TargetHealthDescriptions"]
    assert blue_health and {h["TargetHealth"]["State"] for h in blue_health} == {"healthy"}
    ctl("/_localaws/elbv2/target-health", {"targetGroupArn": p.blue_tg, "state": "unhealthy"})
    health = p.elb.describe_target_health(TargetGroupArn=p.blue_tg)["TargetHealthDescriptions"]
    assert {h["TargetHealth"]["State"] for h in health} == {"unhealthy"}
    assert health[0]["TargetHealth"]["Reason"] == "Target.FailedHealthChecks"


def _wait_for_canary(p, deployment_id: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.forward_weights(p.prod_listener)[0].get(p.green_tg) == 10:
            return
        time.sleep(0.03)
    raise AssertionError("canary step not reached")


def test_stop_with_and_without_rollback(platform):
    p = platform
    p.group(config="CodeDeployDefault.ECSCanary10Percent15Minutes")
    # with rollback: production traffic back on the original task set
    deployment_id = p.deploy(p.td2)
    _wait_for_canary(p, deployment_id)
    answer = p.cd.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    assert answer["status"] in ("Pending", "Succeeded")
    info = p.wait(deployment_id)
    assert info["status"] == "Stopped"
    assert info["rollbackInfo"]["rollbackDeploymentId"]
    assert p.serves_only(p.prod_listener, p.blue_tg)
    # the mirror image of a release's end state: the original at 100 (first), the replacement at 0
    assert forwards(p, p.prod_listener) == [both_groups(p.blue_tg, p.green_tg)] * 2
    assert [ts["taskDefinition"] for ts in p.service_info()["taskSets"]] == [p.td1]
    with pytest.raises(ClientError) as exc:
        p.cd.stop_deployment(deploymentId=deployment_id)
    assert error_code(exc) == "DeploymentAlreadyCompletedException"

    # without rollback: traffic stays where it is, both task sets stay
    deployment_id = p.deploy(p.td2)
    _wait_for_canary(p, deployment_id)
    p.cd.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=False)
    info = p.wait(deployment_id)
    assert info["status"] == "Stopped"
    assert "rollbackInfo" not in info
    assert p.forward_weights(p.prod_listener) == [{p.blue_tg: 90, p.green_tg: 10}] * 2
    assert sorted(ts["status"] for ts in p.service_info()["taskSets"]) == ["ACTIVE", "PRIMARY"]

    # the next deployment cleans up and completes
    again = p.deploy(p.td2, deploymentConfigName="CodeDeployDefault.ECSAllAtOnce")
    assert p.wait(again)["status"] == "Succeeded"
    assert p.serves_only(p.prod_listener, p.green_tg)
    assert [ts["taskDefinition"] for ts in p.service_info()["taskSets"]] == [p.td2]


def test_ready_wait_termination_wait_and_ready_timeout(platform):
    p = platform
    p.group(ready={"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 600}, termination_wait=600)
    deployment_id = p.deploy(p.td2)
    with pytest.raises(ClientError) as exc:
        p.cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="TERMINATION_WAIT")
    assert error_code(exc) in ("InvalidDeploymentStatusException", "DeploymentIsNotInReadyStateException")
    with pytest.raises(ClientError) as exc:  # one active deployment per group
        p.deploy(p.td2)
    assert error_code(exc) == "DeploymentLimitExceededException"
    assert deployment_id in exc.value.response["Error"]["Message"]

    info = p.wait(deployment_id, statuses=("Ready",))
    assert info["deploymentOverview"]["Ready"] == 1
    assert p.serves_only(p.prod_listener, p.blue_tg)
    assert p.serves_only(p.test_listener, p.green_tg)  # test traffic already on the replacement
    listed = p.cd.list_deployments(applicationName=p.app, deploymentGroupName="web-dg", includeOnlyStatuses=["Ready"])
    assert listed["deployments"] == [deployment_id]
    assert p.cd.list_deployments(applicationName=p.app, deploymentGroupName="web-dg",
                                 includeOnlyStatuses=["Succeeded"])["deployments"] == []
    with pytest.raises(ClientError) as exc:
        p.cd.list_deployments(applicationName=p.app, deploymentGroupName="nope")
    assert error_code(exc) == "DeploymentGroupDoesNotExistException"
    p.cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")

    # traffic shifted, original task set kept for the termination wait: still InProgress
    deadline = time.monotonic() + 10
    while not p.deployment(deployment_id)["instanceTerminationWaitTimeStarted"]:
        assert time.monotonic() < deadline
        time.sleep(0.03)
    info = p.deployment(deployment_id)
    assert info["status"] == "InProgress"
    assert p.serves_only(p.prod_listener, p.green_tg)
    assert len(p.service_info()["taskSets"]) == 2
    with pytest.raises(ClientError) as exc:
        p.cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    assert error_code(exc) == "DeploymentIsNotInReadyStateException"
    p.cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="TERMINATION_WAIT")
    assert p.wait(deployment_id)["status"] == "Succeeded"
    assert [ts["taskDefinition"] for ts in p.service_info()["taskSets"]] == [p.td2]

    # nobody continues within the wait time: Stopped, production untouched
    p.cd.update_deployment_group(applicationName=p.app, currentDeploymentGroupName="web-dg",
                                 blueGreenDeploymentConfiguration={
                                     "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT",
                                                               "waitTimeInMinutes": 1},
                                     "terminateBlueInstancesOnDeploymentSuccess": {
                                         "action": "TERMINATE", "terminationWaitTimeInMinutes": 0}})
    info = p.wait(p.deploy(p.td1))
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "TIMEOUT"
    assert p.serves_only(p.prod_listener, p.green_tg)


def test_failures_bad_revision_task_definition_and_hook(platform, ctl):
    p = platform
    p.group()
    info = p.wait(p.deploy(p.td2, content="version: 0.0\nResources: []\n"))
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "INVALID_REVISION"
    missing = p.td2.replace("web:2", "web:99")
    deployment_id = p.deploy(missing)
    info = p.wait(deployment_id)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    assert p.serves_only(p.prod_listener, p.blue_tg)

    with pytest.raises(ClientError) as exc:
        p.cd.batch_get_deployment_targets(deploymentId="d-NOPE00000", targetIds=["web:web"])
    assert error_code(exc) == "DeploymentDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        p.cd.get_deployment_target(deploymentId=deployment_id, targetId="other:svc")
    assert error_code(exc) == "DeploymentTargetDoesNotExistException"
    target = p.cd.get_deployment_target(deploymentId=deployment_id, targetId="web:web")["deploymentTarget"]
    assert target["deploymentTargetType"] == "ECSTarget"
    assert target["ecsTarget"]["status"] == "Failed"

    # a lifecycle hook reporting Failed (hook mode 'wait': hooks wait for PutLifecycleEventHookExecutionStatus)
    ctl("/_localaws/codedeploy/hooks", {"mode": "wait"})
    deployment_id = p.deploy(p.td2, hooks=[{"AfterAllowTestTraffic": "CheckTestTraffic"}])
    deadline = time.monotonic() + 10
    hooks: list = []
    while not hooks:
        assert time.monotonic() < deadline
        hooks = ctl(f"/_localaws/codedeploy/hooks?deploymentId={deployment_id}")["hooks"]
        time.sleep(0.03)
    assert hooks[0]["lifecycleEventName"] == "AfterAllowTestTraffic"
    assert hooks[0]["functionName"] == "CheckTestTraffic"
    assert p.deployment(deployment_id)["status"] == "InProgress"
    p.cd.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id, lifecycleEventHookExecutionId=hooks[0]["lifecycleEventHookExecutionId"],
        status="Failed")
    info = p.wait(deployment_id)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
