"""Start, reset and stop the local endpoint as a child process.

Used by the pytest fixtures, molecule and the README's main command::

    with LocalAWS() as aws:          # free port, waits until it answers
        aws.url                      # http://127.0.0.1:NNNNN
        aws.reset()                  # empty every backend between tests
        aws.calls()                  # the AWS calls made since the last reset
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent

# What a client needs to talk to the endpoint. The keys are fake: moto accepts any.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class EndpointError(RuntimeError):
    pass


class LocalAWS:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_path: Path | None = None,
                 startup_timeout: float = 60.0, env: dict[str, str] | None = None):
        self.host = host
        # settings of this endpoint only (LOCALAWS_DATAPLANE, LOCALAWS_TIME_SCALE, ...), on top of ours
        self.env = dict(env or {})
        self.port = port
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.url: str | None = None
        self.process: subprocess.Popen | None = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> Self:
        workdir = Path(tempfile.mkdtemp(prefix="localaws-"))
        ready = workdir / "ready.json"
        log = open(self.log_path or workdir / "server.log", "ab")  # noqa: SIM115 - owned by the child
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                   **self.env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localaws", "serve", "--host", self.host, "--port", str(self.port),
             "--ready-file", str(ready)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EndpointError(f"local endpoint exited with {self.process.returncode}; see {log.name}")
            if ready.exists():
                self.url = json.loads(ready.read_text())["url"]
                if self.healthy():
                    return self
            time.sleep(0.05)
        self.stop()
        raise EndpointError(f"local endpoint did not answer within {self.startup_timeout}s; see {log.name}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- control -------------------------------------------------------------------
    def _request(self, path: str, method: str = "GET", body: bytes | None = None, timeout: float = 10) -> bytes:
        if not self.url:
            raise EndpointError("local endpoint is not running")
        req = urllib.request.Request(self.url + path, data=body, method=method)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()

    def healthy(self) -> bool:
        try:
            self._request("/_localaws/health")
            return True
        except (OSError, EndpointError):  # URLError, refused, timed out
            return False

    def reset(self) -> None:
        """Empty every backend (moto's and the patches') and the call log."""
        # A reset rebuilds every backend (IAM loads ~1,500 AWS managed policies): well under a
        # second on a quiet machine, but many seconds on a loaded 2-core one, so wait for it.
        self._request("/moto-api/reset", method="POST", body=b"", timeout=120)

    def calls(self) -> list[dict[str, str]]:
        return json.loads(self._request("/_localaws/calls"))

    def clear_calls(self) -> None:
        self._request("/_localaws/calls", method="DELETE")

    def environment(self, region: str = "us-east-1") -> dict[str, str]:
        """Environment for a child process (ansible-playbook, boto3) to use this endpoint."""
        return dict(FAKE_CREDENTIALS, AWS_ENDPOINT_URL=self.url or "", AWS_DEFAULT_REGION=region,
                    AWS_REGION=region)
