"""Data plane metrics and alarms against a real endpoint started with ``LOCALAWS_DATAPLANE=1``.

Requests are recorded through the metrics control route (the load balancer
calls the same ``record_request``), log lines arrive through real PutLogEvents,
and everything else is read back with AWS's own API: DescribeAlarms,
GetMetricStatistics, ListMetrics. One AWS minute lasts ``SCALE`` real seconds.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from localaws import LocalAWS

SCALE = 0.2  # real seconds per AWS minute
REGION = "us-east-1"
WAIT = 20.0  # upper bound of every wait (real seconds); the waits end as soon as the state is reached


@pytest.fixture(scope="module")
def dp(tmp_path_factory):
    """An endpoint of its own with the data plane on (the session one runs without it).

    Only the metrics engine: these tests feed requests through the metrics control route. With the
    task runner on, CodeDeploy would (rightly) fail the conftest platform's release at Install, its
    ``nginx:2`` image being in no local registry (tests/localaws/test_dataplane_codedeploy.py)."""
    settings = {"LOCALAWS_DATAPLANE": "1", "LOCALAWS_DATAPLANE_ENGINES": "metrics",
                "LOCALAWS_TIME_SCALE": str(SCALE)}
    aws = LocalAWS(log_path=tmp_path_factory.mktemp("localaws-dp") / "server.log", env=settings).start()
    yield aws
    aws.stop()


@pytest.fixture(scope="module")
def aws(dp):
    """boto3 clients of the data-plane endpoint. No reset between tests (it costs seconds of moto
    work): every test makes its own load balancer, target groups, log group and alarm names."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            aws_session_token="testing", region_name=REGION)
    clients: dict = {}

    def client(service: str):
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=dp.url)
        return clients[service]

    client.url = dp.url
    return client


