"""The load balancer data plane: real listeners, rule routing, health checks and draining.

A local endpoint of its own runs with ``LOCALAWS_DATAPLANE=1`` (the session's
endpoint stays control-plane only). The targets are real HTTP servers on
loopback addresses 127.0.0.2, 127.0.0.3, ...; the load balancer, target groups,
listeners and rules are made with boto3, and requests go through the local
listener the endpoint opens for each ALB listener.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from localaws import LocalAWS

REGION = "us-east-1"
# metrics: the engine that receives the load balancer's reports (localaws/dataplane/metrics.py).
ENGINES = "alb,metrics"
FAST_CHECKS = {"HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 2, "HealthyThresholdCount": 2,
               "UnhealthyThresholdCount": 2, "HealthCheckPath": "/health"}


# -- targets: small real HTTP servers ---------------------------------------------------------------

class TargetHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Target

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/health":
            time.sleep(self.server.health_delay)
            self._answer(self.server.health_status, {"target": self.server.name})
            return
        with self.server.lock:
            self.server.hits[url.path] += 1
        if url.path == "/slow":
            self.server.slow_started.set()
            time.sleep(float(urllib.parse.parse_qs(url.query)["s"][0]))
        self._answer(200, {"target": self.server.name, "path": self.path, "headers": dict(self.headers)})

    def _answer(self, status: int, data: dict) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Target(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, address: str):
        super().__init__((address, 0), TargetHandler)
        self.name = name
        self.health_status = 200
        self.health_delay = 0.0
        self.hits: Counter = Counter()
        self.lock = threading.Lock()
        self.slow_started = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def ref(self) -> dict:
        return {"Id": self.server_address[0], "Port": self.server_address[1]}

    def total(self) -> int:
        with self.lock:
            return sum(self.hits.values())


@pytest.fixture(scope="module")
def targets():
    servers = {name: Target(name, f"127.0.0.{i}") for i, name in enumerate("abcd", start=2)}
    yield servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _fresh_targets(targets):
    for target in targets.values():
        target.health_status = 200
        target.health_delay = 0.0
        target.slow_started.clear()
        with target.lock:
            target.hits.clear()


# -- the endpoint with the data plane on -------------------------------------------------------------

@pytest.fixture(scope="module")
def dataplane_server(tmp_path_factory):
    settings = {"LOCALAWS_DATAPLANE": "1", "LOCALAWS_DATAPLANE_ENGINES": ENGINES, "LOCALAWS_TIME_SCALE": "1.0"}
    aws = LocalAWS(log_path=tmp_path_factory.mktemp("localaws-dataplane") / "server.log", env=settings).start()
    yield aws
    aws.stop()


@dataclass
class Stack:
    aws: LocalAWS
    session: boto3.Session
    vpc: str = ""
    subnets: list[str] = field(default_factory=list)
    created: list[tuple[str, str]] = field(default_factory=list)  # (kind, arn) to delete after the test

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.aws.url)

    @property
    def elb(self):
        return self.client("elbv2")

    def load_balancer(self, name: str = "web") -> str:
        arn = self.elb.create_load_balancer(Name=name, Subnets=self.subnets, Type="application")[
            "LoadBalancers"][0]["LoadBalancerArn"]
        self.created.append(("lb", arn))
        return arn

    def target_group(self, name: str, targets: list[Target] = (), **settings) -> str:
        arn = self.elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=self.vpc, TargetType="ip",
                                           **dict(FAST_CHECKS, **settings))["TargetGroups"][0]["TargetGroupArn"]
        self.created.append(("tg", arn))
        if targets:
            self.elb.register_targets(TargetGroupArn=arn, Targets=[t.ref for t in targets])
        return arn

    def listener(self, lb: str, default_actions: list[dict], port: int = 80) -> tuple[str, str]:
        """(listener ARN, local URL) once the data plane serves it."""
        arn = self.elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                                       DefaultActions=default_actions)["Listeners"][0]["ListenerArn"]
        return arn, self.local_url(arn)

    def listeners(self) -> list[dict]:
        with urllib.request.urlopen(self.aws.url + "/_localaws/dataplane/listeners", timeout=10) as resp:
            return json.loads(resp.read())

    def local_url(self, listener_arn: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.listeners():
                if item["listenerArn"] == listener_arn:
                    return item["localUrl"]
            time.sleep(0.05)
        raise AssertionError(f"no local listener for {listener_arn} after {timeout}s")

    def health(self, tg: str, targets: list[Target] | None = None) -> dict[str, dict]:
        kwargs = {"Targets": [t.ref for t in targets]} if targets else {}
        described = self.elb.describe_target_health(TargetGroupArn=tg, **kwargs)["TargetHealthDescriptions"]
        return {d["Target"]["Id"]: d["TargetHealth"] for d in described}

    def wait_health(self, tg: str, wanted: dict[str, str], timeout: float = 10.0) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.health(tg)
            if {tid: current.get(tid, {}).get("State") for tid in wanted} == wanted:
                return current
            time.sleep(0.05)
        raise AssertionError(f"target health still {current} after {timeout}s, wanted {wanted}")


@pytest.fixture(scope="module")
def network(dataplane_server):
    """One VPC for the module (moto's EC2 calls are slow); each test deletes its load balancers."""
    dataplane_server.reset()  # also resets the running data plane engines
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            aws_session_token="testing", region_name=REGION)
    ec2 = session.client("ec2", endpoint_url=dataplane_server.url)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{REGION}{az}")[
        "Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]
    return session, vpc, subnets


