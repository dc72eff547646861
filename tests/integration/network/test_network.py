"""roles/network against the real local endpoint: converge, idempotence, check mode, teardown, validation."""

from __future__ import annotations

import pytest

PLAYBOOK = "playbooks/network.yml"
STACK = "seed"


def ec2_inventory(ec2) -> dict[str, set[str]]:
    """Every network resource in the endpoint, by type (what teardown must leave as it found)."""
    nats = ec2.describe_nat_gateways()["NatGateways"]
    return {
        "vpcs": {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]},
        "subnets": {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]},
        "internet_gateways": {g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]},
        "nat_gateways": {n["NatGatewayId"] for n in nats if n["State"] not in ("deleted", "deleting")},
        "route_tables": {r["RouteTableId"] for r in ec2.describe_route_tables()["RouteTables"]},
        "security_groups": {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]},
        "addresses": {a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]},
        "vpc_endpoints": {e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
                          if e["State"].lower() not in ("deleted", "deleting")},
    }


def tags(resource) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def stack_vpc(ec2):
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [STACK]}])["Vpcs"]
    assert len(vpcs) == 1, vpcs
    return vpcs[0]


@pytest.mark.slow(minutes=3)
def test_converge_idempotence_check_mode_and_teardown(run_playbook, boto):
    ec2 = boto("ec2")
    baseline = ec2_inventory(ec2)

    first = run_playbook(PLAYBOOK)
    assert first.rc == 0, first.failure_messages() or first.stderr
    assert first.changed > 0

    vpc = stack_vpc(ec2)
    vpc_id = vpc["VpcId"]
    assert vpc["CidrBlock"] == "10.40.0.0/16"
    assert tags(vpc) == {"Name": STACK, "stack": STACK, "environment": "local", "owner": "platform-team",
                         "cost-center": "demo"}

    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    by_tier = {tier: sorted((s for s in subnets if tags(s)["tier"] == tier), key=lambda s: s["AvailabilityZone"])
               for tier in ("public", "private")}
    assert [s["CidrBlock"] for s in by_tier["public"]] == ["10.40.0.0/20", "10.40.16.0/20"]
    assert [s["CidrBlock"] for s in by_tier["private"]] == ["10.40.128.0/20", "10.40.144.0/20"]
    for tier in by_tier.values():
        assert [s["AvailabilityZone"] for s in tier] == ["us-east-1a", "us-east-1b"]
        assert not any(s["MapPublicIpOnLaunch"] for s in tier)
    assert len(subnets) == 4

    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])
    igw_id = igws["InternetGateways"][0]["InternetGatewayId"]
    nats = [n for n in ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
            if n["State"] == "available"]
    assert len(nats) == 1 and nats[0]["SubnetId"] == by_tier["public"][0]["SubnetId"]
    assert tags(nats[0])["stack"] == STACK

    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]

    def table_of(subnet_id):
        (table,) = [t for t in tables if any(a.get("SubnetId") == subnet_id for a in t["Associations"])]
        return {r["DestinationCidrBlock"]: r.get("GatewayId") or r.get("NatGatewayId") for r in table["Routes"]}

    for subnet in by_tier["public"]:
        assert table_of(subnet["SubnetId"])["0.0.0.0/0"] == igw_id
    for subnet in by_tier["private"]:
        assert table_of(subnet["SubnetId"])["0.0.0.0/0"] == nats[0]["NatGatewayId"]

    groups = {g["GroupName"]: g for g in ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]}
    alb, tasks = groups[f"{STACK}-alb"], groups[f"{STACK}-tasks"]
    # no certificate, no HTTPS listener: 443 stays closed
    assert sorted((p["FromPort"], r["CidrIp"]) for p in alb["IpPermissions"] for r in p["IpRanges"]) == [
        (80, "0.0.0.0/0")]
    assert sorted((p["FromPort"], p["UserIdGroupPairs"][0]["GroupId"]) for p in alb["IpPermissionsEgress"]) == [
        (8000, tasks["GroupId"]), (8080, tasks["GroupId"])]
    # Tasks are reachable on their container ports from the load balancer only.
    assert sorted((p["FromPort"], [g["GroupId"] for g in p["UserIdGroupPairs"]], p["IpRanges"])
                  for p in tasks["IpPermissions"]) == [(8000, [alb["GroupId"]], []), (8080, [alb["GroupId"]], [])]
    assert all(tags(g)["stack"] == STACK for g in (alb, tasks))

    second = run_playbook(PLAYBOOK)
    assert second.rc == 0 and second.changed == 0, second.stdout[-3000:]
    assert second.writes == []

    check = run_playbook(PLAYBOOK, check=True, diff=True)
    assert check.rc == 0 and check.changed == 0
    assert check.writes == [], check.writes

    down = run_playbook(PLAYBOOK, {"network_state": "absent"})
    assert down.rc == 0, down.failure_messages() or down.stderr
    assert ec2_inventory(ec2) == baseline

    again = run_playbook(PLAYBOOK, {"network_state": "absent"})
    assert again.rc == 0 and again.changed == 0 and again.writes == []


