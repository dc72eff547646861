"""tools/calls_by_task.py: each endpoint call lands on the task running when it was made."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tools.calls_by_task import attribute, report


def task(name, start, end):
    return {"task": {"name": name, "duration": {"start": f"2026-12-02T10:00:{start}Z", "end": f"2026-12-02T10:00:{end}Z"}}}


def call(action, second):
    # 2026-12-02T10:00:00Z is 1796205600 in epoch seconds
    return {"service": "ec2", "action": action, "time": 1796205600 + second}


def test_calls_land_on_their_task_and_the_rest_is_reported_apart():
    plays = [{"tasks": [task("read", "01.000", "02.000"), task("write", "02.500", "04.000"), {"task": {"name": "skipped"}}]}]
    calls = [call("DescribeVpcs", 1.5), call("CreateVpc", 3), call("CreateTags", 3.9), call("DescribeSubnets", 2.2)]
    tasks, outside = attribute(plays, calls)
    assert [(t["name"], [c["action"] for c in t["calls"]], t["seconds"]) for t in tasks] == [
        ("read", ["DescribeVpcs"], 1.0), ("write", ["CreateVpc", "CreateTags"], 1.5)]
    assert [c["action"] for c in outside] == ["DescribeSubnets"]
    lines = report(tasks, outside).splitlines()
    assert lines[1].split()[:3] == ["2", "1.50", "write"] and "ec2:CreateVpc" in lines[1]
    assert lines[-2].startswith("    3    2.50  total: 2 tasks, 2 of them calling AWS")
    assert "calls outside every task: ec2:DescribeSubnets" in lines[-1]
