"""Build the real images with services/scripts/build-images.sh (buildah, local
bases) and run them with podman (runc, vfs, cgroupfs): health on loopback,
non-root, read-only root fs, no build tools, web -> api proxy, graceful stop;
each image's size within its goal.

Every buildah/podman call runs with services/scripts/engine-env.sh's exports:
the project's own store (.containers/), whose storage.conf/containers.conf
set vfs, runc and cgroupfs. A failing engine call fails the test with the
engine's stderr."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
import requests
from svc_helpers import SERVICES, engine_env, free_port, wait_http

pytestmark = [pytest.mark.images, pytest.mark.slow]

API_TAG = "localhost/seed-fargate-api:dev"
WEB_TAG = "localhost/seed-fargate-web:dev"
PODMAN = ["podman"]
RUN_OPTS = [
    "--pull",
    "never",  # the images are local; a missing one is an error, not a pull
    "--network",
    "host",
    "--read-only",
    "--ulimit",
    "nofile=4096:4096",
    "--ulimit",
    "nproc=4096:4096",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
]
# Size goals in MB as `podman images` reports them (10**6 bytes): the api's leaves room for a Rust WSGI
# server's wheel (~22 MB), the bases' package managers, perl, docs and unused libraries are pruned.
SIZE_GOALS_MB = {API_TAG: 120, WEB_TAG: 60}


def describe(proc: subprocess.CompletedProcess) -> str:
    """What an engine call did, for assertion messages: command, exit code and
    the engine's own words (podman/buildah explain failures on stderr)."""
    return (
        f"$ {' '.join(map(str, proc.args))}\nexit {proc.returncode}\n"
        f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-5000:]}"
    )


@functools.cache
def engine() -> dict[str, str]:
    """The environment for every engine call (run engine-env.sh once, lazily:
    deselecting these tests must not create the store)."""
    return engine_env()


def sh(*cmd, check=True, timeout=120) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout, env=engine())
    if check:
        assert proc.returncode == 0, describe(proc)
    return proc


@pytest.fixture(scope="module")
def images():
    for tool in ("buildah", "podman", "runc", "debootstrap"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} missing: run services/scripts/install-deps.sh")
    if os.geteuid() != 0:
        pytest.fail("image tests need root (buildah chroot isolation, podman)")
    # The engines must see the project's store, not the machine's.
    store = sh(*PODMAN, "info", "--format", "{{.Store.GraphRoot}} {{.Store.GraphDriverName}}").stdout.split()
    assert store == [engine()["SEED_CONTAINERS_DIR"] + "/storage", "vfs"], store
    host = sh(*PODMAN, "info", "--format", "{{.Host.CgroupManager}} {{.Host.OCIRuntime.Name}}").stdout.split()
    assert host == ["cgroupfs", "runc"], host
    t0 = time.monotonic()
    proc = sh("bash", str(SERVICES / "scripts" / "build-images.sh"), check=False, timeout=900)
    assert proc.returncode == 0, describe(proc)
    print(f"\nbuild-images.sh took {time.monotonic() - t0:.0f}s")
    print(proc.stdout)
    return {API_TAG: inspect(API_TAG), WEB_TAG: inspect(WEB_TAG)}


def inspect(tag) -> dict:
    out = sh("buildah", "inspect", "--type", "image", tag).stdout
    return json.loads(out)


class Container:
    def __init__(self, image, *env: str):
        self.name = f"seed-test-{uuid.uuid4().hex[:8]}"
        args = [a for e in env for a in ("-e", e)]
        started = sh(*PODMAN, "run", "-d", "--name", self.name, *RUN_OPTS, *args, image, check=False)
        if started.returncode != 0:
            self.remove()  # podman may have created it before failing to start it
        assert started.returncode == 0, describe(started)

    def exec(self, *cmd, check=False):
        return sh(*PODMAN, "exec", self.name, *cmd, check=check)

    def logs(self) -> str:
        p = sh(*PODMAN, "logs", self.name, check=False)
        return p.stdout + p.stderr

    def healthcheck(self) -> subprocess.CompletedProcess:
        return sh(*PODMAN, "healthcheck", "run", self.name, check=False)

    def stop(self, timeout=30) -> int:
        sh(
            *PODMAN,
            "stop",
            "-t",
            str(timeout),
            self.name,
            check=False,
            timeout=timeout + 30,
        )
        return int(
            sh(*PODMAN, "inspect", "--format", "{{.State.ExitCode}}", self.name).stdout
        )

    def remove(self):
        sh(*PODMAN, "rm", "-f", self.name, check=False)


