"""codedeploy_deployments: several releases started first, then waited for together (module_utils Releases).

AWS is stubbed at the boto level (botocore Stubber on real clients): every call must be one the test
queued, in the order queued, so the order of the calls (every CreateDeployment before the first look
at a deployment; one BatchGetDeployments per round) is part of what is tested.
"""

from __future__ import annotations

import pytest
from _codedeploy_stubs import TD, FakeClock, deployment, stubbed
from ansible_collections.seed.fargate.plugins.module_utils import codedeploy as cd
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy_release import Releases

APP, CLUSTER = "shop", "shop"
ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]
SERVICES = ("api", "web")


@pytest.fixture
def aws():
    codedeploy, cd_stub = stubbed("codedeploy")
    ecs, ecs_stub = stubbed("ecs")
    yield codedeploy, cd_stub, ecs, ecs_stub
    cd_stub.assert_no_pending_responses()
    ecs_stub.assert_no_pending_responses()


def group(service):
    return f"{APP}-{service}"


def entry(service, revision=2):
    return {"deployment_group_name": group(service), "task_definition_arn": TD.format(revision),
            "container_name": "api", "container_port": 8080, "platform_version": None, "hooks": None,
            "description": None, "deployment_config_name": None, "force": False}


def queue_start(cd_stub, ecs_stub, service, deployment_id, live_revision=1):
    """The calls of one release's start: its group, its active deployments, its service, CreateDeployment."""
    cd_stub.add_response("get_deployment_group", {"deploymentGroupInfo": {
        "applicationName": APP, "deploymentGroupName": group(service), "computePlatform": "ECS",
        "ecsServices": [{"clusterName": CLUSTER, "serviceName": service}]}},
        {"applicationName": APP, "deploymentGroupName": group(service)})
    cd_stub.add_response("list_deployments", {"deployments": []},
                         {"applicationName": APP, "deploymentGroupName": group(service), "includeOnlyStatuses": ACTIVE})
    td = TD.format(live_revision)
    ecs_stub.add_response("describe_services", {"services": [{
        "serviceName": service, "status": "ACTIVE", "taskDefinition": td,
        "taskSets": [{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": td}]}]},
        {"cluster": CLUSTER, "services": [service]})
    appspec = cd.build_appspec(TD.format(2), "api", 8080)
    cd_stub.add_response("create_deployment", {"deploymentId": deployment_id},
                         {"applicationName": APP, "deploymentGroupName": group(service),
                          "revision": cd.appspec_revision(appspec)})


def info(service, deployment_id, status, **extra):
    return deployment(deployment_id, status, deploymentGroupName=group(service), **extra)


def queue_targets(cd_stub, service, deployment_id, green, first=False):
    target_id = f"{CLUSTER}:{service}"
    if first:
        cd_stub.add_response("list_deployment_targets", {"targetIds": [target_id]}, {"deploymentId": deployment_id})
    target = {"deploymentId": deployment_id, "targetId": target_id, "status": "InProgress", "lifecycleEvents": [],
              "taskSetsInfo": [{"identifer": f"ecs-svc/{label}", "taskSetLabel": label, "trafficWeight": weight,
                                "targetGroup": {"name": f"{service}-{label.lower()}"}}
                               for label, weight in (("Blue", 100.0 - green), ("Green", green))]}
    cd_stub.add_response("batch_get_deployment_targets",
                         {"deploymentTargets": [{"deploymentTargetType": "ECSTarget", "ecsTarget": target}]},
                         {"deploymentId": deployment_id, "targetIds": [target_id]})


def releases(aws, entries, check_mode=False):
    codedeploy, _cd, ecs, _ecs = aws
    clock = FakeClock()
    params = {"application_name": APP, "deployments": entries, "wait": True, "wait_timeout": 600.0,
              "poll_interval": 2.0}
    return Releases(codedeploy, ecs, params, check_mode, sleep=clock.sleep, clock=clock), clock


def test_every_release_starts_before_the_first_wait_and_a_failure_stops_only_its_own(aws):
    _codedeploy, cd_stub, _ecs, ecs_stub = aws
    queue_start(cd_stub, ecs_stub, "api", "d-API")
    queue_start(cd_stub, ecs_stub, "web", "d-WEB")
    # round 1: one BatchGetDeployments for both; web has failed, api shifts its canary
    failed = info("web", "d-WEB", "Failed", errorInformation={"code": "HEALTH_CONSTRAINTS", "message": "unhealthy"})
    cd_stub.add_response("batch_get_deployments",
                         {"deploymentsInfo": [info("api", "d-API", "InProgress"), failed]},
                         {"deploymentIds": ["d-API", "d-WEB"]})
    queue_targets(cd_stub, "api", "d-API", 10.0, first=True)
    queue_targets(cd_stub, "web", "d-WEB", 0.0, first=True)
    # round 2: only api is still looked at
    cd_stub.add_response("batch_get_deployments", {"deploymentsInfo": [info("api", "d-API", "Succeeded")]},
                         {"deploymentIds": ["d-API"]})
    queue_targets(cd_stub, "api", "d-API", 100.0)

    run, clock = releases(aws, [entry("api"), entry("web")])
    api, web = run.run()

    assert clock.sleeps == [2.0]
    assert (api["deployment_group_name"], api["changed"], api["failed"], api["status"]) == \
        ("shop-api", True, False, "Succeeded")
    assert [e["weights"]["green"] for e in api["progress"] if e["type"] == "traffic"] == [10.0, 100.0]
    assert (web["deployment_group_name"], web["changed"], web["failed"], web["status"]) == \
        ("shop-web", True, True, "Failed")
    assert web["error_information"] == {"code": "HEALTH_CONSTRAINTS", "message": "unhealthy"}
    assert web["msg"] == "Deployment d-WEB ended with status Failed: HEALTH_CONSTRAINTS unhealthy"
    assert {e["deployment_id"] for e in web["progress"]} == {"d-WEB"}


def test_a_group_busy_with_another_revision_fails_alone(aws):
    _codedeploy, cd_stub, _ecs, ecs_stub = aws
    cd_stub.add_response("get_deployment_group", {"deploymentGroupInfo": {
        "applicationName": APP, "deploymentGroupName": group("api"), "computePlatform": "ECS",
        "ecsServices": [{"clusterName": CLUSTER, "serviceName": "api"}]}},
        {"applicationName": APP, "deploymentGroupName": group("api")})
    busy = info("api", "d-BUSY", "InProgress", revision=3)
    cd_stub.add_response("list_deployments", {"deployments": ["d-BUSY"]},
                         {"applicationName": APP, "deploymentGroupName": group("api"), "includeOnlyStatuses": ACTIVE})
    cd_stub.add_response("batch_get_deployments", {"deploymentsInfo": [busy]}, {"deploymentIds": ["d-BUSY"]})
    ecs_stub.add_response("describe_services", {"services": [{"serviceName": "api", "status": "ACTIVE",
                                                              "taskDefinition": TD.format(1)}]},
                          {"cluster": CLUSTER, "services": ["api"]})
    queue_start(cd_stub, ecs_stub, "web", "d-WEB")
    cd_stub.add_response("batch_get_deployments", {"deploymentsInfo": [info("web", "d-WEB", "Succeeded")]},
                         {"deploymentIds": ["d-WEB"]})
    queue_targets(cd_stub, "web", "d-WEB", 100.0, first=True)

    run, clock = releases(aws, [entry("api"), entry("web")])
    api, web = run.run()

    assert clock.sleeps == []
    assert api["failed"] is True and api["changed"] is False and "one deployment per group" in api["msg"]
    assert (web["failed"], web["status"]) == (False, "Succeeded")
