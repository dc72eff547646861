"""The playbooks under ansible-runner (AWX's engine) with an AWX-like private data directory.

Like an AWX job: the project is a checkout of the repository, the collections are what AWX's
project sync installs from ``collections/requirements.yml`` (this project as seed.fargate, and
its dependencies), the inventory is the imported one (``ansible-inventory --export``, served by an
inventory script),
credentials and the endpoint only from ``env/envvars`` (the "Amazon Web Services"
credential type's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SECURITY_TOKEN) and
variables only from ``env/extravars``. ansible-runner runs with an emptied environment,
so nothing of the developer's shell reaches the playbooks.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import tarfile
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


# What the tarball ships, at its top level: what a user of the installed collection runs and reads
# (galaxy.yml's build_ignore leaves out the rest: tests, molecule, demo services, tools, sample
# inventories, the repository's AWX and execution-environment files, dev requirements, the local
# endpoint and its docs).
SHIPPED = ("README.md", "LICENSE", "CHANGELOG.rst", "requirements.txt", "buildspec.yml",
           "meta/", "plugins/", "roles/", "playbooks/", "docs/", "changelogs/")
NOT_SHIPPED = ("docs/local-endpoint.md",)


def _without_ansible_config() -> dict:
    # Away from the repository's ansible.cfg (`make` exports ANSIBLE_CONFIG): its collections path links
    # this checkout as seed.fargate, and ansible-galaxy would then find it "already installed" and install
    # nothing.
    return {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, ROOT],
                   check=True, capture_output=True, cwd=out, env=_without_ansible_config())
    [tarball] = out.glob("seed-fargate-*.tar.gz")
    return tarball


def _tracked() -> set[str]:
    return set(subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout.split())


def test_the_artifact_ships_what_a_user_needs(artifact):
    """Exactly the tracked files a collection user needs (SHIPPED), nothing that builds and tests left beside
    the checkout (the container store, caches, endpoint state), none of the repository's own tooling."""
    with tarfile.open(artifact) as tar:
        packed = {m.name for m in tar.getmembers() if m.isfile()} - {"MANIFEST.json", "FILES.json"}
    expected = {f for f in _tracked() if f.startswith(SHIPPED) and f not in NOT_SHIPPED}
    assert {"meta/runtime.yml", "requirements.txt", "roles/stack/tasks/main.yml"} <= packed, sorted(packed)[:20]
    assert sorted(packed - expected) == [], "packed, but not what a user needs: galaxy.yml build_ignore"
    assert sorted(expected - packed) == [], "a user needs these, but they are not packed: galaxy.yml build_ignore"


@pytest.fixture(scope="module")
def project_sync(tmp_path_factory) -> tuple[Path, Path]:
    """What AWX's project update does: a checkout of the project (the tracked files), then, in the project
    directory, ``ansible-galaxy collection install -r collections/requirements.yml`` into the job's collections
    path. ``--offline`` because there is no Galaxy here: amazon.aws and community.aws resolve to the ones
    already installed (the ``ansible`` package's), as they would to an execution environment's."""
    tmp = tmp_path_factory.mktemp("awx")
    project = tmp / "project"
    for name in _tracked():
        if (ROOT / name).is_file():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, project / name)
    collections = tmp / "requirements_collections"
    sync = subprocess.run([BIN / "ansible-galaxy", "collection", "install", "--offline", "-r",
                           "collections/requirements.yml", "--collections-path", collections],
                          cwd=project, env=_without_ansible_config(), capture_output=True, text=True, check=False)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    installed = collections / "ansible_collections" / "seed" / "fargate"
    assert (installed / "MANIFEST.json").is_file(), f"the project sync installed no seed.fargate: {sync.stdout}"
    return project, collections


def _private_data_dir(tmp_path: Path, endpoint, project_sync: tuple[Path, Path], extravars: dict) -> Path:
    project, collections = project_sync
    pdd = tmp_path / "runner"
    (pdd / "env").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    (pdd / "project").symlink_to(project)
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_ENDPOINT_URL": endpoint.url,
        # What AWX sets for every job: the project sync's collections, then the execution environment's.
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


def test_network_playbook_under_ansible_runner(tmp_path, endpoint, boto, project_sync):
    pdd = _private_data_dir(tmp_path, endpoint, project_sync, {})
    rc, output = _run(pdd, "playbooks/network.yml", "network")
    assert rc == 0, output
    assert output.startswith("successful")
    vpcs = boto("ec2").describe_vpcs(Filters=[{"Name": "tag:stack", "Values": ["seed"]}])["Vpcs"]
    assert [v["CidrBlock"] for v in vpcs] == ["10.40.0.0/16"]


def test_pipeline_playbook_under_ansible_runner(tmp_path, endpoint, boto, project_sync):
    # An extra var as a job template / survey passes it.
    pdd = _private_data_dir(tmp_path, endpoint, project_sync,
                            {"pipeline_codebuild_compute_type": "BUILD_GENERAL1_MEDIUM"})
    rc, output = _run(pdd, "playbooks/pipeline.yml", "pipeline")
    assert rc == 0, output
    [project] = boto("codebuild").batch_get_projects(names=["seed-release"])["projects"]
    assert project["environment"]["computeType"] == "BUILD_GENERAL1_MEDIUM"
    assert boto("codepipeline").get_pipeline(name="seed")["pipeline"]["name"] == "seed"
    events = [json.loads(p.read_text()) for p in (pdd / "artifacts" / "pipeline" / "job_events").glob("*.json")]
    assert any(e.get("event") == "playbook_on_stats" for e in events)
