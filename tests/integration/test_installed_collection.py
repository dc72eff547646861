"""The collection as its users get it: the tarball, installed beside a fresh virtualenv, run from a
directory that holds nothing but the user's own inventory.

Nothing of this repository is on the way: the virtualenv is made from ansible-core and the
collection's own ``requirements.txt`` (read from the tarball), the collections path holds the
installed tarball and its dependencies only, the inventory is written here (two stacks as two
hosts of the ``stacks`` group, a hand-written stack description), the playbooks are called by
their collection names (``seed.fargate.site``), with the stock strategy and callback and an
environment that carries only the credentials and the endpoint. ansible-galaxy runs ``--offline``
because there is no Galaxy here: amazon.aws and community.aws come from the ``ansible`` package's
copies, as they would from Galaxy.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import venv
from dataclasses import dataclass
from pathlib import Path

import ansible
import pytest
import yaml

from tests.conftest import REGION

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUNDLED = Path(ansible.__file__).resolve().parent.parent / "ansible_collections"
STACKS = {"alpha": "10.51.0.0/16", "beta": "10.52.0.0/16"}

# What a user writes: the stacks as hosts, one stack description for both. The web service gives no
# path_patterns (it takes what the API's rule does not).
HOSTS = {"stacks": {
    "hosts": {name: {"stack_name": f"shop-{name}", "stack_vpc_cidr": cidr} for name, cidr in STACKS.items()},
    "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
}}
STACK_DESCRIPTION = {
    "aws_endpoint_url": "{{ lookup('ansible.builtin.env', 'AWS_ENDPOINT_URL') }}",
    "deploy_seed_local_images": True,
    "deploy_poll_interval": 0.25,
    "stack_region": REGION,
    "stack_environment": "staging",
    "stack_services": [
        {"name": "api", "container_port": 8000, "path_patterns": ["/api/*"], "health_check_path": "/api/health",
         "image_tag": "v1", "cpu": 256, "memory": 512, "desired_count": 1, "min_count": 1, "max_count": 2},
        {"name": "web", "container_port": 8080, "health_check_path": "/healthz", "image_tag": "v1",
         "cpu": 256, "memory": 512, "desired_count": 1, "min_count": 1, "max_count": 2},
    ],
}
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


@dataclass
class Run:
    rc: int
    output: str
    writes: list

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return {m[1]: {"changed": int(m[3]), "unreachable": int(m[4]), "failed": int(m[5])}
                for m in RECAP.finditer(self.output)}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # Away from the repository's ansible.cfg: its collections path links this checkout as seed.fargate.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, ROOT],
                   check=True, capture_output=True, cwd=out, env=env)
    [tarball] = out.glob("seed-fargate-*.tar.gz")
    return tarball


@pytest.fixture(scope="module")
def user(tmp_path_factory, artifact) -> Path:
    """A user's machine: a fresh virtualenv, a clean collections path, a project with only an inventory."""
    home = tmp_path_factory.mktemp("user")
    with tarfile.open(artifact) as tar:
        requirements = tar.extractfile("requirements.txt")
        assert requirements is not None, "the tarball has no requirements.txt"
        (home / "requirements.txt").write_bytes(requirements.read())
    venv.create(home / "venv", with_pip=True)
    pip = [home / "venv" / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"ansible-core=={ansible_core_version()}", "-r", home / "requirements.txt"],
                   check=True, capture_output=True)
    (home / "requirements.yml").write_text(yaml.safe_dump({"collections": [
        {"name": str(artifact), "type": "file"},
        {"name": str(BUNDLED / "amazon" / "aws"), "type": "dir"},
        {"name": str(BUNDLED / "community" / "aws"), "type": "dir"},
    ]}))
    subprocess.run([home / "venv" / "bin" / "ansible-galaxy", "collection", "install", "--offline", "-r",
                    home / "requirements.yml", "-p", home / "collections"],
                   check=True, capture_output=True, cwd=home, env=clean_env(home))
    project = home / "project"
    (project / "inventory" / "group_vars").mkdir(parents=True)
    (project / "inventory" / "hosts.yml").write_text(yaml.safe_dump(HOSTS))
    (project / "inventory" / "group_vars" / "stacks.yml").write_text(yaml.safe_dump(STACK_DESCRIPTION))
    return home


