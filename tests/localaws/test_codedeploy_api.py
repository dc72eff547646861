"""CodeDeploy API calls moto lacks, their validation, and ECS's CODE_DEPLOY rules — over HTTP."""

from __future__ import annotations

import os

import pytest
from botocore.exceptions import ClientError

ECS_CONFIGS = ["CodeDeployDefault.ECSAllAtOnce", "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
               "CodeDeployDefault.ECSLinear10PercentEvery3Minutes", "CodeDeployDefault.ECSCanary10Percent5Minutes",
               "CodeDeployDefault.ECSCanary10Percent15Minutes"]


def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def test_update_service_refuses_task_definition_on_code_deploy(platform):
    p = platform
    with pytest.raises(ClientError) as exc:
        p.ecs.update_service(cluster=p.cluster, service=p.service, taskDefinition=p.td2)
    assert code(exc) == "InvalidParameterException"
    assert exc.value.response["Error"]["Message"] == (
        "Unable to update task definition on services with a CODE_DEPLOY deployment controller. "
        "Use AWS CodeDeploy to trigger a new deployment.")
    with pytest.raises(ClientError) as exc:
        p.ecs.update_service(cluster=p.cluster, service=p.service, forceNewDeployment=True)
    assert code(exc) == "InvalidParameterException"
    # what community.aws.ecs_service sends for CODE_DEPLOY services is accepted
    service = p.ecs.update_service(cluster=p.cluster, service=p.service, taskDefinition="", desiredCount=3)["service"]
    assert service["desiredCount"] == 3 and service["taskDefinition"] == p.td1
    assert service["taskSets"][0]["computedDesiredCount"] == 3
    # task sets of CODE_DEPLOY services are CodeDeploy's
    with pytest.raises(ClientError) as exc:
        p.ecs.create_task_set(cluster=p.cluster, service=p.service, taskDefinition=p.td2)
    assert code(exc) == "InvalidParameterException"
    assert p.ecs.describe_task_sets(cluster=p.cluster, service=p.service)["taskSets"][0]["status"] == "PRIMARY"
    # clusters created without capacity providers report empty lists, as AWS does
    p.ecs.create_cluster(clusterName="plain")
    cluster = p.ecs.describe_clusters(clusters=["plain"])["clusters"][0]
    assert cluster["capacityProviders"] == []
    assert cluster["defaultCapacityProviderStrategy"] == []


