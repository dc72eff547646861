"""X-Ray on the local endpoint (localaws/patches/xray.py): segment documents put with PutTraceSegments are found by
GetTraceSummaries in their time range, with the summary's fields and by filter expressions, and returned whole by
BatchGetTraces; through boto3, so every answer is parsed against botocore's model."""

from __future__ import annotations

import json
import random
import time

import pytest
from botocore.exceptions import ClientError


def trace_id(at: float) -> str:
    return f"1-{int(at):08x}-{random.getrandbits(96):024x}"


def segment_id() -> str:
    return f"{random.getrandbits(64):016x}"


def api_segment(trace: str, at: float, request_id: str, status: int = 200, *, method: str = "GET",
                url: str = "http://seed.example/api/items", **extra) -> dict:
    """A segment as services/api/seedapi/tracing.py writes it."""
    doc = {"name": "seed-api", "id": segment_id(), "trace_id": trace, "start_time": at, "end_time": at + 0.25,
           "origin": "AWS::ECS::Container",
           "http": {"request": {"method": method, "url": url, "user_agent": "tests", "client_ip": "203.0.113.7"},
                    "response": {"status": status, "content_length": 12}},
           "annotations": {"request_id": request_id}, "service": {"version": "1.0.0"}}
    if status >= 500:
        doc["fault"] = True
    elif status >= 400:
        doc["error"] = True
        if status == 429:
            doc["throttle"] = True
    doc.update(extra)
    return doc


@pytest.fixture
def xray(boto):
    return boto("xray")


def put(xray, *docs: dict) -> None:
    answer = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs])
    assert answer["UnprocessedTraceSegments"] == [], answer


def summaries(xray, start: float, end: float, **kwargs) -> dict[str, dict]:
    answer = xray.get_trace_summaries(StartTime=start, EndTime=end, **kwargs)
    return {s["Id"]: s for s in answer["TraceSummaries"]}


def test_a_put_segment_is_summarised_in_its_time_range_and_returned_whole(xray):
    now = time.time()
    tid = trace_id(now)
    doc = api_segment(tid, now, "req-1", status=201, method="POST")
    put(xray, doc)

    found = summaries(xray, now - 60, now + 60)
    assert list(found) == [tid]
    summary = found[tid]
    assert summary["Http"] == {"HttpURL": "http://seed.example/api/items", "HttpStatus": 201, "HttpMethod": "POST",
                               "UserAgent": "tests", "ClientIp": "203.0.113.7"}
    service = {"Name": "seed-api", "Names": ["seed-api"], "Type": "AWS::ECS::Container"}
    assert summary["Annotations"] == {"request_id": [{"AnnotationValue": {"StringValue": "req-1"},
                                                      "ServiceIds": [service]}]}
    assert summary["ServiceIds"] == [service] and summary["EntryPoint"] == service
    assert summary["Duration"] == pytest.approx(0.25) and summary["ResponseTime"] == pytest.approx(0.25)
    assert summary["StartTime"].timestamp() == pytest.approx(now, abs=0.001)
    assert (summary["HasError"], summary["HasFault"], summary["HasThrottle"], summary["IsPartial"]) == (
        False, False, False, False)

    (trace,) = xray.batch_get_traces(TraceIds=[tid])["Traces"]
    assert trace["Id"] == tid and trace["Duration"] == pytest.approx(0.25) and trace["LimitExceeded"] is False
    (stored,) = trace["Segments"]
    assert stored["Id"] == doc["id"] and json.loads(stored["Document"]) == doc

    # outside the range, by the trace id's time (the default) and by the segments' end (Service)
    assert summaries(xray, now + 5, now + 60) == {}
    assert summaries(xray, now - 60, now - 5) == {}
    assert list(summaries(xray, now, now + 1, TimeRangeType="Service")) == [tid]
    assert summaries(xray, now + 1, now + 60, TimeRangeType="Service") == {}
    assert list(summaries(xray, now - 60, time.time() + 1, TimeRangeType="Event")) == [tid]


def test_summary_flags_follow_the_root_segment_and_its_downstream(xray):
    now = time.time()
    ok, not_found, failed, throttled = (trace_id(now) for _name in ("ok", "404", "500", "429"))
    root = api_segment(failed, now, "req-f", status=500)
    downstream = {"name": "seed-store", "id": segment_id(), "trace_id": failed, "parent_id": root["id"],
                  "start_time": now + 0.01, "end_time": now + 0.5, "origin": "AWS::DynamoDB::Table",
                  "annotations": {"table": "items", "attempts": 2}, "error": False}
    put(xray, api_segment(ok, now, "req-ok", error=False), api_segment(not_found, now, "req-404", status=404), root,
        downstream, api_segment(throttled, now, "req-429", status=429))
    found = summaries(xray, now - 1, now + 1)
    flags = {tid: (s["HasError"], s["HasFault"], s["HasThrottle"]) for tid, s in found.items()}
    # "error": false is no error (moto counted the key)
    assert flags == {ok: (False, False, False), not_found: (True, False, False), failed: (False, True, False),
                     throttled: (True, False, True)}
    trace = found[failed]
    # the root is the segment without a parent in the trace; the duration runs to the last segment's end
    assert trace["Http"]["HttpStatus"] == 500 and trace["EntryPoint"]["Name"] == "seed-api"
    assert trace["Duration"] == pytest.approx(0.5) and trace["ResponseTime"] == pytest.approx(0.25)
    assert {s["Name"] for s in trace["ServiceIds"]} == {"seed-api", "seed-store"}
    assert trace["Annotations"]["attempts"] == [{"AnnotationValue": {"NumberValue": 2.0}, "ServiceIds": [
        {"Name": "seed-store", "Names": ["seed-store"], "Type": "AWS::DynamoDB::Table"}]}]


