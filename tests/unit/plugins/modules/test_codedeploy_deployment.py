"""codedeploy_deployment: AppSpec, liveness, the progress timeline and the Release flows.

AWS is stubbed at the boto level (botocore Stubber on real clients): every call
the code makes must be one the test queued, with the parameters it expects.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from _codedeploy_stubs import (
    CLUSTER,
    SERVICE,
    TD,
    FakeClock,
    deployment,
    ecs_target,
    queue_poll,
    stubbed,
)
from ansible_collections.seed.fargate.plugins.module_utils import codedeploy as cd
from ansible_collections.seed.fargate.plugins.modules.codedeploy_deployment import (
    Release,
)

APP, GROUP = "shop", "shop-api"
ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]


# -- AppSpec ---------------------------------------------------------------------------
def test_appspec_has_the_ecs_target_and_hooks_in_lifecycle_order():
    appspec = cd.build_appspec(TD.format(7), "api", "8080", "1.4.0",
                               {"after_allow_traffic": "post", "before_install": "pre", "after_install": None})
    assert appspec["version"] == 0.0
    target = appspec["Resources"][0]["TargetService"]
    assert target["Type"] == "AWS::ECS::Service"
    assert target["Properties"] == {
        "TaskDefinition": TD.format(7),
        "LoadBalancerInfo": {"ContainerName": "api", "ContainerPort": 8080},
        "PlatformVersion": "1.4.0",
    }
    assert appspec["Hooks"] == [{"BeforeInstall": "pre"}, {"AfterAllowTraffic": "post"}]


def test_appspec_without_optional_parts():
    appspec = cd.build_appspec(TD.format(1), "api", 80)
    assert "Hooks" not in appspec
    assert "PlatformVersion" not in appspec["Resources"][0]["TargetService"]["Properties"]


def test_revision_is_appspec_content_with_its_sha256():
    revision = cd.appspec_revision(cd.build_appspec(TD.format(3), "api", 80))
    assert revision["revisionType"] == "AppSpecContent"
    content = revision["appSpecContent"]["content"]
    assert revision["appSpecContent"]["sha256"] == hashlib.sha256(content.encode()).hexdigest()
    assert json.loads(content)["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] == TD.format(3)
    assert cd.revision_task_definition(revision) == TD.format(3)


def test_revision_task_definition_reads_yaml_appspecs():
    content = (
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n"
        "      Properties:\n        TaskDefinition: \"arn:aws:ecs:us-east-1:1:task-definition/web:4\"\n"
    )
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}}
    assert cd.revision_task_definition(revision) == "arn:aws:ecs:us-east-1:1:task-definition/web:4"
    assert cd.revision_task_definition({"revisionType": "S3"}) is None
    assert cd.revision_task_definition({"revisionType": "AppSpecContent", "appSpecContent": {"content": "::"}}) is None


# -- liveness ----------------------------------------------------------------------------
@pytest.mark.parametrize(("live", "last", "expected"), [
    (TD.format(2), None, True),                                           # first release done outside CodeDeploy
    (TD.format(2), deployment("d-1", "Succeeded", 2), True),
    ("api:2", deployment("d-1", "Succeeded", 2), True),                   # family:revision compares equal
    (TD.format(1), deployment("d-1", "Succeeded", 1), False),             # another revision is live
    (TD.format(2), deployment("d-1", "Failed", 2), False),                # failed without rollback: not healthy
    (TD.format(2), deployment("d-1", "Stopped", 2), False),
    (TD.format(2), deployment("d-1", "Failed", 3), True),                 # v3 failed and rolled back to v2
    (None, None, False),
])
def test_revision_is_live(live, last, expected):
    assert cd.revision_is_live(TD.format(2), live, last) is expected


# -- the polling helper -------------------------------------------------------------------
def test_wait_until_honours_the_deadline():
    clock = FakeClock()
    polls = []
    _value, timed_out = cd.wait_until(lambda: polls.append(clock()) or len(polls), lambda v: False,
                                      timeout=10, interval=4, sleep=clock.sleep, clock=clock)
    assert timed_out is True
    assert polls == [100.0, 104.0, 108.0, 110.0]      # the last sleep is cut to the deadline
    assert clock.sleeps == [4, 4, 2]


def test_wait_until_returns_as_soon_as_done():
    clock = FakeClock()
    values = iter([1, 2, 3, 4])
    value, timed_out = cd.wait_until(lambda: next(values), lambda v: v == 3, 60, 0.5, clock.sleep, clock)
    assert (value, timed_out) == (3, False)
    assert clock.sleeps == [0.5, 0.5]


# -- the timeline ---------------------------------------------------------------------------
def test_progress_records_every_change_once_and_in_order():
    clock = FakeClock()
    progress = cd.DeploymentProgress("d-1", clock=clock)
    observations = [
        ("Created", None),
        ("InProgress", ecs_target("d-1", {"Blue": 100.0, "Green": 0.0}, {"Install": "InProgress", "AllowTraffic": "Pending"})),
        ("InProgress", ecs_target("d-1", {"Blue": 100.0, "Green": 0.0}, {"Install": "Succeeded", "AllowTraffic": "Pending"})),
        ("InProgress", ecs_target("d-1", {"Blue": 90.0, "Green": 10.0}, {"Install": "Succeeded", "AllowTraffic": "InProgress"})),
        ("InProgress", ecs_target("d-1", {"Blue": 90.0, "Green": 10.0}, {"Install": "Succeeded", "AllowTraffic": "InProgress"})),
        ("InProgress", ecs_target("d-1", {"Blue": 0.0, "Green": 100.0}, {"Install": "Succeeded", "AllowTraffic": "Succeeded"})),
        ("Succeeded", ecs_target("d-1", {"Blue": 0.0, "Green": 100.0}, {"Install": "Succeeded", "AllowTraffic": "Succeeded"})),
    ]
    for status, target in observations:
        progress.observe({"status": status}, target)
        clock.sleep(1)
    summary = [(e["type"], e.get("status") or e.get("weights")) for e in progress.entries]
    assert summary == [
        ("status", "Created"),
        ("status", "InProgress"),
        ("lifecycle_event", "InProgress"),
        ("traffic", {"blue": 100.0, "green": 0.0}),
        ("lifecycle_event", "Succeeded"),
        ("lifecycle_event", "InProgress"),
        ("traffic", {"blue": 90.0, "green": 10.0}),
        ("lifecycle_event", "Succeeded"),
        ("traffic", {"blue": 0.0, "green": 100.0}),
        ("status", "Succeeded"),
    ]
    assert [e["elapsed"] for e in progress.entries][:2] == [0.0, 1.0]
    assert all(e["deployment_id"] == "d-1" and e["timestamp"].endswith("+00:00") for e in progress.entries)
    assert progress.entries[3]["target_groups"] == {"blue": "api-blue", "green": "api-green"}


# -- Release (state=present) ----------------------------------------------------------------
def params(**overrides):
    base = {
        "application_name": APP, "deployment_group_name": GROUP, "state": "present",
        "task_definition_arn": TD.format(2), "container_name": "api", "container_port": 8080,
        "platform_version": None, "hooks": None, "description": None, "deployment_config_name": None,
        "force": False, "deployment_id": None, "auto_rollback": True, "wait_type": "ready",
        "wait": True, "wait_timeout": 600.0, "poll_interval": 2.0,
    }
    base.update(overrides)
    return base


@pytest.fixture
def aws():
    codedeploy, cd_stub = stubbed("codedeploy")
    ecs, ecs_stub = stubbed("ecs")
    yield codedeploy, cd_stub, ecs, ecs_stub
    cd_stub.assert_no_pending_responses()
    ecs_stub.assert_no_pending_responses()


def queue_group(cd_stub, last_attempted=None):
    info = {"applicationName": APP, "deploymentGroupName": GROUP, "computePlatform": "ECS",
            "ecsServices": [{"clusterName": CLUSTER, "serviceName": SERVICE}]}
    if last_attempted:
        info["lastAttemptedDeployment"] = {"deploymentId": last_attempted, "status": "Succeeded"}
    cd_stub.add_response("get_deployment_group", {"deploymentGroupInfo": info},
                         {"applicationName": APP, "deploymentGroupName": GROUP})


def queue_active(cd_stub, active=()):
    cd_stub.add_response("list_deployments", {"deployments": [d["deploymentId"] for d in active]},
                         {"applicationName": APP, "deploymentGroupName": GROUP, "includeOnlyStatuses": ACTIVE})
    if active:
        cd_stub.add_response("batch_get_deployments", {"deploymentsInfo": list(active)},
                             {"deploymentIds": [d["deploymentId"] for d in active]})


def queue_service(ecs_stub, primary_revision):
    service = {"serviceName": SERVICE, "status": "ACTIVE", "taskDefinition": TD.format(primary_revision),
               "taskSets": [{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": TD.format(primary_revision)}]}
    ecs_stub.add_response("describe_services", {"services": [service]},
                          {"cluster": CLUSTER, "services": [SERVICE]})


def release(aws, check_mode=False, **overrides):
    codedeploy, _cd, ecs, _ecs = aws
    clock = FakeClock()
    return Release(codedeploy, ecs, params(**overrides), check_mode, sleep=clock.sleep, clock=clock), clock


def test_live_revision_creates_nothing(aws):
    _, cd_stub, _, ecs_stub = aws
    queue_group(cd_stub, last_attempted="d-1")
    queue_active(cd_stub)
    queue_service(ecs_stub, 2)
    cd_stub.add_response("get_deployment", {"deploymentInfo": deployment("d-1", "Succeeded", 2)},
                         {"deploymentId": "d-1"})
    run, _ = release(aws)
    result = run.run()
    assert result["changed"] is False
    assert result["attached"] is False
    assert result["deployment_id"] == "d-1"
    assert result["live_task_definition"] == TD.format(2)


def create_params(revision=2, **extra):
    appspec = cd.build_appspec(TD.format(revision), "api", 8080)
    expected = {"applicationName": APP, "deploymentGroupName": GROUP, "revision": cd.appspec_revision(appspec)}
    expected.update(extra)
    return expected


def test_new_revision_is_created_waited_for_and_its_timeline_returned(aws):
    _, cd_stub, _, ecs_stub = aws
    queue_group(cd_stub, last_attempted="d-1")
    queue_active(cd_stub)
    queue_service(ecs_stub, 1)
    cd_stub.add_response("get_deployment", {"deploymentInfo": deployment("d-1", "Succeeded", 1)},
                         {"deploymentId": "d-1"})
    cd_stub.add_response("create_deployment", {"deploymentId": "d-2"},
                         create_params(description="release v2"))
    queue_poll(cd_stub, deployment("d-2", "InProgress"), ecs_target("d-2", {"Blue": 100.0, "Green": 0.0}),
               list_targets=True)
    queue_poll(cd_stub, deployment("d-2", "InProgress"), ecs_target("d-2", {"Blue": 80.0, "Green": 20.0}))
    queue_poll(cd_stub, deployment("d-2", "InProgress"), ecs_target("d-2", {"Blue": 60.0, "Green": 40.0}))
    queue_poll(cd_stub, deployment("d-2", "InProgress"), ecs_target("d-2", {"Blue": 0.0, "Green": 100.0}))
    queue_poll(cd_stub, deployment("d-2", "Succeeded"), ecs_target("d-2", {"Blue": 0.0, "Green": 100.0}))
    run, clock = release(aws, description="release v2")
    result = run.run()
    assert result["changed"] is True
    assert result["deployment_id"] == "d-2"
    assert result["status"] == "Succeeded"
    weights = [e["weights"]["green"] for e in result["progress"] if e["type"] == "traffic"]
    assert weights == [0.0, 20.0, 40.0, 100.0]
    assert [e["status"] for e in result["progress"] if e["type"] == "status"] == ["InProgress", "Succeeded"]
    assert clock.sleeps == [2.0, 2.0, 2.0, 2.0]
    assert result["appspec"]["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] == TD.format(2)


def test_same_revision_after_a_failed_attempt_is_deployed_again(aws):
    _, cd_stub, _, ecs_stub = aws
    queue_group(cd_stub, last_attempted="d-1")
    queue_active(cd_stub)
    queue_service(ecs_stub, 2)
    cd_stub.add_response("get_deployment", {"deploymentInfo": deployment("d-1", "Failed", 2)},
                         {"deploymentId": "d-1"})
    run, _ = release(aws, check_mode=True)
    result = run.run()
    assert result["changed"] is True        # check mode: would create, and created nothing (no stub queued)
    assert "deployment_id" not in result


def test_check_mode_reports_the_deployment_it_would_create(aws):
    _, cd_stub, _, ecs_stub = aws
    queue_group(cd_stub)
    queue_active(cd_stub)
    queue_service(ecs_stub, 1)
    run, _ = release(aws, check_mode=True)
    result = run.run()
    assert result["changed"] is True
    assert result["live_task_definition"] == TD.format(1)
    assert result["appspec"]["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] == TD.format(2)


def test_attaches_to_a_deployment_of_the_same_revision_in_progress(aws):
    _, cd_stub, _, ecs_stub = aws
    queue_group(cd_stub)
    queue_active(cd_stub, [deployment("d-7", "InProgress", 2)])
    queue_service(ecs_stub, 1)
    queue_poll(cd_stub, deployment("d-7", "InProgress"), ecs_target("d-7", {"Blue": 50.0, "Green": 50.0}),
               list_targets=True)
    queue_poll(cd_stub, deployment("d-7", "Succeeded"), ecs_target("d-7", {"Blue": 0.0, "Green": 100.0}))
    run, _ = release(aws)
    result = run.run()
    assert (result["changed"], result["attached"], result["deployment_id"]) == (False, True, "d-7")
    assert result["status"] == "Succeeded"


def test_another_revision_in_progress_fails_clearly(aws):
    _, cd_stub, _, ecs_stub = aws
    queue_group(cd_stub)
    queue_active(cd_stub, [deployment("d-8", "InProgress", 3)])
    queue_service(ecs_stub, 1)
    run, _ = release(aws)
    with pytest.raises(cd.CodeDeployError, match=r"d-8 of .*api:3 is InProgress.*one deployment per group"):
        run.run()


def test_missing_group_fails_clearly(aws):
    _, cd_stub, _, _ = aws
    cd_stub.add_client_error("get_deployment_group", "DeploymentGroupDoesNotExistException", "nope")
    run, _ = release(aws)
    with pytest.raises(cd.CodeDeployError, match="shop-api of application shop does not exist"):
        run.run()


def test_failed_deployment_raises_with_reason_and_follows_the_rollback(aws):
    _, cd_stub, _, ecs_stub = aws
    queue_group(cd_stub)
    queue_active(cd_stub)
    queue_service(ecs_stub, 1)
    cd_stub.add_response("create_deployment", {"deploymentId": "d-2"}, create_params())
    queue_poll(cd_stub, deployment("d-2", "InProgress"), ecs_target("d-2", {"Blue": 90.0, "Green": 10.0}),
               list_targets=True)
    failed = deployment("d-2", "Failed",
                        errorInformation={"code": "ALARM_ACTIVE", "message": "alarm api-5xx is in ALARM"},
                        rollbackInfo={"rollbackDeploymentId": "d-3", "rollbackMessage": "rolled back"})
    queue_poll(cd_stub, failed, ecs_target("d-2", {"Blue": 100.0, "Green": 0.0}))
    queue_poll(cd_stub, deployment("d-3", "InProgress", 1, creator="codeDeployRollback"),
               ecs_target("d-3", {"Blue": 100.0, "Green": 0.0}), list_targets=True)
    queue_poll(cd_stub, deployment("d-3", "Succeeded", 1), ecs_target("d-3", {"Blue": 100.0, "Green": 0.0}))
    run, _ = release(aws)
    with pytest.raises(cd.CodeDeployError) as raised:
        run.run()
    error = raised.value
    assert "Failed: ALARM_ACTIVE alarm api-5xx is in ALARM" in error.msg
    assert "rolled back by deployment d-3" in error.msg
    assert error.result["error_information"] == {"code": "ALARM_ACTIVE", "message": "alarm api-5xx is in ALARM"}
    assert error.result["rollback_info"]["rollback_deployment_id"] == "d-3"
    assert error.result["rollback_deployment"]["status"] == "Succeeded"
    assert error.result["rollback_deployment"]["task_definition_arn"] == TD.format(1)
    assert {e["deployment_id"] for e in error.result["progress"]} == {"d-2", "d-3"}


def test_timeout_fails_with_the_progress_so_far(aws):
    _, cd_stub, _, ecs_stub = aws
    queue_group(cd_stub)
    queue_active(cd_stub)
    queue_service(ecs_stub, 1)
    cd_stub.add_response("create_deployment", {"deploymentId": "d-2"}, create_params())
    queue_poll(cd_stub, deployment("d-2", "InProgress"), ecs_target("d-2", {"Blue": 100.0, "Green": 0.0}),
               list_targets=True)
    for _ in range(3):
        queue_poll(cd_stub, deployment("d-2", "InProgress"), ecs_target("d-2", {"Blue": 100.0, "Green": 0.0}))
    run, clock = release(aws, wait_timeout=10.0, poll_interval=4.0)
    with pytest.raises(cd.CodeDeployError, match="Timed out after 10s waiting for deployment d-2"):
        run.run()
    assert clock.sleeps == [4.0, 4.0, 2.0]


def test_ready_deployment_is_returned_not_waited_out(aws):
    _, cd_stub, _, ecs_stub = aws
    queue_group(cd_stub)
    queue_active(cd_stub)
    queue_service(ecs_stub, 1)
    cd_stub.add_response("create_deployment", {"deploymentId": "d-2"}, create_params())
    queue_poll(cd_stub, deployment("d-2", "Ready"), ecs_target("d-2", {"Blue": 100.0, "Green": 0.0}),
               list_targets=True)
    run, _ = release(aws)
    result = run.run()
    assert (result["changed"], result["status"]) == (True, "Ready")


# -- Release (state=stopped / continued) -------------------------------------------------------
def test_stop_the_active_deployment_with_rollback(aws):
    _, cd_stub, _, _ = aws
    queue_group(cd_stub)
    queue_active(cd_stub, [deployment("d-5", "InProgress")])
    cd_stub.add_response("stop_deployment", {"status": "Pending", "statusMessage": "stopping"},
                         {"deploymentId": "d-5", "autoRollbackEnabled": True})
    queue_poll(cd_stub, deployment("d-5", "InProgress"), ecs_target("d-5", {"Blue": 90.0, "Green": 10.0}),
               list_targets=True)
    stopped = deployment("d-5", "Stopped", errorInformation={"code": "MANUAL_STOP", "message": "stopped"})
    queue_poll(cd_stub, stopped, ecs_target("d-5", {"Blue": 100.0, "Green": 0.0}))
    run, _ = release(aws, state="stopped")
    result = run.run()
    assert (result["changed"], result["status"], result["stop_status"]) == (True, "Stopped", "Pending")
    assert result["error_information"]["code"] == "MANUAL_STOP"


def test_stop_with_nothing_running_changes_nothing(aws):
    _, cd_stub, _, _ = aws
    queue_group(cd_stub)
    queue_active(cd_stub)
    run, _ = release(aws, state="stopped")
    assert run.run()["changed"] is False


def test_stop_in_check_mode_writes_nothing(aws):
    _, cd_stub, _, _ = aws
    cd_stub.add_response("get_deployment", {"deploymentInfo": deployment("d-5", "InProgress")},
                         {"deploymentId": "d-5"})
    run, _ = release(aws, check_mode=True, state="stopped", deployment_id="d-5")
    result = run.run()
    assert (result["changed"], result["deployment_id"]) == (True, "d-5")


def test_continue_a_ready_deployment(aws):
    _, cd_stub, _, _ = aws
    queue_group(cd_stub)
    queue_active(cd_stub, [deployment("d-6", "Ready")])
    cd_stub.add_response("continue_deployment", {},
                         {"deploymentId": "d-6", "deploymentWaitType": "READY_WAIT"})
    queue_poll(cd_stub, deployment("d-6", "Ready"), ecs_target("d-6", {"Blue": 100.0, "Green": 0.0}),
               list_targets=True)            # CodeDeploy has not acted on the continue yet
    queue_poll(cd_stub, deployment("d-6", "InProgress"), ecs_target("d-6", {"Blue": 0.0, "Green": 100.0}))
    queue_poll(cd_stub, deployment("d-6", "Succeeded"), ecs_target("d-6", {"Blue": 0.0, "Green": 100.0}))
    run, _ = release(aws, state="continued")
    result = run.run()
    assert (result["changed"], result["status"]) == (True, "Succeeded")


def test_continue_waits_for_the_deployment_to_become_ready(aws):
    _, cd_stub, _, _ = aws
    queue_group(cd_stub)
    queue_active(cd_stub, [deployment("d-6", "InProgress")])
    queue_poll(cd_stub, deployment("d-6", "InProgress"), ecs_target("d-6", {"Blue": 100.0, "Green": 0.0}),
               list_targets=True)
    queue_poll(cd_stub, deployment("d-6", "Ready"), ecs_target("d-6", {"Blue": 100.0, "Green": 0.0}))
    run, _ = release(aws, state="continued", check_mode=True)
    result = run.run()
    assert (result["changed"], result["status"]) == (True, "Ready")


def test_continue_with_nothing_waiting_changes_nothing(aws):
    _, cd_stub, _, _ = aws
    cd_stub.add_response("get_deployment", {"deploymentInfo": deployment("d-6", "Succeeded")},
                         {"deploymentId": "d-6"})
    run, _ = release(aws, state="continued", deployment_id="d-6")
    assert run.run()["changed"] is False


def test_group_without_ecs_service_is_refused(aws):
    _, cd_stub, _, _ = aws
    cd_stub.add_response("get_deployment_group",
                         {"deploymentGroupInfo": {"applicationName": APP, "deploymentGroupName": GROUP}},
                         {"applicationName": APP, "deploymentGroupName": GROUP})
    queue_active(cd_stub)
    run, _ = release(aws)
    with pytest.raises(cd.CodeDeployError, match="has no ECS service"):
        run.run()
