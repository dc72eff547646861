"""tools/fastpath_site: one botocore loader per interpreter and no CPU pinning by mitogen when its directory leads
PYTHONPATH."""

import os
import subprocess
import sys
from pathlib import Path

from tools import fastpath

SAME_LOADER = ("import boto3\n"
               "a, b = boto3.session.Session(), boto3.session.Session()\n"
               "print(a._session.get_component('data_loader') is b._session.get_component('data_loader'))\n")


def _python(code: str, pythonpath: str) -> str:
    env = dict(os.environ, PYTHONPATH=pythonpath)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_sessions_share_one_loader_only_with_the_cache():
    assert _python(SAME_LOADER, "") == "False"
    assert _python(SAME_LOADER, str(fastpath.SITE)) == "True"


def test_a_client_of_the_shared_loader_still_builds_requests():
    code = ("import boto3\n"
            "for region in ('us-east-1', 'eu-west-1'):\n"
            "    client = boto3.session.Session(region_name=region).client('ecs')\n"
            "    print(client.meta.endpoint_url, client.meta.service_model.service_name)\n")
    assert _python(code, str(fastpath.SITE)).splitlines() == [
        "https://ecs.us-east-1.amazonaws.com ecs", "https://ecs.eu-west-1.amazonaws.com ecs"]


def test_botocore_is_not_imported_by_the_hook_itself():
    assert _python("import sys; print('botocore' in sys.modules)", str(fastpath.SITE)) == "False"


def test_a_sitecustomize_further_down_the_path_still_runs(tmp_path: Path):
    (tmp_path / "sitecustomize.py").write_text("import builtins\nbuiltins.SEED_NEXT_SITECUSTOMIZE = True\n")
    code = "import builtins; print(getattr(builtins, 'SEED_NEXT_SITECUSTOMIZE', False))"
    assert _python(code, os.pathsep.join([str(fastpath.SITE), str(tmp_path)])) == "True"


# What mitogen's controller does first (ansible_mitogen.process.common_setup), then the CPUs this process may run on.
PINNED = ("import os, ansible_mitogen.affinity as affinity\n"
          "affinity.policy.assign_controller()\n"
          "affinity.policy.assign_worker()\n"
          "print(sorted(os.sched_getaffinity(0)))\n")


def test_mitogen_leaves_the_processes_on_every_cpu_only_with_the_site_directory():
    every_cpu = str(sorted(os.sched_getaffinity(0)))
    assert _python(PINNED, str(fastpath.SITE)) == every_cpu
    if len(os.sched_getaffinity(0)) > 1:  # with one CPU, pinned and unpinned are the same set
        assert _python(PINNED, "") != every_cpu


def test_mitogen_is_not_imported_by_the_hook_itself():
    assert _python("import sys; print('ansible_mitogen' in sys.modules)", str(fastpath.SITE)) == "False"


def test_fastpath_environment_puts_the_cache_first_for_mitogen_only():
    env = fastpath.environment("mitogen_linear", {"PYTHONPATH": "/elsewhere"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(fastpath.SITE), "/elsewhere"]
    assert env["ANSIBLE_STRATEGY_PLUGINS"].endswith("ansible_mitogen/plugins/strategy")
    assert fastpath.environment("linear", {}) == {"ANSIBLE_STRATEGY": "linear"}
