"""Fixtures for the services tests: the real API server (granian), real nginx, real Chromium.

Markers: ``browser`` (headless Chromium), ``images`` + ``slow`` (buildah
image build + podman run; needs root). They are declared in the root
pytest.ini and registered again here so this directory also runs on its own.
Helpers live in svc_helpers.py (not here: several conftest.py files exist).

Scratch files go to our own temp dir, not pytest's basetemp: a concurrent
pytest run in the same account prunes old basetemp dirs while we use them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from svc_helpers import WEB_DIR, Server, start_api, start_nginx


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives headless Chromium")
    config.addinivalue_line(
        "markers", "images: builds and runs container images (buildah)"
    )
    config.addinivalue_line("markers", "slow: long-running")


@pytest.fixture(scope="session")
def svc_root():
    root = Path(tempfile.mkdtemp(prefix="seed-services-tests-"))
    os.chmod(root, 0o755)  # nginx workers run as nobody when we are root
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _subdir(root: Path, name: str) -> Path:
    path = root / f"{name}-{uuid.uuid4().hex[:8]}"
    path.mkdir(mode=0o755)
    return path


@pytest.fixture
def svc_tmp(svc_root, request) -> Path:
    """A fresh scratch dir for one test (like tmp_path, but ours)."""
    return _subdir(svc_root, request.node.name[:40].replace("/", "_"))


@pytest.fixture
def api_factory(svc_tmp):
    servers: list[Server] = []

    def factory(**env) -> Server:
        server = start_api(svc_tmp, **env)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def api(svc_root) -> Server:
    server = start_api(_subdir(svc_root, "api"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def web_dist(svc_root) -> Path:
    """The SPA built with Vite from services/web (needs `npm ci` done)."""
    if not (WEB_DIR / "node_modules" / ".bin" / "vite").exists():
        pytest.fail(
            "services/web/node_modules missing: run services/scripts/install-deps.sh"
        )
    out = _subdir(svc_root, "dist")
    subprocess.run(
        ["npx", "--no-install", "vite", "build", "--outDir", str(out), "--emptyOutDir"],
        cwd=WEB_DIR,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


@pytest.fixture(scope="module")
def web(api, web_dist, svc_root) -> Server:
    server = start_nginx(web_dist, f"127.0.0.1:{api.port}", _subdir(svc_root, "nginx"))
    yield server
    server.stop(signal.SIGQUIT)
    shutil.rmtree(server.env["NGINX_TMP"], ignore_errors=True)


@pytest.fixture
def nginx_factory(web_dist, svc_tmp):
    servers: list[Server] = []

    def factory(api_upstream: str) -> Server:
        server = start_nginx(web_dist, api_upstream, svc_tmp)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop(signal.SIGQUIT)
        shutil.rmtree(server.env["NGINX_TMP"], ignore_errors=True)