@pytest.mark.slow(minutes=3)
def test_nat_per_az_and_vpc_endpoints(run_playbook, boto):
    ec2 = boto("ec2")
    baseline = ec2_inventory(ec2)
    options = {"network_nat_gateway_per_az": True, "network_vpc_endpoints": True, "network_az_count": 3}

    run = run_playbook(PLAYBOOK, options)
    assert run.rc == 0, run.failure_messages() or run.stderr
    vpc_id = stack_vpc(ec2)["VpcId"]
    nats = [n for n in ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
            if n["State"] == "available"]
    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]}
    assert sorted(subnets[n["SubnetId"]]["AvailabilityZone"] for n in nats) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    # Each private subnet routes through the NAT gateway of its own AZ.
    nat_az = {n["NatGatewayId"]: subnets[n["SubnetId"]]["AvailabilityZone"] for n in nats}
    for table in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]:
        for route in table["Routes"]:
            if route.get("NatGatewayId"):
                (assoc,) = [a for a in table["Associations"] if a.get("SubnetId")]
                assert nat_az[route["NatGatewayId"]] == subnets[assoc["SubnetId"]]["AvailabilityZone"]
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    assert sorted(e["ServiceName"].rsplit(".", 1)[-1] if "ecr" not in e["ServiceName"] else e["ServiceName"][-7:]
                  for e in endpoints) == ["ecr.api", "ecr.dkr", "logs", "s3"]

    rerun = run_playbook(PLAYBOOK, options)
    assert rerun.rc == 0 and rerun.changed == 0 and rerun.writes == []

    assert run_playbook(PLAYBOOK, dict(options, network_state="absent")).rc == 0
    assert ec2_inventory(ec2) == baseline


def _tagged(resource_type: str, name: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}, {"Key": "stack", "Value": STACK}]}]


@pytest.mark.slow(minutes=1.5)
def test_creates_whose_answers_were_lost_leak_nothing(run_playbook, boto):
    """CreateInternetGateway and AllocateAddress reached AWS but their answers never reached the run (killed): the
    next converge finds the tagged gateway and address and uses them; destroy finds the ones never used."""
    ec2 = boto("ec2")
    baseline = ec2_inventory(ec2)
    igw = ec2.create_internet_gateway(TagSpecifications=_tagged("internet-gateway", f"{STACK}-igw"))
    igw_id = igw["InternetGateway"]["InternetGatewayId"]
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=_tagged("elastic-ip", f"{STACK}-nat-us-east-1a"))

    run = run_playbook(PLAYBOOK)
    assert run.rc == 0, run.failure_messages() or run.stderr
    actions = [c["action"] for c in run.writes]
    assert "CreateInternetGateway" not in actions and "AllocateAddress" not in actions, actions
    vpc_id = stack_vpc(ec2)["VpcId"]
    attached = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]
    assert [g["InternetGatewayId"] for g in attached] == [igw_id]
    [nat] = [n for n in ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
             if n["State"] == "available"]
    assert nat["NatGatewayAddresses"][0]["AllocationId"] == eip["AllocationId"]
    assert run_playbook(PLAYBOOK).changed == 0

    # Lost again after the converge: destroy removes these too, by the stack's tags.
    ec2.create_internet_gateway(TagSpecifications=_tagged("internet-gateway", f"{STACK}-igw"))
    ec2.allocate_address(Domain="vpc", TagSpecifications=_tagged("elastic-ip", f"{STACK}-nat-us-east-1b"))
    other = ec2.allocate_address(Domain="vpc", TagSpecifications=[
        {"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": "someone-else"}, {"Key": "stack", "Value": STACK}]}])
    down = run_playbook(PLAYBOOK, {"network_state": "absent"})
    assert down.rc == 0, down.failure_messages() or down.stderr
    assert ec2_inventory(ec2) == dict(baseline, addresses=baseline["addresses"] | {other["AllocationId"]})


SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:seed/db-AbCdEf"
PARAMETER = "arn:aws:ssm:us-east-1:123456789012:parameter/seed/token"


def egress_of(ec2, vpc_id: str, name: str) -> list[tuple]:
    [group] = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                    {"Name": "group-name", "Values": [name]}])["SecurityGroups"]
    return sorted((p["IpProtocol"], p.get("FromPort"), target) for p in group["IpPermissionsEgress"]
                  for target in [g["GroupId"] for g in p["UserIdGroupPairs"]] + [r["CidrIp"] for r in p["IpRanges"]]
                  + [pl["PrefixListId"] for pl in p.get("PrefixListIds", [])])


