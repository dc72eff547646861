"""seed.fargate.ec2_route_tables against the local endpoint: one read for a converged set of tables, tagged
creates, moves, replaced and purged routes, tables found again by their Name after a lost answer."""

from __future__ import annotations

import yaml

TAGS = {"stack": "rt-test"}


def playbook(tmp_path, args, name="pb.yml", check=False):
    path = tmp_path / name
    task = {"name": "tables", "seed.fargate.ec2_route_tables": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def network(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{i}.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
               for i in range(3)]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=eip)["NatGateway"]["NatGatewayId"]
    return vpc, subnets, igw, nat


def tables_of(ec2, vpc):
    """Name -> (subnets, {dest: target}, tags) of the VPC's non-main tables."""
    out = {}
    for table in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]:
        tags = {t["Key"]: t["Value"] for t in table.get("Tags", [])}
        if "Name" not in tags:
            continue
        routes = {r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId"):
                  r.get("GatewayId") or r.get("NatGatewayId") for r in table["Routes"]}
        out[tags["Name"]] = (sorted(a["SubnetId"] for a in table["Associations"] if a.get("SubnetId")), routes, tags)
    return out


def result(run):
    return run.task_results("tables")[0]


def test_route_tables_lifecycle(run_playbook, boto, tmp_path):
    ec2 = boto("ec2")
    vpc, subnets, igw, nat = network(ec2)
    desired = {"vpc_id": vpc, "tags": TAGS, "route_tables": [
        {"name": "rt-public", "subnets": subnets[:2], "routes": [{"dest": "0.0.0.0/0", "gateway_id": igw}]},
        {"name": "rt-private", "subnets": [subnets[2]], "routes": []},
    ]}
    create = playbook(tmp_path, desired)

    # --check on nothing: two tables to make, nothing written, no ids yet.
    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert [t["id"] for t in result(check)["route_tables"]] == [None, None]
    assert sorted(result(check)["diff"]["after"]) == ["rt-private", "rt-public"] and result(check)["diff"]["before"] == {}

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    # Tagged by the call that makes each table: no CreateTags afterwards.
    assert sorted(c["action"] for c in run.writes) == sorted(
        ["CreateRouteTable", "CreateRouteTable", "CreateRoute", "AssociateRouteTable", "AssociateRouteTable",
         "AssociateRouteTable"]), run.writes
    tables = tables_of(ec2, vpc)
    assert tables["rt-public"][:2] == (sorted(subnets[:2]), {"10.77.0.0/16": "local", "0.0.0.0/0": igw})
    assert tables["rt-private"][:2] == ([subnets[2]], {"10.77.0.0/16": "local"})
    assert tables["rt-public"][2] == {"stack": "rt-test", "Name": "rt-public"}
    ids = {t["name"]: t["id"] for t in result(run)["route_tables"]}
    assert all(i.startswith("rtb-") for i in ids.values())

    # Converged: one read for all tables, nothing written.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert [c["action"] for c in again.calls] == ["DescribeRouteTables"]

    # Drift: a hand-made route, a gateway endpoint's prefix-list route (not ours), a subnet to move, a new target.
    ec2.create_route(RouteTableId=ids["rt-public"], DestinationCidrBlock="10.99.0.0/16", GatewayId=igw)
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway",
                            RouteTableIds=[ids["rt-private"]])
    moved = dict(desired, route_tables=[
        {"name": "rt-public", "subnets": subnets[:1], "routes": [{"dest": "0.0.0.0/0", "gateway_id": igw}]},
        {"name": "rt-private", "subnets": subnets[1:], "routes": [{"dest": "0.0.0.0/0", "nat_gateway_id": nat}]},
    ])
    change = playbook(tmp_path, moved, "change.yml")
    check = run_playbook(change, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    diff = result(check)["diff"]
    assert [r["dest"] for r in diff["before"]["rt-public"]["routes"]] == ["0.0.0.0/0", "10.99.0.0/16"]
    assert diff["after"]["rt-private"]["routes"] == [{"dest": "0.0.0.0/0", "nat_gateway_id": nat}]
    assert diff["after"]["rt-private"]["subnets"] == sorted(subnets[1:])

    run = run_playbook(change)
    assert run.rc == 0, run.failure_messages()
    assert sorted(c["action"] for c in run.writes) == ["CreateRoute", "DeleteRoute", "ReplaceRouteTableAssociation"]
    tables = tables_of(ec2, vpc)
    assert tables["rt-public"][:2] == ([subnets[0]], {"10.77.0.0/16": "local", "0.0.0.0/0": igw})
    private_subnets, private_routes = tables["rt-private"][:2]
    assert private_subnets == sorted(subnets[1:]) and private_routes["0.0.0.0/0"] == nat
    assert any(dest.startswith("pl-") for dest in private_routes), private_routes  # the endpoint's route stays
    assert run_playbook(change).changed == 0

    # A target that changes is replaced in place.
    swapped = dict(moved, route_tables=[moved["route_tables"][0],
                                        dict(moved["route_tables"][1], routes=[{"dest": "0.0.0.0/0", "gateway_id": igw}])])
    run = run_playbook(playbook(tmp_path, swapped, "swap.yml"))
    assert run.rc == 0 and [c["action"] for c in run.writes] == ["ReplaceRoute"], run.writes
    assert tables_of(ec2, vpc)["rt-private"][1]["0.0.0.0/0"] == igw


def test_a_table_whose_answer_was_lost_is_found_by_its_name(run_playbook, boto, tmp_path):
    """CreateRouteTable reached AWS but its answer did not reach the run: the next run adopts the table."""
    ec2 = boto("ec2")
    vpc, subnets, igw = network(ec2)[:3]
    made = ec2.create_route_table(VpcId=vpc, TagSpecifications=[
        {"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "rt-lost"}]}])["RouteTable"]["RouteTableId"]
    args = {"vpc_id": vpc, "tags": TAGS,
            "route_tables": [{"name": "rt-lost", "subnets": [subnets[0]], "routes": [{"dest": "0.0.0.0/0", "gateway_id": igw}]}]}
    run = run_playbook(playbook(tmp_path, args))
    assert run.rc == 0, run.failure_messages()
    assert "CreateRouteTable" not in [c["action"] for c in run.writes]
    assert result(run)["route_tables"][0]["id"] == made
    assert tables_of(ec2, vpc)["rt-lost"][2] == {"Name": "rt-lost", "stack": "rt-test"}

    # Two tables with one Name: the module names both and writes nothing.
    other = ec2.create_route_table(VpcId=vpc, TagSpecifications=[
        {"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "rt-lost"}]}])["RouteTable"]["RouteTableId"]
    twice = run_playbook(playbook(tmp_path, args, "twice.yml"))
    assert twice.rc != 0 and twice.writes == []
    assert any(made in m and other in m and "more than one" in m for m in twice.failure_messages()), twice.failure_messages()


def test_bad_input_fails_before_any_call(run_playbook, tmp_path):
    bad = [
        ({"route_tables": [{"name": "a", "routes": [{"dest": "0.0.0.0/0", "gateway_id": "igw-1", "nat_gateway_id": "nat-1"}]}]},
         "needs exactly one of"),
        ({"route_tables": [{"name": "a"}, {"name": "a"}]}, "names must be unique"),
        ({"route_tables": [{"name": "a", "subnets": ["subnet-1"]}, {"name": "b", "subnets": ["subnet-1"]}]}, "one table only"),
    ]
    for i, (args, message) in enumerate(bad):
        run = run_playbook(playbook(tmp_path, dict(args, vpc_id="vpc-1"), f"bad{i}.yml"))
        assert run.rc != 0 and run.calls == [], run.calls
        assert any(message in m for m in run.failure_messages()), run.failure_messages()
