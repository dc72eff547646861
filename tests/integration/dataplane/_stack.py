"""The deployed stack the data-plane tests share, and helpers to talk to it.

The endpoint runs with the data plane on (tasks as podman containers, load balancer listeners on
loopback); the images come from ``tools/demo_images.py`` (the script ``make demo`` uses), built once
per source hash; ``playbooks/site.yml`` converges the stack from ``inventories/local`` with smaller
desired counts (two API tasks, so "whichever task answers" means something; one web task).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from localaws import LocalAWS
from tests.conftest import PlaybookRun, playbook_env

ROOT = Path(__file__).resolve().parents[3]


REGION = "us-east-1"
DAEMON_IMAGE = "localhost/seed-xray-daemon:latest"  # tools/demo_images.py DAEMON_IMAGE
# Real seconds per AWS minute: the canary's minute lasts 4 s, the termination wait (5 min) 20 s, the
# target groups' 15 s health-check interval 1 s, their 30 s deregistration delay 2 s.
TIME_SCALE = 4.0
# The emulation scales health-check intervals but not the seconds a container takes to start: with the
# role's 3 x 15 s a new target would be unhealthy after 3 s real, before the API listens on a loaded
# machine (AWS gives it 45 s). 10 x 15 s (AWS's maximum threshold) gives it 10 s.
# The load balancer is protected from deletion (stack_alb_deletion_protection), as a production stack would be.
STACK_SETTINGS = {"alb_unhealthy_threshold": 10, "stack_alb_deletion_protection": True}
# The release story's stack (conftest.py; not bench/release/run.py's) also has X-Ray tracing on for the api, its daemon
# the local stand-in tools/demo_images.py builds (the endpoint cannot pull AWS's from public.ecr.aws): every api task
# runs it beside the API, and the API's segments reach the endpoint's X-Ray (test_release_story.py finds them).
TRACING = {"stack_tracing": {"enabled": True, "services": ["api"], "daemon_image": DAEMON_IMAGE}}
VERSIONS = ["v1", "v2", "v3", "v4"]


def stack_services() -> list[dict]:
    """The inventory's services with the test's counts, fixed: the data plane runs the target tracking
    policies (localaws/dataplane/autoscaling.py), and the load generators would otherwise scale the api out
    mid-test (its CPU target is a share of 0.25 vCPU); min = max keeps the counts the tests reason about.
    tests/localaws/test_dataplane_autoscaling.py proves the scaling itself."""
    stack = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())
    services = stack["stack_services"]
    for svc in services:
        if svc["name"] == "web":
            svc.update(desired_count=1, min_count=1, max_count=1)
        if svc["name"] == "api":
            svc.update(desired_count=2, min_count=2, max_count=2)
    return services


class Stack:
    def __init__(self, aws: LocalAWS, log: Path):
        self.aws = aws
        self.log = log
        self.extra_vars = {"stack_services": stack_services(), **STACK_SETTINGS}
        self.session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                     aws_session_token="testing", region_name=REGION)
        self.production_url = ""
        self.test_url = ""
        self.site: PlaybookRun | None = None
        self.outputs: list[str] = []  # stdout + stderr of every playbook run, in order
        self.secret_values: dict[str, str] = {}  # variable -> the value only the task may see

    def add_secrets(self) -> None:
        """Give the api a Secrets Manager secret (a JSON key), an SSM SecureString parameter and, opted in, a
        credential-like plain environment variable; their values are random and recorded in ``secret_values``."""
        token = uuid.uuid4().hex
        self.secret_values = {"DB_PASSWORD": f"asm-{token[:12]}", "API_TOKEN": f"ssm-{token[12:24]}",
                              "LEGACY_API_KEY": f"plain-{token[24:]}"}
        secret = self.client("secretsmanager").create_secret(
            Name="seed/api/db", SecretString=json.dumps({"username": "app", "password": self.secret_values["DB_PASSWORD"]}))
        ssm = self.client("ssm")
        ssm.put_parameter(Name="/seed/api/token", Value=self.secret_values["API_TOKEN"], Type="SecureString")
        api = next(svc for svc in self.extra_vars["stack_services"] if svc["name"] == "api")
        api["secrets"] = {"DB_PASSWORD": {"arn": secret["ARN"], "json_key": "password"},
                          "API_TOKEN": ssm.get_parameter(Name="/seed/api/token")["Parameter"]["ARN"]}
        api["environment"] = dict(api.get("environment") or {}, LEGACY_API_KEY=self.secret_values["LEGACY_API_KEY"])
        api["allow_credentials_in_environment"] = True

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.aws.url)

    def control(self, path: str) -> Any:
        with urllib.request.urlopen(self.aws.url + path, timeout=10) as resp:
            return json.load(resp)

    def playbook(self, playbook: str, extra_vars: dict | None = None, *, verbose: bool = False) -> PlaybookRun:
        """``ansible-playbook -i inventories/local`` against the endpoint, JSON callback (as tests/conftest.py);
        ``verbose``: ``-vvv`` with the default callback, as a user debugging a run sees it (no stats then)."""
        cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "inventories/local", playbook,
               "-e", json.dumps(dict(self.extra_vars, **(extra_vars or {})))]
        env = playbook_env(dict(os.environ, **self.aws.environment(REGION)))
        if verbose:
            cmd.append("-vvv")
            env["ANSIBLE_STDOUT_CALLBACK"] = "default"
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        self.outputs.append(proc.stdout + proc.stderr)
        if verbose:
            return PlaybookRun(proc.returncode, {}, [], proc.stdout, proc.stderr)
        try:
            data = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            data = {"stats": {}, "plays": []}
        return PlaybookRun(proc.returncode, data.get("stats", {}), data.get("plays", []), proc.stdout, proc.stderr)

    def listeners(self) -> dict[int, str]:
        """AWS listener port -> local URL, for the stack's load balancer."""
        return {li["port"]: li["localUrl"] for li in self.control("/_localaws/dataplane/listeners")
                if li["loadBalancerName"] == "seed"}


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """One GET on a fresh connection: (status, body); a connection error raises."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(what: str, probe: Callable[[], Any], deadline: float = 240, interval: float = 0.5) -> Any:
    """Poll ``probe`` until truthy; fail naming ``what`` (and the last value seen) past the deadline."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        try:
            last = probe()
        except (OSError, ValueError) as exc:  # a listener not open yet, a body not JSON yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {deadline}s waiting for {what}; last seen: {last!r}")


