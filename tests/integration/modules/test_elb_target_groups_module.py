"""seed.fargate.elb_target_groups against the local endpoint: tagged creates, a converged list read in a fixed
number of calls, health check / delay / tag changes only where they differ, check mode and diff, and what AWS
cannot change in place refused before any write."""

from __future__ import annotations

import yaml

TAGS = {"stack": "tg-test"}


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "groups", "seed.fargate.elb_target_groups": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def result(run):
    return run.task_results("groups")[0]


def groups(vpc, path="/api/health", delay=30, port=8000, color_tag=True):
    return {"vpc_id": vpc, "tags": TAGS, "target_groups": [
        {"name": f"tg-api-{color}", "port": port, "health_check_path": path, "health_check_interval": 15,
         "healthy_threshold": 2, "unhealthy_threshold": 3, "matcher": "200-399", "deregistration_delay": delay,
         "tags": {"color": color} if color_tag else {}}
        for color in ("blue", "green")]}


def described(elbv2, names):
    out = {}
    for group in elbv2.describe_target_groups(Names=names)["TargetGroups"]:
        arn = group["TargetGroupArn"]
        attributes = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}
        tags = {t["Key"]: t["Value"] for t in elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]}
        out[group["TargetGroupName"]] = (group["Port"], group["TargetType"], group["HealthCheckPath"],
                                         group["HealthCheckIntervalSeconds"], group["Matcher"]["HttpCode"],
                                         attributes["deregistration_delay.timeout_seconds"], tags)
    return out


def test_target_groups_lifecycle(run_playbook, boto, tmp_path):
    ec2, elbv2 = boto("ec2"), boto("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.81.0.0/16")["Vpc"]["VpcId"]
    create = playbook(tmp_path, groups(vpc))
    names = ["tg-api-blue", "tg-api-green"]

    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert result(check)["arns"] == {"tg-api-blue": None, "tg-api-green": None}
    assert result(check)["diff"]["before"] == {}

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    # tagged by the create; the delay set once after it (AWS's default is 300 s)
    assert sorted(c["action"] for c in run.writes) == ["CreateTargetGroup"] * 2 + ["ModifyTargetGroupAttributes"] * 2
    assert described(elbv2, names)["tg-api-green"] == (8000, "ip", "/api/health", 15, "200-399", "30",
                                                       {"stack": "tg-test", "color": "green"})
    arns = result(run)["arns"]
    assert all(arn.startswith("arn:aws:elasticloadbalancing:") for arn in arns.values())

    # Converged: one read of the groups, one of their tags, one of each group's attributes; nothing written.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert sorted(c["action"] for c in again.calls) == sorted(
        ["DescribeTargetGroups", "DescribeTags"] + ["DescribeTargetGroupAttributes"] * 2)

    # Drift in each kind of setting: only what differs is written.
    changed = playbook(tmp_path, groups(vpc, path="/api/ready", delay=45, color_tag=False), "changed.yml")
    check = run_playbook(changed, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    diff = result(check)["diff"]
    assert diff["before"]["tg-api-blue"]["settings"]["health_check_path"] == "/api/health"
    assert diff["after"]["tg-api-blue"]["settings"]["health_check_path"] == "/api/ready"
    run = run_playbook(changed)
    assert run.rc == 0, run.failure_messages()
    assert sorted(c["action"] for c in run.writes) == sorted(
        ["ModifyTargetGroup", "ModifyTargetGroupAttributes", "RemoveTags"] * 2), run.writes
    assert described(elbv2, names)["tg-api-blue"] == (8000, "ip", "/api/ready", 15, "200-399", "45", {"stack": "tg-test"})
    assert arns == result(run)["arns"]  # the same groups
    assert run_playbook(changed).changed == 0

    # The port cannot change in place: refused before any write, naming the group.
    moved = run_playbook(playbook(tmp_path, groups(vpc, path="/api/ready", delay=45, port=9000, color_tag=False), "moved.yml"))
    assert moved.rc != 0 and moved.writes == []
    assert any("tg-api-blue exists with port 8000 (not 9000)" in m for m in moved.failure_messages()), moved.failure_messages()


def test_names_are_checked_before_any_call(run_playbook, boto, tmp_path):
    vpc = boto("ec2").create_vpc(CidrBlock="10.82.0.0/16")["Vpc"]["VpcId"]
    long_name = "tg-" + "x" * 30
    run = run_playbook(playbook(tmp_path, {"vpc_id": vpc, "target_groups": [{"name": long_name, "port": 80}]}))
    assert run.rc != 0 and run.calls == []
    assert any("at most 32 characters" in m and long_name in m for m in run.failure_messages())
