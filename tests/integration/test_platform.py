"""A converge of playbooks/site.yml killed half-way, against the local endpoint: the re-run ends where a clean
one does.

The stack's own life (converge from empty, wiring, idempotence, --check --diff, releases, destroy twice back to
the fresh-endpoint baseline) is one story on one stack in tests/integration/bluegreen/test_bluegreen.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import playbook_env
from tests.integration.platform.inventory import snapshot
from tests.integration.platform.wiring import SERVICES, STACK, assert_wiring

ROOT = Path(__file__).resolve().parents[2]
SITE = "playbooks/site.yml"

pytestmark = pytest.mark.slow(minutes=5)


def test_platform_interrupted_converge_recovers(endpoint, aws_env, run_playbook, boto):
    """Kill a converge once the first platform resources exist; the re-run ends where a clean one does."""
    env = playbook_env(aws_env)
    proc = subprocess.Popen([str(Path(sys.executable).with_name("ansible-playbook")), SITE], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if any(r["RoleName"].startswith("seed-") for r in boto("iam").list_roles()["Roles"]):
                break
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode != 0, "the converge finished before it could be interrupted"
    assert boto("ecs").list_services(cluster=STACK)["serviceArns"] == [] if boto("ecs").list_clusters()["clusterArns"] else True

    run = run_playbook(SITE)
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    assert_wiring(boto)
    state = snapshot(boto)
    assert state["target_groups"] == {f"seed-{s}-{c}" for s in SERVICES for c in ("blue", "green")}
    assert len(state["load_balancers"]) == 1 and len(state["ecs_services"]) == 2
    assert len(state["task_definitions"]) == 2
    assert len([v for v in boto("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]]) == 1
    again = run_playbook(SITE)
    assert again.changed == 0 and again.writes == []
    # The no-op's call budget (issue 13: <= 70; tools/calls_by_task.py shows where they go): a read added to every
    # converge has to be paid for elsewhere.
    assert len(again.calls) <= 70, sorted(f"{c['service']}:{c['action']}" for c in again.calls)