@pytest.fixture
def containers():
    made: list[Container] = []

    def run(image, *env):
        c = Container(image, *env)
        made.append(c)
        return c

    yield run
    for c in made:
        c.remove()


def test_image_metadata(images):
    api = images[API_TAG]["Docker"]["config"]
    web = images[WEB_TAG]["Docker"]["config"]
    assert api["User"] == "10001:10001"
    assert web["User"] == "10002:10002"
    assert "8000/tcp" in api["ExposedPorts"] and "8080/tcp" in web["ExposedPorts"]
    assert api["Healthcheck"]["Test"][0] == "CMD"
    assert web["Healthcheck"]["Test"] == ["CMD", "/usr/local/bin/web-healthcheck.sh"]
    assert web["StopSignal"] == "SIGQUIT"


def test_image_sizes_within_goals(images):
    sizes = {tag: int(sh(*PODMAN, "image", "inspect", "--format", "{{.Size}}", tag).stdout) / 1e6 for tag in SIZE_GOALS_MB}
    for tag, mb in sizes.items():
        print(f"{tag}: {mb:.1f} MB (goal <= {SIZE_GOALS_MB[tag]} MB)")
    over = [f"{tag} is {mb:.1f} MB, over its goal of {SIZE_GOALS_MB[tag]} MB" for tag, mb in sizes.items() if mb > SIZE_GOALS_MB[tag]]
    assert not over, "; ".join(over)


def test_images_run_healthy_read_only_non_root(images, containers):
    api_port, web_port = free_port(), free_port()
    api = containers(
        API_TAG,
        f"PORT={api_port}",
        "APP_VERSION=9.9.9",
        "APP_COLOUR=blue",
        "DRAIN_SECONDS=1",
    )
    wait_http(f"http://127.0.0.1:{api_port}/api/health", timeout=30)
    web = containers(WEB_TAG, f"PORT={web_port}", f"API_UPSTREAM=127.0.0.1:{api_port}")
    wait_http(f"http://127.0.0.1:{web_port}/healthz", timeout=30)

    # health checks as the orchestrator runs them (the image's HEALTHCHECK)
    for c in (api, web):
        check = c.healthcheck()
        assert check.returncode == 0, describe(check) + "\nlogs:\n" + c.logs()

    # non-root, read-only root filesystem, only /tmp writable
    assert api.exec("id", "-u", check=True).stdout.strip() == "10001"
    assert web.exec("id", "-u", check=True).stdout.strip() == "10002"
    for c in (api, web):
        ro = c.exec("touch", "/probe")
        assert ro.returncode != 0 and "Read-only file system" in ro.stderr, describe(ro)
        tmp = c.exec("touch", "/tmp/probe")
        assert tmp.returncode == 0, describe(tmp)
    # no build tools, package managers or perl in the runtime images (pruned, see prune-rootfs.sh)
    for c in (api, web):
        found = c.exec("sh", "-c", "command -v gcc cc make pip pip3 npm node git apt apt-get dpkg perl curl || true", check=True)
        assert found.stdout.strip() == "", describe(found)

    # the whole path: web container -> api container
    v = requests.get(f"http://127.0.0.1:{web_port}/api/version", timeout=5).json()
    assert v["version"] == "9.9.9" and v["colour"] == "blue"
    r = requests.post(
        f"http://127.0.0.1:{web_port}/api/items", json={"name": "from-image"}
    )
    assert r.status_code == 201
    page = requests.get(f"http://127.0.0.1:{web_port}/", timeout=5)
    assert '<div id="root">' in page.text

    # JSON logs on stdout
    api_logs = [json.loads(ln) for ln in api.logs().splitlines() if ln.startswith("{")]
    assert any(
        e.get("path") == "/api/items" and e.get("status") == 201 for e in api_logs
    )
    web_logs = [json.loads(ln) for ln in web.logs().splitlines() if ln.startswith("{")]
    assert any(e.get("path") == "/api/version" for e in web_logs)

    # graceful stop: SIGTERM (api) / SIGQUIT (web) -> exit 0 well before the kill
    t0 = time.monotonic()
    assert api.stop(timeout=30) == 0
    assert time.monotonic() - t0 < 20
    assert web.stop(timeout=30) == 0