@dataclass
class Sample:
    at: float
    path: str
    status: int | None
    version: str | None = None
    host: str | None = None
    error: str | None = None
    seconds: float | None = None  # from sending the request to the whole answer read


@dataclass
class Load:
    """A bounded load generator: ``workers`` threads GET ``paths`` in turn on fresh connections until
    stopped, ``max_requests`` sent or ``max_seconds`` passed, whichever comes first."""

    url: str
    paths: tuple[str, ...] = ("/api/version", "/")
    workers: int = 4
    max_requests: int = 20000
    max_seconds: float = 420
    pause: float = 0.02
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sent = 0
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="load")
        self._started = time.monotonic()
        self._futures = [self._pool.submit(self._worker, i) for i in range(self.workers)]

    def _worker(self, index: int) -> None:
        n = index
        while not self._stop.is_set() and time.monotonic() - self._started < self.max_seconds:
            with self._lock:
                if self._sent >= self.max_requests:
                    return
                self._sent += 1
            path = self.paths[n % len(self.paths)]
            n += 1
            sample = Sample(time.monotonic(), path, None)
            try:
                status, body = get(self.url + path, timeout=30)
                sample.status = status
                if path == "/api/version" and status == 200:
                    doc = json.loads(body)
                    sample.version, sample.host = doc["version"], doc["host"]
                elif status != 200:
                    sample.error = body[:200].decode(errors="replace")
            except OSError as exc:
                sample.error = repr(exc)
            sample.seconds = time.monotonic() - sample.at
            with self._lock:
                self.samples.append(sample)
            time.sleep(self.pause)

    def stop(self) -> list[Sample]:
        self._stop.set()
        for future in self._futures:
            future.result()
        self._pool.shutdown()
        return sorted(self.samples, key=lambda s: s.at)
