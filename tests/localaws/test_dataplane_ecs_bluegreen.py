"""ECS-native blue/green service deployments judged by the data plane's reality.

Against a real endpoint of its own started with ``LOCALAWS_DATAPLANE=1``: an ECS-controlled BLUE_GREEN service
(``test_ecs_bluegreen.py``'s platform: ALB with a production rule on :80 and a test rule on :8080, two target
groups) whose tasks run as podman containers from images pushed to the local ECR. One story, in order:

* v1 (CreateService) serves production;
* v2 is released while a request loop hits the production and test listeners: the green tasks start during
  SCALE_UP, the test listener answers v2 before production does, production goes from v1 to v2 with no failed
  request, and after the bake time the v1 tasks are stopped and their targets gone;
* v4, whose image was never pushed, fails to start three times: the circuit breaker (counting the real task
  failures) rolls it back;
* v3, whose health check answers 500, never becomes healthy in the load balancer's checks: the deployment rolls
  back at the readiness timeout;

and throughout v3 and v4, production answers v2 only.

One AWS minute lasts ``SCALE`` real seconds, as in ``test_dataplane_codedeploy.py`` (whose application and
image helpers this reuses).
"""

from __future__ import annotations

import threading
import urllib.parse

import boto3
import pytest

from localaws import LocalAWS
from localaws.dataplane import images
from localaws.dataplane.podman import podman, preflight
from tests.localaws.conftest import control
from tests.localaws.test_dataplane_codedeploy import (
    BASE_IMAGE,
    REGION,
    REPOSITORY,
    SCALE,
    SERVER,
    get,
    wait_for,
)
from tests.localaws.test_ecs_bluegreen import BlueGreen, build

pytestmark = [pytest.mark.images, pytest.mark.slow]

FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
MAX_REQUESTS = 20000  # per listener: bounds the request loop whatever happens


@pytest.fixture(scope="module")
def dp(tmp_path_factory):
    """An endpoint of its own with the data plane on (the session one runs without it)."""
    problem = preflight()
    if problem:
        pytest.fail(f"the data plane cannot run here: {problem}")
    if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        pytest.fail(f"{BASE_IMAGE} is missing: run services/scripts/build-images.sh")
    settings = {"LOCALAWS_DATAPLANE": "1", "LOCALAWS_TIME_SCALE": str(SCALE)}
    aws = LocalAWS(log_path=tmp_path_factory.mktemp("localaws-dp-ecs-bluegreen") / "server.log", env=settings).start()
    yield aws
    aws.stop()


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


def listener_url(endpoint, port: int) -> str | None:
    """The local address of the load balancer's listener on ``port``, once the data plane serves it."""
    listeners = control(endpoint, "/_localaws/dataplane/listeners")
    return next((item["localUrl"] for item in listeners if int(item["port"]) == port), None)


@pytest.fixture
def bg(endpoint, boto) -> BlueGreen:
    """test_ecs_bluegreen.py's platform (production rule on :80, test rule on :8080) at this module's SCALE."""
    return build(endpoint, boto, SCALE)


class Requests:
    """A request loop in a thread, alternating the production and the test listener (127.0.0.1 only), each at most
    MAX_REQUESTS times; ``seen[name]`` is the (status, body) of each answer, in order."""

    def __init__(self, urls: dict[str, str]):
        self.urls = urls
        self.seen: dict[str, list[tuple[int, str]]] = {name: [] for name in urls}
        self.order: list[tuple[str, str]] = []  # (listener, body) of every answer, in order
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set() and all(len(v) < MAX_REQUESTS for v in self.seen.values()):
            for name, url in self.urls.items():
                answer = get(url + "/")
                self.seen[name].append(answer)
                self.order.append((name, answer[1]))

    def __enter__(self) -> Requests:  # noqa: PYI034 - a final class
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)


