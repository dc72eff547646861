"""seed.fargate.cloudwatch_dashboard against the local endpoint (moto + localaws's dashboard validation)."""

from __future__ import annotations

import json

import yaml

WIDGETS = [
    {
        "type": "metric",
        "x": 0,
        "y": 0,
        "width": 12,
        "height": 6,
        "properties": {
            "region": "us-east-1",
            "stat": "Sum",
            "period": 60,
            "metrics": [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/x/1"]],
        },
    },
    {"type": "text", "x": 12, "y": 0, "width": 12, "height": 6, "properties": {"markdown": "# hello"}},
]


def playbook(tmp_path, tasks, name="pb.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], sort_keys=False))
    return str(path)


def dashboard_task(state="present", body=None, register="result"):
    args = {"name": "unit-dash", "state": state}
    if body is not None:
        args["body"] = body
    return {"name": "dashboard", "seed.fargate.cloudwatch_dashboard": args, "register": register}


def result(run):
    return run.task_results("dashboard")[0]


def test_dashboard_lifecycle(run_playbook, boto, tmp_path):
    cw = boto("cloudwatch")
    create = playbook(tmp_path, [dashboard_task(body={"widgets": WIDGETS})])

    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert result(check)["diff"] == {"before": {}, "after": {"widgets": WIDGETS}}
    assert cw.list_dashboards()["DashboardEntries"] == []

    run = run_playbook(create)
    assert run.rc == 0 and run.changed == 1
    assert [c["action"] for c in run.writes] == ["PutDashboard"]
    assert json.loads(cw.get_dashboard(DashboardName="unit-dash")["DashboardBody"]) == {"widgets": WIDGETS}
    assert result(run)["dashboard"]["dashboard_arn"].endswith(":dashboard/unit-dash")

    # The same dashboard as a JSON string with other key order and 6.0 for 6: no change, no write.
    text = json.dumps({"widgets": [dict(reversed(list(w.items()))) for w in WIDGETS]}).replace(
        '"height": 6', '"height": 6.0'
    )
    same = run_playbook(playbook(tmp_path, [dashboard_task(body=text)], "same.yml"))
    assert same.rc == 0 and same.changed == 0 and same.writes == []

    # A real change: diff shows it, check mode does not write it, the run does.
    changed_widgets = json.loads(json.dumps(WIDGETS))
    changed_widgets[1]["properties"]["markdown"] = "# changed"
    change = playbook(tmp_path, [dashboard_task(body={"widgets": changed_widgets})], "change.yml")
    check = run_playbook(change, check=True, diff=True)
    assert check.changed == 1 and check.writes == []
    assert result(check)["diff"]["before"]["widgets"][1]["properties"]["markdown"] == "# hello"
    assert result(check)["diff"]["after"]["widgets"][1]["properties"]["markdown"] == "# changed"
    run = run_playbook(change)
    assert run.changed == 1
    assert (
        json.loads(cw.get_dashboard(DashboardName="unit-dash")["DashboardBody"])["widgets"][1]["properties"]["markdown"]
        == "# changed"
    )

    # Delete: check mode writes nothing, then deletes, then nothing to do.
    delete = playbook(tmp_path, [dashboard_task(state="absent")], "delete.yml")
    check = run_playbook(delete, check=True)
    assert check.changed == 1 and check.writes == []
    run = run_playbook(delete)
    assert run.changed == 1 and [c["action"] for c in run.writes] == ["DeleteDashboards"]
    assert cw.list_dashboards()["DashboardEntries"] == []
    again = run_playbook(delete)
    assert again.rc == 0 and again.changed == 0 and again.writes == []


def test_dashboard_validation_errors_fail_the_task(run_playbook, boto, tmp_path):
    bad = {"widgets": [{"type": "metric", "width": 30, "properties": {"metrics": [["AWS/ECS", "CPUUtilization"]]}}]}
    run = run_playbook(playbook(tmp_path, [dashboard_task(body=bad)]))
    assert run.rc != 0
    (message,) = run.failure_messages()
    assert "AWS rejected the body of dashboard unit-dash" in message
    assert "Should have required property 'region'" in message
    assert "/widgets/0/width" in message
    assert boto("cloudwatch").list_dashboards()["DashboardEntries"] == []


def test_dashboard_body_must_be_an_object(run_playbook, tmp_path):
    run = run_playbook(playbook(tmp_path, [dashboard_task(body="[1, 2]")]))
    assert run.rc != 0
    assert "must be a JSON object" in run.failure_messages()[0]
    assert run.writes == []
