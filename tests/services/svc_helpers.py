"""Helpers for the services tests: start the real API server (granian) and nginx processes,
and the one stable error shape. Imported by name from the test modules."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "services"
API_DIR = SERVICES / "api"
WEB_DIR = SERVICES / "web"
# The image's CMD, with this interpreter (the venv has the API's requirements).
API_COMMAND = [sys.executable, "-m", "seedapi.server"]


def engine_env() -> dict[str, str]:
    """os.environ plus the exports of services/scripts/engine-env.sh: the
    project's own container store (.containers/ or $SEED_CONTAINERS_DIR), so
    a machine-wide store initialised by a plain `podman info` with another
    driver cannot break (or be changed by) our buildah/podman calls."""
    script = SERVICES / "scripts" / "engine-env.sh"
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False, timeout=30)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{proc.stderr}"
    env = dict(os.environ)
    # buildah lets these override storage.conf; the project's store is vfs.
    env.pop("STORAGE_DRIVER", None)
    env.pop("STORAGE_OPTS", None)
    for line in proc.stdout.splitlines():
        words = shlex.split(line)
        assert len(words) == 2 and words[0] == "export" and "=" in words[1], line
        key, value = words[1].split("=", 1)
        env[key] = value
    assert {"CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF", "SEED_CONTAINERS_DIR"} <= env.keys(), proc.stdout
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(
    url: str, timeout: float = 15.0, proc: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process exited with {proc.returncode} before {url} answered"
            )
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException as exc:
            last = exc
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log_path: Path
    env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def json_logs(self) -> list[dict]:
        out = []
        for line in self.log_lines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def json_log_where(self, match: Callable[[dict], bool], timeout: float = 10) -> dict | None:
        """The first JSON log line ``match`` accepts, waiting up to ``timeout`` s for it: a server writes its access log
        line after the response has gone out, so a client may read the log before the line is there."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.json_logs() if match(line)), None)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)

    def stop(self, sig=signal.SIGINT, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def start_api(tmp: Path, **env_overrides) -> Server:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PORT": str(port),
        "APP_VERSION": "1.2.3-test",
        "APP_COMMIT": "abc1234",
        "APP_COLOUR": "green",
        "LOG_LEVEL": "INFO",
        "DRAIN_SECONDS": "0",
        "GRACEFUL_TIMEOUT": "10",
        "APP_TEST_ENDPOINTS": "true",
    }
    env.update({k: str(v) for k, v in env_overrides.items()})
    log_path = tmp / f"api-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            API_COMMAND,
            cwd=API_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, port, log_path, env)
    try:
        wait_http(server.url + "/api/health", proc=proc)
    except (RuntimeError, TimeoutError):
        server.stop()
        raise RuntimeError("API did not start:\n" + log_path.read_text()) from None
    return server


def start_nginx(web_dist: Path, api_upstream: str, tmp: Path) -> Server:
    if not shutil.which("nginx") or not shutil.which("envsubst"):
        pytest.fail("nginx/envsubst missing: run services/scripts/install-deps.sh")
    port = free_port()
    nginx_tmp = Path(tempfile.mkdtemp(prefix="seed-nginx-"))
    os.chmod(nginx_tmp, 0o755)
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/bin"),
        "API_UPSTREAM": api_upstream,
        "PORT": str(port),
        "NGINX_TMP": str(nginx_tmp),
        "WEB_ROOT": str(web_dist),
        "TEMPLATE_DIR": str(WEB_DIR / "nginx"),
    }
    log_path = tmp / f"nginx-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(WEB_DIR / "docker-entrypoint.sh")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, port, log_path, env)
    try:
        wait_http(server.url + "/healthz", proc=proc)
    except (RuntimeError, TimeoutError):
        server.stop(signal.SIGTERM)
        raise RuntimeError("nginx did not start:\n" + log_path.read_text()) from None
    return server


ERROR_KEYS = {"code", "message", "status", "request_id", "details"}


def assert_error(resp: requests.Response, status: int, code: str | None = None) -> dict:
    """Assert the ONE stable error shape and return its ``error`` object."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == ERROR_KEYS
    assert err["status"] == status
    assert err["request_id"] == resp.headers["X-Request-ID"]
    assert isinstance(err["details"], list)
    if code:
        assert err["code"] == code
    return err
