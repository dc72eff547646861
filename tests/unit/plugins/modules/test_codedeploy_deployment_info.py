"""codedeploy_deployment_info: listing, ordering, filters and targets."""

from __future__ import annotations

import datetime

import pytest
from _codedeploy_stubs import T0, TD, deployment, ecs_target, stubbed
from ansible_collections.seed.fargate.plugins.modules import (
    codedeploy_deployment_info as module_under_test,
)


def params(**overrides):
    base = {"application_name": "shop", "deployment_group_name": "shop-api", "deployment_ids": None,
            "statuses": None, "max_results": 10, "include_targets": False}
    base.update(overrides)
    return base


@pytest.fixture
def client():
    wrapped, stubber = stubbed("codedeploy")
    yield wrapped, stubber
    stubber.assert_no_pending_responses()


def at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


def test_latest_first_limited_and_paginated(client):
    wrapped, stubber = client
    group = {"applicationName": "shop", "deploymentGroupName": "shop-api"}
    stubber.add_response("list_deployments", {"deployments": ["d-1", "d-2"], "nextToken": "t"}, group)
    stubber.add_response("list_deployments", {"deployments": ["d-3"]}, dict(group, nextToken="t"))
    stubber.add_response("batch_get_deployments", {"deploymentsInfo": [
        deployment("d-1", "Succeeded", 1, createTime=at(1)),
        deployment("d-3", "Failed", 3, createTime=at(3)),
        deployment("d-2", "Succeeded", 2, createTime=at(2)),
    ]}, {"deploymentIds": ["d-1", "d-2", "d-3"]})
    result = module_under_test.read_deployments(wrapped, params(max_results=2))
    assert [d["deployment_id"] for d in result] == ["d-3", "d-2"]
    assert result[0]["task_definition_arn"] == TD.format(3)
    assert "lifecycle_events" not in result[0]


def test_statuses_are_passed_to_aws(client):
    wrapped, stubber = client
    stubber.add_response("list_deployments", {"deployments": []},
                         {"applicationName": "shop", "deploymentGroupName": "shop-api",
                          "includeOnlyStatuses": ["InProgress", "Ready"]})
    assert module_under_test.read_deployments(wrapped, params(statuses=["InProgress", "Ready"])) == []


def test_by_id_with_targets(client):
    wrapped, stubber = client
    stubber.add_response("batch_get_deployments", {"deploymentsInfo": [deployment("d-9", "InProgress")]},
                         {"deploymentIds": ["d-9"]})
    stubber.add_response("list_deployment_targets", {"targetIds": ["shop:api"]}, {"deploymentId": "d-9"})
    target = ecs_target("d-9", {"Blue": 90.0, "Green": 10.0}, {"AllowTraffic": "InProgress"})
    stubber.add_response("batch_get_deployment_targets",
                         {"deploymentTargets": [{"deploymentTargetType": "ECSTarget", "ecsTarget": target}]},
                         {"deploymentId": "d-9", "targetIds": ["shop:api"]})
    result = module_under_test.read_deployments(wrapped, params(deployment_ids=["d-9"], deployment_group_name=None,
                                                                include_targets=True))
    assert result[0]["lifecycle_events"] == [{"lifecycle_event_name": "AllowTraffic", "status": "InProgress"}]
    assert {t["task_set_label"]: t["traffic_weight"] for t in result[0]["task_sets"]} == {"Blue": 90.0, "Green": 10.0}


def test_target_not_started_yet(client):
    wrapped, stubber = client
    stubber.add_response("batch_get_deployments", {"deploymentsInfo": [deployment("d-9", "Created")]},
                         {"deploymentIds": ["d-9"]})
    stubber.add_client_error("list_deployment_targets", "DeploymentNotStartedException", "not started")
    result = module_under_test.read_deployments(wrapped, params(deployment_ids=["d-9"], include_targets=True))
    assert result[0]["lifecycle_events"] == [] and result[0]["status"] == "Created"


def test_missing_group_has_no_deployments(client):
    wrapped, stubber = client
    stubber.add_client_error("list_deployments", "DeploymentGroupDoesNotExistException", "no such group")
    assert module_under_test.read_deployments(wrapped, params()) == []