def test_deployment_configs(platform):
    cd = platform.cd
    names = cd.list_deployment_configs()["deploymentConfigsList"]
    assert set(ECS_CONFIGS) <= set(names)
    canary = cd.get_deployment_config(deploymentConfigName="CodeDeployDefault.ECSCanary10Percent5Minutes")[
        "deploymentConfigInfo"]
    assert canary["computePlatform"] == "ECS"
    assert canary["trafficRoutingConfig"] == {
        "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5}}
    with pytest.raises(ClientError) as exc:
        cd.get_deployment_config(deploymentConfigName="nope")
    assert code(exc) == "DeploymentConfigDoesNotExistException"

    config_id = cd.create_deployment_config(
        deploymentConfigName="Canary20", computePlatform="ECS",
        trafficRoutingConfig={"type": "TimeBasedCanary",
                              "timeBasedCanary": {"canaryPercentage": 20, "canaryInterval": 2}})["deploymentConfigId"]
    info = cd.get_deployment_config(deploymentConfigName="Canary20")["deploymentConfigInfo"]
    assert info["deploymentConfigId"] == config_id and info["computePlatform"] == "ECS"
    assert "Canary20" in cd.list_deployment_configs()["deploymentConfigsList"]
    with pytest.raises(ClientError) as exc:
        cd.create_deployment_config(deploymentConfigName="Canary20", computePlatform="ECS",
                                    trafficRoutingConfig={"type": "AllAtOnce"})
    assert code(exc) == "DeploymentConfigAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        cd.create_deployment_config(deploymentConfigName="NoRouting", computePlatform="ECS")
    assert code(exc) == "InvalidTrafficRoutingConfigurationException"
    with pytest.raises(ClientError) as exc:
        cd.delete_deployment_config(deploymentConfigName="CodeDeployDefault.ECSAllAtOnce")
    assert code(exc) == "InvalidOperationException"

    platform.group(config="Canary20")
    with pytest.raises(ClientError) as exc:
        cd.delete_deployment_config(deploymentConfigName="Canary20")
    assert code(exc) == "DeploymentConfigInUseException"
    cd.update_deployment_group(applicationName=platform.app, currentDeploymentGroupName="web-dg",
                               deploymentConfigName="CodeDeployDefault.ECSAllAtOnce")
    cd.delete_deployment_config(deploymentConfigName="Canary20")
    assert "Canary20" not in cd.list_deployment_configs()["deploymentConfigsList"]
    cd.delete_deployment_config(deploymentConfigName="Canary20")  # AWS: deleting a missing config is no error


def test_deployment_group_round_trip_update_rename_delete(platform):
    p, cd = platform, platform.cd
    p.group(rollback_events=["DEPLOYMENT_FAILURE"], alarms=["a1"], termination_wait=5,
            tags=[{"Key": "team", "Value": "web"}])
    info = cd.get_deployment_group(applicationName=p.app, deploymentGroupName="web-dg")["deploymentGroupInfo"]
    assert info["computePlatform"] == "ECS"
    assert info["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert info["ecsServices"] == [{"serviceName": "web", "clusterName": "web"}]
    assert info["serviceRoleArn"] == p.role
    assert info["autoRollbackConfiguration"] == {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
    assert info["alarmConfiguration"] == {"enabled": True, "ignorePollAlarmFailure": False, "alarms": [{"name": "a1"}]}
    assert info["blueGreenDeploymentConfiguration"]["terminateBlueInstancesOnDeploymentSuccess"] == {
        "action": "TERMINATE", "terminationWaitTimeInMinutes": 5}
    pair = info["loadBalancerInfo"]["targetGroupPairInfoList"][0]
    assert pair["prodTrafficRoute"]["listenerArns"] == [p.prod_listener]
    assert pair["testTrafficRoute"]["listenerArns"] == [p.test_listener]
    arn = f"arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:{p.app}/web-dg"
    assert cd.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "web"}]

    with pytest.raises(ClientError) as exc:
        p.group()
    assert code(exc) == "DeploymentGroupAlreadyExistsException"

    cd.update_deployment_group(
        applicationName=p.app, currentDeploymentGroupName="web-dg", newDeploymentGroupName="web-dg2",
        autoRollbackConfiguration={"enabled": False, "events": []},
        alarmConfiguration={"enabled": False, "alarms": []},
        blueGreenDeploymentConfiguration={"terminateBlueInstancesOnDeploymentSuccess": {
            "action": "TERMINATE", "terminationWaitTimeInMinutes": 0},
            "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30}},
        deploymentConfigName="CodeDeployDefault.ECSLinear10PercentEvery1Minutes")
    assert cd.list_deployment_groups(applicationName=p.app)["deploymentGroups"] == ["web-dg2"]
    info = cd.get_deployment_group(applicationName=p.app, deploymentGroupName="web-dg2")["deploymentGroupInfo"]
    assert info["autoRollbackConfiguration"] == {"enabled": False, "events": []}
    assert info["deploymentConfigName"] == "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"
    assert info["blueGreenDeploymentConfiguration"]["deploymentReadyOption"]["waitTimeInMinutes"] == 30
    assert info["ecsServices"] == [{"serviceName": "web", "clusterName": "web"}]  # untouched fields stay
    assert cd.list_tags_for_resource(ResourceArn=arn.replace("web-dg", "web-dg2"))["Tags"] == [
        {"Key": "team", "Value": "web"}]
    with pytest.raises(ClientError) as exc:
        cd.get_deployment_group(applicationName=p.app, deploymentGroupName="web-dg")
    assert code(exc) == "DeploymentGroupDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cd.update_deployment_group(applicationName=p.app, currentDeploymentGroupName="missing")
    assert code(exc) == "DeploymentGroupDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cd.update_deployment_group(applicationName="nope", currentDeploymentGroupName="web-dg2")
    assert code(exc) == "ApplicationDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cd.update_deployment_group(applicationName=p.app, currentDeploymentGroupName="web-dg2",
                                   deploymentConfigName="CodeDeployDefault.OneAtATime")
    assert code(exc) == "InvalidDeploymentConfigNameException"
    with pytest.raises(ClientError) as exc:
        cd.update_deployment_group(applicationName=p.app, currentDeploymentGroupName="web-dg2",
                                   deploymentConfigName="missing-config")
    assert code(exc) == "DeploymentConfigDoesNotExistException"
    _tags_and_unknown_resources(platform)
    batch = cd.batch_get_deployment_groups(applicationName=p.app, deploymentGroupNames=["web-dg2", "gone"])
    assert [g["deploymentGroupName"] for g in batch["deploymentGroupsInfo"]] == ["web-dg2"]

    assert cd.delete_deployment_group(applicationName=p.app, deploymentGroupName="web-dg2")[
        "hooksNotCleanedUp"] == []
    assert cd.list_deployment_groups(applicationName=p.app)["deploymentGroups"] == []
    cd.delete_deployment_group(applicationName=p.app, deploymentGroupName="web-dg2")  # idempotent, as AWS
    cd.delete_application(applicationName=p.app)
    with pytest.raises(ClientError) as exc:
        cd.get_application(applicationName=p.app)
    assert code(exc) == "ApplicationDoesNotExistException"


def test_ecs_group_validation(platform):
    p = platform
    with pytest.raises(ClientError) as exc:
        p.group(deploymentStyle={"deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"})
    assert code(exc) == "InvalidDeploymentStyleException"
    with pytest.raises(ClientError) as exc:
        p.group(ecsServices=[{"serviceName": "missing", "clusterName": "web"}])
    assert code(exc) == "InvalidECSServiceException"
    with pytest.raises(ClientError) as exc:
        p.group(loadBalancerInfo={"targetGroupPairInfoList": [{
            "targetGroups": [{"name": "web-blue"}, {"name": "nope"}],
            "prodTrafficRoute": {"listenerArns": [p.prod_listener]}}]})
    assert code(exc) == "InvalidTargetGroupPairException"
    with pytest.raises(ClientError) as exc:
        p.group(config="CodeDeployDefault.OneAtATime")
    assert code(exc) == "InvalidDeploymentConfigNameException"
    p.ecs.create_service(cluster="web", serviceName="rolling", taskDefinition=p.td1, desiredCount=1,
                         launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                             "subnets": p.subnets, "securityGroups": [p.security_group]}})
    with pytest.raises(ClientError) as exc:
        p.group(ecsServices=[{"serviceName": "rolling", "clusterName": "web"}])
    assert code(exc) == "InvalidECSServiceException"
    p.group()
    with pytest.raises(ClientError) as exc:
        p.group(name="second")
    assert code(exc) == "ECSServiceMappingLimitExceededException"
    with pytest.raises(ClientError) as exc:
        p.cd.create_deployment_group(applicationName="nope", deploymentGroupName="x", serviceRoleArn=p.role)
    assert code(exc) == "ApplicationDoesNotExistException"


