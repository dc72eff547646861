"""CodeDeploy ECS blue/green deployments judged by the data plane's reality.

Against a real endpoint of its own started with ``LOCALAWS_DATAPLANE=1``: the
replacement task set's tasks run as podman containers from an image pushed to the
local ECR, the load balancer health-checks them for real, and CodeDeploy waits for
them before any traffic moves. A replacement whose image does not exist fails the
deployment with ECS's CannotPullContainerError and rolls back; one whose health
check answers 500 fails on health (no hand-set override anywhere) and rolls back;
a healthy one is released and serves production through the local listener; one
that turns unhealthy during a canary fails on health and rolls back.

The platform is ``tests/localaws/conftest.py``'s (ALB with production :80 and test
:8080 listeners, blue/green target groups, a CODE_DEPLOY service) on this module's
endpoint, scaled to one task per task set. One AWS minute lasts ``SCALE`` real
seconds (starting a container on the vfs store takes tens of seconds on a busy
machine, so the 60-minute readiness timeout must not be much shorter).
"""

from __future__ import annotations

import json
import time
import urllib.request

import boto3
import pytest

from localaws import LocalAWS
from localaws.dataplane import images
from localaws.dataplane.podman import podman, preflight

pytestmark = [pytest.mark.images, pytest.mark.slow]

SCALE = 1.0  # real seconds per AWS minute: CodeDeploy's 60-minute readiness timeout lasts 60 s
REGION = "us-east-1"
ACCOUNT = "123456789012"
BASE_IMAGE = "localhost/seed-python:3.11-bookworm"
REPOSITORY = "web"
DEADLINE = 120.0  # real seconds; bounds every wait so that a broken engine fails instead of hanging

