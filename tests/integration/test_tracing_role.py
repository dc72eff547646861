"""X-Ray tracing (stack_tracing) through ansible-playbook against the local endpoint: off, the task definitions and
task roles are what they were; on, the traced services' task definitions get the daemon sidecar and their
containers its address, and their task roles exactly the daemon's X-Ray writes (parliament-clean); --check predicts
the change and writes nothing, a second converge changes nothing, and turning it off again takes it all away."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
import yaml

from tests.integration.platform.policies import findings

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = "tests/integration/test_tracing_role.playbook.yml"
STACK = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())
NAME = STACK["stack_name"]
XRAY = {"Sid": "XRayWrite", "Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        "Resource": "*"}
ON_API = {"stack_tracing": {"enabled": True, "services": ["api"], "sampling_rate": 0.5}}


def _statements(iam, service: str) -> list[dict]:
    role = f"{NAME}-{service}-task"
    if f"{NAME}-{service}" not in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        return []
    doc = iam.get_role_policy(RoleName=role, PolicyName=f"{NAME}-{service}")["PolicyDocument"]
    doc = json.loads(urllib.parse.unquote(doc)) if isinstance(doc, str) else doc
    assert not findings(doc), findings(doc)
    return doc["Statement"]


def _containers(ecs, service: str) -> dict[str, dict]:
    definition = ecs.describe_task_definition(taskDefinition=f"{NAME}-{service}")["taskDefinition"]
    return {c["name"]: c for c in definition["containerDefinitions"]}


def _ok(run):
    assert not run.failed, run.failure_messages() or run.stderr[-3000:]
    return run


def _changed_tasks(run) -> list[str]:
    return [t["task"]["name"] for p in run.plays for t in p["tasks"] if any(h.get("changed") for h in t["hosts"].values())]


@pytest.mark.slow
def test_tracing_on_and_off(run_playbook, boto):
    ecs, iam = boto("ecs"), boto("iam")
    ecs.create_cluster(clusterName=NAME)

    _ok(run_playbook(PLAYBOOK))  # off (the inventory sets no stack_tracing)
    assert list(_containers(ecs, "api")) == ["api"] and list(_containers(ecs, "web")) == ["web"]
    assert not any(e["name"].startswith(("AWS_XRAY", "XRAY")) for e in _containers(ecs, "api")["api"]["environment"])
    assert XRAY not in _statements(iam, "api") and _statements(iam, "web") == []
    off_revision = ecs.describe_task_definition(taskDefinition=f"{NAME}-api")["taskDefinition"]["revision"]

    # --check with tracing on: the change is reported, nothing is written
    check = _ok(run_playbook(PLAYBOOK, extra_vars=ON_API, check=True))
    assert check.changed > 0 and check.writes == [], check.writes

    _ok(run_playbook(PLAYBOOK, extra_vars=ON_API))
    api = _containers(ecs, "api")
    assert list(api) == ["api", "xray-daemon"]
    daemon = api["xray-daemon"]
    assert daemon["image"] == "public.ecr.aws/xray/aws-xray-daemon:3.x"
    assert daemon["essential"] is False
    assert (daemon["cpu"], daemon["memoryReservation"]) == (32, 64)
    assert daemon["portMappings"][0]["containerPort"] == 2000 and daemon["portMappings"][0]["protocol"] == "udp"
    assert daemon["logConfiguration"]["options"] == {"awslogs-group": f"/ecs/{NAME}/api", "awslogs-region": STACK["stack_region"],
                                                     "awslogs-stream-prefix": "xray"}
    assert daemon["user"] == "10001" and daemon["readonlyRootFilesystem"] is True
    env = {e["name"]: e["value"] for e in api["api"]["environment"]}
    assert {k: env[k] for k in env if "XRAY" in k} == {
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_TRACING_NAME": f"{NAME}-api",
        "XRAY_SAMPLING_RATE": "0.5", "XRAY_SAMPLING_RESERVOIR": "1"}
    assert api["api"]["essential"] is True
    # web is not in stack_tracing.services: unchanged
    assert list(_containers(ecs, "web")) == ["web"]
    assert XRAY in _statements(iam, "api") and len(_statements(iam, "api")) == 2  # the table's, and X-Ray's
    assert _statements(iam, "web") == []

    again = _ok(run_playbook(PLAYBOOK, extra_vars=ON_API))
    assert again.changed == 0, _changed_tasks(again)
    assert again.writes == []
    check = _ok(run_playbook(PLAYBOOK, extra_vars=ON_API, check=True))
    assert check.changed == 0 and check.writes == []

    # every service traced (services unset), with another daemon image
    _ok(run_playbook(PLAYBOOK, extra_vars={"stack_tracing": {"enabled": True, "daemon_image": "localhost/xray:test"}}))
    assert _containers(ecs, "web")["xray-daemon"]["image"] == "localhost/xray:test"
    assert _containers(ecs, "web")["xray-daemon"]["user"] == "10001"
    assert _statements(iam, "web") == [XRAY]

    # off again: the definitions are as before tracing (a new revision of the same definition), no X-Ray grant left
    off = _ok(run_playbook(PLAYBOOK, extra_vars={"stack_tracing": {"enabled": False}}))
    assert off.changed > 0
    assert list(_containers(ecs, "api")) == ["api"] and list(_containers(ecs, "web")) == ["web"]
    assert ecs.describe_task_definition(taskDefinition=f"{NAME}-api")["taskDefinition"]["revision"] > off_revision
    assert XRAY not in _statements(iam, "api") and _statements(iam, "web") == []


@pytest.mark.parametrize(("tracing", "message"), [
    ({"enabled": True, "services": ["apx"]}, "services names 'apx', which is not a service of stack_services"),
    ({"enabled": True, "daemon_memory": 512}, "daemon_memory 512 MiB leaves nothing of service api's 512 MiB"),
    ({"enabled": True, "sampling_rate": 2}, "sampling_rate must be a number 0..1"),
])
def test_a_bad_setting_fails_before_any_aws_call(run_playbook, tracing, message):
    run = run_playbook(PLAYBOOK, extra_vars={"stack_tracing": tracing})
    assert run.failed
    assert any(m.startswith("Validate | X-Ray tracing fits the services: ecs_service_tracing (stack_tracing):")
               and message in m for m in run.failure_messages()) or message in run.stdout, run.failure_messages()
    assert run.calls == []