def test_time_scale_control_and_reset_during_a_deployment(platform, ctl):
    p = platform
    assert ctl("/_localaws/codedeploy/time-scale", {"secondsPerMinute": 0.5})["secondsPerMinute"] == 0.5
    assert ctl("/_localaws/codedeploy/time-scale")["secondsPerMinute"] == 0.5
    p.group(config="CodeDeployDefault.ECSCanary10Percent15Minutes")
    p.deploy(p.td2)
    p.endpoint.reset()  # drops the running deployment; time scale back to the server's LOCALAWS_TIME_SCALE
    assert p.endpoint.healthy()
    assert ctl("/_localaws/codedeploy/time-scale")["secondsPerMinute"] == float(
        os.environ.get("LOCALAWS_TIME_SCALE", "1.0"))
    assert p.boto("codedeploy").list_applications()["applications"] == []
    # control calls never show in the call log
    assert not [c for c in p.endpoint.calls() if "_localaws" in c["path"]]


def _tags_and_unknown_resources(platform):
    cd, app = platform.cd, platform.app
    arn = f"arn:aws:codedeploy:us-east-1:123456789012:application:{app}"
    cd.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    assert cd.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    cd.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert cd.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
    with pytest.raises(ClientError) as exc:
        cd.tag_resource(ResourceArn=arn.replace(app, "missing"), Tags=[{"Key": "a", "Value": "b"}])
    assert code(exc) == "ApplicationDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cd.tag_resource(ResourceArn=f"arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:{app}/none",
                        Tags=[{"Key": "a", "Value": "b"}])
    assert code(exc) == "DeploymentGroupDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cd.stop_deployment(deploymentId="d-AAAAAAAAA")
    assert code(exc) == "DeploymentDoesNotExistException"
