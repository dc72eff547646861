"""seed.fargate.ec2_security_groups against the local endpoint: groups that refer to each other made in one call,
tagged creates, one read for a converged set, changed ports authorized before the old ones are revoked, rules left
alone where not given, check mode and diff, and the errors that name the group."""

from __future__ import annotations

import yaml

TAGS = {"stack": "sg-test"}


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "groups", "seed.fargate.ec2_security_groups": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def result(run):
    return run.task_results("groups")[0]


def rules(group, key):
    """{(proto, from, to, target)} of a described group's IpPermissions or IpPermissionsEgress."""
    out = set()
    for perm in group[key]:
        for entry in perm.get("IpRanges", []) + perm.get("UserIdGroupPairs", []) + perm.get("PrefixListIds", []):
            target = entry.get("CidrIp") or entry.get("GroupId") or entry.get("PrefixListId")
            out.add((perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), target, entry.get("Description")))
    return out


def groups_of(ec2, vpc):
    return {g["GroupName"]: g for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]}


def pair(container_ports, alb_egress=True):
    return [
        {"name": "sg-alb", "description": "load balancer",
         "ingress": [{"proto": "tcp", "ports": [80, "443"], "cidr_ip": ["0.0.0.0/0"], "rule_desc": "listeners"}],
         "egress": [{"proto": "tcp", "ports": container_ports, "group_name": "sg-tasks", "rule_desc": "to the tasks"}]
         if alb_egress else None},
        {"name": "sg-tasks", "description": "tasks",
         "ingress": [{"proto": "tcp", "ports": container_ports, "group_name": "sg-alb", "rule_desc": "from the load balancer"}],
         "egress": [{"proto": "all", "cidr_ip": ["0.0.0.0/0"]}]},
    ]


def test_security_groups_lifecycle(run_playbook, boto, tmp_path):
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    create = playbook(tmp_path, {"vpc_id": vpc, "tags": TAGS, "security_groups": pair([8000])})

    # --check on nothing: two groups to make, nothing written, no ids yet.
    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert result(check)["group_ids"] == {"sg-alb": None, "sg-tasks": None}
    assert result(check)["diff"]["before"] == {}
    assert result(check)["diff"]["after"]["sg-tasks"]["ingress"][0]["ports"] == "8000"

    # Both groups, each referring to the other, in one call; tagged by the calls that make them.
    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    assert sorted(c["action"] for c in run.writes) == sorted(
        ["CreateSecurityGroup", "CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupIngress",
         "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress"]), run.writes  # the alb loses the default egress
    found = groups_of(ec2, vpc)
    alb, tasks = found["sg-alb"]["GroupId"], found["sg-tasks"]["GroupId"]
    assert result(run)["group_ids"] == {"sg-alb": alb, "sg-tasks": tasks}
    assert rules(found["sg-alb"], "IpPermissions") == {("tcp", 80, 80, "0.0.0.0/0", "listeners"),
                                                       ("tcp", 443, 443, "0.0.0.0/0", "listeners")}
    assert rules(found["sg-alb"], "IpPermissionsEgress") == {("tcp", 8000, 8000, tasks, "to the tasks")}
    assert rules(found["sg-tasks"], "IpPermissions") == {("tcp", 8000, 8000, alb, "from the load balancer")}
    assert rules(found["sg-tasks"], "IpPermissionsEgress") == {("-1", None, None, "0.0.0.0/0", None)}
    assert {t["Key"]: t["Value"] for t in found["sg-tasks"]["Tags"]} == {"stack": "sg-test", "Name": "sg-tasks"}

    # Converged: one read, nothing written.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert [c["action"] for c in again.calls] == ["DescribeSecurityGroups"]

    # A new container port: the new rules come before the old ones go (never closed in between).
    moved = playbook(tmp_path, {"vpc_id": vpc, "tags": TAGS, "security_groups": pair(["8080-8081"])}, "moved.yml")
    check = run_playbook(moved, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    diff = result(check)["diff"]
    assert [r["ports"] for r in diff["before"]["sg-tasks"]["ingress"]] == ["8000"]
    assert [r["ports"] for r in diff["after"]["sg-tasks"]["ingress"]] == ["8080-8081"]
    run = run_playbook(moved)
    assert run.rc == 0, run.failure_messages()
    actions = [c["action"] for c in run.writes]
    assert actions.index("AuthorizeSecurityGroupIngress") < actions.index("RevokeSecurityGroupIngress"), actions
    assert actions.index("AuthorizeSecurityGroupEgress") < actions.index("RevokeSecurityGroupEgress"), actions
    found = groups_of(ec2, vpc)
    assert rules(found["sg-tasks"], "IpPermissions") == {("tcp", 8080, 8081, alb, "from the load balancer")}
    assert run_playbook(moved).changed == 0

    # A direction not given is left as it is: a hand-made egress rule of the alb stays.
    ec2.authorize_security_group_egress(GroupId=alb, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.78.0.0/24"}]}])
    kept = run_playbook(playbook(tmp_path, {"vpc_id": vpc, "tags": TAGS, "security_groups": pair(["8080-8081"], False)}, "kept.yml"))
    assert kept.rc == 0 and kept.changed == 0 and kept.writes == []
    assert ("tcp", 5432, 5432, "10.78.0.0/24", None) in rules(groups_of(ec2, vpc)["sg-alb"], "IpPermissionsEgress")

    # A changed description is updated in place, not revoked.
    described = pair(["8080-8081"])
    described[1]["ingress"][0]["rule_desc"] = "from the ALB"
    run = run_playbook(playbook(tmp_path, {"vpc_id": vpc, "tags": TAGS, "security_groups": described}, "described.yml"))
    assert run.rc == 0, run.failure_messages()
    assert "UpdateSecurityGroupRuleDescriptionsIngress" in [c["action"] for c in run.writes]
    assert "RevokeSecurityGroupIngress" not in [c["action"] for c in run.writes]
    assert rules(groups_of(ec2, vpc)["sg-tasks"], "IpPermissions") == {("tcp", 8080, 8081, alb, "from the ALB")}


def test_errors_name_the_group(run_playbook, boto, tmp_path):
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.79.0.0/16")["Vpc"]["VpcId"]
    for rule, message in (
        ({"proto": "tcp", "ports": [8000], "group_name": "sg-nowhere"}, "group sg-x: group_name sg-nowhere is neither listed"),
        ({"proto": "tcp", "ports": ["80-70"], "cidr_ip": ["10.0.0.0/8"]}, "group sg-x: port range '80-70' is not within"),
        ({"proto": "tcp", "cidr_ip": ["10.0.0.0/8"]}, "group sg-x: a tcp rule needs ports"),
        ({"proto": "icmp", "ports": [8], "cidr_ip": ["10.0.0.0/8"]}, "group sg-x: proto 'icmp' is not tcp, udp or all"),
        ({"proto": "tcp", "ports": [80]}, "group sg-x: a rule needs cidr_ip"),
    ):
        run = run_playbook(playbook(tmp_path, {"vpc_id": vpc, "security_groups": [
            {"name": "sg-x", "description": "x", "ingress": [rule]}]}))
        assert run.rc != 0 and any(message in m for m in run.failure_messages()), (rule, run.failure_messages())
        assert run.writes == [], run.writes  # checked before any write