def test_release_rollbacks_and_real_traffic(bg: BlueGreen):
    ecs, elb, ecr = bg.ecs, bg.elb, bg.boto("ecr")
    repo = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    for arn in (bg.blue_tg, bg.green_tg):
        elb.modify_target_group(TargetGroupArn=arn, HealthCheckPath="/health", HealthyThresholdCount=2)
        elb.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "60"}])

    def register(tag: str, health_status: int = 200, push: bool = True) -> str:
        if push:
            images.push_image(BASE_IMAGE, REPOSITORY, tag, ecr_client=ecr)
        return ecs.register_task_definition(
            family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{
                "name": "app", "image": f"{repo}:{tag}", "essential": True,
                "entryPoint": ["python3", "-u", "-c"], "command": [SERVER],
                "environment": [{"name": "VERSION", "value": tag},
                                {"name": "HEALTH_STATUS", "value": str(health_status)}],
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                "stopTimeout": 5,
            }],
        )["taskDefinition"]["taskDefinitionArn"]

    def finished(arn: str) -> dict:
        def done():
            info = bg.describe(arn)
            return info if info["status"] in FINISHED else None

        return wait_for(f"service deployment {arn} to finish", done)

    def tasks(task_definition: str, status: str = "RUNNING") -> list[dict]:
        arns = ecs.list_tasks(cluster=bg.cluster, serviceName=bg.service, desiredStatus=status)["taskArns"]
        found = ecs.describe_tasks(cluster=bg.cluster, tasks=arns)["tasks"] if arns else []
        return [t for t in found if t["taskDefinitionArn"] == task_definition]

    # v1: the service's first deployment starts its tasks in the primary group and makes it live.
    v1 = register("v1")
    breaker = {"enable": True, "rollback": True}
    bg.create(deployment={"bakeTimeInMinutes": 0, "deploymentCircuitBreaker": breaker}, taskDefinition=v1,
              desiredCount=1)
    first = finished(bg.latest())
    assert first["status"] == "SUCCESSFUL", first
    urls = {"production": wait_for("the :80 listener", lambda: listener_url(bg.endpoint, 80)),
            "test": wait_for("the :8080 listener", lambda: listener_url(bg.endpoint, 8080))}
    wait_for("v1 in production", lambda: get(urls["production"] + "/") == (200, "v1"))
    [blue_task] = tasks(v1)

    # v2: a release under real traffic.
    v2 = register("v2")
    with Requests(urls) as loop:
        arn = bg.release(v2, deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
                                                      "deploymentCircuitBreaker": breaker})
        # SCALE_UP starts the green tasks in the alternate group while production still answers v1.
        wait_for("a green task RUNNING", lambda: tasks(v2))
        assert bg.weights(bg.prod_rule).get(bg.blue_tg) == 100
        # During the bake time both revisions run; production is on green.
        wait_for("BAKE_TIME", lambda: bg.describe(arn).get("lifecycleStage") == "BAKE_TIME")
        assert [t["lastStatus"] for t in tasks(v1)] == ["RUNNING"]
        assert bg.weights(bg.prod_rule) == {bg.green_tg: 100, bg.blue_tg: 0}
        control(bg.endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": 0.1})  # the rest of the hour
        info = finished(arn)
        control(bg.endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": SCALE})
        wait_for("requests after the release", lambda: loop.order and loop.order[-1] == ("production", "v2"))
    assert info["status"] == "SUCCESSFUL", info
    query = urllib.parse.urlencode({"serviceDeploymentArn": arn})
    history = control(bg.endpoint, f"/_localaws/ecs/deployments?{query}")["serviceDeployments"][0]["history"]
    stages = [e["lifecycleStage"] for e in history if "lifecycleStage" in e]
    assert stages[-2:] == ["BAKE_TIME", "CLEAN_UP"], stages
    for name, seen in loop.seen.items():
        assert {status for status, _body in seen} == {200}, (name, [s for s in seen if s[0] != 200][:5])
        bodies = [body for _status, body in seen]
        first_v2 = bodies.index("v2")
        assert bodies[0] == "v1" and set(bodies[first_v2:]) == {"v2"}, (name, bodies[first_v2 - 3:first_v2 + 3])
    # The test listener reached green before production did.
    assert loop.order.index(("test", "v2")) < loop.order.index(("production", "v2"))
    # After the bake time the blue task was stopped and its target deregistered; green serves from the other group.
    stopped = {t["taskArn"]: t for t in tasks(v1, "STOPPED")}
    assert blue_task["taskArn"] in stopped, stopped
    assert elb.describe_target_health(TargetGroupArn=bg.blue_tg)["TargetHealthDescriptions"] == []
    health = elb.describe_target_health(TargetGroupArn=bg.green_tg)["TargetHealthDescriptions"]
    assert [d["TargetHealth"]["State"] for d in health] == ["healthy"], health
    assert bg.weights(bg.prod_rule) == {bg.green_tg: 100, bg.blue_tg: 0}
    assert info["targetServiceRevision"]["runningTaskCount"] == 1

    with Requests({"production": urls["production"]}) as loop:
        # v4: its image was never pushed; three tasks fail to start, the circuit breaker rolls it back.
        v4 = register("v4-not-pushed", push=False)
        arn = bg.release(v4)
        info = finished(arn)
        assert info["status"] == "ROLLBACK_SUCCESSFUL", info
        assert info["deploymentCircuitBreaker"]["status"] == "TRIGGERED", info["deploymentCircuitBreaker"]
        assert info["deploymentCircuitBreaker"]["failureCount"] >= 3
        assert "CannotPullContainerError" in info["statusReason"], info["statusReason"]
        failed = tasks(v4, "STOPPED")
        assert len(failed) >= 3 and {t["stopCode"] for t in failed} == {"TaskFailedToStart"}, failed

        # v3: its tasks run but fail the load balancer's health checks; production is never sent to them.
        v3 = register("v3", health_status=500)
        arn = bg.release(v3)

        def unhealthy_green():
            # PENDING until the emulation's worker picks the deployment up (AWS too reports PENDING first).
            assert bg.describe(arn)["status"] in ("PENDING", "IN_PROGRESS")
            found = elb.describe_target_health(TargetGroupArn=bg.blue_tg)["TargetHealthDescriptions"]
            # (a check that reaches the task before its server listens is Target.Timeout: wait for the answer 500)
            return [d for d in found if d["TargetHealth"]["State"] == "unhealthy"
                    and d["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"]

        wait_for("a v3 target unhealthy for its answer (500)", unhealthy_green)
        assert bg.describe(arn)["lifecycleStage"] == "SCALE_UP"
        # The deployment waits up to its 60-minute readiness limit: fast-forward the rest of it.
        control(bg.endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": 0.05})
        info = finished(arn)
        assert info["status"] == "ROLLBACK_SUCCESSFUL", info
        assert "did not become healthy within 60 minutes" in info["statusReason"], info["statusReason"]
        assert "Target.ResponseCodeMismatch" in info["statusReason"], info["statusReason"]
        wait_for("the v3 tasks stopped", lambda: not tasks(v3))
        wait_for("requests after the rollbacks", lambda: len(loop.order) > 10)
    assert set(loop.seen["production"]) == {(200, "v2")}, sorted(set(loop.seen["production"]))[:5]
    assert bg.weights(bg.prod_rule) == {bg.green_tg: 100, bg.blue_tg: 0}
    assert bg.service_info()["taskDefinition"] == v2
    assert [t["taskDefinitionArn"] for t in tasks(v2)] == [v2]