# The application: answers its VERSION on every path, and HEALTH_STATUS on /health (the target
# groups' health-check path), 500 there once /tmp/unhealthy exists. It exits on SIGTERM (as PID 1
# it would otherwise ignore it).
SERVER = """\
import os, signal, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200
        if self.path == "/health":
            status = 500 if os.path.exists("/tmp/unhealthy") else int(os.environ["HEALTH_STATUS"])
        body = os.environ["VERSION"].encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("", 80), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def dp(tmp_path_factory):
    """An endpoint of its own with the data plane on (the session one runs without it)."""
    problem = preflight()
    if problem:
        pytest.fail(f"the data plane cannot run here: {problem}")
    if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        pytest.fail(f"{BASE_IMAGE} is missing: run services/scripts/build-images.sh")
    settings = {"LOCALAWS_DATAPLANE": "1", "LOCALAWS_TIME_SCALE": str(SCALE)}
    aws = LocalAWS(log_path=tmp_path_factory.mktemp("localaws-dp-codedeploy") / "server.log", env=settings).start()
    yield aws
    aws.stop()


# The conftest's `platform` fixture, built on this module's endpoint, reset before each test.
@pytest.fixture
def endpoint(dp):
    dp.reset()
    return dp


@pytest.fixture
def boto(endpoint):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            aws_session_token="testing", region_name=REGION)
    clients: dict = {}

    def client(service: str):
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=endpoint.url)
        return clients[service]

    return client


@pytest.fixture
def time_scale(endpoint):
    return SCALE  # the endpoint runs at SCALE (LOCALAWS_TIME_SCALE, restored by each reset)


@pytest.fixture
def release(platform):
    """``release(tag, version, health_status, push=True)``: task definition ``web:N`` running
    ``SERVER`` from ``<ECR>/web:<tag>`` (pushed from the base image unless ``push`` is false)."""
    ecr = platform.boto("ecr")
    repo = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    for arn in (platform.blue_tg, platform.green_tg):
        platform.elb.modify_target_group(TargetGroupArn=arn, HealthCheckPath="/health")
    # One task per task set: half the containers to start, same story.
    platform.ecs.update_service(cluster=platform.cluster, service=platform.service, desiredCount=1)

    def register(tag: str, version: str, health_status: int = 200, push: bool = True) -> str:
        if push:
            images.push_image(BASE_IMAGE, REPOSITORY, tag, ecr_client=ecr)
        return platform.ecs.register_task_definition(
            family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{
                "name": "app", "image": f"{repo}:{tag}", "essential": True,
                "entryPoint": ["python3", "-u", "-c"], "command": [SERVER],
                "environment": [{"name": "VERSION", "value": version},
                                {"name": "HEALTH_STATUS", "value": str(health_status)}],
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                "stopTimeout": 5,
            }],
        )["taskDefinition"]["taskDefinitionArn"]

    return register


def wait_for(what: str, probe, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; last seen: {last!r}")


def lifecycle(platform, deployment_id: str) -> dict[str, str]:
    return {e["lifecycleEventName"]: e["status"] for e in platform.target(deployment_id)["lifecycleEvents"]}


def assert_rolled_back(platform, info: dict) -> None:
    """Production forwards to blue alone, the replacement task set is gone, a rollback deployment exists."""
    assert platform.serves_only(platform.prod_listener, platform.blue_tg), platform.forward_weights(
        platform.prod_listener)
    assert platform.serves_only(platform.test_listener, platform.blue_tg)
    rollback = platform.deployment(info["rollbackInfo"]["rollbackDeploymentId"])
    assert rollback["creator"] == "codeDeployRollback"
    task_sets = platform.service_info()["taskSets"]
    assert [ts["status"] for ts in task_sets] == ["PRIMARY"]
    assert task_sets[0]["taskDefinition"] == platform.td1


def test_replacement_image_missing_fails_with_cannot_pull_and_rolls_back(platform, release):
    missing = release("not-pushed", "v2", push=False)
    platform.group(rollback_events=["DEPLOYMENT_FAILURE"])
    deployment_id = platform.deploy(missing)

    info = platform.wait(deployment_id, timeout=DEADLINE)
    assert info["status"] == "Failed", info
    error = info["errorInformation"]
    assert error["code"] == "ECS_UPDATE_ERROR", error
    assert "CannotPullContainerError" in error["message"] and "not-pushed" in error["message"], error
    assert "TaskFailedToStart" in error["message"], error
    events = lifecycle(platform, deployment_id)
    assert events["Install"] == "Failed"
    # Production (and test) traffic never moved: every later event was skipped.
    assert events["AllowTestTraffic"] == events["AllowTraffic"] == "Skipped", events
    assert_rolled_back(platform, info)

    # The replacement's tasks really were tried, and stopped with ECS's reason.
    ecs = platform.ecs
    stopped = ecs.list_tasks(cluster=platform.cluster, desiredStatus="STOPPED")["taskArns"]
    described = ecs.describe_tasks(cluster=platform.cluster, tasks=stopped)["tasks"] if stopped else []
    pulls = [t for t in described if t["taskDefinitionArn"] == missing]
    assert pulls and all(t["stopCode"] == "TaskFailedToStart" for t in pulls)
    assert all(t["stoppedReason"].startswith("CannotPullContainerError:") for t in pulls)


def test_replacement_failing_health_checks_fails_on_health_and_rolls_back(platform, release):
    broken = release("v3", "v3", health_status=500)
    platform.group(rollback_events=["DEPLOYMENT_FAILURE"])
    deployment_id = platform.deploy(broken)

    # The tasks run and their targets are checked for real behind the test listener.
    def unhealthy_green():
        info = platform.deployment(deployment_id)
        # CodeDeploy is still waiting for the replacement
        assert info["status"] in ("Created", "InProgress"), info.get("errorInformation")
        found = platform.elb.describe_target_health(TargetGroupArn=platform.green_tg)["TargetHealthDescriptions"]
        return [d for d in found if d["TargetHealth"]["State"] == "unhealthy"]

    seen = wait_for("unhealthy replacement targets", unhealthy_green)
    assert seen[0]["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"
    assert platform.deployment(deployment_id)["status"] == "InProgress"
    assert platform.serves_only(platform.prod_listener, platform.blue_tg)
    # CodeDeploy keeps waiting up to its 60-minute limit: fast-forward the rest of it.
    ctl = platform.endpoint.url + "/_localaws/codedeploy/time-scale"
    urllib.request.urlopen(urllib.request.Request(ctl, data=json.dumps({"secondsPerMinute": 0.05}).encode(),
                                                  headers={"Content-Type": "application/json"}), timeout=10).close()

    info = platform.wait(deployment_id, timeout=DEADLINE)
    assert info["status"] == "Failed", info
    error = info["errorInformation"]
    assert error["code"] == "HEALTH_CONSTRAINTS", error
    assert "timed out while waiting for the replacement task set to become healthy" in error["message"], error
    assert "[500]" in error["message"], error
    events = lifecycle(platform, deployment_id)
    assert events["Install"] == "Succeeded" and events["AllowTestTraffic"] == "Failed", events
    assert events["AllowTraffic"] == "Skipped", events
    assert_rolled_back(platform, info)


def local_url(platform, port: int) -> str:
    req = urllib.request.Request(platform.endpoint.url + "/_localaws/dataplane/listeners")
    with urllib.request.urlopen(req, timeout=10) as resp:
        listeners = json.loads(resp.read())
    return next(item["localUrl"] for item in listeners if int(item["port"]) == port)


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, whatever proxy is set


def get(url: str) -> tuple[int, str]:
    try:
        with DIRECT.open(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_healthy_replacement_is_released(platform, release):
    good = release("v2", "v2")
    platform.group(rollback_events=["DEPLOYMENT_FAILURE"])
    deployment_id = platform.deploy(good)

    info = platform.wait(deployment_id, timeout=DEADLINE)
    assert info["status"] == "Succeeded", info.get("errorInformation")
    assert "errorInformation" not in info
    assert platform.serves_only(platform.prod_listener, platform.green_tg)
    service = platform.service_info()
    assert service["taskDefinition"] == good
    assert [ts["taskDefinition"] for ts in service["taskSets"]] == [good]

    # Production really serves the release, from healthy targets of the green group.
    health = platform.elb.describe_target_health(TargetGroupArn=platform.green_tg)["TargetHealthDescriptions"]
    assert len(health) == 1 and {d["TargetHealth"]["State"] for d in health} == {"healthy"}, health
    assert get(local_url(platform, 80) + "/") == (200, "v2")


def test_replacement_turning_unhealthy_during_traffic_shifting_rolls_back(platform, release):
    good = release("v2", "v2")
    platform.group(config="CodeDeployDefault.ECSCanary10Percent15Minutes", rollback_events=["DEPLOYMENT_FAILURE"])
    deployment_id = platform.deploy(good)

    def canary():
        info = platform.deployment(deployment_id)
        assert info["status"] in ("Created", "InProgress"), info.get("errorInformation")
        return all(weights.get(platform.green_tg) == 10 for weights in platform.forward_weights(platform.prod_listener))

    wait_for("the 10 % canary step", canary)
    # The replacement's health endpoint starts failing, inside its own container.
    ecs = platform.ecs
    arns = ecs.list_tasks(cluster=platform.cluster, serviceName=platform.service)["taskArns"]
    task = next(t for t in ecs.describe_tasks(cluster=platform.cluster, tasks=arns)["tasks"]
                if t["taskDefinitionArn"] == good and t["lastStatus"] == "RUNNING")
    podman("exec", f"localaws-{task['taskArn'].split('/')[-1]}-app", "touch", "/tmp/unhealthy")

    info = platform.wait(deployment_id, timeout=DEADLINE)
    assert info["status"] == "Failed", info
    error = info["errorInformation"]
    assert error["code"] == "HEALTH_CONSTRAINTS", error
    assert "became unhealthy" in error["message"] and "[500]" in error["message"], error
    events = lifecycle(platform, deployment_id)
    assert events["AllowTestTraffic"] == "Succeeded" and events["AllowTraffic"] == "Failed", events
    assert_rolled_back(platform, info)
