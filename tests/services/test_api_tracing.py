"""X-Ray tracing of the real API server (granian): with AWS_XRAY_DAEMON_ADDRESS set, each sampled request's
segment document reaches a UDP listener on 127.0.0.1 in the daemon protocol (a JSON header line, then the
document), and the response carries the trace header; through the real nginx the caller's header reaches
the API. Without the address nothing is sent and no trace header is answered."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
import requests

HEADER = {"format": "json", "version": 1}
ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"


@pytest.fixture
def daemon():
    """A UDP socket standing in for the X-Ray daemon."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    yield sock
    sock.close()


def segments(sock, count: int, quiet: float = 0.0) -> list[dict]:
    """``count`` datagrams, each checked to be the header line and one segment document; with ``quiet``, also
    that nothing more arrives within that many seconds."""
    out = []
    for _i in range(count):
        data, _addr = sock.recvfrom(65536)
        head, sep, body = data.partition(b"\n")
        assert sep and json.loads(head) == HEADER, data
        out.append(json.loads(body))
    if quiet:
        sock.settimeout(quiet)
        with pytest.raises(TimeoutError):
            sock.recvfrom(65536)
    return out


def segment_where(sock, **match) -> dict:
    """The first segment whose fields (``annotations.request_id`` style paths) have these values; others
    (the readiness polls of the server's start, sampled too at rate 1) are skipped."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        (segment,) = segments(sock, 1)
        values = {}
        for path in match:
            value = segment
            for key in path.split("__"):
                value = value.get(key, {}) if isinstance(value, dict) else {}
            values[path] = value
        if values == match:
            return segment
    raise AssertionError(f"no segment with {match}")


def traced_api(api_factory, daemon, **env):
    settings = {"AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}", "AWS_XRAY_TRACING_NAME": "seed-api",
                "XRAY_SAMPLING_RATE": "1"}
    return api_factory(**{**settings, **env})


def test_a_segment_per_request_with_request_id_and_http_data(api_factory, daemon):
    api = traced_api(api_factory, daemon)
    before = time.time()
    r = requests.post(api.url + "/api/items?x=1", json={"name": "a"},
                      headers={"X-Request-ID": "req-42", "User-Agent": "tracing-test"})
    assert r.status_code == 201
    missing = requests.get(api.url + "/api/items/999999",
                           headers={"X-Request-ID": "req-43", "X-Forwarded-For": "203.0.113.7, 10.0.0.1"})
    assert missing.status_code == 404
    created = segment_where(daemon, annotations__request_id="req-42")
    not_found = segment_where(daemon, annotations__request_id="req-43")

    assert re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{24}", created["trace_id"])
    assert int(created["trace_id"][2:10], 16) >= int(before) - 1
    assert r.headers["X-Amzn-Trace-Id"] == f"Root={created['trace_id']}"
    assert re.fullmatch(r"[0-9a-f]{16}", created["id"])
    assert created["name"] == "seed-api"
    assert "parent_id" not in created
    assert before <= created["start_time"] <= created["end_time"] <= time.time()
    assert created["annotations"] == {"request_id": "req-42"}
    assert created["http"]["request"] == {
        "method": "POST", "url": f"http://127.0.0.1:{api.port}/api/items?x=1", "user_agent": "tracing-test",
        "client_ip": "127.0.0.1"}
    assert created["http"]["response"] == {"status": 201, "content_length": len(r.content)}
    assert created["service"] == {"version": "1.2.3-test"}
    assert not {"error", "fault", "throttle"} & created.keys()

    assert not_found["error"] is True and "fault" not in not_found
    assert not_found["http"]["response"]["status"] == 404
    assert not_found["http"]["request"]["client_ip"] == "203.0.113.7"
    assert not_found["http"]["request"]["x_forwarded_for"] is True
    assert not_found["trace_id"] != created["trace_id"]


def test_the_callers_trace_header_is_honoured(api_factory, daemon):
    api = traced_api(api_factory, daemon, XRAY_SAMPLING_RATE="0", XRAY_SAMPLING_RESERVOIR="0")
    # the caller's decision wins over the sampler (which here samples nothing)
    r = requests.get(api.url + "/api/version", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Parent={PARENT};Sampled=1"})
    assert r.headers["X-Amzn-Trace-Id"] == f"Root={ROOT}"
    (segment,) = segments(daemon, 1)
    assert segment["trace_id"] == ROOT and segment["parent_id"] == PARENT
    # Sampled=0: no segment; Sampled=? (the caller asks for the decision): the answer says it
    r = requests.get(api.url + "/api/version", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Sampled=0"})
    assert r.headers["X-Amzn-Trace-Id"] == f"Root={ROOT}"
    r = requests.get(api.url + "/api/version", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Sampled=?"})
    assert r.headers["X-Amzn-Trace-Id"] == f"Root={ROOT};Sampled=0"
    # a malformed root starts a new trace
    r = requests.get(api.url + "/api/version", headers={"X-Amzn-Trace-Id": "Root=nonsense;Sampled=1"})
    (segment,) = segments(daemon, 1, quiet=0.5)
    assert segment["trace_id"] != ROOT and r.headers["X-Amzn-Trace-Id"] == f"Root={segment['trace_id']}"


def test_faults_are_flagged(api_factory, daemon):
    api = traced_api(api_factory, daemon)
    r = requests.get(api.url + "/api/items", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Sampled=1", "X-Long": "x" * 9000})
    assert r.status_code == 431
    segment = segment_where(daemon, trace_id=ROOT)
    assert segment["http"]["response"]["status"] == 431 and segment["error"] is True and "fault" not in segment
    # time.sleep(nan) raises: the app's catch-all answers 500
    r = requests.get(api.url + "/api/_test/sleep?seconds=nan", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Sampled=1"})
    assert r.status_code == 500
    segment = segment_where(daemon, trace_id=ROOT)
    assert segment["http"]["response"]["status"] == 500
    assert segment["fault"] is True and "error" not in segment


def test_sampling_reservoir_and_rate(api_factory, daemon):
    api = traced_api(api_factory, daemon, XRAY_SAMPLING_RATE="0", XRAY_SAMPLING_RESERVOIR="0")
    for _i in range(20):
        assert requests.get(api.url + "/api/health").status_code == 200
    segments(daemon, 0, quiet=1.0)


def test_no_daemon_listening_costs_the_request_nothing(api_factory):
    port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{port.getsockname()[1]}"
    port.close()  # nobody listens: datagrams are dropped (ICMP port unreachable)
    api = api_factory(AWS_XRAY_DAEMON_ADDRESS=address, XRAY_SAMPLING_RATE="1")
    for _i in range(5):
        assert requests.get(api.url + "/api/items").status_code == 200


def test_tracing_off_sends_nothing_and_answers_no_header(api_factory, daemon):
    api = api_factory()
    r = requests.get(api.url + "/api/items", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Sampled=1"})
    assert r.status_code == 200 and "X-Amzn-Trace-Id" not in r.headers
    segments(daemon, 0, quiet=0.5)


def test_a_bad_daemon_address_is_refused_at_startup(api_factory):
    with pytest.raises(RuntimeError, match="AWS_XRAY_DAEMON_ADDRESS='nowhere' must be host:port"):
        api_factory(AWS_XRAY_DAEMON_ADDRESS="nowhere")


def test_nginx_passes_the_trace_header_through(api_factory, nginx_factory, daemon):
    api = traced_api(api_factory, daemon)
    web = nginx_factory(f"127.0.0.1:{api.port}")
    r = requests.get(web.url + "/api/items", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Parent={PARENT};Sampled=1"})
    assert r.status_code == 200
    assert r.headers["X-Amzn-Trace-Id"] == f"Root={ROOT}"
    segment = segment_where(daemon, trace_id=ROOT)
    assert segment["parent_id"] == PARENT
    assert segment["annotations"]["request_id"] == r.headers["X-Request-ID"]
    assert segment["http"]["request"]["x_forwarded_for"] is True
    assert web.json_log_where(lambda line: line.get("trace_id") == f"Root={ROOT};Parent={PARENT};Sampled=1"), \
        web.log_lines()[-5:]


def test_the_segments_are_what_x_rays_put_trace_segments_takes(api_factory, daemon, boto):
    """The referee for the document's shape: the daemon forwards each document to PutTraceSegments (here the local
    endpoint's X-Ray, moto's), which must take it and return it in its trace."""
    api = traced_api(api_factory, daemon)
    r = requests.get(api.url + "/api/items", headers={"X-Request-ID": "req-xray", "X-Amzn-Trace-Id": f"Root={ROOT};Sampled=1"})
    assert r.status_code == 200
    segment = segment_where(daemon, annotations__request_id="req-xray")
    xray = boto("xray")
    assert xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])["UnprocessedTraceSegments"] == []
    (trace,) = xray.batch_get_traces(TraceIds=[ROOT])["Traces"]
    (stored,) = trace["Segments"]
    assert stored["Id"] == segment["id"] and json.loads(stored["Document"]) == segment
