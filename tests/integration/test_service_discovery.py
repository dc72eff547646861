"""Cloud Map service discovery of the whole stack against the local endpoint.

The converged stack's story runs in tests/integration/test_deployment_controllers.py, on the stack with api released by
ECS and web by CodeDeploy (one converge serves both features): --check on a new stack writing nothing
(:func:`assert_planned`), a converge making the namespace, a registry per service and the ECS services with their
serviceRegistries, the running tasks registered (DiscoverInstances; :func:`assert_discovery`), no-op and --check
re-converges, teardown by destroy.yml (:func:`assert_discovery_gone`). Existing services without a registry refused
before any write is test_a_codedeploy_service_moves_to_ecs_in_place's first step there. Here: bad inputs refused
before any AWS call."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

SITE = "playbooks/site.yml"
ON = {"stack_service_discovery": {"enabled": True}}
NAMESPACE = "seed.internal"


def discovery(endpoint):
    """DiscoverInstances goes to the data- host of an endpoint (botocore's host prefix): keep the local URL's host."""
    return boto3.client("servicediscovery", endpoint_url=endpoint.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(inject_host_prefix=False))


def namespaces(sd) -> list[dict]:
    return [n for n in sd.list_namespaces()["Namespaces"] if n["Name"] == NAMESPACE]


def assert_planned(check) -> None:
    """--check --diff on a stack that does not exist: the namespace, registries and services planned."""
    planned = [r for p in check.plays for t in p["tasks"] if "Registries | a Cloud Map service" in t["task"]["name"]
               for r in t["hosts"].values()]
    assert planned and planned[0]["created"] == ["api", "web"]
    assert "registered in Cloud Map" in check.stdout


def assert_discovery(run, boto, endpoint, running: tuple[str, ...] = ("api", "web")) -> None:
    """After a converge with discovery on: the namespace in the stack's VPC, the tasks' security group open to itself on
    the container ports, a registry per service given to its ECS service, the ``running`` services' tasks registered
    (the load balancer's targets), the stack summary naming them. The endpoint's control plane runs tasks (task sets)
    for the services CodeDeploy releases only: an ECS-released service has no task to register without the data
    plane's task runner (docs/local-endpoint.md)."""
    sd, ecs = boto("servicediscovery"), boto("ecs")
    [namespace] = namespaces(sd)
    assert namespace["Type"] == "DNS_PRIVATE"
    zone = boto("route53").get_hosted_zone(Id=namespace["Properties"]["DnsProperties"]["HostedZoneId"])
    [vpc] = boto("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["seed"]}])["Vpcs"]
    assert [v["VPCId"] for v in zone["VPCs"]] == [vpc["VpcId"]]
    # the tasks reach each other by name only if their security group lets them: the container ports, from itself
    sg_filters = [{"Name": "group-name", "Values": ["seed-tasks"]}, {"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    [tasks_sg] = boto("ec2").describe_security_groups(Filters=sg_filters)["SecurityGroups"]
    from_itself = sorted(p["FromPort"] for p in tasks_sg["IpPermissions"]
                         if tasks_sg["GroupId"] in [g["GroupId"] for g in p.get("UserIdGroupPairs", [])])
    assert from_itself == [8000, 8080], tasks_sg["IpPermissions"]  # the api and web ports of inventories/local
    registries = {s["Name"]: s for s in sd.list_services(
        Filters=[{"Name": "NAMESPACE_ID", "Values": [namespace["Id"]]}])["Services"]}
    assert sorted(registries) == ["api", "web"]
    assert registries["api"]["DnsConfig"] == {"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]}
    assert registries["api"]["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    tags = {t["Key"]: t["Value"] for t in sd.list_tags_for_resource(ResourceARN=registries["api"]["Arn"])["Tags"]}
    assert tags["stack"] == "seed"
    services = {s["serviceName"]: s for s in ecs.describe_services(cluster="seed", services=["api", "web"])["services"]}
    data = discovery(endpoint)
    for name in ("api", "web"):
        assert services[name]["serviceRegistries"] == [{"registryArn": registries[name]["Arn"]}]
    for name in running:
        # the service's running tasks are its instances, at the addresses the load balancer targets
        found = data.discover_instances(NamespaceName=NAMESPACE, ServiceName=name)["Instances"]
        assert len(found) == services[name]["desiredCount"]
        [lb] = services[name]["loadBalancers"]
        targets = {t["Target"]["Id"] for t in boto("elbv2").describe_target_health(
            TargetGroupArn=lb["targetGroupArn"])["TargetHealthDescriptions"]}
        assert {i["Attributes"]["AWS_INSTANCE_IPV4"] for i in found} == targets
    assert "api.seed.internal" in run.stdout  # the stack summary names them


def assert_discovery_gone(boto) -> None:
    """After destroy.yml: no namespace, no registry, no hosted zone."""
    sd = boto("servicediscovery")
    assert namespaces(sd) == [] and sd.list_services()["Services"] == []
    assert [z for z in boto("route53").list_hosted_zones()["HostedZones"] if z["Name"] == f"{NAMESPACE}."] == []


BAD = [
    ({"enabled": True, "namespace": "Seed_Internal"}, "service_discovery_namespace (stack_service_discovery.namespace)"),
    ({"enabled": True, "namespace": "internal"}, "two labels or more"),
    ({"enabled": True, "dns_ttl": -1}, "service_discovery_dns_ttl (stack_service_discovery.dns_ttl)"),
    ({"enabled": True, "ttl": 5}, "unknown keys ['ttl']"),
    ({"enabled": "maybe"}, "service_discovery_enabled"),
]


@pytest.fixture(scope="module")
def refused(run_playbook_per_case):
    """Every bad description's site.yml run: one run, a host per description (run_playbook_per_case in
    tests/conftest.py)."""
    return run_playbook_per_case(SITE, {json.dumps(description, sort_keys=True): {"stack_service_discovery": description}
                                        for description in (case[0] for case in BAD)})


@pytest.mark.parametrize(("description", "message"), BAD)
def test_bad_inputs_fail_before_any_aws_call(refused, description, message):
    run = refused[json.dumps(description, sort_keys=True)]
    assert run.rc != 0
    assert message in " ".join(run.failure_messages()) + run.stdout, run.stdout[-3000:]
    assert run.calls == []
