"""Shared fixtures: the real local endpoint (moto's server + localaws patches) and playbook runs.

Every test that touches AWS talks HTTP to a child process started once per
session; state is reset before each test. Playbooks run as real
``ansible-playbook`` processes with the repository's inventory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from localaws import LocalAWS
from tools import fastpath

REGION = "us-east-1"


def playbook_env(base: dict) -> dict:
    """``base`` plus what every ``ansible-playbook`` of the tests gets: the repository's ansible.cfg, the
    JSON callback, and the strategy.

    The tests run their playbooks under mitogen's ``mitogen_linear`` strategy with one botocore loader per
    interpreter and no CPU pinning by mitogen (tools/fastpath.py): a module costs a call in a warm interpreter instead of a new Python
    process, the AWS calls are the same (a network converge, idempotence,
    check and teardown: 98 s against 159 s with the stock strategy, measured side by side). Users run the
    stock strategy: ``make molecule`` (converge, release, rollback, destroy) and the AWX tests
    (tests/awx/test_runner.py, ansible-runner with an emptied environment) keep it, and
    ``SEED_TEST_STRATEGY=linear`` runs every test under it.
    """
    env = dict(base, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_JSON_INDENT="0", ANSIBLE_DEPRECATION_WARNINGS="false")
    return with_strategy(env, os.environ.get("SEED_TEST_STRATEGY", "mitogen_linear"))


def with_strategy(env: dict, strategy: str) -> dict:
    """``env`` set to run ansible-playbook under ``strategy`` (``linear``, or ``mitogen_linear`` with the botocore
    cache of tools/fastpath_site: tools/fastpath.py)."""
    return dict(env, **fastpath.environment(strategy, env))


def pytest_collection_modifyitems(items):
    """The longest files first: a file weighs the minutes its ``slow`` markers give (``pytest.mark.slow(minutes=10)``,
    about what the test takes under mitogen on 2 cores; 1 if not given), each marker once (a module's ``pytestmark``
    or a parametrized test's marker weighs the whole module or test, not each of its items), then the rest; a file's
    tests stay together and in collection order. ``make integration`` runs ``--dist loadfile
    --no-loadscope-reorder``: a file goes to one worker whole (the data plane story shares one stack in order), in
    this order, so the workers finish together instead of one starting a 15-minute file when the other is done. A
    file is weighed whole because it is scheduled whole: four 3-minute tests of one file take one 12-minute slot."""
    markers: dict[str, dict[int, float]] = {}
    for item in items:
        marker = item.get_closest_marker("slow")
        weights = markers.setdefault(item.nodeid.split("::")[0], {})
        if marker:
            weights[id(marker)] = float(marker.kwargs.get("minutes", 1))
    order = {name: index for index, name in enumerate(markers)}

    def key(item) -> tuple[float, int]:
        name = item.nodeid.split("::")[0]
        return -sum(markers[name].values()), order[name]

    items.sort(key=key)


@pytest.fixture(scope="session")
def endpoint_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("localaws") / "server.log"
    with LocalAWS(log_path=log) as aws:
        yield aws


@pytest.fixture
def endpoint(endpoint_server):
    """The local endpoint, empty: every backend reset and the call log cleared."""
    endpoint_server.reset()
    return endpoint_server


@pytest.fixture
def aws_env(endpoint):
    """Environment for a child process (ansible-playbook, boto3) to reach the endpoint."""
    env = dict(os.environ)
    env.update(endpoint.environment(REGION))
    return env


@pytest.fixture
def boto(endpoint):
    """boto3 clients bound to the endpoint: ``boto("ec2").describe_vpcs()``."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            aws_session_token="testing", region_name=REGION)

    def client(service: str):
        return session.client(service, endpoint_url=endpoint.url)

    return client


@dataclass
class PlaybookRun:
    rc: int
    stats: dict
    plays: list
    stdout: str
    stderr: str
    calls: list = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(h.get("changed", 0) for h in self.stats.values())

    @property
    def failed(self) -> bool:
        return self.rc != 0

    @property
    def writes(self) -> list:
        return [c for c in self.calls if c["kind"] == "write"]

    def failure_messages(self, host: str | None = None) -> list[str]:
        messages = []
        for play in self.plays:
            for task in play.get("tasks", []):
                for name, result in task.get("hosts", {}).items():
                    if result.get("failed") and host in (None, name):
                        messages.append(f"{task['task']['name']}: {result.get('msg')}")
        return messages

    def of_host(self, host: str) -> PlaybookRun:
        """This run as ``host`` saw it: its recap and task results (``stdout`` the JSON callback's output of them),
        its failure as ``rc`` (2 if it failed or was unreachable), the run's stderr and AWS calls (one endpoint for
        every host)."""
        stats = {host: self.stats[host]} if host in self.stats else {}
        failed = any(s.get("failures") or s.get("unreachable") for s in stats.values()) or (not stats and self.rc)
        plays = [dict(play, tasks=[dict(task, hosts={h: r for h, r in task.get("hosts", {}).items() if h == host})
                                   for task in play.get("tasks", [])]) for play in self.plays]
        stdout = json.dumps({"plays": plays, "stats": stats}, ensure_ascii=False)
        return PlaybookRun(2 if failed else 0, stats, plays, stdout, self.stderr, self.calls)

    def task_results(self, name: str) -> list[dict]:
        return [r for play in self.plays for task in play.get("tasks", [])
                if task["task"]["name"] == name for r in task.get("hosts", {}).values()]


def _run_playbook(endpoint, env: dict, playbook: str, extra_vars: dict | None = None, check: bool = False,
                  diff: bool = False, inventory: str | tuple = "inventories/local", args: tuple = ()) -> PlaybookRun:
    cmd = [str(Path(sys.executable).with_name("ansible-playbook"))]
    for source in (inventory,) if isinstance(inventory, str) else inventory:
        cmd += ["-i", source]
    cmd.append(playbook)
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    cmd += list(args)
    env = playbook_env(env)
    endpoint.clear_calls()
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    calls = endpoint.calls()
    if os.environ.get("SEED_PLAYBOOK_TIMES"):  # where the suite's time goes: one line per playbook run
        with open(os.environ["SEED_PLAYBOOK_TIMES"], "a", encoding="utf-8") as log:
            log.write(f"{time.strftime('%T')} {time.monotonic() - started:6.1f}s rc={proc.returncode} "
                      f"calls={len(calls)} {playbook} {json.dumps(extra_vars or {})[:100]}"
                      f"{' --check' if check else ''}{' ' + ' '.join(args) if args else ''}\n")
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        data = {"stats": {}, "plays": []}
    return PlaybookRun(proc.returncode, data.get("stats", {}), data.get("plays", []), proc.stdout, proc.stderr, calls)


@pytest.fixture
def run_playbook(endpoint, aws_env):
    """Run a playbook against the endpoint; returns a :class:`PlaybookRun`.

    The call log is cleared before the run, so ``run.calls`` holds the AWS
    calls this run made (``run.writes`` the non-read ones).
    """

    def run(playbook: str, extra_vars: dict | None = None, check: bool = False, diff: bool = False,
            inventory: str = "inventories/local", args: tuple = ()) -> PlaybookRun:
        return _run_playbook(endpoint, aws_env, playbook, extra_vars, check, diff, inventory, args)

    return run


@pytest.fixture(scope="module")
def run_playbook_per_case(endpoint_server, tmp_path_factory):
    """Run a playbook once for many cases: ``run(playbook, {case: variables})`` returns ``{case: PlaybookRun}``, each
    case's run as its host saw it (:meth:`PlaybookRun.of_host`).

    The bad-input tests' cases are hosts of one run instead of one ``ansible-playbook`` each (its start, the
    inventory and the collection's loading cost more than a validation does): one host per case in the ``stacks``
    group, with the case's variables as its host variables over inventories/local's group_vars, as a user's
    host_vars would give them. Every playbook runs on the ``stacks`` group where there is one, each host on its
    own: a case fails or passes on its own host. ``calls`` are the whole run's, so a case's ``writes == []`` holds
    for every case. The endpoint is reset before the run, then ``setup(client)`` makes what the cases share (``client``
    as the ``boto`` fixture's); the run is made once per module and set of cases.
    """
    runs: dict[str, dict[str, PlaybookRun]] = {}

    def run(playbook: str, cases: dict[str, dict], extra_vars: dict | None = None,
            setup: Callable | None = None) -> dict[str, PlaybookRun]:
        key = json.dumps([playbook, cases, extra_vars], sort_keys=True, default=str)
        if key not in runs:
            hosts = {f"case{index}": dict(variables, ansible_connection="local",
                                          ansible_python_interpreter="{{ ansible_playbook_python }}")
                     for index, variables in enumerate(cases.values())}
            inventory = tmp_path_factory.mktemp("cases") / "cases.json"
            inventory.write_text(json.dumps({"all": {"children": {"stacks": {"hosts": hosts}}}}))
            endpoint_server.reset()
            if setup:
                session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                        aws_session_token="testing", region_name=REGION)
                setup(lambda service: session.client(service, endpoint_url=endpoint_server.url))
            env = dict(os.environ, **endpoint_server.environment(REGION))
            batch = _run_playbook(endpoint_server, env, playbook, extra_vars, inventory=("inventories/local", str(inventory)))
            runs[key] = {case: batch.of_host(f"case{index}") for index, case in enumerate(cases)}
        return runs[key]

    return run