@pytest.fixture
def stack(dataplane_server, network):
    session, vpc, subnets = network
    result = Stack(dataplane_server, session, vpc, list(subnets))
    yield result
    for kind, arn in sorted(result.created, key=lambda item: item[0] != "lb"):  # load balancers first
        if kind == "lb":
            result.elb.delete_load_balancer(LoadBalancerArn=arn)
        else:
            result.elb.delete_target_group(TargetGroupArn=arn)


def request(url: str, path: str = "/", headers: dict | None = None, method: str = "GET",
            timeout: float = 30) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one request; errors are answers too."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def served_by(url: str, path: str = "/") -> str:
    status, _, body = request(url, path)
    assert status == 200, (status, body)
    return json.loads(body)["target"]


def forward(tg: str) -> list[dict]:
    return [{"Type": "forward", "TargetGroupArn": tg}]


# -- tests ------------------------------------------------------------------------------------------

def test_listener_routes_by_rules_and_passes_forwarded_headers(stack, targets):
    lb = stack.load_balancer()
    api = stack.target_group("api", [targets["a"]])
    web = stack.target_group("web", [targets["b"]])
    listener, url = stack.listener(lb, forward(web))
    stack.elb.create_rule(ListenerArn=listener, Priority=10, Actions=forward(api),
                          Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}])
    stack.elb.create_rule(ListenerArn=listener, Priority=5, Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/status?"]}}], Actions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "418", "ContentType": "text/plain",
                                                           "MessageBody": "short and stout"}}])
    stack.elb.create_rule(ListenerArn=listener, Priority=20, Conditions=[
        {"Field": "path-pattern", "Values": ["/old/*"]}], Actions=[
        {"Type": "redirect", "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_302"}}])
    stack.wait_health(api, {"127.0.0.2": "healthy"})
    stack.wait_health(web, {"127.0.0.3": "healthy"})

    described = [item for item in stack.listeners() if item["listenerArn"] == listener]
    assert described == [{"listenerArn": listener, "loadBalancerArn": lb, "loadBalancerName": "web", "port": 80,
                          "protocol": "HTTP", "localUrl": url}]
    assert served_by(url, "/api/items") == "a"
    assert served_by(url, "/api/items?page=2") == "a"  # the query string is not part of the path
    assert served_by(url, "/api") == "b"  # "/api/*" needs the slash
    assert served_by(url, "/API/items") == "b"  # path patterns are case-sensitive
    assert served_by(url, "/") == "b"
    assert request(url, "/status1")[0] == 418
    assert request(url, "/status1")[2] == b"short and stout"
    assert served_by(url, "/status12") == "b"  # "?" is exactly one character
    status, headers, _ = request(url, "/old/page?x=1")
    assert (status, headers["Location"]) == (302, f"{url}/new/old/page?x=1")

    status, _, body = request(url, "/api/echo", headers={"X-Request-ID": "req-123",
                                                         "X-Forwarded-For": "203.0.113.9"})
    seen = json.loads(body)["headers"]
    assert status == 200
    assert seen["X-Request-ID"] == "req-123"
    assert seen["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert (seen["X-Forwarded-Proto"], seen["X-Forwarded-Port"]) == ("http", "80")
    assert seen["X-Amzn-Trace-Id"].startswith("Root=1-")

    stack.elb.delete_listener(ListenerArn=listener)
    deadline = time.monotonic() + 10
    while any(item["listenerArn"] == listener for item in stack.listeners()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(item["listenerArn"] != listener for item in stack.listeners())
    with pytest.raises(ConnectionRefusedError):
        request(url, "/")


def test_target_health_goes_initial_then_healthy(stack, targets):
    lb = stack.load_balancer()
    tg = stack.target_group("web", HealthyThresholdCount=3)
    stack.listener(lb, forward(tg))
    stack.elb.register_targets(TargetGroupArn=tg, Targets=[targets["a"].ref])
    first = stack.health(tg)["127.0.0.2"]
    assert first == {"State": "initial", "Reason": "Elb.RegistrationInProgress",
                     "Description": "Target registration is in progress"}
    healthy = stack.wait_health(tg, {"127.0.0.2": "healthy"})["127.0.0.2"]
    assert healthy == {"State": "healthy"}
    described = stack.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]
    assert described["HealthCheckPort"] == str(targets["a"].server_address[1])  # traffic-port, resolved

    unused = stack.target_group("idle", [targets["b"]])  # no listener forwards to it
    assert stack.wait_health(unused, {"127.0.0.3": "unused"})["127.0.0.3"]["Reason"] == "Target.NotInUse"


def test_weighted_forward_follows_the_weights(stack, targets):
    lb = stack.load_balancer()
    heavy = stack.target_group("heavy", [targets["a"]])
    light = stack.target_group("light", [targets["b"]])
    never = stack.target_group("never", [targets["c"]])
    _, url = stack.listener(lb, [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": heavy, "Weight": 80}, {"TargetGroupArn": light, "Weight": 20},
        {"TargetGroupArn": never, "Weight": 0}]}}])
    for tg, ip in ((heavy, "127.0.0.2"), (light, "127.0.0.3"), (never, "127.0.0.4")):
        stack.wait_health(tg, {ip: "healthy"})
    n = 400
    with ThreadPoolExecutor(8) as pool:
        counts = Counter(pool.map(lambda _: served_by(url, "/w"), range(n)))
    # Binomial(400, 0.8): standard deviation 8; five of them either side cannot fail by chance.
    assert 320 - 40 <= counts["a"] <= 320 + 40, counts
    assert counts["a"] + counts["b"] == n
    assert counts["c"] == 0  # weight 0 never receives traffic


