"""Send a few requests through the demo stack's load balancer and print their X-Ray traces (``make demo TRACING=1``).

    python tools/demo_traces.py [--stack seed] [--count 3]      # AWS_ENDPOINT_URL: the local endpoint

Each request has its own ``X-Request-ID`` and asks to be sampled (``X-Amzn-Trace-Id: Sampled=1``); the API's
segment goes to the X-Ray daemon beside it (the local stand-in, ``localhost/seed-xray-daemon:latest``) and from there
to the endpoint's X-Ray, where GetTraceSummaries finds it by its ``annotation.request_id`` (docs/tracing.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

PATHS = [("GET", "/api/items?limit=5"), ("GET", "/api/version"), ("GET", "/api/items/404404")]


def production_url(endpoint: str, stack: str) -> str:
    with urllib.request.urlopen(f"{endpoint}/_localaws/dataplane/listeners", timeout=10) as resp:
        listeners = json.load(resp)
    for listener in listeners:
        if listener["loadBalancerName"] == stack and listener["port"] == 80:
            return listener["localUrl"]
    raise SystemExit(f"demo-traces: no HTTP:80 listener of load balancer {stack!r} on {endpoint} (is the stack up?)")


def send(url: str, method: str, path: str, request_id: str) -> tuple[int, str]:
    request = urllib.request.Request(url + path, method=method,
                                     headers={"X-Request-ID": request_id, "X-Amzn-Trace-Id": "Sampled=1"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            status, headers = resp.status, resp.headers
    except urllib.error.HTTPError as exc:
        status, headers = exc.code, exc.headers
    return status, (headers.get("X-Amzn-Trace-Id") or "").removeprefix("Root=")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/demo_traces.py", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--stack", default="seed", help="stack_name: the load balancer's name")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--wait", type=float, default=30, help="seconds to wait for each trace")
    args = parser.parse_args(argv)
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        print("demo-traces: set AWS_ENDPOINT_URL (eval \"$(python -m localaws env)\")", file=sys.stderr)
        return 1
    import boto3

    xray = boto3.client("xray", endpoint_url=endpoint,
                        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    url = production_url(endpoint, args.stack)
    since = time.time()
    token = uuid.uuid4().hex[:6]
    sent = []
    for index in range(args.count):
        method, path = PATHS[index % len(PATHS)]
        request_id = f"demo-{token}-{index}"
        status, trace_id = send(url, method, path, request_id)
        sent.append((request_id, method, path, status, trace_id))
    print(f"X-Ray traces of {len(sent)} requests through {url} (the endpoint's X-Ray, found by annotation.request_id):")
    missing = 0
    for request_id, method, path, status, trace_id in sent:
        deadline = time.monotonic() + args.wait
        found = []
        while not found and time.monotonic() < deadline:
            found = xray.get_trace_summaries(StartTime=since - 1, EndTime=time.time() + 1,
                                             FilterExpression=f'annotation.request_id = "{request_id}"')["TraceSummaries"]
            if not found:
                time.sleep(0.5)
        if not found:
            missing += 1
            print(f"  {request_id}  {method} {path} -> {status}: no trace after {args.wait:.0f} s (is stack_tracing on, "
                  "with the local daemon image? docs/tracing.md)")
            continue
        summary = found[0]
        http = summary.get("Http", {})
        print(f"  {request_id}  {http.get('HttpMethod')} {path} -> {http.get('HttpStatus')}  trace {summary['Id']}"
              f"  ({summary['Duration'] * 1000:.1f} ms, {', '.join(s['Name'] for s in summary['ServiceIds'])})")
    if not missing:
        print(f"  read one whole: aws xray batch-get-traces --trace-ids {sent[0][4]}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
