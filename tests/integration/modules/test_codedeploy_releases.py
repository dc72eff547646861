"""codedeploy_deployment (+ _info) against the local endpoint's CodeDeploy/ECS/ELB emulation.

The emulation runs deployments in real time, scaled by the time-scale control
route (seconds of real time per AWS minute). Every test builds the platform
with boto3, creates the application and group with the collection's modules,
then releases task definition revisions and checks AWS's state afterwards:
which target group the production listener forwards to and which task
definition the service's PRIMARY task set runs.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from _codedeploy_platform import (
    add_service,
    build,
    control,
    listener_weights,
    primary_task_definition,
    time_scale,
    wait_for,
)

PLAYBOOKS = "tests/integration/modules/playbooks"
PRESENT = f"{PLAYBOOKS}/codedeploy_present.yml"
RELEASE = f"{PLAYBOOKS}/codedeploy_release.yml"
CONTROL = f"{PLAYBOOKS}/codedeploy_control.yml"
CONFIG = f"{PLAYBOOKS}/codedeploy_config.yml"


@pytest.fixture
def platform(boto):
    return build(boto)


def setup_group(run_playbook, platform, **overrides):
    run = run_playbook(PRESENT, dict(platform, **overrides))
    assert run.rc == 0, run.failure_messages() or run.stderr
    return run


def release(run_playbook, platform, revision, check=False, **extra):
    return run_playbook(RELEASE, dict(platform, task_definition_arn=platform[f"td_v{revision}"], **extra), check=check)


def result_of(run, task="Release"):
    return run.task_results(task)[0]


def traffic(result, label="green"):
    return [e["weights"][label] for e in result["progress"] if e["type"] == "traffic" and label in e["weights"]]


def statuses(result):
    return [e["status"] for e in result["progress"] if e["type"] == "status"]


def prod_target_groups(boto, platform):
    return set(listener_weights(boto, platform["prod_listener_arn"]))


def creates(run):
    return [c for c in run.writes if c["action"] == "CreateDeployment"]


def test_release_v2_with_timeline_then_rerun_is_unchanged(run_playbook, boto, endpoint, platform):
    time_scale(endpoint, 0.1)
    setup_group(run_playbook, platform)

    initial = release(run_playbook, platform, 1)
    assert initial.rc == 0 and initial.changed == 0, initial.failure_messages()
    assert initial.writes == []                               # v1 is what the service runs already
    assert result_of(initial)["live_task_definition"] == platform["td_v1"]

    check = release(run_playbook, platform, 2, check=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    assert result_of(check)["appspec"]["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] == \
        platform["td_v2"]

    run = release(run_playbook, platform, 2, release_hooks={"after_allow_test_traffic": "smoke-test"})
    assert run.rc == 0 and run.changed == 1, run.failure_messages()
    assert len(creates(run)) == 1
    result = result_of(run)
    assert result["status"] == "Succeeded"
    assert statuses(result)[0] in ("Created", "InProgress") and statuses(result)[-1] == "Succeeded"
    assert traffic(result) == [0.0, 100.0]
    events = {e["lifecycle_event_name"]: e["status"] for e in result["lifecycle_events"]}
    assert set(events.values()) == {"Succeeded"} and "AfterAllowTestTraffic" in events
    assert result["deployment"]["task_definition_arn"] == platform["td_v2"]
    timestamps = [e["elapsed"] for e in result["progress"]]
    assert timestamps == sorted(timestamps)
    with urllib.request.urlopen(f"{endpoint.url}/_localaws/codedeploy/hooks?deploymentId={result['deployment_id']}",
                                timeout=10) as response:  # loopback endpoint
        hooks = json.loads(response.read())["hooks"]
    assert [(h["lifecycleEventName"], h["functionName"]) for h in hooks] == [("AfterAllowTestTraffic", "smoke-test")]

    assert primary_task_definition(boto) == platform["td_v2"]
    assert prod_target_groups(boto, platform) == {platform["green_tg_arn"]}

    again = release(run_playbook, platform, 2)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert result_of(again)["deployment_id"] == result["deployment_id"]

    info = run_playbook(CONTROL, dict(platform, control_state="stopped"))
    assert info.rc == 0 and info.changed == 0 and info.writes == []   # nothing running to stop
    deployments = result_of(info, "Deployments")["deployments"]
    assert [d["deployment_id"] for d in deployments] == [result["deployment_id"]]
    assert deployments[0]["task_sets"] and deployments[0]["status"] == "Succeeded"


def test_canary_and_linear_configs_shift_through_their_weights(run_playbook, boto, endpoint, platform):
    time_scale(endpoint, 0.5)
    for config in ({"config_name": "shop-canary-20-1", "routing": "TimeBasedCanary", "percentage": 20, "interval": 1},
                   {"config_name": "shop-linear-25-1", "routing": "TimeBasedLinear", "percentage": 25, "interval": 1}):
        assert run_playbook(CONFIG, config).rc == 0
    setup_group(run_playbook, platform, deployment_config_name="shop-canary-20-1")

    canary = release(run_playbook, platform, 2)
    assert canary.rc == 0, canary.failure_messages()
    assert traffic(result_of(canary)) == [0.0, 20.0, 100.0]
    pairs = [(e["weights"]["blue"], e["weights"]["green"]) for e in result_of(canary)["progress"]
             if e["type"] == "traffic" and "green" in e["weights"]]
    assert pairs == [(100.0, 0.0), (80.0, 20.0), (0.0, 100.0)]
    assert prod_target_groups(boto, platform) == {platform["green_tg_arn"]}

    linear = release(run_playbook, platform, 3, release_config="shop-linear-25-1")
    assert linear.rc == 0, linear.failure_messages()
    assert traffic(result_of(linear)) == [0.0, 25.0, 50.0, 75.0, 100.0]
    target_groups = [e["target_groups"]["green"] for e in result_of(linear)["progress"]
                     if e["type"] == "traffic" and "green" in e["weights"]]
    assert set(target_groups) == {"api-blue"}      # the second release moves traffic back to the first group
    assert prod_target_groups(boto, platform) == {platform["blue_tg_arn"]}
    assert primary_task_definition(boto) == platform["td_v3"]


def test_alarm_stops_the_release_and_rolls_back(run_playbook, boto, endpoint, platform):
    time_scale(endpoint, 0.2)
    setup_group(run_playbook, platform, alarms=[platform["alarm_name"]], auto_rollback_on_alarm=True)
    boto("cloudwatch").set_alarm_state(AlarmName=platform["alarm_name"], StateValue="ALARM",
                                       StateReason="5xx from the new revision")

    run = release(run_playbook, platform, 2)
    assert run.rc != 0
    message = run.failure_messages()[0]
    assert "ALARM_ACTIVE" in message and "api-5xx" in message
    result = result_of(run)
    assert result["status"] in ("Stopped", "Failed")
    assert result["error_information"]["code"] == "ALARM_ACTIVE"
    assert result["rollback_info"]["rollback_deployment_id"]
    assert result["rollback_deployment"]["status"] == "Succeeded"
    assert prod_target_groups(boto, platform) == {platform["blue_tg_arn"]}
    assert primary_task_definition(boto) == platform["td_v1"]


def test_unhealthy_replacement_fails_then_a_healthy_retry_releases(run_playbook, boto, endpoint, platform):
    time_scale(endpoint, 0.1)
    setup_group(run_playbook, platform)
    control(endpoint, "/_localaws/elbv2/target-health", {"targetGroupArn": platform["green_tg_arn"],
                                                         "state": "unhealthy"})
    failed = release(run_playbook, platform, 2)
    assert failed.rc != 0
    assert "HEALTH_CONSTRAINTS" in failed.failure_messages()[0]
    assert result_of(failed)["error_information"]["code"] == "HEALTH_CONSTRAINTS"
    assert prod_target_groups(boto, platform) == {platform["blue_tg_arn"]}
    assert primary_task_definition(boto) == platform["td_v1"]

    control(endpoint, "/_localaws/elbv2/target-health", {"targetGroupArn": platform["green_tg_arn"], "state": None})
    retry = release(run_playbook, platform, 2)
    assert retry.rc == 0 and retry.changed == 1, retry.failure_messages()
    assert len(creates(retry)) == 1
    assert primary_task_definition(boto) == platform["td_v2"]


def test_stop_a_running_release_with_rollback(run_playbook, boto, endpoint, platform):
    time_scale(endpoint, 1.0)       # the 10% canary step lasts 15 s
    setup_group(run_playbook, platform, deployment_config_name="CodeDeployDefault.ECSCanary10Percent15Minutes")
    started = release(run_playbook, platform, 2, release_wait=False)
    assert started.rc == 0 and started.changed == 1
    deployment_id = result_of(started)["deployment_id"]
    wait_for(lambda: platform["green_tg_arn"] in listener_weights(boto, platform["prod_listener_arn"]))

    stop = run_playbook(CONTROL, dict(platform, control_state="stopped", rollback=True))
    assert stop.rc == 0 and stop.changed == 1, stop.failure_messages()
    result = result_of(stop, "Control")
    assert (result["deployment_id"], result["status"]) == (deployment_id, "Stopped")
    assert result["error_information"]["code"] == "MANUAL_STOP"
    assert [c["action"] for c in stop.writes] == ["StopDeployment"]
    assert prod_target_groups(boto, platform) == {platform["blue_tg_arn"]}
    assert primary_task_definition(boto) == platform["td_v1"]


def test_attach_to_the_release_already_running(run_playbook, boto, endpoint, platform):
    time_scale(endpoint, 1.0)       # the 10% canary step lasts 15 s
    setup_group(run_playbook, platform, deployment_config_name="CodeDeployDefault.ECSCanary10Percent15Minutes")
    started = release(run_playbook, platform, 2, release_wait=False)
    assert started.rc == 0 and started.changed == 1
    attached = release(run_playbook, platform, 2)
    assert attached.rc == 0 and attached.changed == 0, attached.failure_messages()
    result = result_of(attached)
    assert result["attached"] is True
    assert result["deployment_id"] == result_of(started)["deployment_id"]
    assert result["status"] == "Succeeded"
    assert creates(attached) == []
    assert 100.0 in traffic(result)
    assert primary_task_definition(boto) == platform["td_v2"]

    other = release(run_playbook, platform, 3, release_wait=False)
    assert other.rc == 0 and other.changed == 1
    blocked = release(run_playbook, platform, 1, check=True)
    assert blocked.rc != 0
    assert "one deployment per group" in blocked.failure_messages()[0]


def test_continue_a_release_waiting_for_the_go_ahead(run_playbook, boto, endpoint, platform):
    time_scale(endpoint, 0.5)       # the ready wait (60 min) lasts 30 s
    setup_group(run_playbook, platform, action_on_timeout="STOP_DEPLOYMENT", ready_wait_time=60)
    ready = release(run_playbook, platform, 2)
    assert ready.rc == 0 and ready.changed == 1, ready.failure_messages()
    assert result_of(ready)["status"] == "Ready"
    assert prod_target_groups(boto, platform) == {platform["blue_tg_arn"]}
    assert set(listener_weights(boto, platform["test_listener_arn"])) == {platform["green_tg_arn"]}

    check = run_playbook(CONTROL, dict(platform, control_state="continued"), check=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []

    go = run_playbook(CONTROL, dict(platform, control_state="continued"))
    assert go.rc == 0 and go.changed == 1, go.failure_messages()
    assert [c["action"] for c in go.writes] == ["ContinueDeployment"]
    result = result_of(go, "Control")
    assert result["status"] == "Succeeded"
    assert prod_target_groups(boto, platform) == {platform["green_tg_arn"]}
    assert primary_task_definition(boto) == platform["td_v2"]

    again = run_playbook(CONTROL, dict(platform, control_state="continued"))
    assert again.rc == 0 and again.changed == 0


RELEASES = f"{PLAYBOOKS}/codedeploy_releases.yml"


def releases(run_playbook, platform, *services, check=False, ids=None, **extra):
    """Release (group vars, revision) pairs in one codedeploy_deployments call (``ids``: group -> deployment_id)."""
    deployments = [{"deployment_group_name": vars_["group_name"], "task_definition_arn": vars_[f"td_v{revision}"],
                    "container_name": "api", "container_port": 8080} for vars_, revision in services]
    for entry in deployments:
        if (ids or {}).get(entry["deployment_group_name"]):
            entry["deployment_id"] = ids[entry["deployment_group_name"]]
    return run_playbook(RELEASES, dict(extra, app_name=platform["app_name"], deployments=deployments), check=check)


def test_started_without_waiting_then_waited_for_by_id_a_failure_is_not_released_again(run_playbook, boto,
                                                                                       endpoint, platform):
    time_scale(endpoint, 0.1)
    setup_group(run_playbook, platform)
    control(endpoint, "/_localaws/elbv2/target-health", {"targetGroupArn": platform["green_tg_arn"],
                                                         "state": "unhealthy"})
    started = releases(run_playbook, platform, (platform, 2), release_wait=False)
    assert started.rc == 0 and len(creates(started)) == 1, started.failure_messages()
    [entry] = result_of(started, "Releases")["deployments"]
    assert entry["changed"] is True
    deployment_id = entry["deployment_id"]
    wait_for(lambda: boto("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"]
             in ("Failed", "Stopped"), timeout=60)

    # Waited for by its id after it failed: reported failed, and nothing is released again.
    waited = releases(run_playbook, platform, (platform, 2), ids={platform["group_name"]: deployment_id})
    assert waited.rc != 0 and creates(waited) == [], waited.writes
    [entry] = result_of(waited, "Releases")["deployments"]
    assert (entry["deployment_id"], entry["failed"], entry["changed"], entry["attached"]) == \
        (deployment_id, True, True, True), entry
    assert entry["error_information"]["code"] == "HEALTH_CONSTRAINTS"
    assert primary_task_definition(boto) == platform["td_v1"]


def test_releases_of_two_groups_run_at_once_and_one_failure_stops_only_its_own(run_playbook, boto, endpoint,
                                                                               platform):
    time_scale(endpoint, 0.2)   # api's canary holds 10 % for 5 AWS minutes: 1 s
    web = add_service(boto, platform, "web")
    setup_group(run_playbook, platform, deployment_config_name="CodeDeployDefault.ECSCanary10Percent5Minutes")
    setup_group(run_playbook, platform, **web)
    api = platform

    check = releases(run_playbook, platform, (api, 2), (web, 2), check=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == [], check.failure_messages()
    assert [(r["deployment_group_name"], r["changed"]) for r in result_of(check, "Releases")["deployments"]] == \
        [("shop-api", True), ("shop-web", True)]

    # web's replacement never turns healthy: its release fails, api's goes on to the end.
    control(endpoint, "/_localaws/elbv2/target-health", {"targetGroupArn": web["green_tg_arn"], "state": "unhealthy"})
    run = releases(run_playbook, platform, (api, 2), (web, 2))
    assert run.rc != 0
    message = run.failure_messages()[0]
    assert message.startswith("Releases: 1 of 2 releases failed: shop-web: ") and "HEALTH_CONSTRAINTS" in message, message
    assert "shop-api" not in message
    outcome = {r["deployment_group_name"]: r for r in result_of(run, "Releases")["deployments"]}
    assert (outcome["shop-api"]["status"], outcome["shop-api"]["failed"]) == ("Succeeded", False)
    assert outcome["shop-web"]["failed"] is True and outcome["shop-web"]["status"] in ("Failed", "Stopped")
    assert outcome["shop-web"]["error_information"]["code"] == "HEALTH_CONSTRAINTS"
    assert outcome["shop-web"]["msg"] in message
    assert 10.0 in traffic(outcome["shop-api"]) and traffic(outcome["shop-api"])[-1] == 100.0
    assert [c["action"] for c in run.writes].count("CreateDeployment") == 2
    assert primary_task_definition(boto) == api["td_v2"]
    assert primary_task_definition(boto, "web") == web["td_v1"]
    assert prod_target_groups(boto, web) == {web["blue_tg_arn"]}

    # The endpoint's records: each deployment was created before the other one ended (they overlapped).
    codedeploy = boto("codedeploy")
    api_d, web_d = (codedeploy.get_deployment(deploymentId=outcome[g]["deployment_id"])["deploymentInfo"]
                    for g in ("shop-api", "shop-web"))
    assert api_d["createTime"] < web_d["completeTime"] and web_d["createTime"] < api_d["completeTime"], (api_d, web_d)

    # Again with web healthy: api's revision is live (nothing to do), web's is released.
    control(endpoint, "/_localaws/elbv2/target-health", {"targetGroupArn": web["green_tg_arn"], "state": None})
    retry = releases(run_playbook, platform, (api, 2), (web, 2))
    assert retry.rc == 0 and retry.changed == 1, retry.failure_messages()
    outcome = {r["deployment_group_name"]: r for r in result_of(retry, "Releases")["deployments"]}
    assert outcome["shop-api"]["changed"] is False and outcome["shop-web"]["status"] == "Succeeded"
    assert [c["action"] for c in retry.writes] == ["CreateDeployment"]
    assert primary_task_definition(boto, "web") == web["td_v2"]


def test_releases_refuse_a_group_twice_and_a_group_busy_with_another_revision(run_playbook, boto, endpoint, platform):
    time_scale(endpoint, 1.0)       # the 10% canary step lasts 15 s
    setup_group(run_playbook, platform, deployment_config_name="CodeDeployDefault.ECSCanary10Percent15Minutes")
    twice = releases(run_playbook, platform, (platform, 2), (platform, 3))
    assert twice.rc != 0 and twice.writes == []
    assert "shop-api appear more than once" in twice.failure_messages()[0]

    started = release(run_playbook, platform, 2, release_wait=False)
    assert started.rc == 0 and started.changed == 1
    # CodeDeploy runs one deployment per group: the endpoint refuses a second one as AWS does ...
    with pytest.raises(boto("codedeploy").exceptions.DeploymentLimitExceededException):
        boto("codedeploy").create_deployment(applicationName="shop", deploymentGroupName="shop-api",
                                             revision={"revisionType": "AppSpecContent",
                                                       "appSpecContent": {"content": "{}"}})
    # ... and the module names the deployment in the way without calling CreateDeployment.
    busy = releases(run_playbook, platform, (platform, 3))
    assert busy.rc != 0 and creates(busy) == []
    assert "one deployment per group" in busy.failure_messages()[0]
    assert result_of(busy, "Releases")["deployments"][0]["failed"] is True
    boto("codedeploy").stop_deployment(deploymentId=result_of(started)["deployment_id"], autoRollbackEnabled=True)
