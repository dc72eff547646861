"""Cloud Map on the local endpoint (localaws/patches/servicediscovery.py): namespaces as asynchronous operations
with their private hosted zone, AWS's refusals, and ECS registering a service's tasks in its registry."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def _discovery(endpoint):
    """DiscoverInstances goes to the ``data-`` host of the endpoint on AWS (host prefix in botocore's model); a client
    of the local endpoint keeps its URL's host (inject_host_prefix=False)."""
    return boto3.client("servicediscovery", endpoint_url=endpoint.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(inject_host_prefix=False))


def _wait(sd, operation_id: str) -> list[str]:
    """Poll GetOperation as a client must on AWS; returns the statuses seen."""
    seen = []
    for _attempt in range(10):
        status = sd.get_operation(OperationId=operation_id)["Operation"]["Status"]
        seen.append(status)
        if status in ("SUCCESS", "FAIL"):
            return seen
    raise AssertionError(f"operation {operation_id} still {seen[-1]}")


def _namespace(boto, vpc: str, name: str = "seed.internal") -> str:
    sd = boto("servicediscovery")
    op = sd.create_private_dns_namespace(Name=name, Vpc=vpc, CreatorRequestId=f"req-{name}")["OperationId"]
    _wait(sd, op)
    return sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]


def _registry(boto, namespace_id: str, name: str = "web") -> dict:
    return boto("servicediscovery").create_service(
        Name=name, NamespaceId=namespace_id,
        DnsConfig={"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]},
        HealthCheckCustomConfig={"FailureThreshold": 1})["Service"]


def test_private_dns_namespace_is_an_operation_with_a_hosted_zone_in_the_vpc(boto):
    sd, ec2 = boto("servicediscovery"), boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    op = sd.create_private_dns_namespace(Name="seed.internal", Vpc=vpc, CreatorRequestId="r1")["OperationId"]
    assert _wait(sd, op) == ["SUBMITTED", "PENDING", "SUCCESS"]
    operation = sd.get_operation(OperationId=op)["Operation"]
    assert operation["Type"] == "CREATE_NAMESPACE"
    namespace = sd.get_namespace(Id=operation["Targets"]["NAMESPACE"])["Namespace"]
    assert namespace["Type"] == "DNS_PRIVATE"
    zone_id = namespace["Properties"]["DnsProperties"]["HostedZoneId"]
    zone = boto("route53").get_hosted_zone(Id=zone_id)
    assert zone["HostedZone"]["Name"] == "seed.internal."
    assert zone["HostedZone"]["Config"]["PrivateZone"] is True
    # a second namespace in the same VPC is fine; the same name twice is not
    _namespace(boto, vpc, "other.internal")
    with pytest.raises(ClientError) as err:
        sd.create_private_dns_namespace(Name="seed.internal", Vpc=vpc, CreatorRequestId="r2")
    assert err.value.response["Error"]["Code"] == "NamespaceAlreadyExists"
    listed = sd.list_namespaces(Filters=[{"Name": "NAME", "Values": ["seed.internal"], "Condition": "EQ"}])
    assert [n["Name"] for n in listed["Namespaces"]] == ["seed.internal"]


def test_refusals_and_deletion_order(boto):
    sd = boto("servicediscovery")
    vpc = boto("ec2").create_vpc(CidrBlock="10.31.0.0/16")["Vpc"]["VpcId"]
    ns = _namespace(boto, vpc)
    service = _registry(boto, ns)
    with pytest.raises(ClientError) as err:
        _registry(boto, ns)
    assert err.value.response["Error"]["Code"] == "ServiceAlreadyExists"
    assert [s["Id"] for s in sd.list_services(Filters=[{"Name": "NAMESPACE_ID", "Values": [ns]}])["Services"]] == [
        service["Id"]]
    sd.register_instance(ServiceId=service["Id"], InstanceId="i-1", Attributes={"AWS_INSTANCE_IPV4": "10.31.0.5"})
    with pytest.raises(ClientError) as err:
        sd.delete_service(Id=service["Id"])
    assert err.value.response["Error"]["Code"] == "ResourceInUse"
    with pytest.raises(ClientError) as err:
        sd.delete_namespace(Id=ns)
    assert err.value.response["Error"]["Code"] == "ResourceInUse"
    sd.deregister_instance(ServiceId=service["Id"], InstanceId="i-1")
    sd.delete_service(Id=service["Id"])
    with pytest.raises(ClientError) as err:
        sd.delete_service(Id=service["Id"])
    assert err.value.response["Error"]["Code"] == "ServiceNotFound"
    zone_id = sd.get_namespace(Id=ns)["Namespace"]["Properties"]["DnsProperties"]["HostedZoneId"]
    op = sd.delete_namespace(Id=ns)["OperationId"]
    assert _wait(sd, op)[-1] == "SUCCESS"
    with pytest.raises(ClientError) as err:
        boto("route53").get_hosted_zone(Id=zone_id)
    assert err.value.response["Error"]["Code"] == "NoSuchHostedZone"


def test_ecs_registers_the_tasks_of_a_service_with_registries(boto, platform, endpoint):
    sd, ecs, data = boto("servicediscovery"), boto("ecs"), _discovery(endpoint)
    ns = _namespace(boto, platform.vpc_id)
    registry = _registry(boto, ns, "api")
    ecs.create_service(
        cluster=platform.cluster, serviceName="api", taskDefinition=platform.td1, desiredCount=2, launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": platform.green_tg, "containerName": "app", "containerPort": 80}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": platform.subnets,
                                                      "securityGroups": [platform.security_group]}},
        serviceRegistries=[{"registryArn": registry["Arn"]}])
    described = ecs.describe_services(cluster=platform.cluster, services=["api"])["services"][0]
    assert described["serviceRegistries"] == [{"registryArn": registry["Arn"]}]
    found = data.discover_instances(NamespaceName="seed.internal", ServiceName="api")["Instances"]
    assert len(found) == 2
    targets = {t["Target"]["Id"] for t in boto("elbv2").describe_target_health(
        TargetGroupArn=platform.green_tg)["TargetHealthDescriptions"]}
    assert {i["Attributes"]["AWS_INSTANCE_IPV4"] for i in found} == targets
    assert {i["Attributes"]["ECS_SERVICE_NAME"] for i in found} == {"api"}
    assert {i["Attributes"]["ECS_TASK_DEFINITION_FAMILY"] for i in found} == {"web"}
    # the A records of api.seed.internal in the namespace's zone
    zone_id = sd.get_namespace(Id=ns)["Namespace"]["Properties"]["DnsProperties"]["HostedZoneId"]
    records = boto("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    a = [r for r in records if r["Name"] == "api.seed.internal." and r["Type"] == "A"]
    assert {v["Value"] for v in a[0]["ResourceRecords"]} == targets
    # the other service has no registry and registers nothing
    assert len(sd.list_instances(ServiceId=registry["Id"])["Instances"]) == 2
    # UpdateService cannot add or change registries of a CODE_DEPLOY service
    with pytest.raises(ClientError) as err:
        ecs.update_service(cluster=platform.cluster, service="web", serviceRegistries=[{"registryArn": registry["Arn"]}])
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    # deleting the ECS service stops its tasks: their instances go, and then the registry can go
    ecs.delete_service(cluster=platform.cluster, service="api", force=True)
    assert data.discover_instances(NamespaceName="seed.internal", ServiceName="api")["Instances"] == []
    sd.delete_service(Id=registry["Id"])
