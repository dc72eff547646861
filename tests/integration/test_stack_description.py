"""The stack role's ``description`` entry point (the spec docs/stack.md is generated from) accepts the stack
descriptions the repository ships and refuses wrong types naming the variable, with no AWS call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAY = """
- name: Check the stack description
  hosts: "{{ 'stacks' if groups.stacks | default([]) else 'localhost' }}"
  gather_facts: false
  tasks:
    - name: Stack description
      ansible.builtin.include_role:
        name: seed.fargate.stack
        tasks_from: description
"""


def check(tmp_path: Path, *inventories: str, extra: dict | None = None) -> subprocess.CompletedProcess:
    playbook = tmp_path / "check.yml"
    playbook.write_text(PLAY)
    args = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)]
    for inventory in inventories:
        args += ["-i", inventory]
    if extra:
        args += ["-e", json.dumps(extra)]
    # no endpoint: nothing here may call AWS (an unreachable endpoint would make any call fail)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), AWS_ENDPOINT_URL="http://127.0.0.1:9")
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("inventories", [("inventories/local",), ("inventories/aws-example",),
                                         ("inventories/local", "inventories/stacks-example")])
def test_the_shipped_stack_descriptions_pass(tmp_path, inventories):
    run = check(tmp_path, *inventories)
    assert run.returncode == 0, run.stdout[-3000:]


def test_wrong_types_are_refused_naming_the_variable(tmp_path):
    run = check(tmp_path, "inventories/local", extra={
        "stack_az_count": "two", "stack_pipeline": {"source": "git"}, "deploy_seed_local_images": "sometimes"})
    assert run.returncode != 0
    for words in ("stack_az_count", "source must be one of: s3, codestar", "deploy_seed_local_images"):
        assert words in run.stdout, run.stdout[-3000:]