@pytest.mark.slow(minutes=2)
def test_restricted_task_egress_reaches_only_the_vpc_endpoints(run_playbook, boto):
    ec2 = boto("ec2")
    services = [{"name": "api", "container_port": 8000, "table": True, "secrets": {"DB": SECRET, "TOKEN": PARAMETER}},
                {"name": "web", "container_port": 8080}]
    restricted = {"stack_task_egress": "restricted", "stack_vpc_endpoints": True, "stack_services": services,
                  "stack_tracing": {"enabled": True}}

    run = run_playbook(PLAYBOOK, restricted)
    assert run.rc == 0, run.failure_messages() or run.stderr
    vpc_id = stack_vpc(ec2)["VpcId"]
    endpoints = {e["ServiceName"].split("us-east-1.")[1]: e
                 for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]}
    # what the services use: Secrets Manager and SSM (the secrets), DynamoDB (api's table), X-Ray (the tracing
    # daemons); no KMS (no key given)
    assert sorted(endpoints) == ["dynamodb", "ecr.api", "ecr.dkr", "logs", "s3", "secretsmanager", "ssm", "xray"]
    groups = {g["GroupName"]: g["GroupId"] for g in ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]}
    prefix_lists = {r["DestinationPrefixListId"] for t in ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"] for r in t["Routes"] if r.get("DestinationPrefixListId")}
    assert len(prefix_lists) == 2  # S3 and DynamoDB, routed from the private tables
    # HTTPS to the interface endpoints' group and to the gateway endpoints' prefix lists; nothing else, no 0.0.0.0/0
    assert egress_of(ec2, vpc_id, f"{STACK}-tasks") == sorted(
        [("tcp", 443, groups[f"{STACK}-endpoints"])] + [("tcp", 443, pl) for pl in prefix_lists])

    again = run_playbook(PLAYBOOK, restricted)
    assert again.rc == 0, again.failure_messages()
    assert again.changed == 0 and again.writes == [], again.writes

    # Back to open egress: anywhere again (the rule AWS gives a new group).
    opened = run_playbook(PLAYBOOK, dict(restricted, stack_task_egress="open"))
    assert opened.rc == 0, opened.failure_messages()
    assert egress_of(ec2, vpc_id, f"{STACK}-tasks") == [("-1", None, "0.0.0.0/0")]
    assert run_playbook(PLAYBOOK, dict(restricted, stack_task_egress="open")).changed == 0


BAD_INPUTS = [
    ({"network_vpc_cidr": "10.40.0.0/33"}, "network_vpc_cidr"),
    ({"network_vpc_cidr": "10.40.0.1/16"}, "network_vpc_cidr"),
    ({"network_vpc_cidr": "10.0.0.0/8"}, "network_vpc_cidr"),
    ({"network_az_count": 1}, "network_az_count"),
    ({"network_az_count": 7}, "network_az_count"),
    ({"network_public_subnet_cidrs": ["10.40.0.0/24"]}, "network_public_subnet_cidrs"),
    ({"network_public_subnet_cidrs": ["10.40.0.0/24", "10.41.0.0/24"]}, "network_public_subnet_cidrs"),
    ({"network_public_subnet_cidrs": ["10.40.0.0/24", "10.40.1.0/24"],
      "network_private_subnet_cidrs": ["10.40.1.0/24", "10.40.2.0/24"]}, "subnets overlap"),
    ({"network_private_subnet_cidrs": ["10.40.8.0/21", "10.40.12.0/24"]}, "subnets overlap"),
    ({"network_alb_ingress_cidrs": ["anywhere"]}, "network_alb_ingress_cidrs"),
    ({"network_name": "bad_name!"}, "network_name"),
    ({"network_container_ports": [8000, 70000]}, "network_container_ports"),
    ({"network_alb_test_port": 80}, "network_alb_test_port"),
    ({"network_state": "gone"}, "network_state"),
    ({"network_nat_gateway_per_az": "sometimes"}, "network_nat_gateway_per_az"),
    ({"network_tags": {"aws:reserved": "x"}}, "network_tags"),
    ({"stack_task_egress": "closed"}, "network_task_egress"),
    ({"stack_task_egress": "restricted", "stack_vpc_endpoints": False}, "network_vpc_endpoints"),
]


@pytest.fixture(scope="module")
def refused(run_playbook_per_case):
    """Every bad input's network.yml run: one run, a host per input (run_playbook_per_case in tests/conftest.py)."""
    return run_playbook_per_case(PLAYBOOK, {str(i): case[0] for i, case in enumerate(BAD_INPUTS)})


@pytest.mark.parametrize(("case", "names"), [(str(i), case[1]) for i, case in enumerate(BAD_INPUTS)],
                         ids=[f"{i}-{case[1]}" for i, case in enumerate(BAD_INPUTS)])
def test_bad_input_fails_before_any_write(refused, case, names):
    run = refused[case]
    assert run.rc != 0
    assert run.writes == []
    assert names in "\n".join(run.failure_messages()) + run.stdout


def test_az_count_beyond_the_region_fails_before_any_write(run_playbook):
    # us-west-1 has two availability zones (in AWS and in the endpoint)
    run = run_playbook(PLAYBOOK, {"stack_region": "us-west-1", "network_az_count": 3})
    assert run.rc != 0
    assert run.writes == []
    message = "\n".join(run.failure_messages())
    assert "network_az_count: 3 AZs asked for but region us-west-1 has 2" in message
