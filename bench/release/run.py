"""Benchmark: a blue/green release under load, through the deployed stack's load balancer. Not a test.

The local endpoint with its data plane (tasks as containers, listeners on loopback; docs/local-endpoint.md)
serves the stack ``playbooks/site.yml`` converges from ``inventories/local`` (two api tasks, one web task,
as tests/integration/dataplane). A bounded load generator (``Load``: threads, fresh connections, GET
``/api/version`` and ``/``) runs twice against the production listener: first on the steady v1 stack (the
baseline), then for the whole of ``playbooks/deploy.yml`` releasing v2 (the api's canary and web, at the same
time). Prints requests served and failed, and p50/p99 latency of each phase, and the release's ratio to the baseline.

Then the releases' concurrency (no load): the api alone back to v1, web alone back to v1, then both to v2 in one
run of deploy.yml. Each is timed twice: the playbook's wall time, and the release itself as the endpoint's
CodeDeploy records have it (first createTime to last completeTime). Prints both ratios of the release of both
to the slower of the two alone (the goal: <= 1.2x; one after the other would be about (api + web) / api).

    python bench/release/run.py              (repository root, venv active, as root: podman, netns)
    BASELINE_SECONDS=20 python bench/release/run.py
    python bench/release/run.py --control-plane   (the concurrency figures only: no data plane, no images,
                                                   stand-in image manifests; CodeDeploy's own timing)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import demo_images  # the script make demo uses

from localaws import LocalAWS
from localaws.dataplane.podman import preflight
from tests.integration.dataplane._stack import REGION, TIME_SCALE, Load, Sample, Stack

BASELINE_SECONDS = float(os.environ.get("BASELINE_SECONDS", "30"))


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def phase(name: str, samples: list[Sample], seconds: float) -> dict:
    ok = [s.seconds for s in samples if s.status == 200]
    failed = [s for s in samples if s.status != 200]
    row = {"phase": name, "seconds": seconds, "served": len(ok), "failed": len(failed),
           "rps": len(ok) / seconds if seconds else 0.0,
           "p50_ms": percentile(ok, 50) * 1000 if ok else float("nan"),
           "p99_ms": percentile(ok, 99) * 1000 if ok else float("nan")}
    print(f"{name:<22} {seconds:7.1f} s {row['served']:8d} served {row['failed']:5d} failed "
          f"{row['rps']:7.1f} req/s   p50 {row['p50_ms']:7.1f} ms   p99 {row['p99_ms']:7.1f} ms", flush=True)
    for s in failed[:5]:
        print(f"    failed: {s.path} {s.status} {s.error}", flush=True)
    return row


def timed_release(stack: Stack, extra_vars: dict) -> tuple[float, float, bool]:
    """(wall seconds of deploy.yml, seconds from the first CreateDeployment to the last deployment's end, ok)."""
    start = time.monotonic()
    run = stack.playbook("playbooks/deploy.yml", dict({"deploy_poll_interval": 0.2}, **extra_vars))
    wall = time.monotonic() - start
    facts = [r.get("ansible_facts", {}) for r in run.task_results("Summary | keep the outcome in deploy_releases")]
    releases = facts[-1].get("deploy_releases", []) if facts else []
    codedeploy = stack.client("codedeploy")
    infos = [codedeploy.get_deployment(deploymentId=r["deployment_id"])["deploymentInfo"]
             for r in releases if r.get("deployment_id")]
    span = ((max(i["completeTime"] for i in infos) - min(i["createTime"] for i in infos)).total_seconds()
            if infos and all("completeTime" in i for i in infos) else float("nan"))
    if run.rc:
        print(f"    deploy.yml {extra_vars} failed: {run.failure_messages()}", flush=True)
    return wall, span, run.rc == 0 and len(infos) == len(releases)


def concurrency(stack: Stack) -> bool:
    """The api alone, web alone (each v2 -> v1), then both (v1 -> v2): the release of both against the slower one."""
    rows = {}
    for name, extra in (("api alone v2 -> v1", {"deploy_image_tag": "v1", "deploy_service": "api"}),
                        ("web alone v2 -> v1", {"deploy_image_tag": "v1", "deploy_service": "web"}),
                        ("both v1 -> v2", {"deploy_image_tag": "v2"})):
        rows[name] = timed_release(stack, extra)
        wall, span, _ok = rows[name]
        print(f"{name:<22} deploy.yml {wall:6.1f} s   release (CodeDeploy create -> complete) {span:6.1f} s", flush=True)
    api_wall, api_span, _api_ok = rows["api alone v2 -> v1"]
    web_wall, web_span, _web_ok = rows["web alone v2 -> v1"]
    both_wall, both_span, _both_ok = rows["both v1 -> v2"]
    print(f"both / slower alone: release {both_span / max(api_span, web_span):.2f}x, "
          f"deploy.yml {both_wall / max(api_wall, web_wall):.2f}x (goal <= 1.2x; one after the other: "
          f"release {(api_span + web_span) / max(api_span, web_span):.2f}x)", flush=True)
    return all(ok for _wall, _span, ok in rows.values())


def control_plane() -> int:
    """The concurrency figures on the control plane only (LOCALAWS_DATAPLANE=0): the stack converged from
    inventories/local (stand-in image manifests), released to v2 once, then ``concurrency``."""
    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        log = Path(tmp) / "server.log"
        with LocalAWS(log_path=log, env={"LOCALAWS_DATAPLANE": "0", "LOCALAWS_TIME_SCALE": str(TIME_SCALE)}) as aws:
            stack = Stack(aws, log)
            site = stack.playbook("playbooks/site.yml")
            if site.rc:
                sys.exit(f"site.yml failed: {site.failure_messages() or site.stderr[-3000:]}")
            print(f"control plane only; {TIME_SCALE} real seconds per CodeDeploy minute", flush=True)
            first = stack.playbook("playbooks/deploy.yml", {"deploy_image_tag": "v2", "deploy_poll_interval": 0.2})
            if first.rc:
                sys.exit(f"deploy.yml v2 failed: {first.failure_messages()}")
            return 0 if concurrency(stack) else 1


def main() -> int:
    if "--control-plane" in sys.argv[1:]:
        return control_plane()
    problem = preflight()
    if problem:
        sys.exit(f"the data plane cannot run here: {problem}")
    refs = demo_images.build(["v1", "v2"])
    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        log = Path(tmp) / "server.log"
        with LocalAWS(log_path=log, env={"LOCALAWS_DATAPLANE": "1", "LOCALAWS_TIME_SCALE": str(TIME_SCALE)}) as aws:
            stack = Stack(aws, log)
            demo_images.push(refs, "seed", endpoint_url=aws.url, region=REGION)
            site = stack.playbook("playbooks/site.yml")
            if site.rc:
                sys.exit(f"site.yml failed: {site.failure_messages() or site.stderr[-3000:]}")
            url = stack.listeners()[80]
            print(f"production listener {url}; {TIME_SCALE} real seconds per CodeDeploy minute", flush=True)

            load = Load(url)
            time.sleep(BASELINE_SECONDS)
            baseline = phase("steady v1 (baseline)", load.stop(), BASELINE_SECONDS)

            start = time.monotonic()
            load = Load(url)
            release = stack.playbook("playbooks/deploy.yml", {"deploy_image_tag": "v2", "deploy_poll_interval": 0.2})
            during = phase("release v1 -> v2", load.stop(), time.monotonic() - start)
            if release.rc:
                print(f"deploy.yml failed: {release.failure_messages()}", flush=True)
            print(f"release/baseline: p50 {during['p50_ms'] / baseline['p50_ms']:.2f}x, "
                  f"p99 {during['p99_ms'] / baseline['p99_ms']:.2f}x, "
                  f"throughput {during['rps'] / baseline['rps']:.2f}x; failed during the release: {during['failed']}",
                  flush=True)
            concurrent_ok = concurrency(stack)
            return 1 if release.rc or during["failed"] or not concurrent_ok else 0


if __name__ == "__main__":
    sys.exit(main())
