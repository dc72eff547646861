"""Run podman against the project's own container store, and check the host can run tasks.

Every podman call of the data plane goes through :func:`podman` with the
environment of ``services/scripts/engine-env.sh`` (CONTAINERS_STORAGE_CONF,
CONTAINERS_CONF: the vfs store under ``.containers/``, runc, cgroupfs), so the
tasks run the images ``build-images.sh`` built and never touch the machine-wide
store.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ENGINE_ENV_SCRIPT = ROOT / "services" / "scripts" / "engine-env.sh"
INSTALL_HINT = "run services/scripts/install-deps.sh (installs podman, runc, iproute2)"


class PodmanError(RuntimeError):
    """A podman command failed; the message carries podman's own stderr."""

    def __init__(self, args: list[str], returncode: int, stderr: str):
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"podman {' '.join(args[:2])} failed ({returncode}): {self.stderr}")


@functools.lru_cache(maxsize=1)
def engine_env() -> dict[str, str]:
    """The variables engine-env.sh exports (it also writes the store's config files).

    When the caller already exported CONTAINERS_STORAGE_CONF (engine-env.sh sourced
    in the shell that started the endpoint) that store is kept.
    """
    keys = ("SEED_CONTAINERS_DIR", "CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF")
    if os.environ.get("CONTAINERS_STORAGE_CONF") and os.environ.get("CONTAINERS_CONF"):
        return {k: os.environ[k] for k in keys if k in os.environ}
    out = subprocess.run(["bash", str(ENGINE_ENV_SCRIPT)], check=True, capture_output=True, text=True,
                         timeout=30).stdout
    env: dict[str, str] = {}
    for line in out.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


def containers_dir() -> Path:
    env = engine_env()
    return Path(env.get("SEED_CONTAINERS_DIR") or ROOT / ".containers")


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["podman", *args]
    proc = subprocess.run(cmd, check=False, env={**os.environ, **engine_env()}, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise PodmanError(list(args), proc.returncode, proc.stderr)
    return proc


def podman_json(*args: str, timeout: float = 60) -> Any:
    out = podman(*args, timeout=timeout).stdout.strip()
    return json.loads(out) if out else []


def popen(*args: str, **kwargs: Any) -> subprocess.Popen:
    return subprocess.Popen(["podman", *args], env={**os.environ, **engine_env()}, stdin=subprocess.DEVNULL,
                            **kwargs)


def preflight() -> str | None:
    """What stops this host from running tasks, as one sentence, or None when it can."""
    missing = [tool for tool in ("podman", "runc", "ip") if shutil.which(tool) is None]
    if missing:
        return f"the data plane needs {', '.join(missing)} on PATH: {INSTALL_HINT}"
    if os.geteuid() != 0:
        return ("the data plane needs root (it creates network namespaces and a bridge); "
                "run the endpoint as root or without LOCALAWS_DATAPLANE")
    try:
        engine_env()
        podman("version", "--format", "{{.Client.Version}}", timeout=60)
    except (subprocess.SubprocessError, OSError, PodmanError) as exc:
        return f"podman does not work here ({exc}); {INSTALL_HINT}"
    return None