def test_unhealthy_targets_get_no_traffic_until_all_fail_open(stack, targets):
    lb = stack.load_balancer()
    good, bad = targets["a"], targets["b"]
    bad.health_status = 500
    tg = stack.target_group("web", [good, bad])
    _, url = stack.listener(lb, forward(tg))
    health = stack.wait_health(tg, {"127.0.0.2": "healthy", "127.0.0.3": "unhealthy"})
    assert health["127.0.0.3"] == {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
                                   "Description": "Health checks failed with these codes: [500]"}
    assert {served_by(url, "/x") for _ in range(30)} == {"a"}
    assert bad.total() == 0

    good.health_status = 503
    stack.wait_health(tg, {"127.0.0.2": "unhealthy", "127.0.0.3": "unhealthy"})
    # Every target unhealthy: the load balancer fails open and uses them all.
    assert {served_by(url, "/x") for _ in range(30)} == {"a", "b"}

    good.health_status = 200
    stack.wait_health(tg, {"127.0.0.2": "healthy"})
    before = bad.total()
    assert {served_by(url, "/x") for _ in range(20)} == {"a"}
    assert bad.total() == before


def test_health_check_port_and_hand_set_override(stack, targets, dataplane_server):
    lb = stack.load_balancer()
    tg = stack.target_group("web", [targets["a"]], HealthCheckPort="9", HealthCheckTimeoutSeconds=2)
    _, url = stack.listener(lb, forward(tg))
    # Port 9 (discard) refuses on loopback: the check cannot connect.
    health = stack.wait_health(tg, {"127.0.0.2": "unhealthy"})
    assert health["127.0.0.2"]["Reason"] == "Target.FailedHealthChecks"
    stack.elb.modify_target_group(TargetGroupArn=tg, HealthCheckPort="traffic-port")
    stack.wait_health(tg, {"127.0.0.2": "healthy"})

    # The control endpoint's override still applies, on top of the real state.
    req = urllib.request.Request(dataplane_server.url + "/_localaws/elbv2/target-health", method="POST",
                                 data=json.dumps({"targetGroupArn": tg, "state": "unhealthy"}).encode())
    urllib.request.urlopen(req, timeout=10).close()
    assert stack.health(tg)["127.0.0.2"]["State"] == "unhealthy"
    assert served_by(url, "/") == "a"  # its only target is "unhealthy": fail open


