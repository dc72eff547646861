"""codedeploy_application: create, tag comparison, compute platform and check mode."""

from __future__ import annotations

import pytest
from _codedeploy_stubs import FakeModule, stubbed
from ansible_collections.seed.fargate.plugins.modules import (
    codedeploy_application as module_under_test,
)

ARN = "arn:aws:codedeploy:us-east-1:123456789012:application:shop"


def params(**overrides):
    base = {"name": "shop", "state": "present", "compute_platform": "ECS", "tags": {"team": "shop"},
            "purge_tags": True}
    base.update(overrides)
    return base


@pytest.fixture
def client():
    wrapped, stubber = stubbed("codedeploy")
    yield wrapped, stubber
    stubber.assert_no_pending_responses()


def existing(tags=None, platform="ECS"):
    return {"applicationId": "app-1", "applicationName": "shop", "computePlatform": platform,
            "applicationArn": ARN, "tags": dict(tags or {})}


def test_create_with_tags(client):
    wrapped, stubber = client
    stubber.add_response("create_application", {"applicationId": "app-1"},
                         {"applicationName": "shop", "computePlatform": "ECS",
                          "tags": [{"Key": "team", "Value": "shop"}]})
    stubber.add_response("get_application", {"application": {"applicationId": "app-1", "applicationName": "shop",
                                                             "computePlatform": "ECS"}},
                         {"applicationName": "shop"})
    stubber.add_response("list_tags_for_resource", {"Tags": [{"Key": "team", "Value": "shop"}]}, {"ResourceArn": ARN})
    changed, before, after = module_under_test.ensure_present(FakeModule(params()), wrapped, "shop", ARN, None)
    assert changed is True and before == {}
    assert after["applicationId"] == "app-1" and after["tags"] == {"team": "shop"}


def test_create_in_check_mode_writes_nothing(client):
    wrapped, _ = client
    changed, _, after = module_under_test.ensure_present(FakeModule(params(), check_mode=True), wrapped, "shop",
                                                         ARN, None)
    assert changed is True
    assert after["tags"] == {"team": "shop"}


def test_unchanged(client):
    wrapped, _ = client
    changed, before, after = module_under_test.ensure_present(FakeModule(params()), wrapped, "shop", ARN,
                                                              existing({"team": "shop"}))
    assert changed is False and before == after


def test_tags_none_leaves_tags_alone(client):
    wrapped, _ = client
    changed, _, after = module_under_test.ensure_present(FakeModule(params(tags=None)), wrapped, "shop", ARN,
                                                         existing({"other": "x"}))
    assert changed is False and after["tags"] == {"other": "x"}


def test_tags_are_purged_and_added(client):
    wrapped, stubber = client
    stubber.add_response("untag_resource", {}, {"ResourceArn": ARN, "TagKeys": ["old"]})
    stubber.add_response("tag_resource", {}, {"ResourceArn": ARN, "Tags": [{"Key": "team", "Value": "shop"}]})
    changed, _, after = module_under_test.ensure_present(FakeModule(params()), wrapped, "shop", ARN,
                                                         existing({"old": "1"}))
    assert changed is True and after["tags"] == {"team": "shop"}


def test_purge_false_keeps_other_tags(client):
    wrapped, stubber = client
    stubber.add_response("tag_resource", {}, {"ResourceArn": ARN, "Tags": [{"Key": "team", "Value": "shop"}]})
    changed, _, after = module_under_test.ensure_present(FakeModule(params(purge_tags=False)), wrapped, "shop", ARN,
                                                         existing({"old": "1"}))
    assert changed is True and after["tags"] == {"old": "1", "team": "shop"}


def test_other_compute_platform_fails(client):
    wrapped, _ = client
    with pytest.raises(FakeModule.Failed, match="cannot change it to ECS"):
        module_under_test.ensure_present(FakeModule(params()), wrapped, "shop", ARN, existing(platform="Server"))
