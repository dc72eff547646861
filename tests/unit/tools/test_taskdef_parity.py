"""plugins/filter/taskdef.py builds the container definition the ecs_service role registers.

Runs ansible-playbook with the role's own task variables (read from
roles/ecs_service/tasks/task_definitions.yml, not copied) and compares what the
role would register with the filter (and so with roles/pipeline/files/release_artifacts.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "roles" / "pipeline" / "files"))

import release_artifacts as ra
from test_release_artifacts import INVENTORY, OUTPUTS

TASKS = ROOT / "roles" / "ecs_service" / "tasks" / "task_definitions.yml"
VARS = ROOT / "roles" / "ecs_service" / "vars" / "main.yml"


def _role_container_vars() -> dict:
    for task in yaml.safe_load(TASKS.read_text()):
        if "community.aws.ecs_taskdefinition" in task:
            # The container the role registers, built by the role's vars (`item.item` is the service).
            assert task["community.aws.ecs_taskdefinition"]["containers"] == "{{ _ecs_service_td_containers }}"
            return {k: v for k, v in yaml.safe_load(VARS.read_text()).items() if k.startswith("_ecs_service_td_")}
    raise AssertionError(f"{TASKS}: no community.aws.ecs_taskdefinition task")


@pytest.mark.parametrize("tracing", [None, {"enabled": True, "services": ["api"], "daemon_memory": 128}])
def test_filter_matches_the_container_the_role_registers(tmp_path, tracing):
    """The same containers, X-Ray daemon sidecar (stack_tracing) included."""
    extra = {"stack_tracing": tracing} if tracing else {}
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Render the ecs_service role's container definitions",
        "hosts": "localhost",
        "gather_facts": False,
        "vars_files": [str(ROOT / "roles" / "ecs_service" / "defaults" / "main.yml")],
        # A new stack: no service runs yet, so no live image to keep.
        "vars": dict(OUTPUTS, _ecs_service_live_task_definitions={}, **extra),
        "tasks": [{
            "name": "Render",
            "ansible.builtin.set_fact": {
                "rendered": "{{ rendered | default({}) | combine({_ecs_service_td_svc.name: _ecs_service_td_containers}) }}"},
            # as the role's loop over the results of reading each service's revision: `item.item` is the service
            "loop": "{{ ecs_service_services | map('community.general.dict_kv', 'item') }}",
            "vars": _role_container_vars(),
        }, {"name": "Show", "ansible.builtin.debug": {"var": "rendered"}}],
    }]))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    proc = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(INVENTORY),
                           str(playbook)], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    rendered = result["plays"][0]["tasks"][1]["hosts"]["localhost"]["rendered"]

    variables = ra.load_variables(INVENTORY, dict(OUTPUTS, **extra))
    for service in variables["ecs_service_services"]:
        image = ra.image_of(variables, service, service["image_tag"])
        containers = ra.task_definition(variables, service, image)["containerDefinitions"]
        assert containers == rendered[service["name"]], service["name"]
        assert len(containers) == (2 if tracing and service["name"] == "api" else 1)
