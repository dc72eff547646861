"""The endpoint's latency switch (LOCALAWS_LATENCY_MS, /_localaws/latency): every AWS call waits it before its
answer, control routes do not, and moto's reset puts the environment's setting back."""

from __future__ import annotations

import json
import time
import urllib.request


def latency(endpoint, ms: float | None = None) -> dict:
    body = None if ms is None else json.dumps({"ms": ms}).encode()
    request = urllib.request.Request(f"{endpoint.url}/_localaws/latency", data=body, method="GET" if ms is None else "POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.load(resp)


def test_each_call_waits_the_latency_until_reset(endpoint, boto):
    ecs = boto("ecs")
    ecs.list_clusters()  # client made, connection open
    assert latency(endpoint) == {"ms": 0.0}
    assert latency(endpoint, 150) == {"ms": 150.0}
    start = time.monotonic()
    for attempt in range(3):
        assert "clusterArns" in ecs.list_clusters(), attempt
    assert time.monotonic() - start >= 0.45  # a lower bound: the switch's own guarantee
    assert len([c for c in endpoint.calls() if c["action"] == "ListClusters"]) == 4
    endpoint.reset()
    assert latency(endpoint) == {"ms": 0.0}
