"""The local X-Ray daemon (services/xray-daemon): datagrams in the daemon protocol reach the local endpoint's X-Ray
with PutTraceSegments, found there by GetTraceSummaries and BatchGetTraces; malformed datagrams are dropped and
logged; a stop sends what is pending. First the program on this host, then its image (tools/demo_images.py) run
with podman as the data plane runs it: read-only, non-root, the command the task definition gives it."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAEMON = ROOT / "services" / "xray-daemon" / "xraydaemon.py"
HEADER = b'{"format":"json","version":1}\n'
sys.path.insert(0, str(ROOT / "tools"))


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def segment(request_id: str, status: int = 200) -> dict:
    now = time.time()
    return {"name": "seed-api", "id": f"{random.getrandbits(64):016x}",
            "trace_id": f"1-{int(now):08x}-{random.getrandbits(96):024x}", "start_time": now, "end_time": now + 0.01,
            "origin": "AWS::ECS::Container",
            "http": {"request": {"method": "GET", "url": "http://seed/api/items"}, "response": {"status": status}},
            "annotations": {"request_id": request_id}}


def send(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in datagrams:
            sock.sendto(data, ("127.0.0.1", port))


def find(xray, request_id: str, since: float, deadline: float = 30) -> list[dict]:
    """The trace summaries with this request id annotation, polled until one shows up."""
    end = time.monotonic() + deadline
    while True:
        found = xray.get_trace_summaries(StartTime=since - 1, EndTime=time.time() + 1,
                                         FilterExpression=f'annotation.request_id = "{request_id}"')["TraceSummaries"]
        if found or time.monotonic() > end:
            return found
        time.sleep(0.3)


@pytest.fixture
def daemon(endpoint, tmp_path):
    """The daemon program, on a free UDP port of 127.0.0.1, sending to the local endpoint."""
    port = free_udp_port()
    log = tmp_path / "daemon.log"
    env = dict(os.environ, **endpoint.environment("us-east-1"))
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(DAEMON), "--region", "us-east-1", "--bind", f"127.0.0.1:{port}",
                                 "-o"], stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 30
    while "Listening on UDP" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    proc.port, proc.log = port, log
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_segments_reach_x_ray_in_batches_and_bad_datagrams_are_dropped(daemon, boto):
    xray = boto("xray")
    since = time.time()
    docs = [segment(f"req-daemon-{i}", status=200 + i) for i in range(60)]  # more than one batch of 50
    send(daemon.port, *(HEADER + json.dumps(doc).encode() for doc in docs))
    send(daemon.port, b'{"format":"json"}\n{}', b"no header", HEADER)
    (found,) = find(xray, "req-daemon-59", since)
    assert found["Id"] == docs[-1]["trace_id"] and found["Http"]["HttpStatus"] == 259
    deadline = time.monotonic() + 30
    while len(xray.get_trace_summaries(StartTime=since - 1, EndTime=time.time() + 1)["TraceSummaries"]) < 60:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    (trace,) = xray.batch_get_traces(TraceIds=[docs[0]["trace_id"]])["Traces"]
    assert json.loads(trace["Segments"][0]["Document"]) == docs[0]
    # the daemon's batches (at most 50 documents a call), logged once each call returned
    deadline = time.monotonic() + 10
    while True:
        log = daemon.log.read_text()
        batches = [int(n) for n in re.findall(r"Successfully sent batch of (\d+) segments", log)]
        if sum(batches) >= 60 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sum(batches) == 60 and max(batches) <= 50, log
    assert log.count("dropped a datagram") == 3, log
    assert "ignoring options of the real daemon: -o" in log


def test_a_stop_sends_what_is_pending(daemon, boto):
    since = time.time()
    send(daemon.port, HEADER + json.dumps(segment("req-at-stop")).encode())
    time.sleep(0.1)  # received, not yet sent (the daemon sends once a second)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(30) == 0
    assert find(boto("xray"), "req-at-stop", since, deadline=0), daemon.log.read_text()


@pytest.mark.images
@pytest.mark.slow
def test_the_image_runs_read_only_non_root_and_sends_to_the_endpoint(endpoint, boto):
    import demo_images

    env = demo_images.engine_env()
    image = demo_images.build_daemon(env)
    config = json.loads(subprocess.run(["podman", "image", "inspect", image], env=env, capture_output=True, text=True,
                                       check=True).stdout)[0]["Config"]
    assert config["User"] == "10001:10001" and config["ExposedPorts"] == {"2000/udp": {}}, config
    port = free_udp_port()
    name = f"xray-daemon-test-{port}"
    aws = endpoint.environment("us-east-1")
    run = ["podman", "run", "-d", "--rm", "--name", name, "--pull", "never", "--network", "host", "--read-only",
           "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", "--cap-drop", "ALL", "--security-opt",
           "no-new-privileges"]
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        run += ["-e", f"{key}={aws[key]}"]
    subprocess.run([*run, image, "--region", "us-east-1", "--bind", f"127.0.0.1:{port}"], env=env, check=True,
                   capture_output=True, text=True)
    try:
        deadline = time.monotonic() + 60
        logs = ""
        while "Listening on UDP" not in logs:
            assert time.monotonic() < deadline, logs
            time.sleep(0.2)
            logs = subprocess.run(["podman", "logs", name], env=env, capture_output=True, text=True, check=False).stdout
        since = time.time()
        doc = segment("req-image")
        send(port, HEADER + json.dumps(doc).encode())
        (found,) = find(boto("xray"), "req-image", since)
        assert found["Id"] == doc["trace_id"]
        users = subprocess.run(["podman", "top", name, "user"], env=env, capture_output=True, text=True,
                               check=True).stdout.split()
        assert users[1:] == ["10001"], users
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], env=env, capture_output=True, check=False)
