"""Build the real images with services/scripts/build-images.sh (buildah, local
bases) and run them with podman (runc, vfs, cgroupfs): health on loopback,
non-root, read-only root fs, no build tools, web -> api proxy, graceful stop."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
import requests
from svc_helpers import SERVICES, free_port, wait_http

pytestmark = [pytest.mark.images, pytest.mark.slow]

API_TAG = "localhost/seed-fargate-api:dev"
WEB_TAG = "localhost/seed-fargate-web:dev"
PODMAN = [
    "podman",
    "--storage-driver",
    "vfs",
    "--cgroup-manager",
    "cgroupfs",
    "--runtime",
    "runc",
]
RUN_OPTS = [
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


def sh(*cmd, check=True, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, capture_output=True, text=True, check=check, timeout=timeout
    )


@pytest.fixture(scope="module")
def images():
    for tool in ("buildah", "podman", "runc", "debootstrap"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} missing: run services/scripts/install-deps.sh")
    if os.geteuid() != 0:
        pytest.fail("image tests need root (buildah chroot isolation, podman)")
    t0 = time.monotonic()
    proc = subprocess.run(
        ["bash", str(SERVICES / "scripts" / "build-images.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    print(f"\nbuild-images.sh took {time.monotonic() - t0:.0f}s")
    print(proc.stdout)
    return {API_TAG: inspect(API_TAG), WEB_TAG: inspect(WEB_TAG)}


def inspect(tag) -> dict:
    out = sh(
        "buildah", "--storage-driver", "vfs", "inspect", "--type", "image", tag
    ).stdout
    return json.loads(out)


class Container:
    def __init__(self, image, *env: str):
        self.name = f"seed-test-{uuid.uuid4().hex[:8]}"
        args = [a for e in env for a in ("-e", e)]
        sh(*PODMAN, "run", "-d", "--name", self.name, *RUN_OPTS, *args, image)

    def exec(self, *cmd, check=False):
        return sh(*PODMAN, "exec", self.name, *cmd, check=check)

    def logs(self) -> str:
        p = sh(*PODMAN, "logs", self.name, check=False)
        return p.stdout + p.stderr

    def healthcheck(self) -> int:
        return sh(*PODMAN, "healthcheck", "run", self.name, check=False).returncode

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
    for tag in (API_TAG, WEB_TAG):
        size = sh(
            "buildah", "--storage-driver", "vfs", "images", "--format", "{{.Size}}", tag
        ).stdout.strip()
        print(f"{tag}: {size}")


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
    assert api.healthcheck() == 0, api.logs()
    assert web.healthcheck() == 0, web.logs()

    # non-root, read-only root filesystem, only /tmp writable
    assert api.exec("id", "-u").stdout.strip() == "10001"
    assert web.exec("id", "-u").stdout.strip() == "10002"
    for c in (api, web):
        assert c.exec("touch", "/probe").returncode != 0
        assert c.exec("touch", "/tmp/probe").returncode == 0
    # no build tools in the runtime images
    for c in (api, web):
        found = c.exec(
            "sh", "-c", "command -v gcc cc make pip pip3 npm node git || true"
        )
        assert found.stdout.strip() == "", found.stdout

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