def test_filter_expressions_find_traces_by_annotation_http_and_flags(xray):
    now = time.time()
    ids = {name: trace_id(now) for name in ("a", "b", "c")}
    put(xray, api_segment(ids["a"], now, "req-a"),
        api_segment(ids["b"], now, "req-b", status=404, url="http://seed.example/api/items/9"),
        api_segment(ids["c"], now, "req-c", status=503, method="POST", url="http://seed.example/api/orders",
                    user="alice"))

    def matching(expression: str) -> set[str]:
        names = {tid: name for name, tid in ids.items()}
        return {names[tid] for tid in summaries(xray, now - 5, now + 5, FilterExpression=expression)}

    assert matching('annotation.request_id = "req-b"') == {"b"}
    assert matching('annotation[request_id] = "req-c"') == {"c"}
    assert matching('annotation.request_id BEGINSWITH "req-" AND http.status >= 400') == {"b", "c"}
    assert matching('annotation.request_id = "req-a" OR annotation.request_id = "req-c"') == {"a", "c"}
    assert matching('annotation.nothing = "req-a"') == set()
    assert matching("ok") == {"a"}
    assert matching("!ok") == {"b", "c"}
    assert matching("error = true") == {"b"}
    assert matching("fault") == {"c"}
    assert matching("ok = false AND !fault") == {"b"}
    assert matching("http.status != 200 http.method = \"GET\"") == {"b"}
    assert matching('http.url CONTAINS "/api/items"') == {"a", "b"}
    assert matching('http.url ENDSWITH "/9"') == {"b"}
    assert matching('user = "alice"') == {"c"}
    assert matching("responsetime < 1 AND duration >= 0.25") == {"a", "b", "c"}
    assert matching('service("seed-api") { fault }') == {"c"}
    assert matching('service(id(name: "seed-api", type: "AWS::ECS::Container")) { http.status = 404 }') == {"b"}
    assert matching('service("other")') == set()
    assert matching('(fault OR error) AND !(http.method = "POST")') == {"b"}
    assert matching("!partial && duration < 3") == {"a", "b", "c"}


@pytest.mark.parametrize("expression, message", [
    ('edge("a", "b")', "'edge' is not emulated"),
    ('annotation.request_id = ', "unexpected end of the expression"),
    ('annotation.request_id = ok', "needs a value"),
    ("http.status CONTAINS 4", "takes the operators"),
    ('(ok fault', "unexpected end of the expression"),
    ('(ok}', "expected ')'"),
    ('http.url = 3', "quoted string"),
])
def test_a_filter_expression_it_cannot_evaluate_is_refused_not_a_server_error(xray, expression, message):
    now = time.time()
    with pytest.raises(ClientError) as caught:
        xray.get_trace_summaries(StartTime=now - 5, EndTime=now, FilterExpression=expression)
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidRequestException" and message in error["Message"], error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_segment_sent_again_replaces_the_in_progress_one(xray):
    now = time.time()
    tid = trace_id(now)
    doc = api_segment(tid, now, "req-long")
    in_progress = {k: v for k, v in doc.items() if k != "end_time"} | {"in_progress": True}
    put(xray, in_progress)
    (summary,) = summaries(xray, now - 1, now + 1).values()
    assert summary["IsPartial"] is True
    assert xray.get_trace_summaries(StartTime=now - 1, EndTime=now + 1, FilterExpression="partial")["TraceSummaries"]
    put(xray, doc)
    (trace,) = xray.batch_get_traces(TraceIds=[tid])["Traces"]
    assert [json.loads(s["Document"]) for s in trace["Segments"]] == [doc]
    (summary,) = summaries(xray, now - 1, now + 1).values()
    assert summary["IsPartial"] is False and summary["Revision"] == 2


def test_unknown_trace_ids_are_unprocessed_and_bad_requests_refused(xray):
    now = time.time()
    missing = trace_id(now)
    answer = xray.batch_get_traces(TraceIds=[missing])
    assert answer["Traces"] == [] and answer["UnprocessedTraceIds"] == [missing]
    with pytest.raises(ClientError, match="EndTime must not be before StartTime"):
        xray.get_trace_summaries(StartTime=now, EndTime=now - 10)
    with pytest.raises(ClientError, match="TimeRangeType must be one of"):
        xray.get_trace_summaries(StartTime=now - 10, EndTime=now, TimeRangeType="Whenever")
