"""The local endpoint as AWS's own CLI and botocore's models see it: where moto answered differently from AWS
(issue 12, part 4), the referee is the real ``aws`` command (awscli, from requirements/dev.txt) run against
the endpoint, or the service model botocore ships."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest

AWS = str(Path(sys.executable).with_name("aws"))
BARE_GROUP = "bare-dg"


def aws(endpoint, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, **endpoint.environment("us-east-1"), AWS_PAGER="")
    return subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def bare_group(platform) -> str:
    """An ECS deployment group made with only what the API requires: no blueGreenDeploymentConfiguration."""
    platform.cd.create_deployment_group(
        applicationName=platform.app, deploymentGroupName=BARE_GROUP, serviceRoleArn=platform.role,
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        loadBalancerInfo={"targetGroupPairInfoList": [{
            "targetGroups": [{"name": "web-blue"}, {"name": "web-green"}],
            "prodTrafficRoute": {"listenerArns": [platform.prod_listener]}}]},
        ecsServices=[{"serviceName": platform.service, "clusterName": platform.cluster}])
    return BARE_GROUP


def test_a_group_left_without_blue_green_settings_gets_aws_defaults(platform):
    group = platform.cd.get_deployment_group(applicationName=platform.app, deploymentGroupName=bare_group(platform))
    assert group["deploymentGroupInfo"]["blueGreenDeploymentConfiguration"] == {
        "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 0},
        "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}}


def test_aws_ecs_deploy_releases_through_a_bare_group(endpoint, platform, tmp_path):
    """``aws ecs deploy`` reads the group's termination wait (a KeyError when it was absent), registers the task
    definition, creates the deployment and waits for it with the DeploymentSuccessful waiter."""
    group = bare_group(platform)
    definition = platform.ecs.describe_task_definition(taskDefinition=platform.td2)["taskDefinition"]
    (tmp_path / "taskdef.json").write_text(json.dumps({k: definition[k] for k in (
        "family", "networkMode", "requiresCompatibilities", "cpu", "memory", "containerDefinitions")}))
    (tmp_path / "appspec.json").write_text(platform.appspec("replaced-by-the-cli"))
    run = aws(endpoint, "ecs", "deploy", "--cluster", platform.cluster, "--service", platform.service,
              "--task-definition", str(tmp_path / "taskdef.json"), "--codedeploy-appspec", str(tmp_path / "appspec.json"),
              "--codedeploy-application", platform.app, "--codedeploy-deployment-group", group)
    assert run.returncode == 0, run.stderr
    assert "Successfully deployed" in run.stdout, run.stdout
    service = platform.service_info()
    assert [t["status"] for t in service["taskSets"]] == ["PRIMARY"]
    assert service["taskSets"][0]["taskDefinition"].endswith(":task-definition/web:3")


def test_targets_of_a_replaced_task_set_are_unused_and_the_deregistered_waiter_ends(endpoint, platform):
    elb = platform.elb
    before = [d["Target"] for d in elb.describe_target_health(TargetGroupArn=platform.blue_tg)["TargetHealthDescriptions"]]
    assert len(before) == 2, before
    platform.group()
    info = platform.wait(platform.deploy(platform.td2))
    assert info["status"] == "Succeeded", info
    health = elb.describe_target_health(TargetGroupArn=platform.blue_tg, Targets=before)["TargetHealthDescriptions"]
    assert {(h["TargetHealth"]["State"], h["TargetHealth"]["Reason"]) for h in health} == {("unused", "Target.NotRegistered")}
    targets = [f"Id={t['Id']},Port={t['Port']}" for t in before]
    run = aws(endpoint, "elbv2", "wait", "target-deregistered", "--target-group-arn", platform.blue_tg,
              "--targets", *targets, timeout=60)
    assert run.returncode == 0, run.stderr


def test_a_code_deploy_service_counts_the_tasks_of_its_task_sets(platform):
    service = platform.service_info()
    assert service["runningCount"] == sum(t["runningCount"] for t in service["taskSets"]) == 2
    assert service["pendingCount"] == 0


def test_describe_services_has_the_fields_aws_reports(platform):
    service = platform.service_info()
    members = set(botocore.session.get_session().get_service_model("ecs").shape_for("Service").members)
    assert set(service) <= members, set(service) - members
    assert {"createdAt", "createdBy", "deploymentConfiguration", "enableECSManagedTags", "enableExecuteCommand",
            "platformVersion", "healthCheckGracePeriodSeconds"} <= set(service), sorted(set(service))
    assert service["deploymentConfiguration"] == {"maximumPercent": 200, "minimumHealthyPercent": 100}
    assert service["platformVersion"] == "LATEST" and service["enableExecuteCommand"] is False
    platform.ecs.update_service(cluster=platform.cluster, service=platform.service, healthCheckGracePeriodSeconds=30,
                                enableExecuteCommand=True)
    service = platform.service_info()
    assert service["healthCheckGracePeriodSeconds"] == 30 and service["enableExecuteCommand"] is True


@pytest.mark.parametrize(("deployment_id", "code"), [("nope", "InvalidDeploymentIdException"),
                                                     ("d-ABCDEFGHI", "DeploymentDoesNotExistException")])
def test_a_malformed_deployment_id_is_told_from_an_unknown_one(endpoint, deployment_id, code):
    run = aws(endpoint, "deploy", "wait", "deployment-successful", "--deployment-id", deployment_id, timeout=60)
    assert run.returncode != 0 and code in run.stderr, run.stderr
    operation = botocore.session.get_session().get_service_model("codedeploy").operation_model("GetDeployment")
    assert code in {shape.name for shape in operation.error_shapes}


def test_a_load_balancer_with_deletion_protection_is_not_deleted(endpoint, boto):
    ec2, elbv2 = boto("ec2"), boto("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
               for i, zone in ((1, "a"), (2, "b"))]
    arn = elbv2.create_load_balancer(Name="protected", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}])
    run = aws(endpoint, "elbv2", "delete-load-balancer", "--load-balancer-arn", arn)
    assert run.returncode != 0 and "OperationNotPermitted" in run.stderr and "deletion protection" in run.stderr, run.stderr
    assert elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}])
    assert aws(endpoint, "elbv2", "delete-load-balancer", "--load-balancer-arn", arn).returncode == 0
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
