"""``python -m localaws`` as a user runs it: start, env, status, stop, with one state directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(state_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, LOCALAWS_STATE_DIR=str(state_dir))
    return subprocess.run([sys.executable, "-m", "localaws", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=check, timeout=90)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def test_start_env_stop_share_one_state_dir(tmp_path):
    state = tmp_path / "state"
    started = cli(state, "start")
    pid = json.loads((state / "endpoint.json").read_text())["pid"]
    try:
        assert "serving http://127.0.0.1:" in started.stdout
        exports = dict(line.removeprefix("export ").split("=", 1) for line in cli(state, "env").stdout.splitlines())
        url = exports["AWS_ENDPOINT_URL"]
        assert url.startswith("http://127.0.0.1:") and exports["AWS_DEFAULT_REGION"] == "us-east-1"
        # the liveness route answers without reading moto's state, and is not an AWS call
        with urllib.request.urlopen(url + "/_localaws/health", timeout=5) as resp:
            assert json.load(resp) == {"status": "ok"}
        with urllib.request.urlopen(url + "/_localaws/calls", timeout=5) as resp:
            assert json.load(resp) == []
        assert cli(state, "start").stdout.startswith("localaws: already serving")
    finally:
        stopped = cli(state, "stop")
    # `stop` reports only once the server process is gone
    assert stopped.stdout.strip() == "localaws: stopped"
    assert not alive(pid)
    assert not (state / "endpoint.json").exists()
    gone = cli(state, "env", check=False)
    assert gone.returncode == 1 and str(state) in gone.stderr
    assert cli(state, "stop").stdout.strip() == "localaws: not running"
