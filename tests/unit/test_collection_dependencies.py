"""Roles and playbooks use only collections a user gets with seed.fargate: ansible.builtin and the
dependencies galaxy.yml declares. The ``ansible`` package this repository develops with bundles many
more (community.general, ansible.utils, ...), so a filter or module of one of those works here and
fails for a user who installed the collection from Galaxy (tests/integration/test_installed_collection.py
found ansible.utils.remove_keys and community.general.dict_kv that way)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# A fully qualified name: <namespace>.<collection>.<plugin>, as a module key, a filter or test name, a lookup.
FQCN = re.compile(r"(?<![\w./-])([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\b")
# Namespaces of collections (not hosts, files or AWS service principals such as ecs-tasks.amazonaws.com).
NAMESPACES = {"ansible", "amazon", "community", "cloud", "containers", "kubernetes", "awx", "seed"}


def allowed() -> set[str]:
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    return {"ansible.builtin", "ansible.legacy", "seed.fargate", *galaxy.get("dependencies", {})}


def used() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in [*ROOT.glob("roles/**/*.yml"), *ROOT.glob("playbooks/**/*.yml"), *ROOT.glob("playbooks/**/*.j2")]:
        for match in FQCN.finditer(path.read_text()):
            if match[1] in NAMESPACES:
                found.setdefault(f"{match[1]}.{match[2]}", set()).add(str(path.relative_to(ROOT)))
    return found


def test_roles_and_playbooks_use_only_declared_collections():
    undeclared = {name: sorted(paths) for name, paths in used().items() if name not in allowed()}
    assert undeclared == {}, f"collections used but not in galaxy.yml's dependencies: {undeclared}"


def test_the_check_sees_the_collections_that_are_used():
    assert {"ansible.builtin", "amazon.aws", "community.aws", "seed.fargate"} <= set(used())
