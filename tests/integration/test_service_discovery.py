"""Cloud Map service discovery of the whole stack against the local endpoint: --check on a new stack writing
nothing, a converge making the namespace, a registry per service and the ECS services with their serviceRegistries,
the running tasks registered (DiscoverInstances), no-op and --check re-converges, teardown by destroy.yml; an
existing stack refused before any write; bad inputs refused before any AWS call."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

SITE, DESTROY = "playbooks/site.yml", "playbooks/destroy.yml"
ON = {"stack_service_discovery": {"enabled": True}}
NAMESPACE = "seed.internal"

pytestmark = pytest.mark.slow(minutes=4)


def in_sync(run) -> None:
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    changed = [t["task"]["name"] for p in run.plays for t in p["tasks"] if any(h.get("changed") for h in t["hosts"].values())]
    assert run.changed == 0 and run.writes == [], (changed, run.writes)


def discovery(endpoint):
    """DiscoverInstances goes to the data- host of an endpoint (botocore's host prefix): keep the local URL's host."""
    return boto3.client("servicediscovery", endpoint_url=endpoint.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(inject_host_prefix=False))


def namespaces(sd) -> list[dict]:
    return [n for n in sd.list_namespaces()["Namespaces"] if n["Name"] == NAMESPACE]


def test_discovery_converges_registers_tasks_stays_in_sync_and_goes(run_playbook, boto, endpoint):
    sd, ecs = boto("servicediscovery"), boto("ecs")

    # --check --diff on a stack that does not exist: the namespace, registries and services planned, nothing written
    check = run_playbook(SITE, ON, check=True, diff=True)
    assert check.rc == 0, check.failure_messages() or check.stderr[-3000:]
    assert check.writes == []
    planned = [r for p in check.plays for t in p["tasks"] if "Registries | a Cloud Map service" in t["task"]["name"]
               for r in t["hosts"].values()]
    assert planned and planned[0]["created"] == ["api", "web"]
    assert "registered in Cloud Map" in check.stdout

    run = run_playbook(SITE, ON)
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
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
        # the service's running tasks are its instances, at the addresses the load balancer targets
        found = data.discover_instances(NamespaceName=NAMESPACE, ServiceName=name)["Instances"]
        assert len(found) == services[name]["desiredCount"]
        [lb] = services[name]["loadBalancers"]
        targets = {t["Target"]["Id"] for t in boto("elbv2").describe_target_health(
            TargetGroupArn=lb["targetGroupArn"])["TargetHealthDescriptions"]}
        assert {i["Attributes"]["AWS_INSTANCE_IPV4"] for i in found} == targets
    assert "api.seed.internal" in run.stdout  # the stack summary names them

    in_sync(run_playbook(SITE, ON))
    in_sync(run_playbook(SITE, ON, check=True, diff=True))

    gone = run_playbook(DESTROY, ON)
    assert gone.rc == 0, gone.failure_messages() or gone.stderr[-3000:]
    assert namespaces(sd) == [] and sd.list_services()["Services"] == []
    assert [z for z in boto("route53").list_hosted_zones()["HostedZones"] if z["Name"] == f"{NAMESPACE}."] == []


def test_existing_services_are_refused_before_any_write(run_playbook, boto):
    run = run_playbook(SITE)
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    assert boto("servicediscovery").list_namespaces()["Namespaces"] == []  # off by default: nothing made

    refused = run_playbook(SITE, ON)
    assert refused.rc != 0
    assert refused.writes == []
    message = " ".join(refused.failure_messages())
    assert "stack_service_discovery is enabled but the ECS services ['api', 'web']" in message
    assert "delete-service" in message


@pytest.mark.parametrize(("description", "message"), [
    ({"enabled": True, "namespace": "Seed_Internal"}, "service_discovery_namespace (stack_service_discovery.namespace)"),
    ({"enabled": True, "namespace": "internal"}, "two labels or more"),
    ({"enabled": True, "dns_ttl": -1}, "service_discovery_dns_ttl (stack_service_discovery.dns_ttl)"),
    ({"enabled": True, "ttl": 5}, "unknown keys ['ttl']"),
    ({"enabled": "maybe"}, "service_discovery_enabled"),
])
def test_bad_inputs_fail_before_any_aws_call(run_playbook, description, message):
    run = run_playbook(SITE, {"stack_service_discovery": description})
    assert run.rc != 0
    assert message in " ".join(run.failure_messages()) + run.stdout, run.stdout[-3000:]
    assert run.calls == []
