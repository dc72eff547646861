"""seed.fargate.ec2_subnets against the local endpoint: tagged creates, one read for a converged list, tag and
attribute changes, purged tags, check mode (also on a VPC still to be made), removal, bad input."""

from __future__ import annotations

import yaml

TAGS = {"stack": "subnet-test"}


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "subnets", "seed.fargate.ec2_subnets": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def result(run):
    return run.task_results("subnets")[0]


def subnets_of(ec2, vpc):
    """CIDR -> (id, AZ, MapPublicIpOnLaunch, tags) of the VPC's subnets."""
    return {s["CidrBlock"]: (s["SubnetId"], s["AvailabilityZone"], s["MapPublicIpOnLaunch"],
                             {t["Key"]: t["Value"] for t in s.get("Tags", [])})
            for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]}


def test_subnets_lifecycle(run_playbook, boto, tmp_path):
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    desired = {"vpc_id": vpc, "tags": TAGS, "subnets": [
        {"cidr": "10.78.0.0/24", "az": "us-east-1a", "tags": {"Name": "s-public-a", "tier": "public"}},
        {"cidr": "10.78.1.0/24", "az": "us-east-1b", "map_public_ip_on_launch": True,
         "tags": {"Name": "s-public-b", "tier": "public"}},
        {"cidr": "10.78.10.0/24", "az": "us-east-1a", "tags": {"Name": "s-private-a", "tier": "private"}},
    ]}
    create = playbook(tmp_path, desired)

    # --check on nothing: three subnets to make, nothing written, no ids yet.
    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert [c["action"] for c in check.calls] == ["DescribeSubnets"]
    assert [s["id"] for s in result(check)["subnets"]] == [None, None, None]
    assert [s["availability_zone"] for s in result(check)["subnets"]] == ["us-east-1a", "us-east-1b", "us-east-1a"]
    assert sorted(result(check)["diff"]["after"]) == ["10.78.0.0/24", "10.78.1.0/24", "10.78.10.0/24"]
    assert result(check)["diff"]["before"] == {}

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    # Tagged by the call that makes each subnet: no CreateTags afterwards.
    assert sorted(c["action"] for c in run.writes) == ["CreateSubnet"] * 3 + ["ModifySubnetAttribute"], run.writes
    found = subnets_of(ec2, vpc)
    public_tags = {"stack": "subnet-test", "Name": "s-public-a", "tier": "public"}
    assert found["10.78.0.0/24"][1:] == ("us-east-1a", False, public_tags)
    assert found["10.78.1.0/24"][1:3] == ("us-east-1b", True)
    assert found["10.78.10.0/24"][3]["tier"] == "private"
    shown = result(run)["subnets"]
    assert [s["id"] for s in shown] == [found[c][0] for c in ("10.78.0.0/24", "10.78.1.0/24", "10.78.10.0/24")]
    assert shown[1]["map_public_ip_on_launch"] is True and shown[0]["tags"]["Name"] == "s-public-a"
    assert all(s["state"] == "available" and s["vpc_id"] == vpc for s in shown)

    # Converged: one read for every subnet, nothing written.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert [c["action"] for c in again.calls] == ["DescribeSubnets"]
    assert [s["id"] for s in result(again)["subnets"]] == [s["id"] for s in shown]
    assert run_playbook(create, check=True).changed == 0

    # Drift by hand: a foreign tag (kept without purge_tags), a tag changed, the public IPs switched off.
    ec2.create_tags(Resources=[shown[0]["id"]], Tags=[{"Key": "owner", "Value": "someone"},
                                                      {"Key": "tier", "Value": "wrong"}])
    ec2.modify_subnet_attribute(SubnetId=shown[1]["id"], MapPublicIpOnLaunch={"Value": False})
    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    diff = result(check)["diff"]
    assert diff["before"]["10.78.0.0/24"]["tags"]["tier"] == "wrong" and diff["after"]["10.78.0.0/24"]["tags"]["tier"] == "public"
    assert diff["after"]["10.78.0.0/24"]["tags"]["owner"] == "someone"
    assert diff["before"]["10.78.1.0/24"]["map_public_ip_on_launch"] is False
    assert diff["after"]["10.78.1.0/24"]["map_public_ip_on_launch"] is True
    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    assert sorted(c["action"] for c in run.writes) == ["CreateTags", "ModifySubnetAttribute"], run.writes
    found = subnets_of(ec2, vpc)
    assert found["10.78.0.0/24"][3] == {"stack": "subnet-test", "Name": "s-public-a", "tier": "public", "owner": "someone"}
    assert found["10.78.1.0/24"][2] is True
    assert run_playbook(create).changed == 0

    # purge_tags: the foreign tag goes, with one DeleteTags.
    purge = playbook(tmp_path, dict(desired, purge_tags=True), "purge.yml")
    run = run_playbook(purge)
    assert run.rc == 0 and [c["action"] for c in run.writes] == ["DeleteTags"], run.writes
    assert "owner" not in subnets_of(ec2, vpc)["10.78.0.0/24"][3]
    assert run_playbook(purge).writes == []

    # An existing subnet in another zone: the run fails before it writes anything.
    moved = dict(desired, subnets=[dict(desired["subnets"][0], az="us-east-1c"), desired["subnets"][1]])
    run = run_playbook(playbook(tmp_path, dict(moved, tags={"stack": "changed"}), "moved.yml"))
    assert run.rc != 0 and run.writes == []
    assert any("cannot move" in m for m in run.failure_messages()), run.failure_messages()

    # Absent: check mode first, then two of the three deleted; the third is left alone; again: nothing.
    absent = playbook(tmp_path, {"vpc_id": vpc, "state": "absent",
                                 "subnets": [{"cidr": "10.78.1.0/24"}, {"cidr": "10.78.10.0/24"}]}, "absent.yml")
    check = run_playbook(absent, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    assert sorted(result(check)["diff"]["before"]) == ["10.78.1.0/24", "10.78.10.0/24"]
    run = run_playbook(absent)
    assert run.rc == 0 and [c["action"] for c in run.writes] == ["DeleteSubnet", "DeleteSubnet"], run.writes
    assert sorted(subnets_of(ec2, vpc)) == ["10.78.0.0/24"]
    again = run_playbook(absent)
    assert again.rc == 0 and again.changed == 0 and again.writes == []


def test_check_mode_on_a_vpc_still_to_be_made_calls_nothing(run_playbook, tmp_path):
    args = {"vpc_id": "vpc-known-after-apply", "tags": TAGS,
            "subnets": [{"cidr": "10.79.0.0/24", "az": "us-east-1a", "tags": {"Name": "plan-a"}}]}
    run = run_playbook(playbook(tmp_path, args), check=True, diff=True)
    assert run.rc == 0, run.failure_messages()
    assert run.changed == 1 and run.calls == []
    (subnet,) = result(run)["subnets"]
    assert subnet["id"] is None and subnet["cidr_block"] == "10.79.0.0/24" and subnet["availability_zone"] == "us-east-1a"
    assert subnet["tags"] == {"stack": "subnet-test", "Name": "plan-a"}


def test_bad_input_fails_before_any_call(run_playbook, tmp_path):
    bad = [
        ({"subnets": [{"cidr": "10.0.0.0/33"}]}, "not an IPv4 CIDR block"),
        ({"subnets": [{"cidr": "10.0.0.1/24"}]}, "not an IPv4 CIDR block"),
        ({"subnets": [{"cidr": "10.0.0.0/24"}, {"cidr": "10.0.0.0/25"}]}, "overlaps"),
        ({"subnets": [{"cidr": "10.0.0.0/24", "map_public_ip_on_launch": "maybe"}]}, "map_public_ip_on_launch"),
    ]
    for i, (args, message) in enumerate(bad):
        run = run_playbook(playbook(tmp_path, dict(args, vpc_id="vpc-1"), f"bad{i}.yml"))
        assert run.rc != 0 and run.calls == [], run.calls
        assert any(message in m for m in run.failure_messages()), run.failure_messages()