def ansible_core_version() -> str:
    from ansible.release import __version__
    return __version__


def clean_env(home: Path, extra: dict | None = None) -> dict:
    return {"PATH": f"{home / 'venv' / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "ANSIBLE_COLLECTIONS_PATH": str(home / "collections"), "ANSIBLE_NOCOLOR": "1", **(extra or {})}


@pytest.fixture
def run(user, endpoint):
    def run_(playbook: str, *args: str) -> Run:
        endpoint.clear_calls()
        proc = subprocess.run([user / "venv" / "bin" / "ansible-playbook", "-i", "inventory", playbook, *args],
                              cwd=user / "project", env=clean_env(user, endpoint.environment(REGION)),
                              capture_output=True, text=True, check=False)
        writes = [c for c in endpoint.calls() if c["kind"] == "write"]
        return Run(proc.returncode, proc.stdout + proc.stderr, writes)
    return run_


def test_what_the_user_has_is_the_installed_collection_only(user):
    installed = user / "collections" / "ansible_collections"
    assert sorted(f"{ns.name}.{c.name}" for ns in installed.iterdir() for c in ns.iterdir()) == [
        "amazon.aws", "community.aws", "seed.fargate"]
    assert sorted(p.name for p in (user / "project").iterdir()) == ["inventory"]


@pytest.mark.slow(minutes=8)
def test_two_stacks_from_the_installed_collection(run, boto):
    ec2, ecs = boto("ec2"), boto("ecs")

    plan = run("seed.fargate.site", "--check", "--diff")
    assert plan.rc == 0, plan.output[-6000:]
    assert set(plan.recap) == set(STACKS), plan.recap
    assert all(plan.recap[s]["changed"] > 0 for s in STACKS), plan.recap  # it says what it would create
    assert plan.writes == [], [c["action"] for c in plan.writes][:20]
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["shop-*"]}])["Vpcs"] == []

    site = run("seed.fargate.site")
    assert site.rc == 0, site.output[-6000:]
    assert set(site.recap) == set(STACKS) and not any(r["failed"] for r in site.recap.values()), site.recap
    vpcs = {next(t["Value"] for t in v["Tags"] if t["Key"] == "Name"): v["CidrBlock"]
            for v in ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["shop-*"]}])["Vpcs"]}
    assert vpcs == {f"shop-{s}": cidr for s, cidr in STACKS.items()}, vpcs
    for stack in STACKS:
        arns = ecs.list_services(cluster=f"shop-{stack}")["serviceArns"]
        assert sorted(a.rsplit("/", 1)[-1] for a in arns) == ["api", "web"], arns

    deploy = run("seed.fargate.deploy", "-e", "deploy_image_tag=v2")
    assert deploy.rc == 0, deploy.output[-6000:]
    assert {s: live_image_tags(ecs, f"shop-{s}") for s in STACKS} == {s: {"api": "v2", "web": "v2"} for s in STACKS}

    back = run("seed.fargate.rollback", "-e", "rollback_service=api")
    assert back.rc == 0, back.output[-6000:]
    assert {s: live_image_tags(ecs, f"shop-{s}") for s in STACKS} == {s: {"api": "v1", "web": "v2"} for s in STACKS}

    gone = run("seed.fargate.destroy")
    assert gone.rc == 0, gone.output[-6000:]
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["shop-*"]}])["Vpcs"] == []
    assert [c["clusterName"] for c in ecs.describe_clusters(clusters=[f"shop-{s}" for s in STACKS])["clusters"]
            if c["status"] == "ACTIVE"] == []


def live_image_tags(ecs, cluster: str) -> dict[str, str]:
    """The image tag each service of ``cluster`` runs: its PRIMARY task set's (CodeDeploy controller)."""
    tags = {}
    services = ecs.describe_services(cluster=cluster, services=["api", "web"])["services"]
    for service in services:
        [primary] = [t for t in service.get("taskSets", []) if t["status"] == "PRIMARY"]
        taskdef = ecs.describe_task_definition(taskDefinition=primary["taskDefinition"])["taskDefinition"]
        tags[service["serviceName"]] = taskdef["containerDefinitions"][0]["image"].rsplit(":", 1)[-1]
    return tags
