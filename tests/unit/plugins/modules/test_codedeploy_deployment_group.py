"""codedeploy_deployment_group: desired spec vs AWS's description, update/create calls, check mode."""

from __future__ import annotations

import copy

import pytest
from _codedeploy_stubs import FakeModule, stubbed
from ansible_collections.seed.fargate.plugins.module_utils import codedeploy as cd
from ansible_collections.seed.fargate.plugins.modules import (
    codedeploy_deployment_group as module_under_test,
)

PROD = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/1/prod"
TEST = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/1/test"
ROLE = "arn:aws:iam::123456789012:role/codedeploy"
ARN = "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:shop/shop-api"


def params(**overrides):
    base = {
        "application_name": "shop", "name": "shop-api", "state": "present", "service_role_arn": ROLE,
        "deployment_config_name": "CodeDeployDefault.ECSAllAtOnce", "cluster_name": "shop", "service_name": "api",
        "blue_target_group": "api-blue", "green_target_group": "api-green",
        "production_listener_arns": [PROD], "test_listener_arns": [TEST], "termination_wait_time": 5,
        "action_on_timeout": "CONTINUE_DEPLOYMENT", "ready_wait_time": 0, "auto_rollback_on_failure": True,
        "auto_rollback_on_alarm": False, "alarms": [], "ignore_poll_alarm_failure": False,
        "tags": {"team": "shop"}, "purge_tags": True,
    }
    base.update(overrides)
    return base


def aws_description(**overrides):
    """GetDeploymentGroup's answer for the group params() describes, as AWS shapes it."""
    info = {
        "applicationName": "shop", "deploymentGroupId": "dg-1", "deploymentGroupName": "shop-api",
        "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce", "serviceRoleArn": ROLE,
        "ec2TagFilters": [], "onPremisesInstanceTagFilters": [], "autoScalingGroups": [], "triggerConfigurations": [],
        "targetRevision": {},
        "alarmConfiguration": {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []},
        "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "outdatedInstancesStrategy": "UPDATE",
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0},
        },
        "loadBalancerInfo": {"targetGroupPairInfoList": [{
            "targetGroups": [{"name": "api-blue"}, {"name": "api-green"}],
            "prodTrafficRoute": {"listenerArns": [PROD]},
            "testTrafficRoute": {"listenerArns": [TEST]},
        }]},
        "computePlatform": "ECS",
        "ecsServices": [{"serviceName": "api", "clusterName": "shop"}],
        "terminationHookEnabled": False,
    }
    info.update(overrides)
    return info


def test_identical_group_has_no_differences():
    assert cd.spec_differences(cd.build_deployment_group_spec(params()),
                               cd.normalize_deployment_group(aws_description())) == []


def test_unset_structures_compare_equal_to_disabled():
    """AWS omits alarmConfiguration / testTrafficRoute when they were never set."""
    description = aws_description()
    del description["alarmConfiguration"]
    del description["loadBalancerInfo"]["targetGroupPairInfoList"][0]["testTrafficRoute"]
    spec = cd.build_deployment_group_spec(params(test_listener_arns=[]))
    assert cd.spec_differences(spec, cd.normalize_deployment_group(description)) == []


def test_alarm_and_event_order_does_not_matter():
    description = aws_description(
        alarmConfiguration={"enabled": True, "ignorePollAlarmFailure": False, "alarms": [{"name": "b"}, {"name": "a"}]},
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_FAILURE"]},
    )
    spec = cd.build_deployment_group_spec(params(alarms=["a", "b"], auto_rollback_on_alarm=True))
    assert cd.spec_differences(spec, cd.normalize_deployment_group(description)) == []


@pytest.mark.parametrize(("overrides", "field"), [
    ({"deployment_config_name": "shop-canary"}, "deploymentConfigName"),
    ({"termination_wait_time": 60}, "blueGreenDeploymentConfiguration"),
    ({"action_on_timeout": "STOP_DEPLOYMENT", "ready_wait_time": 30}, "blueGreenDeploymentConfiguration"),
    ({"green_target_group": "api-green-2"}, "loadBalancerInfo"),
    ({"test_listener_arns": []}, "loadBalancerInfo"),
    ({"alarms": ["api-5xx"]}, "alarmConfiguration"),
    ({"auto_rollback_on_failure": False}, "autoRollbackConfiguration"),
    ({"service_role_arn": ROLE + "-2"}, "serviceRoleArn"),
])
def test_each_managed_field_is_compared(overrides, field):
    spec = cd.build_deployment_group_spec(params(**overrides))
    assert cd.spec_differences(spec, cd.normalize_deployment_group(aws_description())) == [field]


def test_disabled_rollback_ignores_leftover_events():
    description = aws_description(autoRollbackConfiguration={"enabled": False, "events": ["DEPLOYMENT_FAILURE"]})
    spec = cd.build_deployment_group_spec(params(auto_rollback_on_failure=False))
    assert cd.spec_differences(spec, cd.normalize_deployment_group(description)) == []


