"""Stacks as inventory hosts: one run converges every stack of the `stacks` group, `--limit` picks
stacks, and an inventory without that group still runs its one stack on localhost (every other test)."""

from __future__ import annotations

import json

import pytest

STACKS = {"alpha": "10.41.0.0/16", "beta": "10.42.0.0/16"}


def stacks_inventory(path) -> str:
    """Two stacks as hosts; the stack description is inventories/local's group_vars/all, each host
    overrides its name and CIDR (as a user's host_vars would)."""
    hosts = {name: {"stack_name": f"seed-{name}", "stack_vpc_cidr": cidr} for name, cidr in STACKS.items()}
    group_vars = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    path.write_text(json.dumps({"all": {"children": {"stacks": {"hosts": hosts, "vars": group_vars}}}}))
    return str(path)


def vpcs_by_name(ec2) -> dict[str, str]:
    out = {}
    for vpc in ec2.describe_vpcs()["Vpcs"]:
        name = {t["Key"]: t["Value"] for t in vpc.get("Tags", [])}.get("Name")
        if name:
            out[name] = vpc["CidrBlock"]
    return out


@pytest.mark.slow(minutes=2)
def test_one_run_converges_each_stack_and_limit_picks_stacks(run_playbook, boto, tmp_path):
    ec2 = boto("ec2")
    inventory = ("-i", stacks_inventory(tmp_path / "stacks.yml"))

    both = run_playbook("playbooks/network.yml", args=inventory)
    assert both.rc == 0, both.failure_messages() or both.stderr
    assert set(both.stats) == {"alpha", "beta"}, both.stats  # the stacks, not localhost
    assert all(both.stats[name]["changed"] > 0 for name in STACKS), both.stats
    vpcs = vpcs_by_name(ec2)
    assert {name: vpcs.get(f"seed-{name}") for name in STACKS} == STACKS, vpcs

    alone = run_playbook("playbooks/network.yml", args=(*inventory, "--limit", "alpha"))
    assert alone.rc == 0, alone.failure_messages() or alone.stderr
    assert set(alone.stats) == {"alpha"}, alone.stats
    assert alone.changed == 0 and alone.writes == [], alone.writes

    gone = run_playbook("playbooks/destroy.yml", args=(*inventory, "--limit", "beta"))
    assert gone.rc == 0, gone.failure_messages() or gone.stderr
    assert set(gone.stats) == {"beta"}, gone.stats
    vpcs = vpcs_by_name(ec2)
    assert "seed-beta" not in vpcs and vpcs.get("seed-alpha") == STACKS["alpha"], vpcs
