"""The playbooks under ansible-runner (AWX's engine) with an AWX-like private data directory.

Like an AWX job: the project is the repository, the inventory is the imported one
(``ansible-inventory --export``, served by an inventory script), the collection comes
from its built artifact (as in the execution environment, AWX's collections path),
credentials and the endpoint only from ``env/envvars`` (the "Amazon Web Services"
credential type's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SECURITY_TOKEN) and
variables only from ``env/extravars``. ansible-runner runs with an emptied environment,
so nothing of the developer's shell reaches the playbooks.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCRIPT_PLUGIN = "ansible.builtin.script"


def _enabled_inventory_plugins() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "ansible.cfg")
    value = config.get("inventory", "enable_plugins", fallback="")
    return [p.strip() for p in value.split(",") if p.strip()]


def test_ansible_cfg_lets_awx_pass_its_inventory_script():
    """AWX hands a job its inventory as a script in the private data dir (ansible/awx#4746):
    a project ansible.cfg whose [inventory] enable_plugins leaves out the script plugin fails every job."""
    enabled = _enabled_inventory_plugins()
    assert not enabled or SCRIPT_PLUGIN in enabled, (
        f"ansible.cfg [inventory] enable_plugins = {', '.join(enabled)}: add {SCRIPT_PLUGIN} for AWX")


@pytest.fixture(scope="module")
def installed_collection(tmp_path_factory) -> Path:
    """seed.fargate built with ansible-galaxy and installed, as execution-environment.yml does."""
    tmp = tmp_path_factory.mktemp("collection")
    # Away from the repository's ansible.cfg (`make` exports ANSIBLE_CONFIG): its collections path links
    # this checkout as seed.fargate, and ansible-galaxy would then find it "already installed" and install
    # nothing.
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", tmp, ROOT],
                   check=True, capture_output=True, cwd=tmp, env=env)
    [artifact] = tmp.glob("seed-fargate-*.tar.gz")
    subprocess.run([BIN / "ansible-galaxy", "collection", "install", "--force", "--no-deps", "-p",
                    tmp / "collections", artifact], check=True, capture_output=True, cwd=tmp, env=env)
    installed = tmp / "collections" / "ansible_collections" / "seed" / "fargate"
    assert (installed / "MANIFEST.json").is_file(), f"ansible-galaxy installed nothing into {installed}"
    return tmp / "collections"


def test_the_artifact_holds_only_files_of_the_repository(installed_collection):
    """What ansible-galaxy packs from a working checkout is the repository, not what builds and tests left
    beside it (the container store, caches, endpoint state): build_ignore in galaxy.yml."""
    installed = installed_collection / "ansible_collections" / "seed" / "fargate"
    packed = {str(p.relative_to(installed)) for p in installed.rglob("*") if p.is_file()}
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                                 text=True).stdout.split())
    assert {"MANIFEST.json", "meta/runtime.yml", "roles/stack/tasks/main.yml"} <= packed, sorted(packed)[:20]
    extra = sorted(packed - tracked - {"MANIFEST.json", "FILES.json"})
    assert extra == [], (f"{len(extra)} files packed that git does not track, e.g. {extra[:10]}: git add them, or add "
                         "them to build_ignore in galaxy.yml")


def _private_data_dir(tmp_path: Path, endpoint, collections: Path, extravars: dict) -> Path:
    pdd = tmp_path / "runner"
    (pdd / "env").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    (pdd / "project").symlink_to(ROOT)
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_ENDPOINT_URL": endpoint.url,
        # What AWX sets for every job: the job's and the execution environment's collections.
        "ANSIBLE_COLLECTIONS_PATH": f"{collections}:/usr/share/ansible/collections",
        # Until ansible.cfg enables the script plugin (test above), the AWX-side workaround:
        # the setting "Extra Environment Variables" (AWX_TASK_ENV).
        **({} if SCRIPT_PLUGIN in _enabled_inventory_plugins() or not _enabled_inventory_plugins() else
           {"ANSIBLE_INVENTORY_ENABLED": ",".join([*_enabled_inventory_plugins(), SCRIPT_PLUGIN])}),
    }))
    exported = subprocess.run([BIN / "ansible-inventory", "-i", "inventories/local", "--list", "--export"],
                              cwd=ROOT, check=True, capture_output=True, text=True).stdout
    script = pdd / "inventory" / "hosts"
    script.write_text(f"#!/bin/sh\ncat <<'INVENTORY'\n{exported}\nINVENTORY\n")
    script.chmod(0o755)
    return pdd


def _run(pdd: Path, playbook: str, ident: str) -> tuple[int, str]:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(pdd), "LANG": "C.UTF-8"}
    proc = subprocess.run([BIN / "ansible-runner", "run", pdd, "-p", playbook, "--ident", ident],
                          env=env, capture_output=True, text=True, check=False)
    status = (pdd / "artifacts" / ident / "status").read_text().strip()
    return proc.returncode, status + "\n" + proc.stdout[-4000:]


def test_network_playbook_under_ansible_runner(tmp_path, endpoint, boto, installed_collection):
    pdd = _private_data_dir(tmp_path, endpoint, installed_collection, {})
    rc, output = _run(pdd, "playbooks/network.yml", "network")
    assert rc == 0, output
    assert output.startswith("successful")
    vpcs = boto("ec2").describe_vpcs(Filters=[{"Name": "tag:stack", "Values": ["seed"]}])["Vpcs"]
    assert [v["CidrBlock"] for v in vpcs] == ["10.40.0.0/16"]


def test_pipeline_playbook_under_ansible_runner(tmp_path, endpoint, boto, installed_collection):
    # An extra var as a job template / survey passes it.
    pdd = _private_data_dir(tmp_path, endpoint, installed_collection,
                            {"pipeline_codebuild_compute_type": "BUILD_GENERAL1_MEDIUM"})
    rc, output = _run(pdd, "playbooks/pipeline.yml", "pipeline")
    assert rc == 0, output
    [project] = boto("codebuild").batch_get_projects(names=["seed-release"])["projects"]
    assert project["environment"]["computeType"] == "BUILD_GENERAL1_MEDIUM"
    assert boto("codepipeline").get_pipeline(name="seed")["pipeline"]["name"] == "seed"
    events = [json.loads(p.read_text()) for p in (pdd / "artifacts" / "pipeline" / "job_events").glob("*.json")]
    assert any(e.get("event") == "playbook_on_stats" for e in events)