def test_health_check_timeout(stack, targets):
    lb = stack.load_balancer()
    targets["d"].health_delay = 3.0  # longer than the 2 s health-check timeout
    tg = stack.target_group("web", [targets["d"]], HealthCheckTimeoutSeconds=2)
    stack.listener(lb, forward(tg))
    health = stack.wait_health(tg, {"127.0.0.5": "unhealthy"}, timeout=20)
    assert health["127.0.0.5"] == {"State": "unhealthy", "Reason": "Target.Timeout",
                                   "Description": "Request timed out"}


def test_load_balancer_errors_503_502_504(stack, targets):
    lb = stack.load_balancer()
    empty = stack.target_group("empty")
    dead = stack.target_group("dead")
    slow = stack.target_group("slow", [targets["a"]])
    stack.elb.register_targets(TargetGroupArn=dead, Targets=[{"Id": "127.0.0.5", "Port": 9}])
    listener, url = stack.listener(lb, forward(empty))
    stack.elb.create_rule(ListenerArn=listener, Priority=1, Actions=forward(dead),
                          Conditions=[{"Field": "path-pattern", "Values": ["/dead*"]}])
    stack.elb.create_rule(ListenerArn=listener, Priority=2, Actions=forward(slow),
                          Conditions=[{"Field": "path-pattern", "Values": ["/slow*"]}])
    stack.elb.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
        {"Key": "idle_timeout.timeout_seconds", "Value": "1"}])

    status, headers, body = request(url, "/")
    assert (status, headers["Server"]) == (503, "awselb/2.0")
    assert b"503 Service Temporarily Unavailable" in body
    stack.wait_health(dead, {"127.0.0.5": "unhealthy"})
    assert request(url, "/dead")[0] == 502  # unhealthy, failing open, and refusing connections
    stack.wait_health(slow, {"127.0.0.2": "healthy"})
    assert request(url, "/slow?s=0.1")[0] == 200
    assert request(url, "/slow?s=3")[0] == 504  # longer than the idle timeout (1 s)