@pytest.fixture
def client():
    wrapped, stubber = stubbed("codedeploy")
    yield wrapped, stubber
    stubber.assert_no_pending_responses()


def current(**overrides):
    group = aws_description(**overrides)
    group["tags"] = {"team": "shop"}
    group["deploymentGroupArn"] = ARN
    return group


def test_update_in_place_sends_the_whole_spec_with_current_name(client):
    wrapped, stubber = client
    module = FakeModule(params(deployment_config_name="shop-canary"))
    expected = dict(cd.build_deployment_group_spec(module.params), applicationName="shop",
                    currentDeploymentGroupName="shop-api")
    stubber.add_response("update_deployment_group", {"hooksNotCleanedUp": []}, expected)
    after = aws_description(deploymentConfigName="shop-canary")
    stubber.add_response("get_deployment_group", {"deploymentGroupInfo": after},
                         {"applicationName": "shop", "deploymentGroupName": "shop-api"})
    stubber.add_response("list_tags_for_resource", {"Tags": [{"Key": "team", "Value": "shop"}]}, {"ResourceArn": ARN})
    changed, differences, result = module_under_test.ensure_present(module, wrapped, ARN, current())
    assert changed is True
    assert differences == ["deploymentConfigName"]
    assert result["deploymentConfigName"] == "shop-canary"


def test_check_mode_reports_the_update_and_writes_nothing(client):
    wrapped, _stubber = client      # nothing queued: any call fails the test
    module = FakeModule(params(alarms=["api-5xx"], tags={"team": "shop", "tier": "web"}), check_mode=True)
    changed, differences, result = module_under_test.ensure_present(module, wrapped, ARN, current())
    assert changed is True
    assert differences == ["alarmConfiguration"]
    assert result["alarmConfiguration"]["alarms"] == [{"name": "api-5xx"}]
    assert result["tags"] == {"team": "shop", "tier": "web"}


def test_unchanged_group_makes_no_write(client):
    wrapped, _stubber = client
    changed, differences, result = module_under_test.ensure_present(FakeModule(params()), wrapped, ARN, current())
    assert (changed, differences) == (False, [])
    assert result["deploymentGroupId"] == "dg-1"


def test_tags_only_change_uses_tag_resource(client):
    wrapped, stubber = client
    module = FakeModule(params(tags={"team": "web"}))
    stubber.add_response("tag_resource", {}, {"ResourceArn": ARN, "Tags": [{"Key": "team", "Value": "web"}]})
    stubber.add_response("get_deployment_group", {"deploymentGroupInfo": aws_description()},
                         {"applicationName": "shop", "deploymentGroupName": "shop-api"})
    stubber.add_response("list_tags_for_resource", {"Tags": [{"Key": "team", "Value": "web"}]}, {"ResourceArn": ARN})
    changed, differences, result = module_under_test.ensure_present(module, wrapped, ARN, current())
    assert (changed, differences, result["tags"]) == (True, [], {"team": "web"})


def test_create_sends_spec_and_tags(client):
    wrapped, stubber = client
    module = FakeModule(params())
    expected = dict(cd.build_deployment_group_spec(module.params), applicationName="shop",
                    deploymentGroupName="shop-api", tags=[{"Key": "team", "Value": "shop"}])
    stubber.add_response("create_deployment_group", {"deploymentGroupId": "dg-1"}, expected)
    stubber.add_response("get_deployment_group", {"deploymentGroupInfo": aws_description()},
                         {"applicationName": "shop", "deploymentGroupName": "shop-api"})
    stubber.add_response("list_tags_for_resource", {"Tags": [{"Key": "team", "Value": "shop"}]}, {"ResourceArn": ARN})
    changed, differences, result = module_under_test.ensure_present(module, wrapped, ARN, None)
    assert changed is True and differences is None
    assert result["deploymentGroupArn"] == ARN


def test_validation_rejects_stop_deployment_without_wait_time():
    module = FakeModule(params(action_on_timeout="STOP_DEPLOYMENT", ready_wait_time=0))
    with pytest.raises(FakeModule.Failed, match="ready_wait_time must be greater than 0"):
        module_under_test.validate(module)


def test_validation_needs_alarms_for_alarm_rollback():
    with pytest.raises(FakeModule.Failed, match="needs at least one alarm"):
        module_under_test.validate(FakeModule(params(auto_rollback_on_alarm=True, alarms=[])))


def test_diff_view_shows_the_managed_fields_snake_cased():
    view = module_under_test.diff_view(current())
    assert view["deployment_config_name"] == "CodeDeployDefault.ECSAllAtOnce"
    assert view["load_balancer_info"]["target_group_pair_info_list"][0]["prod_traffic_route"] == {"listener_arns": [PROD]}
    assert view["tags"] == {"team": "shop"}
    assert "deployment_group_id" not in view
    assert copy.deepcopy(view) == module_under_test.diff_view(current())
