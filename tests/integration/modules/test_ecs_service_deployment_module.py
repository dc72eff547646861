"""ecs_service_deployment(s) against the local endpoint's ECS-native blue/green emulation.

Every test builds an ECS-controlled service with boto3 (_ecs_bluegreen_platform.py), releases task
definition revisions with the modules and checks AWS's state afterwards: which target group the
production listener rule forwards to, which task definition the service runs, and the service
deployments ECS recorded. Time runs on the emulation's clock (seconds of real time per AWS minute).
"""

from __future__ import annotations

import pytest
from _ecs_bluegreen_platform import (
    HOOK_LAMBDA,
    HOOK_ROLE_ARN,
    add_service,
    build,
    control,
    deployments,
    rule_weights,
    service,
    time_scale,
    wait_for,
)

PLAYBOOKS = "tests/integration/modules/playbooks"
RELEASE = f"{PLAYBOOKS}/ecs_release.yml"
RELEASES = f"{PLAYBOOKS}/ecs_releases.yml"
LONG_BAKE = {"strategy": "CANARY", "bakeTimeInMinutes": 120,
             "canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 1}}


@pytest.fixture
def platform(boto, endpoint):
    time_scale(endpoint, 0.5)
    return build(boto)


def release(run_playbook, platform, revision=None, check=False, **extra):
    if revision is not None:
        extra["task_definition_arn"] = platform[f"td_v{revision}"]
    return run_playbook(RELEASE, dict(platform, **extra), check=check)


def result_of(run, task="Release"):
    return run.task_results(task)[0]


def entries(result, kind):
    return [e for e in result["progress"] if e["type"] == kind]


def updates(run):
    return [c for c in run.writes if c["action"] == "UpdateService"]


def prod(boto, platform):
    return set(rule_weights(boto, platform["prod_rule_arn"]))


def test_release_v2_with_canary_in_order_then_rerun_is_unchanged(run_playbook, boto, platform):
    initial = release(run_playbook, platform, 1)
    assert initial.rc == 0 and initial.changed == 0 and initial.writes == [], initial.failure_messages()
    assert result_of(initial)["live_task_definition"] == platform["td_v1"]
    assert result_of(initial)["live_target_group"] == "web-blue"

    check = release(run_playbook, platform, 2, check=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    assert result_of(check)["task_definition_arn"] == platform["td_v2"]

    run = release(run_playbook, platform, 2)
    assert run.rc == 0 and run.changed == 1, run.failure_messages()
    assert len(updates(run)) == 1 and len(run.writes) == 1   # one UpdateService is the whole release
    result = result_of(run)
    assert result["status"] == "SUCCESSFUL" and result["attached"] is False
    assert result["live_task_definition"] == platform["td_v1"]
    assert result["deployment"]["task_definition_arn"] == platform["td_v2"]
    assert [e["status"] for e in entries(result, "status")][-1] == "SUCCESSFUL"
    stages = [e["stage"] for e in entries(result, "lifecycle_stage")]
    order = ["PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
             "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]
    assert stages == [s for s in order if s in stages]                       # in the lifecycle's order
    assert {"PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"} <= set(stages)
    traffic = entries(result, "traffic")
    assert [e["weights"]["green"] for e in traffic if e["weights"]["green"] > 0] == [20.0, 100.0]   # canary, then all
    assert traffic[-1]["target_groups"] == {"blue": "web-blue", "green": "web-green"}
    assert [e["elapsed"] for e in result["progress"]] == sorted(e["elapsed"] for e in result["progress"])
    assert result["live_target_group"] == "web-green"

    assert service(boto)["taskDefinition"] == platform["td_v2"]
    assert prod(boto, platform) == {platform["green_tg_arn"]}

    again = release(run_playbook, platform, 2)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert result_of(again)["deployment_id"] == result["deployment_id"]
    assert result_of(again)["live_target_group"] == "web-green"

    # the next release goes the other way: blue is now web-green
    v3 = release(run_playbook, platform, 3)
    assert v3.rc == 0 and v3.changed == 1, v3.failure_messages()
    assert entries(result_of(v3), "traffic")[-1]["target_groups"] == {"blue": "web-green", "green": "web-blue"}
    assert prod(boto, platform) == {platform["blue_tg_arn"]}


def test_alarm_in_alarm_rolls_the_release_back_and_fails_with_the_reason(run_playbook, boto, platform):
    boto("cloudwatch").set_alarm_state(AlarmName=platform["alarm_name"], StateValue="ALARM", StateReason="test")
    run = release(run_playbook, platform, 2)
    assert run.rc != 0 and len(updates(run)) == 1
    result = result_of(run)
    assert result["status"] == "ROLLBACK_SUCCESSFUL"
    assert result["error_information"]["code"] == "ALARM_ACTIVE"
    assert platform["alarm_name"] in result["error_information"]["message"]
    assert result["rollback_info"]["rollback_message"] == result["error_information"]["message"]
    assert "ROLLBACK_SUCCESSFUL" in result["msg"] and "ALARM_ACTIVE" in result["msg"]
    assert any(e["name"] == "alarms" and e["status"] == "TRIGGERED" for e in entries(result, "monitor"))
    assert result["live_target_group"] == "web-blue"
    assert service(boto)["taskDefinition"] == platform["td_v1"]
    assert prod(boto, platform) == {platform["blue_tg_arn"]}

    # v1 is live again: releasing it changes nothing; v2 is not live, so it is released again
    boto("cloudwatch").set_alarm_state(AlarmName=platform["alarm_name"], StateValue="OK", StateReason="test")
    assert release(run_playbook, platform, 1).changed == 0
    retry = release(run_playbook, platform, 2)
    assert retry.rc == 0 and retry.changed == 1, retry.failure_messages()


def test_failing_hook_rolls_back(run_playbook, boto, endpoint, platform):
    hooks = [{"hookTargetArn": HOOK_LAMBDA, "roleArn": HOOK_ROLE_ARN, "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]
    add_service(boto, platform, "api", hooks=hooks)
    control(endpoint, "/_localaws/ecs/hooks", {"mode": "fail"})
    run = release(run_playbook, platform, service_name="api", task_definition_arn=add_td(boto, "api", 2))
    assert run.rc != 0
    result = result_of(run)
    assert result["status"] == "ROLLBACK_SUCCESSFUL"
    assert result["error_information"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert [(e["target_arn"], e["status"]) for e in entries(result, "hook")][-1] == (HOOK_LAMBDA, "FAILED")
    assert service(boto, "api")["taskDefinition"].endswith("/api:1")


def test_release_paused_by_a_pause_hook_is_continued(run_playbook, boto, platform):
    api = add_service(boto, platform, "api")
    # the hook from now on (the service's first deployment, made by add_service, is not held)
    config = service(boto, "api")["deploymentConfiguration"]
    boto("ecs").update_service(cluster=platform["cluster_name"], service="api", deploymentConfiguration=dict(
        config, lifecycleHooks=[{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]))
    nothing = release(run_playbook, platform, service_name="api", release_state="continued")
    assert nothing.rc == 0 and nothing.changed == 0 and nothing.writes == [], nothing.failure_messages()

    started = release(run_playbook, platform, service_name="api", task_definition_arn=add_td(boto, "api", 2),
                      release_wait=False)
    assert started.rc == 0 and started.changed == 1, started.failure_messages()
    arn = result_of(started)["deployment_id"]

    def paused():
        found = boto("ecs").describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
        return [h["hookId"] for h in found.get("lifecycleHookDetails") or [] if h["status"] == "AWAITING_ACTION"]

    [hook_id] = wait_for(paused)
    # held: production stays on the source revision's group while the hook waits
    assert set(rule_weights(boto, api["prod_rule_arn"])) == {api["blue_tg_arn"]}
    check = release(run_playbook, platform, service_name="api", release_state="continued", check=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == [], check.failure_messages()
    assert result_of(check)["continued_hooks"] == [hook_id]

    go = release(run_playbook, platform, service_name="api", release_state="continued")
    assert go.rc == 0 and go.changed == 1, go.failure_messages()
    assert [c["action"] for c in go.writes] == ["ContinueServiceDeployment"]
    result = result_of(go)
    assert result["continued_hooks"] == [hook_id] and result["status"] == "SUCCESSFUL", result
    assert [(e["target_type"], e["status"]) for e in entries(result, "hook")][-1] == ("PAUSE", "SUCCEEDED")
    assert service(boto, "api")["taskDefinition"].endswith("/api:2")


def add_td(boto, family, revision):
    return boto("ecs").describe_task_definition(taskDefinition=f"{family}:{revision}")["taskDefinition"][
        "taskDefinitionArn"]


def test_stop_during_a_release_rolls_back(run_playbook, boto, platform):
    boto("ecs").update_service(cluster=platform["cluster_name"], service="web",
                               deploymentConfiguration=dict(LONG_BAKE, alarms={"alarmNames": [], "enable": False,
                                                                               "rollback": False}))
    started = release(run_playbook, platform, 2, release_wait=False)
    assert started.rc == 0 and started.changed == 1, started.failure_messages()
    assert result_of(started)["status"] in ("PENDING", "IN_PROGRESS")
    arn = result_of(started)["deployment_id"]
    wait_for(lambda: boto("ecs").describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
             .get("lifecycleStage") == "BAKE_TIME")
    assert prod(boto, platform) == {platform["green_tg_arn"]}

    # attaching: the same revision in progress is waited for, not released again
    attach = release(run_playbook, platform, 2, release_timeout=1)
    assert attach.rc != 0 and attach.writes == [] and "Timed out" in result_of(attach)["msg"]
    assert result_of(attach)["attached"] is True and result_of(attach)["deployment_id"] == arn
    # another revision while one runs: refused before any write
    other = release(run_playbook, platform, 3)
    assert other.rc != 0 and other.writes == [] and "state=stopped" in result_of(other)["msg"]

    check = release(run_playbook, platform, release_state="stopped", check=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []

    stop = release(run_playbook, platform, release_state="stopped")
    assert stop.rc == 0 and stop.changed == 1, stop.failure_messages()
    assert [c["action"] for c in stop.writes] == ["StopServiceDeployment"]
    result = result_of(stop)
    assert result["deployment_id"] == arn and result["stop_type"] == "ROLLBACK"
    assert result["status"] == "ROLLBACK_SUCCESSFUL" and result["error_information"]["code"] == "MANUAL_STOP"
    assert service(boto)["taskDefinition"] == platform["td_v1"]
    assert prod(boto, platform) == {platform["blue_tg_arn"]}

    again = release(run_playbook, platform, release_state="stopped")
    assert again.rc == 0 and again.changed == 0 and again.writes == []


def test_rolled_back_during_and_after_a_release(run_playbook, boto, platform):
    run = release(run_playbook, platform, 2)
    assert run.rc == 0, run.failure_messages()

    check = release(run_playbook, platform, release_state="rolled_back", check=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    assert result_of(check)["task_definition_arn"] == platform["td_v1"]

    back = release(run_playbook, platform, release_state="rolled_back")
    assert back.rc == 0 and back.changed == 1, back.failure_messages()
    result = result_of(back)
    assert result["rollback_action"] == "released_previous" and result["task_definition_arn"] == platform["td_v1"]
    assert result["status"] == "SUCCESSFUL" and result["live_task_definition"] == platform["td_v2"]
    assert [c["action"] for c in back.writes] == ["UpdateService"]
    assert service(boto)["taskDefinition"] == platform["td_v1"]
    assert prod(boto, platform) == {platform["blue_tg_arn"]}

    # during a release: stop with rollback
    boto("ecs").update_service(cluster=platform["cluster_name"], service="web",
                               deploymentConfiguration=dict(LONG_BAKE, alarms={"alarmNames": [], "enable": False,
                                                                               "rollback": False}))
    assert release(run_playbook, platform, 3, release_wait=False).changed == 1
    during = release(run_playbook, platform, release_state="rolled_back")
    assert during.rc == 0 and during.changed == 1, during.failure_messages()
    assert result_of(during)["rollback_action"] == "stopped" and result_of(during)["status"] == "ROLLBACK_SUCCESSFUL"
    assert [c["action"] for c in during.writes] == ["StopServiceDeployment"]
    assert service(boto)["taskDefinition"] == platform["td_v1"]


def test_several_services_at_once(run_playbook, boto, platform):
    api = add_service(boto, platform, "api")
    run = run_playbook(RELEASES, {"cluster_name": platform["cluster_name"], "deployments": [
        {"service": "web", "task_definition_arn": platform["td_v2"]},
        {"service": "api", "task_definition_arn": api["td_v1"]},
    ]})
    assert run.rc == 0 and run.changed == 1, run.failure_messages()
    web, api_result = result_of(run, "Releases")["deployments"]
    assert (web["service"], web["changed"], web["status"]) == ("web", True, "SUCCESSFUL")
    assert (api_result["service"], api_result["changed"], api_result["failed"]) == ("api", False, False)
    assert len(updates(run)) == 1

    boto("cloudwatch").set_alarm_state(AlarmName=platform["alarm_name"], StateValue="ALARM", StateReason="test")
    both = run_playbook(RELEASES, {"cluster_name": platform["cluster_name"], "deployments": [
        {"service": "web", "task_definition_arn": platform["td_v3"]},
        {"service": "api", "task_definition_arn": api["td_v2"]},
    ]})
    assert both.rc != 0 and len(updates(both)) == 2
    results = result_of(both, "Releases")["deployments"]
    assert [(r["service"], r["failed"], r["status"]) for r in results] == [
        ("web", True, "ROLLBACK_SUCCESSFUL"), ("api", True, "ROLLBACK_SUCCESSFUL")]
    assert "2 of 2 releases failed" in result_of(both, "Releases")["msg"]


BAD = {
    "unknown service": ({"service_name": "nope", "task_definition_arn": "web:2"}, "does not exist in cluster"),
    "unknown cluster": ({"cluster_name": "nope", "task_definition_arn": "web:2"}, "does not exist in cluster"),
    "unknown task definition": ({"task_definition_arn": "web:99"}, "Task definition web:99 cannot be released"),
    "no task definition": ({}, "task_definition_arn"),
    "bad state": ({"release_state": "gone"}, "value of state must be one of"),
    "bad poll interval": ({"task_definition_arn": "web:2", "poll_interval": 0}, "poll_interval must be greater"),
    "bad timeout": ({"task_definition_arn": "web:2", "release_timeout": 0}, "wait_timeout must be greater"),
    "unknown deployment": ({"release_state": "stopped", "deployment_id": "arn:aws:ecs:us-east-1:123456789012:"
                            "service-deployment/bg/web/nope"}, "does not exist"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_inputs_fail_before_any_write(run_playbook, platform, name):
    extra, message = BAD[name]
    run = run_playbook(RELEASE, dict(platform, **extra))
    assert run.rc != 0 and run.writes == []
    assert message in result_of(run)["msg"]


def test_codedeploy_service_is_refused(run_playbook, boto, platform):
    ecs = boto("ecs")
    ecs.create_service(cluster=platform["cluster_name"], serviceName="legacy", taskDefinition=platform["td_v1"],
                       desiredCount=1, launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"},
                       loadBalancers=[{"targetGroupArn": platform["blue_tg_arn"], "containerName": "app",
                                       "containerPort": 8080}],
                       networkConfiguration={"awsvpcConfiguration": {"subnets": platform["subnets"],
                                                                     "securityGroups": [platform["security_group"]]}})
    run = release(run_playbook, platform, 2, service_name="legacy")
    assert run.rc != 0 and run.writes == []
    assert "CODE_DEPLOY deployment controller" in result_of(run)["msg"]


def test_services_twice_in_one_call_is_refused(run_playbook, platform):
    run = run_playbook(RELEASES, {"cluster_name": platform["cluster_name"], "deployments": [
        {"service": "web", "task_definition_arn": platform["td_v2"]},
        {"service": "web", "task_definition_arn": platform["td_v3"]}]})
    assert run.rc != 0 and run.writes == [] and "web appear more than once" in result_of(run, "Releases")["msg"]


def test_deployment_history_is_what_ecs_recorded(boto, run_playbook, platform):
    run = release(run_playbook, platform, 2)
    assert run.rc == 0, run.failure_messages()
    assert [d["status"] for d in deployments(boto)] == ["SUCCESSFUL", "SUCCESSFUL"]
    assert deployments(boto)[0]["serviceDeploymentArn"] == result_of(run)["deployment_id"]


# -- playbooks/rollback.yml on an ECS-controlled service ------------------------------------------------

ROLLBACK = "playbooks/rollback.yml"


def rollback_playbook(run_playbook, platform):
    return run_playbook(ROLLBACK, {
        "ecs_cluster_name": platform["cluster_name"], "rollback_service": "web", "rollback_poll_interval": 0.05,
        "stack_services": [{"name": "web", "container_port": 8080, "deployment_controller": "ecs"}]})


def test_rollback_playbook_after_and_during_a_release(run_playbook, boto, platform):
    assert release(run_playbook, platform, 2).rc == 0
    after = rollback_playbook(run_playbook, platform)
    assert after.rc == 0, after.failure_messages()
    assert [c["action"] for c in after.writes] == ["UpdateService"]       # no CodeDeploy call at all
    result = after.task_results("Summary | keep the outcome in rollback_result")[0]["ansible_facts"]["rollback_result"]
    assert (result["controller"], result["action"], result["status"]) == ("ecs", "released_previous", "SUCCESSFUL")
    assert result["live_task_definition"] == "web:1" and result["live_target_group"] == "web-blue"
    assert prod(boto, platform) == {platform["blue_tg_arn"]}

    boto("ecs").update_service(cluster=platform["cluster_name"], service="web",
                               deploymentConfiguration=dict(LONG_BAKE, alarms={"alarmNames": [], "enable": False,
                                                                               "rollback": False}))
    assert release(run_playbook, platform, 3, release_wait=False).changed == 1
    during = rollback_playbook(run_playbook, platform)
    assert during.rc == 0, during.failure_messages()
    assert [c["action"] for c in during.writes] == ["StopServiceDeployment"]
    result = during.task_results("Summary | keep the outcome in rollback_result")[0]["ansible_facts"]["rollback_result"]
    assert (result["action"], result["status"]) == ("stopped", "ROLLBACK_SUCCESSFUL")
    assert result["rollback_info"]["service_revision_arn"] and result["live_task_definition"] == "web:1"
    assert service(boto)["taskDefinition"] == platform["td_v1"]