def test_deregistration_drains_in_flight_requests(stack, targets):
    lb = stack.load_balancer()
    tg = stack.target_group("web", [targets["a"], targets["b"]])
    # 120 AWS seconds = 2 s at the test's time scale (1 real second per AWS minute).
    stack.elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "120"}])
    _, url = stack.listener(lb, forward(tg))
    stack.wait_health(tg, {"127.0.0.2": "healthy", "127.0.0.3": "healthy"})

    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(request, url, "/slow?s=1.5")
        pair = (targets["a"], targets["b"])
        deadline = time.monotonic() + 5
        while not any(t.slow_started.is_set() for t in pair) and time.monotonic() < deadline:
            time.sleep(0.01)
        leaving = next(t for t in pair if t.slow_started.is_set())  # the slow request is in flight there
        staying = pair[1] if leaving is pair[0] else pair[0]
        stack.elb.deregister_targets(TargetGroupArn=tg, Targets=[leaving.ref])
        assert stack.health(tg)[leaving.ref["Id"]] == {
            "State": "draining", "Reason": "Target.DeregistrationInProgress",
            "Description": "Target deregistration is in progress"}
        before = leaving.total()
        assert {served_by(url, "/fast") for _ in range(20)} == {staying.name}
        assert leaving.total() == before
        status, _, body = slow.result(timeout=10)
    assert (status, json.loads(body)["target"]) == (200, leaving.name)  # the in-flight request finished

    deadline = time.monotonic() + 10
    while leaving.ref["Id"] in stack.health(tg) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(stack.health(tg)) == {staying.ref["Id"]}  # the drained target is gone
    assert stack.health(tg, [leaving])[leaving.ref["Id"]] == {
        "State": "unused", "Reason": "Target.NotRegistered", "Description": "Target is not registered to the target group"}


def test_deregistration_delay_runs_from_the_deregister_call(stack, targets):
    """The delay starts at DeregisterTargets, not at the data plane's next poll: with a delay of 0 the
    target is gone at once, and ECS (which stops a task when its delay is over) never sees it draining."""
    lb = stack.load_balancer()
    tg = stack.target_group("web", [targets["a"], targets["b"]])
    stack.elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "0"}])
    stack.listener(lb, forward(tg))
    stack.wait_health(tg, {"127.0.0.2": "healthy", "127.0.0.3": "healthy"})
    for _ in range(5):  # a poll falling between the two calls would hide the bug once, not five times
        stack.elb.deregister_targets(TargetGroupArn=tg, Targets=[targets["a"].ref])
        assert set(stack.health(tg)) == {targets["b"].ref["Id"]}
        stack.elb.register_targets(TargetGroupArn=tg, Targets=[targets["a"].ref])
        stack.wait_health(tg, {"127.0.0.2": "healthy", "127.0.0.3": "healthy"})


def test_many_concurrent_connections_and_throughput(stack, targets):
    lb = stack.load_balancer()
    tg = stack.target_group("web", [targets["a"], targets["b"]])
    _, url = stack.listener(lb, forward(tg))
    stack.wait_health(tg, {"127.0.0.2": "healthy", "127.0.0.3": "healthy"})

    barrier = threading.Barrier(120)

    def one(_):
        barrier.wait(10)
        return request(url, "/c")[0]

    with ThreadPoolExecutor(120) as pool:
        statuses = Counter(pool.map(one, range(120)))
    assert statuses == {200: 120}

    # A bounded keep-alive loop: 4 clients x 500 requests; the rate is reported, not asserted.
    parts = urllib.parse.urlsplit(url)

    def client(_):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        ok = 0
        for _ in range(500):
            conn.request("GET", "/bench")
            response = conn.getresponse()
            response.read()
            ok += response.status == 200
        conn.close()
        return ok

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        served = sum(pool.map(client, range(4)))
    elapsed = time.monotonic() - started
    assert served == 2000
    print(f"\nload balancer listener: {served} requests in {elapsed:.2f}s = {served / elapsed:.0f} req/s")


def test_requests_reach_cloudwatch_metrics(stack, targets):
    lb = stack.load_balancer()
    tg = stack.target_group("web", [targets["a"]])
    _, url = stack.listener(lb, forward(tg))
    stack.wait_health(tg, {"127.0.0.2": "healthy"})
    for _ in range(25):
        served_by(url, "/m")
    dimension = lb.split(":loadbalancer/", 1)[1]
    cloudwatch = stack.client("cloudwatch")
    deadline = time.monotonic() + 15
    total = 0.0
    while time.monotonic() < deadline:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/ApplicationELB", MetricName="RequestCount",
            Dimensions=[{"Name": "LoadBalancer", "Value": dimension}],
            StartTime=datetime.now(UTC) - timedelta(hours=1), EndTime=datetime.now(UTC) + timedelta(minutes=5),
            Period=60, Statistics=["Sum"])["Datapoints"]
        total = sum(p["Sum"] for p in points)
        if total >= 25:
            break
        time.sleep(0.2)
    assert total == 25