def control(url: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def wait_for(what: str, probe, timeout: float = WAIT):
    """Poll ``probe()`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what}: not reached within {timeout}s (last: {last!r})")


def alarm(aws, name: str) -> dict:
    return aws("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def in_state(aws, name: str, state: str):
    def probe():
        current = alarm(aws, name)
        return current if current["StateValue"] == state else None

    return probe


def evaluations(aws, name: str) -> list[dict]:
    return control(aws.url, f"/_localaws/dataplane/alarms?name={name}")["alarms"].get(name, [])


_NAMES = itertools.count(1)


@pytest.fixture(scope="module")
def subnets(aws):
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    return vpc, [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{REGION}{az}")[
        "Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]


@pytest.fixture
def alb(aws, subnets):
    """A load balancer and two target groups of this test (their ARNs give the dimensions)."""
    elb = aws("elbv2")
    vpc, subnet_ids = subnets
    name = f"web{next(_NAMES)}"
    lb_arn = elb.create_load_balancer(Name=name, Subnets=subnet_ids, Type="application")[
        "LoadBalancers"][0]["LoadBalancerArn"]
    groups = [elb.create_target_group(Name=f"{name}-{c}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
        "TargetGroups"][0]["TargetGroupArn"] for c in ("blue", "green")]
    return {
        "lb": lb_arn, "blue": groups[0], "green": groups[1], "name": name,
        # AWS's dimension values: the ARN suffixes, as roles/cloudwatch computes them
        "lb_dim": lb_arn.split(":loadbalancer/")[-1],
        "blue_dim": groups[0].split(":")[-1], "green_dim": groups[1].split(":")[-1],
    }


def tg_dims(alb: dict, color: str) -> list[dict]:
    return [{"Name": "LoadBalancer", "Value": alb["lb_dim"]}, {"Name": "TargetGroup", "Value": alb[f"{color}_dim"]}]


def put_alarm(aws, name: str, metric: str, dims: list[dict], threshold: float, namespace="AWS/ApplicationELB",
              statistic: str | None = "Sum", extended: str | None = None, periods=1, to_alarm=None,
              missing="notBreaching"):
    kwargs = {"AlarmName": name, "Namespace": namespace, "MetricName": metric, "Dimensions": dims,
              "Period": 60, "EvaluationPeriods": periods, "Threshold": threshold,
              "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": missing}
    if extended:
        kwargs["ExtendedStatistic"] = extended
    else:
        kwargs["Statistic"] = statistic
    if to_alarm:
        kwargs["DatapointsToAlarm"] = to_alarm
    aws("cloudwatch").put_metric_alarm(**kwargs)


def requests(aws, alb: dict, color: str, status: int, count: int, elapsed: float = 0.01, **extra) -> dict:
    item = {"loadBalancerArn": alb["lb"], "targetGroupArn": alb[color], "targetStatus": status,
            "elbStatus": status, "elapsedSeconds": elapsed, "count": count, **extra}
    return control(aws.url, "/_localaws/dataplane/metrics/requests", {"requests": [item]})


def stats(aws, namespace: str, metric: str, dims: list[dict], statistics=("Sum",), extended=None) -> list[dict]:
    now = datetime.now(UTC)
    kwargs = {"Namespace": namespace, "MetricName": metric, "Dimensions": dims, "Period": 3600,
              "StartTime": now - timedelta(hours=1), "EndTime": now + timedelta(minutes=5)}
    if statistics:
        kwargs["Statistics"] = list(statistics)
    if extended:
        kwargs["ExtendedStatistics"] = list(extended)
    return aws("cloudwatch").get_metric_statistics(**kwargs)["Datapoints"]


def total(points: list[dict], key: str = "Sum") -> float:
    return sum(p[key] for p in points)


def test_target_5xx_alarm_fires_from_requests_and_clears_when_they_stop(aws, alb):
    # the cloudwatch role's target-5xx alarm: Sum > 5 over 1 of 1 periods, missing data not breaching
    put_alarm(aws, "web-target-5xx-blue", "HTTPCode_Target_5XX_Count", tg_dims(alb, "blue"), 5)
    wait_for("first evaluation", lambda: evaluations(aws, "web-target-5xx-blue"))
    assert alarm(aws, "web-target-5xx-blue")["StateValue"] == "OK"

    requests(aws, alb, "blue", 200, 20)
    requests(aws, alb, "blue", 500, 10)
    fired = wait_for("ALARM from 10 target 5xx", in_state(aws, "web-target-5xx-blue", "ALARM"))
    assert fired["StateReason"].startswith("Threshold Crossed: 1 datapoint [10.0 ("), fired["StateReason"]
    assert "was greater than the threshold (5.0)" in fired["StateReason"]
    data = json.loads(fired["StateReasonData"])
    assert data["evaluatedDatapoints"][0]["value"] == 10.0
    assert data["statistic"] == "Sum" and data["threshold"] == 5.0
    # updating the alarm (as a re-run of the cloudwatch role may) leaves its state unchanged
    aws("cloudwatch").put_metric_alarm(
        AlarmName="web-target-5xx-blue", AlarmDescription="updated", Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count", Dimensions=tg_dims(alb, "blue"), Period=60, EvaluationPeriods=1,
        Threshold=5, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching", Statistic="Sum")
    assert alarm(aws, "web-target-5xx-blue")["StateValue"] == "ALARM"

    # no more errors: the datapoints age out of the evaluation range and missing data is not breaching
    cleared = wait_for("OK once the 5xx stop", in_state(aws, "web-target-5xx-blue", "OK"))
    assert "no datapoints were received" in cleared["StateReason"], cleared["StateReason"]
    history = aws("cloudwatch").describe_alarm_history(AlarmName="web-target-5xx-blue",
                                                       HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    # a new alarm starts INSUFFICIENT_DATA (PutMetricAlarm reference); newest first
    assert [h["HistorySummary"] for h in history] == ["Alarm updated from ALARM to OK",
                                                      "Alarm updated from OK to ALARM",
                                                      "Alarm updated from INSUFFICIENT_DATA to OK"]
    assert json.loads(history[1]["HistoryData"])["newState"]["stateReasonData"]["evaluatedDatapoints"]

    # the green group's alarm never saw a 5xx of blue's
    put_alarm(aws, "web-target-5xx-green", "HTTPCode_Target_5XX_Count", tg_dims(alb, "green"), 5)
    requests(aws, alb, "blue", 503, 10)
    wait_for("blue ALARM again", in_state(aws, "web-target-5xx-blue", "ALARM"))
    assert alarm(aws, "web-target-5xx-green")["StateValue"] == "OK"


def test_metric_statistics_carry_aws_dimensions(aws, alb):
    requests(aws, alb, "blue", 200, 3, elapsed=0.1)
    requests(aws, alb, "green", 503, 2, elapsed=0.2)
    # a 502 the load balancer generated: the target failed, no target status
    control(aws.url, "/_localaws/dataplane/metrics/requests", {"requests": [
        {"loadBalancerArn": alb["lb"], "targetGroupArn": alb["blue"], "elbStatus": 502, "targetStatus": None}]})
    control(aws.url, "/_localaws/dataplane/metrics/hosts", {
        "loadBalancerArn": alb["lb"], "targetGroupArn": alb["blue"], "healthy": 2, "unhealthy": 1})
    elb = "AWS/ApplicationELB"
    lb_only = [{"Name": "LoadBalancer", "Value": alb["lb_dim"]}]

    points = wait_for("RequestCount published", lambda: stats(aws, elb, "RequestCount", lb_only))
    assert total(points) == 6  # the LoadBalancer-only metric: every request, each counted once
    assert total(stats(aws, elb, "RequestCount", tg_dims(alb, "blue"))) == 4
    assert total(stats(aws, elb, "RequestCount", tg_dims(alb, "green"))) == 2
    assert total(stats(aws, elb, "HTTPCode_Target_5XX_Count", tg_dims(alb, "green"))) == 2
    assert total(stats(aws, elb, "HTTPCode_Target_2XX_Count", tg_dims(alb, "blue"))) == 3
    assert stats(aws, elb, "HTTPCode_Target_5XX_Count", tg_dims(alb, "blue")) == []
    assert total(stats(aws, elb, "HTTPCode_ELB_502_Count", lb_only)) == 1
    assert total(stats(aws, elb, "HTTPCode_ELB_5XX_Count", lb_only)) == 1

    latency = stats(aws, elb, "TargetResponseTime", tg_dims(alb, "green"), ("Average", "SampleCount"), ["p99"])
    assert latency[0]["SampleCount"] == 2 and latency[0]["Average"] == pytest.approx(0.2)
    assert latency[0]["ExtendedStatistics"] == {"p99": 0.2}
    assert latency[0]["Unit"] == "Seconds"

    healthy = wait_for("HealthyHostCount published",
                       lambda: stats(aws, elb, "HealthyHostCount", tg_dims(alb, "blue"), ("Maximum",)))
    assert healthy[0]["Maximum"] == 2
    assert stats(aws, elb, "UnHealthyHostCount", tg_dims(alb, "blue"), ("Maximum",))[0]["Maximum"] == 1

    listed = aws("cloudwatch").list_metrics(Namespace=elb, MetricName="RequestCount")["Metrics"]
    dimension_sets = {frozenset((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed}
    assert frozenset({("LoadBalancer", alb["lb_dim"]), ("TargetGroup", alb["blue_dim"])}) in dimension_sets
    assert alb["lb_dim"].startswith(f"app/{alb['name']}/")
    assert alb["blue_dim"].startswith(f"targetgroup/{alb['name']}-blue/")


def test_datapoints_to_alarm_m_out_of_n(aws, alb):
    dims = tg_dims(alb, "blue")
    put_alarm(aws, "two-of-four", "HTTPCode_Target_5XX_Count", dims, 5, periods=4, to_alarm=2)
    put_alarm(aws, "three-of-four", "HTTPCode_Target_5XX_Count", dims, 5, periods=4, to_alarm=3)
    # breaching minutes two AWS minutes from now and five from now, nothing in between
    item = {"loadBalancerArn": alb["lb"], "targetGroupArn": alb["blue"], "targetStatus": 500, "count": 10}
    sent = control(aws.url, "/_localaws/dataplane/metrics/requests", {"requests": [
        dict(item, minutesFromNow=2), dict(item, minutesFromNow=5)]})
    assert len(sent["minutes"]) == 2

    fired = wait_for("2 of 4 in ALARM", in_state(aws, "two-of-four", "ALARM"))
    assert "2 out of the last 4 datapoints" in fired["StateReason"], fired["StateReason"]
    history = evaluations(aws, "two-of-four")
    change = next(e for e in history if e["changed"] and e["state"] == "ALARM")
    assert [p["value"] for p in change["datapoints"]] == [10.0, 10.0]
    assert [p["timestamp"][:19] for p in change["datapoints"]] == [m[:19] for m in sent["minutes"]]
    # while only the first breaching minute was in range, one of four did not make an alarm
    alone = [e for e in history if [p["value"] for p in e["datapoints"]] == [10.0]]
    assert alone and all(e["state"] == "OK" for e in alone)
    # the same window, evaluated for 3 of 4: still OK
    same = [e for e in evaluations(aws, "three-of-four") if e["periodEnd"] == change["periodEnd"]]
    assert same and same[0]["state"] == "OK"
    assert alarm(aws, "three-of-four")["StateValue"] == "OK"


def test_p99_response_time_alarm(aws, alb):
    dims = tg_dims(alb, "blue")
    put_alarm(aws, "p99-latency", "TargetResponseTime", dims, 1.0, statistic=None, extended="p99")
    put_alarm(aws, "avg-latency", "TargetResponseTime", dims, 1.0, statistic="Average")
    # 98 fast responses and 2 slow ones in one minute: p99 is slow, the average is not
    item = {"loadBalancerArn": alb["lb"], "targetGroupArn": alb["blue"], "targetStatus": 200}
    control(aws.url, "/_localaws/dataplane/metrics/requests", {"requests": [
        dict(item, elapsedSeconds=0.05, count=98), dict(item, elapsedSeconds=3.0, count=2)]})

    fired = wait_for("p99 ALARM", in_state(aws, "p99-latency", "ALARM"))
    data = json.loads(fired["StateReasonData"])
    assert data["extendedStatistic"] == "p99"
    assert data["evaluatedDatapoints"][0] == {**data["evaluatedDatapoints"][0], "value": 3.0, "sampleCount": 100}
    change = next(e for e in evaluations(aws, "p99-latency") if e["changed"] and e["state"] == "ALARM")
    average = [e for e in evaluations(aws, "avg-latency") if e["periodEnd"] == change["periodEnd"]]
    assert average and average[0]["state"] == "OK"
    assert average[0]["datapoints"][0]["value"] == pytest.approx((98 * 0.05 + 2 * 3.0) / 100)


def test_metric_filter_on_json_log_lines_fires_its_alarm(aws):
    logs = aws("logs")
    group, namespace = "/ecs/seed-dev/api", "seed/dev"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="api/api/task1")
    # the cloudwatch role's two filters (roles/cloudwatch/vars/main.yml), and a plain-term one
    for suffix, pattern in (("http-5xx", "{ $.status >= 500 }"), ("error-lines", '{ $.level = "error" }'),
                            ("tracebacks", "Traceback -KeyboardInterrupt")):
        logs.put_metric_filter(logGroupName=group, filterName=f"api-{suffix}", filterPattern=pattern,
                               metricTransformations=[{"metricName": f"api-{suffix}", "metricNamespace": namespace,
                                                       "metricValue": "1", "defaultValue": 0}])
    put_alarm(aws, "api-log-5xx", "api-http-5xx", [], 5, namespace=namespace)

    now_ms = int(time.time() * 1000)
    lines = ([json.dumps({"level": "error", "status": 500, "path": "/api/items"})] * 8
             + [json.dumps({"level": "info", "status": 200, "path": "/api/items"})] * 4
             + ["Traceback (most recent call last):", "not json at all {"])
    logs.put_log_events(logGroupName=group, logStreamName="api/api/task1",
                        logEvents=[{"timestamp": now_ms, "message": line} for line in lines])

    fired = wait_for("ALARM from the log lines", in_state(aws, "api-log-5xx", "ALARM"))
    assert "[8.0 (" in fired["StateReason"], fired["StateReason"]
    assert total(stats(aws, namespace, "api-http-5xx", [])) == 8
    assert total(stats(aws, namespace, "api-error-lines", [])) == 8
    assert total(stats(aws, namespace, "api-tracebacks", [])) == 1

    # a minute with events and no match reports the default value
    earlier = now_ms - 30 * 60 * 1000
    logs.put_log_events(logGroupName=group, logStreamName="api/api/task1",
                        logEvents=[{"timestamp": earlier, "message": json.dumps({"level": "info", "status": 200})}])
    start = datetime.fromtimestamp(earlier / 1000 - 60, UTC)

    def default_point():
        points = aws("cloudwatch").get_metric_statistics(
            Namespace=namespace, MetricName="api-http-5xx", Dimensions=[], Period=60, Statistics=["Sum", "SampleCount"],
            StartTime=start, EndTime=start + timedelta(minutes=5))["Datapoints"]
        return points

    points = wait_for("default value published", default_point)
    assert [(p["Sum"], p["SampleCount"]) for p in points] == [(0.0, 1.0)]


def test_service_cpu_alarm_and_cgroup_reading(aws):
    aws("ecs").create_cluster(clusterName="seed")
    dims = [{"Name": "ClusterName", "Value": "seed"}, {"Name": "ServiceName", "Value": "api"}]
    put_alarm(aws, "api-cpu-high", "CPUUtilization", dims, 80, namespace="AWS/ECS", statistic="Average",
              missing="missing")
    wait_for("no data yet: INSUFFICIENT_DATA", in_state(aws, "api-cpu-high", "INSUFFICIENT_DATA"))
    for cpu in (95.0, 85.0):  # two tasks of the service
        control(aws.url, "/_localaws/dataplane/metrics/services",
                {"clusterName": "seed", "serviceName": "api", "cpuPercent": cpu, "memoryPercent": 40.0})
    fired = wait_for("CPU ALARM", in_state(aws, "api-cpu-high", "ALARM"))
    assert "[90.0 (" in fired["StateReason"], fired["StateReason"]
    memory = stats(aws, "AWS/ECS", "MemoryUtilization", dims, ("Average",))
    assert memory[0]["Average"] == 40.0

    # the reading the task runner turns into those percentages, from this process's own cgroup
    from localaws.dataplane.metrics import cgroup_usage

    lines = Path("/proc/self/cgroup").read_text().splitlines()
    path = next(line.split(":", 2)[2] for line in lines if line.split(":")[1] in ("", "cpuacct", "cpu,cpuacct"))
    cpu_seconds, memory_bytes = cgroup_usage(path)
    assert cpu_seconds > 0 and memory_bytes > 0


def test_set_alarm_state_is_fault_injection_until_the_next_evaluation(aws, alb):
    put_alarm(aws, "injected", "HTTPCode_Target_5XX_Count", tg_dims(alb, "blue"), 5)
    wait_for("first evaluation", lambda: evaluations(aws, "injected"))
    aws("cloudwatch").set_alarm_state(AlarmName="injected", StateValue="ALARM", StateReason="fault injection")
    assert alarm(aws, "injected")["StateValue"] == "ALARM"
    back = wait_for("re-evaluated to OK", in_state(aws, "injected", "OK"))
    assert back["StateReason"].startswith("Threshold Crossed")


# -- CodeDeploy follows the evaluated alarm ----------------------------------------------------------
# The `platform` fixture of tests/localaws/conftest.py, built on this module's data-plane endpoint.

@pytest.fixture
def endpoint(dp):
    return dp


@pytest.fixture
def boto(aws):
    return aws


def test_codedeploy_rolls_back_on_an_alarm_raised_by_target_5xx(platform):
    p = platform
    lb = p.elb.describe_load_balancers(Names=["web"])["LoadBalancers"][0]["LoadBalancerArn"]
    green_dims = [{"Name": "LoadBalancer", "Value": lb.split(":loadbalancer/")[-1]},
                  {"Name": "TargetGroup", "Value": p.green_tg.split(":")[-1]}]
    put_alarm(p.boto, "web-target-5xx-green", "HTTPCode_Target_5XX_Count", green_dims, 5)
    p.group(config="CodeDeployDefault.ECSCanary10Percent15Minutes", alarms=["web-target-5xx-green"],
            rollback_events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"])
    deployment_id = p.deploy(p.td2)
    wait_for("canary step", lambda: p.deployment(deployment_id)["status"] == "InProgress"
             and p.forward_weights(p.prod_listener)[0].get(p.green_tg) == 10)
    # the replacement answers 5xx to the canary traffic; no SetAlarmState anywhere
    control(p.endpoint.url, "/_localaws/dataplane/metrics/requests", {"requests": [
        {"loadBalancerArn": lb, "targetGroupArn": p.green_tg, "targetStatus": 500, "count": 10}]})
    info = p.wait(deployment_id, timeout=WAIT)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert "web-target-5xx-green" in info["errorInformation"]["message"]
    assert p.serves_only(p.prod_listener, p.blue_tg)
    assert p.deployment(info["rollbackInfo"]["rollbackDeploymentId"])["creator"] == "codeDeployRollback"
