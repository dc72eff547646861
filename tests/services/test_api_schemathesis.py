"""Property-based testing of the real API against its own /api/openapi.json."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")


def run_schemathesis(url: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            url,
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            "60",
            # one worker: CPython 3.11.7's ast.parse is not thread-safe and
            # hypothesis calls it while describing strategies
            "--workers",
            "1",
            "--request-timeout",
            "10",
            *extra,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_schemathesis_all_checks_against_api(api_factory, svc_tmp):
    srv = api_factory()
    before = requests.get(srv.url + "/api/_test/count").json()["count"]
    proc = run_schemathesis(srv.url + "/api/openapi.json", svc_tmp)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "No issues found" in proc.stdout
    # it really exercised the API (stateful phase creates items through links)
    after = requests.get(srv.url + "/api/_test/count").json()["count"]
    status = [
        e["status"] for e in srv.json_logs() if e.get("logger") == "seedapi.access"
    ]
    assert len(status) > 200
    assert not [s for s in status if s >= 500]
    assert {200, 201, 204, 404, 422} <= set(status)
    assert after >= before


def test_schemathesis_through_nginx(api, nginx_factory, svc_tmp):
    web = nginx_factory(f"127.0.0.1:{api.port}")
    proc = run_schemathesis(
        web.url + "/api/openapi.json", svc_tmp, "--phases", "fuzzing"
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
