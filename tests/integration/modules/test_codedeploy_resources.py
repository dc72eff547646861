"""codedeploy_application / _deployment_group / _deployment_config against the local endpoint.

Each case: check mode (changes reported, no write call), the change, the re-run
(changed=false and only read calls), --diff, update in place, delete.
"""

from __future__ import annotations

import pytest
from _codedeploy_platform import build

PLAYBOOKS = "tests/integration/modules/playbooks"
PRESENT = f"{PLAYBOOKS}/codedeploy_present.yml"
ABSENT = f"{PLAYBOOKS}/codedeploy_absent.yml"
CONFIG = f"{PLAYBOOKS}/codedeploy_config.yml"


@pytest.fixture
def platform(boto):
    return build(boto)


def group(boto, platform):
    return boto("codedeploy").get_deployment_group(applicationName=platform["app_name"],
                                                   deploymentGroupName=platform["group_name"])["deploymentGroupInfo"]


def tags(boto, resource):
    arn = f"arn:aws:codedeploy:us-east-1:123456789012:{resource}"
    return {t["Key"]: t["Value"] for t in boto("codedeploy").list_tags_for_resource(ResourceArn=arn)["Tags"]}


def write_actions(run):
    return [c["action"] for c in run.writes]


def test_application_and_group_lifecycle(run_playbook, boto, platform):
    codedeploy = boto("codedeploy")
    first = dict(platform, app_tags={"team": "shop"}, group_tags={"team": "shop", "tier": "api"})

    check = run_playbook(PRESENT, first, check=True)
    assert check.rc == 0, check.failure_messages() or check.stderr
    assert check.changed == 2
    assert write_actions(check) == []
    assert codedeploy.list_applications()["applications"] == []

    created = run_playbook(PRESENT, first)
    assert created.rc == 0, created.failure_messages() or created.stderr
    assert created.changed == 2
    assert write_actions(created) == ["CreateApplication", "CreateDeploymentGroup"]
    info = group(boto, platform)
    assert info["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    pair = info["loadBalancerInfo"]["targetGroupPairInfoList"][0]
    assert [g["name"] for g in pair["targetGroups"]] == ["api-blue", "api-green"]
    assert pair["prodTrafficRoute"]["listenerArns"] == [platform["prod_listener_arn"]]
    assert pair["testTrafficRoute"]["listenerArns"] == [platform["test_listener_arn"]]
    assert info["ecsServices"] == [{"serviceName": "api", "clusterName": "shop"}]
    assert info["autoRollbackConfiguration"] == {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
    assert tags(boto, "application:shop") == {"team": "shop"}
    assert tags(boto, "deploymentgroup:shop/shop-api") == {"team": "shop", "tier": "api"}
    result = created.task_results("Deployment group")[0]["deployment_group"]
    assert result["deployment_group_arn"].endswith(":deploymentgroup:shop/shop-api")
    assert result["tags"] == {"team": "shop", "tier": "api"}

    again = run_playbook(PRESENT, first)
    assert again.rc == 0 and again.changed == 0
    assert write_actions(again) == []
    # The ARNs (for the tags) from the caller's account, or with account_id given, from it without an STS call.
    assert [c["action"] for c in again.calls if c["service"] == "sts"] == ["GetCallerIdentity"] * 2
    known = run_playbook(PRESENT, dict(first, account_id="123456789012"))
    assert known.rc == 0 and known.changed == 0 and [c for c in known.calls if c["service"] == "sts"] == []
    bad = run_playbook(PRESENT, dict(first, account_id="1234"))
    assert bad.rc != 0 and bad.calls == [] and any("12-digit" in m for m in bad.failure_messages())

    updated_vars = dict(first, deployment_config_name="CodeDeployDefault.ECSCanary10Percent5Minutes",
                        termination_wait_time=15, alarms=[platform["alarm_name"]], auto_rollback_on_alarm=True,
                        use_test_listener=False, group_tags={"team": "shop"})
    preview = run_playbook(PRESENT, updated_vars, check=True, diff=True)
    assert preview.rc == 0 and preview.changed == 1
    assert write_actions(preview) == []
    diff = preview.task_results("Deployment group")[0]["diff"]
    assert diff["before"]["deployment_config_name"] == "CodeDeployDefault.ECSAllAtOnce"
    assert diff["after"]["deployment_config_name"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    assert diff["after"]["alarm_configuration"]["alarms"] == [{"name": "api-5xx"}]
    assert diff["after"]["tags"] == {"team": "shop"}
    assert sorted(preview.task_results("Deployment group")[0]["differences"]) == [
        "alarm_configuration", "auto_rollback_configuration", "blue_green_deployment_configuration",
        "deployment_config_name", "load_balancer_info"]
    assert group(boto, platform)["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"

    update = run_playbook(PRESENT, updated_vars)
    assert update.rc == 0 and update.changed == 1, update.failure_messages()
    assert write_actions(update) == ["UpdateDeploymentGroup", "UntagResource"]
    info = group(boto, platform)
    assert info["deploymentConfigName"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    assert info["blueGreenDeploymentConfiguration"]["terminateBlueInstancesOnDeploymentSuccess"][
        "terminationWaitTimeInMinutes"] == 15
    assert info["alarmConfiguration"]["alarms"] == [{"name": "api-5xx"}]
    assert sorted(info["autoRollbackConfiguration"]["events"]) == ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
    assert "testTrafficRoute" not in info["loadBalancerInfo"]["targetGroupPairInfoList"][0] or not \
        info["loadBalancerInfo"]["targetGroupPairInfoList"][0]["testTrafficRoute"].get("listenerArns")
    assert tags(boto, "deploymentgroup:shop/shop-api") == {"team": "shop"}

    assert run_playbook(PRESENT, updated_vars).changed == 0

    remove_check = run_playbook(ABSENT, platform, check=True)
    assert remove_check.rc == 0 and remove_check.changed == 2 and write_actions(remove_check) == []
    removed = run_playbook(ABSENT, platform)
    assert removed.rc == 0 and removed.changed == 2
    assert write_actions(removed) == ["DeleteDeploymentGroup", "DeleteApplication"]
    assert codedeploy.list_applications()["applications"] == []
    assert run_playbook(ABSENT, platform).changed == 0


def test_invalid_group_settings_fail_before_any_call(run_playbook, platform):
    run = run_playbook(PRESENT, dict(platform, action_on_timeout="STOP_DEPLOYMENT"))
    assert run.rc != 0
    assert any("ready_wait_time must be greater than 0" in m for m in run.failure_messages())
    assert not [c for c in run.calls if c["service"] == "codedeploy" and c["action"].endswith("DeploymentGroup")
                and c["kind"] == "write"]


def test_aws_rejection_is_reported(run_playbook, platform):
    """A service that is not CODE_DEPLOY-controlled / does not exist: AWS's error reaches the user."""
    run = run_playbook(PRESENT, dict(platform, service_name="missing"))
    assert run.rc != 0
    assert any("Failed to manage CodeDeploy deployment group shop-api of shop" in m and "missing" in m
               for m in run.failure_messages())


def test_endpoint_url_option_reaches_the_endpoint(run_playbook, aws_env, endpoint, platform):
    aws_env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"       # nothing listens there
    run = run_playbook(f"{PLAYBOOKS}/codedeploy_endpoint_url.yml", dict(platform, endpoint=endpoint.url))
    assert run.rc == 0, run.failure_messages() or run.stderr
    assert run.changed == 1
    assert "CreateApplication" in write_actions(run)


def test_deployment_config_lifecycle(run_playbook, boto):
    canary = {"config_name": "shop-canary-20-1", "routing": "TimeBasedCanary", "percentage": 20, "interval": 1}

    check = run_playbook(CONFIG, canary, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and write_actions(check) == []
    assert check.task_results("Deployment config")[0]["diff"]["after"]["traffic_routing_config"] == {
        "type": "TimeBasedCanary", "time_based_canary": {"canary_percentage": 20, "canary_interval": 1}}

    created = run_playbook(CONFIG, canary)
    assert created.rc == 0 and created.changed == 1
    assert write_actions(created) == ["CreateDeploymentConfig"]
    info = boto("codedeploy").get_deployment_config(deploymentConfigName="shop-canary-20-1")["deploymentConfigInfo"]
    assert info["computePlatform"] == "ECS"
    assert info["trafficRoutingConfig"]["timeBasedCanary"] == {"canaryPercentage": 20, "canaryInterval": 1}

    again = run_playbook(CONFIG, canary, diff=True)
    assert again.rc == 0 and again.changed == 0 and write_actions(again) == []

    conflict = run_playbook(CONFIG, dict(canary, percentage=30))
    assert conflict.rc != 0
    message = conflict.failure_messages()[0]
    assert "exists as TimeBasedCanary 20% then the rest after 1 min" in message
    assert "TimeBasedCanary 30% then the rest after 1 min was requested" in message
    assert "cannot update" in message
    assert write_actions(conflict) == []

    predefined = run_playbook(CONFIG, {"config_name": "CodeDeployDefault.ECSAllAtOnce"})
    assert predefined.rc != 0 and "predefined" in predefined.failure_messages()[0]

    gone = run_playbook(CONFIG, dict(canary, config_state="absent"))
    assert gone.rc == 0 and gone.changed == 1 and write_actions(gone) == ["DeleteDeploymentConfig"]
    assert run_playbook(CONFIG, dict(canary, config_state="absent")).changed == 0


def test_linear_and_all_at_once_configs(run_playbook, boto):
    linear = {"config_name": "shop-linear-25-1", "routing": "TimeBasedLinear", "percentage": 25, "interval": 1}
    assert run_playbook(CONFIG, linear).changed == 1
    assert run_playbook(CONFIG, linear).changed == 0
    all_at_once = {"config_name": "shop-all"}
    assert run_playbook(CONFIG, all_at_once).changed == 1
    info = boto("codedeploy").get_deployment_config(deploymentConfigName="shop-all")["deploymentConfigInfo"]
    assert info["trafficRoutingConfig"]["type"] == "AllAtOnce"
    assert run_playbook(CONFIG, all_at_once).changed == 0
