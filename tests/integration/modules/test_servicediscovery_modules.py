"""seed.fargate.servicediscovery_namespace and servicediscovery_services against the local endpoint: the namespace
made through its asynchronous operation (polled until SUCCESS), the registries in one call, no-op runs that only
read, check mode (on nothing too) writing nothing, changes, removal in order, and bad input failing before any call."""

from __future__ import annotations

import yaml

NS = "t.internal"


def playbook(tmp_path, tasks, name="pb.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], sort_keys=False))
    return str(path)


def namespace_task(vpc_id, **over):
    args = {"name": NS, "vpc_id": vpc_id, "tags": {"stack": "t"}, "wait_timeout": 60} | over
    return {"name": "namespace", "seed.fargate.servicediscovery_namespace": args, "register": "ns"}


def services_task(namespace_id="{{ ns.namespace.id }}", **over):
    args = {"namespace_id": namespace_id, "services": [{"name": "api", "ttl": 10}, {"name": "web"}],
            "tags": {"stack": "t"}} | over
    return {"name": "services", "seed.fargate.servicediscovery_services": args, "register": "sd"}


def result(run, name):
    return run.task_results(name)[0]


def actions(calls):
    return [c["action"] for c in calls]


def test_namespace_and_services_lifecycle(run_playbook, boto, tmp_path):
    sd, ec2 = boto("servicediscovery"), boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    sd.create_private_dns_namespace(Name=NS, Vpc=other_vpc, CreatorRequestId="other")  # same name, another VPC
    create = playbook(tmp_path, [namespace_task(vpc), services_task()])

    # --check on nothing: both to be made, nothing written
    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 2 and check.writes == []
    assert "known-after-apply" in result(check, "namespace")["namespace"]["id"]
    assert result(check, "services")["created"] == ["api", "web"]
    assert result(check, "services")["diff"]["after"]["api"]["ttl"] == 10

    # a planned VPC: nothing read, the namespace reported as to be made
    planned = run_playbook(playbook(tmp_path, [namespace_task("vpc-known-after-apply"),
                                               services_task()], "planned.yml"), check=True)
    assert planned.rc == 0, planned.failure_messages()
    assert planned.changed == 2 and planned.calls == []

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    writes = actions(run.writes)
    assert writes == ["CreatePrivateDnsNamespace", "CreateService", "CreateService"]
    # the operation was polled until SUCCESS (SUBMITTED, PENDING, SUCCESS on the endpoint)
    assert actions(run.calls).count("GetOperation") == 3
    namespace = result(run, "namespace")["namespace"]
    assert namespace["name"] == NS and namespace["vpc_id"] == vpc and namespace["id"].startswith("ns-")
    zone = boto("route53").get_hosted_zone(Id=namespace["hosted_zone_id"])
    assert zone["HostedZone"]["Name"] == f"{NS}." and [v["VPCId"] for v in zone["VPCs"]] == [vpc]
    registries = result(run, "services")["registry_arns"]
    assert sorted(registries) == ["api", "web"]
    services = {s["Name"]: s for s in sd.list_services(
        Filters=[{"Name": "NAMESPACE_ID", "Values": [namespace["id"]]}])["Services"]}
    assert services["api"]["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 10}]
    assert services["api"]["DnsConfig"]["RoutingPolicy"] == "MULTIVALUE"
    assert services["web"]["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 60}]
    assert services["api"]["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    assert registries["api"] == services["api"]["Arn"]

    # converged: reads only, in check mode too
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert result(again, "services")["registry_arns"] == registries
    assert run_playbook(create, check=True, diff=True).writes == []

    # a TTL, a description and tags change: check mode shows it, then only those writes
    change = playbook(tmp_path, [namespace_task(vpc, description="t stack", tags={"stack": "t", "owner": "me"}),
                                 services_task(services=[{"name": "api", "ttl": 30}, {"name": "web"}])], "change.yml")
    check = run_playbook(change, check=True, diff=True)
    assert check.changed == 2 and check.writes == []
    assert result(check, "services")["diff"]["after"]["api"]["ttl"] == 30
    run = run_playbook(change)
    assert run.rc == 0, run.failure_messages()
    assert sorted(actions(run.writes)) == sorted(["TagResource", "UpdatePrivateDnsNamespace", "UpdateService"])
    assert sd.get_service(Id=services["api"]["Id"])["Service"]["DnsConfig"]["DnsRecords"][0]["TTL"] == 30
    assert run_playbook(change).writes == []

    # removal: the namespace cannot go before its services (Cloud Map's ResourceInUse, reported)
    early = run_playbook(playbook(tmp_path, [namespace_task(vpc, state="absent")], "early.yml"))
    assert early.rc != 0 and "remove them first" in early.stdout
    absent = playbook(tmp_path, [namespace_task(vpc, tags=None), services_task(state="absent"),
                                 namespace_task(vpc, state="absent")], "absent.yml")
    check = run_playbook(absent, check=True)
    assert check.writes == [] and check.changed == 2
    run = run_playbook(absent)
    assert run.rc == 0, run.failure_messages()
    assert actions(run.writes) == ["DeleteService", "DeleteService", "DeleteNamespace"]
    assert [n["Name"] for n in sd.list_namespaces()["Namespaces"]] == [NS]  # the other VPC's
    gone = run_playbook(playbook(tmp_path, [namespace_task(vpc, state="absent")], "gone.yml"))
    assert gone.rc == 0 and gone.changed == 0 and gone.writes == []


def test_bad_input_fails_before_any_call(run_playbook, tmp_path):
    bad = [
        ([{"name": "n", "seed.fargate.servicediscovery_namespace": {"name": NS}}], "vpc_id"),
        ([{"name": "s", "seed.fargate.servicediscovery_services": {
            "namespace_id": "ns-x", "services": [{"name": "api"}, {"name": "api"}]}}], "each name may appear once"),
        ([{"name": "s", "seed.fargate.servicediscovery_services": {
            "namespace_id": "ns-x", "services": [{"name": "api", "record_type": "CNAME"}]}}], "record_type"),
        ([{"name": "s", "seed.fargate.servicediscovery_services": {
            "namespace_id": "ns-x", "services": [{"name": "api", "ttl": -1}]}}], "ttl"),
    ]
    for n, (tasks, message) in enumerate(bad):
        run = run_playbook(playbook(tmp_path, tasks, f"bad{n}.yml"))
        assert run.rc != 0 and message in run.stdout, (message, run.stdout[-2000:])
        assert run.calls == []
