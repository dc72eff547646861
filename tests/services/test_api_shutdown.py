"""SIGTERM to the real API server's main process (granian): readiness 503 while draining, in-flight
requests complete, then the process exits 0."""

from __future__ import annotations

import signal
import threading
import time

import requests


def test_sigterm_drains_then_finishes_in_flight_requests(api_factory):
    # four threads: the three slow requests and the readiness probes run at once
    srv = api_factory(DRAIN_SECONDS="2", GRACEFUL_TIMEOUT="10", THREADS="4")
    results: list = []

    def slow(seconds):
        try:
            r = requests.get(
                srv.url + "/api/_test/sleep", params={"seconds": seconds}, timeout=20
            )
            results.append((r.status_code, r.json()))
        except (
            requests.RequestException
        ) as exc:  # pragma: no cover - the failure we test for
            results.append(("error", repr(exc)))

    threads = [threading.Thread(target=slow, args=(4,)) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # the slow requests are now being handled
    t_term = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)

    # During the drain window: not ready, but still serving.
    ready_codes = []
    deadline = t_term + 1.5
    while time.monotonic() < deadline:
        r = requests.get(srv.url + "/api/ready", timeout=2)
        ready_codes.append((r.status_code, r.json()["status"]))
        time.sleep(0.1)
    assert ready_codes[-1] == (503, "draining"), ready_codes
    assert (200, "ready") not in ready_codes[2:], ready_codes
    assert requests.get(srv.url + "/api/health", timeout=2).status_code == 200
    assert requests.get(srv.url + "/api/items", timeout=2).status_code == 200

    # After the drain the listener closes: new connections are refused...
    time.sleep(1.2)
    refused = False
    try:
        requests.get(srv.url + "/api/health", timeout=2)
    except requests.ConnectionError:
        refused = True
    assert refused, "listener still open after the drain window"
    assert srv.proc.poll() is None, "exited before in-flight requests finished"

    # ...while the requests in flight since before SIGTERM all complete.
    for t in threads:
        t.join(15)
    assert results == [(200, {"slept": 4.0})] * 3
    assert srv.proc.wait(10) == 0
    elapsed = time.monotonic() - t_term
    assert 3.0 <= elapsed < 8.0, elapsed
    msgs = [e.get("msg", "") for e in srv.json_logs()]
    assert any("draining 2.0s" in m for m in msgs), msgs


def test_second_sigterm_skips_the_drain(api_factory):
    srv = api_factory(DRAIN_SECONDS="30", GRACEFUL_TIMEOUT="5")
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert requests.get(srv.url + "/api/ready", timeout=2).status_code == 503
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(10) == 0
    assert time.monotonic() - t0 < 5
