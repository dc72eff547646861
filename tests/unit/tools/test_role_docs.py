"""Role docs cannot drift: defaults, argument specs and README tables agree for every role, and docs/stack.md
is the page the stack description spec generates."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tools import role_docs


def test_role_defaults_specs_and_readmes_agree():
    proc = subprocess.run([sys.executable, "tools/role_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr


def _copy_tree(tmp_path: Path) -> Path:
    for part in ("roles", "playbooks", "docs"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def test_stack_page_is_generated_from_the_specs(tmp_path):
    """docs/stack.md lists every variable of the stack description with its type and default."""
    page = (ROOT / "docs" / "stack.md").read_text()
    spec = yaml.safe_load((ROOT / "roles/stack/meta/argument_specs.yml").read_text())["argument_specs"]["description"]
    for name in ("stack_name", "stack_services", "stack_vpc_cidr", "aws_endpoint_url", "deploy_seed_local_images"):
        assert name in spec["options"]
    for name, option in spec["options"].items():
        assert f"| `{name}` | {option.get('type', 'str')}" in page, name
    assert "| `stack_vpc_cidr` | str | `10.0.0.0/16` | `network_vpc_cidr` |" in page


def test_a_changed_spec_makes_the_stack_page_stale(tmp_path):
    root = _copy_tree(tmp_path)
    assert role_docs.stack_page_problems(root, write=False) == []
    spec_file = root / "roles/stack/meta/argument_specs.yml"
    spec_file.write_text(spec_file.read_text().replace("default: 10.0.0.0/16", "default: 10.9.0.0/16"))
    assert role_docs.stack_page_problems(root, write=False) == ["docs/stack.md is stale (run python tools/role_docs.py)"]
    assert role_docs.stack_page_problems(root, write=True) == []
    assert "| `stack_vpc_cidr` | str | `10.9.0.0/16` |" in (root / "docs/stack.md").read_text()
    assert role_docs.stack_page_problems(root, write=False) == []


def test_a_stack_variable_read_but_not_in_the_spec_is_a_problem(tmp_path):
    root = _copy_tree(tmp_path)
    defaults = root / "roles/network/defaults/main.yml"
    defaults.write_text(defaults.read_text() + 'network_flow_logs: "{{ stack_flow_logs | default(false) }}"\n')
    problems = role_docs.stack_page_problems(root, write=True)
    assert len(problems) == 1 and problems[0].startswith("stack: stack_flow_logs is read (`network_flow_logs`)")
