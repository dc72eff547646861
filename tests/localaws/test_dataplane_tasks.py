"""The data plane's ECS task runner: services' tasks run as real podman containers.

Against a real endpoint started with ``LOCALAWS_DATAPLANE=1`` (its own, module-wide):
an image "pushed" to the local ECR runs as the tasks of a service, each task in its
own network namespace with its own address, answering HTTP from the host; a task
killed with SIGKILL is STOPPED and replaced; an image that is not there stops the
task with ECS's CannotPullContainerError; the container's output lands in the
task definition's awslogs stream; scaling to 0 stops the tasks with SIGTERM.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from localaws import LocalAWS
from localaws.dataplane import images
from localaws.dataplane.podman import podman, preflight

pytestmark = [pytest.mark.images, pytest.mark.slow]

REGION = "us-east-1"
ACCOUNT = "123456789012"
BASE_IMAGE = "localhost/seed-python:3.11-bookworm"
PORT = 8080
DEADLINE = 240  # seconds; a bound so that a broken runner fails the test instead of hanging it


@pytest.fixture(scope="module")
def dataplane_endpoint(tmp_path_factory):
    problem = preflight()
    if problem:
        pytest.fail(f"the data plane cannot run here: {problem}")
    if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        pytest.fail(f"{BASE_IMAGE} is missing: run services/scripts/build-images.sh")
    log = tmp_path_factory.mktemp("localaws-dataplane") / "server.log"
    with LocalAWS(log_path=log, env={"LOCALAWS_DATAPLANE": "1"}) as aws:
        aws.log = log
        yield aws


@pytest.fixture
def aws(dataplane_endpoint):
    dataplane_endpoint.reset()
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            aws_session_token="testing", region_name=REGION)

    def client(service: str):
        return session.client(service, endpoint_url=dataplane_endpoint.url)

    client.endpoint = dataplane_endpoint
    return client


def wait_for(what: str, probe: Callable[[], Any], deadline: float = DEADLINE) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` past the deadline."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = probe()
        if last:
            return last
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}; last seen: {last!r}")


def task_ip(task: dict) -> str:
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail["name"] == "privateIPv4Address":
                return detail["value"]
    return ""


# Straight to the task's address, whatever proxy the environment names.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(ip: str, path: str = "/") -> int:
    with DIRECT.open(f"http://{ip}:{PORT}{path}", timeout=5) as resp:
        return resp.status


def setup_stack(aws, *, image_tag: str = "v1", push: bool = True, desired: int = 2, secrets: list | None = None,
                sidecars: list | None = None) -> dict:
    """VPC + subnet, ECR repository with the pushed image, log group, target group, cluster,
    task definition (with the container's ``secrets``, and the ``sidecars`` container definitions after it)
    and a FARGATE service of ``desired`` tasks."""
    ec2, ecr, ecs, logs, elbv2 = (aws(s) for s in ("ec2", "ecr", "ecs", "logs", "elbv2"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    repo = ecr.create_repository(repositoryName="dp/web")["repository"]["repositoryUri"]
    if push:
        images.push_image(BASE_IMAGE, "dp/web", image_tag, ecr_client=ecr)
    logs.create_log_group(logGroupName="/ecs/dp-web")
    tg = elbv2.create_target_group(Name="dp-web", Protocol="HTTP", Port=PORT, VpcId=vpc,
                                   TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
    ecs.create_cluster(clusterName="dp")
    td = ecs.register_task_definition(
        family="dp-web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{
            "name": "web", "image": f"{repo}:{image_tag}", "essential": True,
            # The server exits 0 on SIGTERM: as PID 1 it would otherwise ignore SIGTERM (the kernel
            # drops signals without a handler for a namespace's init) and be SIGKILLed after
            # stopTimeout, as on ECS.
            "entryPoint": ["python3", "-u", "-c"],
            "command": [("import signal, sys, http.server as h\n"
                         "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
                         f"print('web starting on {PORT}')\n"
                         f"h.ThreadingHTTPServer(('', {PORT}), h.SimpleHTTPRequestHandler).serve_forever()")],
            "environment": [{"name": "GREETING", "value": "hello"}],
            **({"secrets": secrets} if secrets else {}),
            "portMappings": [{"containerPort": PORT, "protocol": "tcp"}],
            "stopTimeout": 10,
            "healthCheck": {"command": ["CMD-SHELL", (f"python3 -c \"import urllib.request as u; "
                                        f"u.urlopen('http://127.0.0.1:{PORT}/')\"")],
                            "interval": 5, "timeout": 5, "retries": 3, "startPeriod": 0},
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/dp-web", "awslogs-region": REGION, "awslogs-stream-prefix": "dp"}},
        }, *(sidecars or [])],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="dp", serviceName="web", taskDefinition=td, desiredCount=desired, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
        loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": PORT}])
    return {"tg": tg, "td": td, "repo": repo}


def tasks_of(aws, desired_status: str = "RUNNING") -> list[dict]:
    ecs = aws("ecs")
    arns = ecs.list_tasks(cluster="dp", serviceName="web", desiredStatus=desired_status)["taskArns"]
    return ecs.describe_tasks(cluster="dp", tasks=arns)["tasks"] if arns else []


def running_tasks(aws, count: int) -> list[dict]:
    def probe():
        tasks = [t for t in tasks_of(aws) if t["lastStatus"] == "RUNNING"]
        return tasks if len(tasks) == count else None

    return wait_for(f"{count} RUNNING tasks", probe)


def test_service_tasks_run_in_their_own_namespaces(aws):
    stack = setup_stack(aws)
    tasks = running_tasks(aws, 2)

    ips = [task_ip(t) for t in tasks]
    assert all(ips) and len(set(ips)) == 2, ips
    for task, ip in zip(tasks, ips, strict=True):
        assert task["desiredStatus"] == "RUNNING"
        assert task["group"] == "service:web"
        assert task["startedAt"]
        container = task["containers"][0]
        assert container["name"] == "web"
        assert container["networkInterfaces"][0]["privateIpv4Address"] == ip
        assert "exitCode" not in container

    # The container health check runs: HEALTHY once the server listens.
    def healthy():
        described = tasks_of(aws)
        return all(t["healthStatus"] == "HEALTHY" for t in described) and len(described) == 2

    wait_for("HEALTHY tasks", healthy)
    # Both tasks listen on the same container port, each at its own address.
    for ip in ips:
        assert http_get(ip) == 200

    # The task IPs (not invented ones) are the targets of the service's target group.
    targets = {d["Target"]["Id"]: d["Target"]["Port"]
               for d in aws("elbv2").describe_target_health(TargetGroupArn=stack["tg"])["TargetHealthDescriptions"]}
    assert targets == {ip: PORT for ip in ips}

    # ECR shows the pushed image with the digest of its manifest.
    image = aws("ecr").describe_images(repositoryName="dp/web")["imageDetails"][0]
    assert image["imageTags"] == ["v1"] and image["imageDigest"].startswith("sha256:")
    manifest = aws("ecr").batch_get_image(repositoryName="dp/web", imageIds=[{"imageTag": "v1"}])["images"][0]
    assert podman("image", "inspect", "--format", "{{.Id}}", BASE_IMAGE).stdout.strip() in manifest["imageManifest"]

    # The tasks' cgroups feed the service's AWS/ECS CPU and memory metrics.
    def ecs_metrics():
        found = aws("cloudwatch").list_metrics(Namespace="AWS/ECS")["Metrics"]
        dims = ({"Name": "ServiceName", "Value": "web"}, {"Name": "ClusterName", "Value": "dp"})
        names = {m["MetricName"] for m in found if all(d in m["Dimensions"] for d in dims)}
        return names >= {"CPUUtilization", "MemoryUtilization"}

    wait_for("AWS/ECS CPUUtilization and MemoryUtilization of the service", ecs_metrics)

    # stdout/stderr land in the awslogs stream prefix/container/task-id, request lines included.
    logs = aws("logs")
    for task, ip in zip(tasks, ips, strict=True):
        stream = f"dp/web/{task['taskArn'].split('/')[-1]}"

        def lines(stream=stream):
            try:
                events = logs.get_log_events(logGroupName="/ecs/dp-web", logStreamName=stream)["events"]
            except logs.exceptions.ResourceNotFoundException:
                return None
            text = [e["message"] for e in events]
            return text if any("GET / " in line for line in text) else None

        text = wait_for(f"log lines in {stream}", lines)
        assert f"web starting on {PORT}" in text[0]


def test_killed_task_stops_and_is_replaced(aws):
    setup_stack(aws)
    tasks = running_tasks(aws, 2)
    victim = tasks[0]
    victim_id = victim["taskArn"].split("/")[-1]
    podman("kill", "--signal", "KILL", f"localaws-{victim_id}-web")

    ecs = aws("ecs")

    def stopped():
        task = ecs.describe_tasks(cluster="dp", tasks=[victim["taskArn"]])["tasks"][0]
        return task if task["lastStatus"] == "STOPPED" else None

    task = wait_for("the killed task STOPPED", stopped)
    assert task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["containers"][0]["exitCode"] == 137
    assert task["stoppedAt"]
    assert victim["taskArn"] in ecs.list_tasks(cluster="dp", desiredStatus="STOPPED")["taskArns"]

    # The service starts a replacement: two RUNNING tasks again, the killed one not among them.
    replaced = running_tasks(aws, 2)
    assert victim["taskArn"] not in {t["taskArn"] for t in replaced}
    wait_for("both tasks HEALTHY", lambda: all(t["healthStatus"] == "HEALTHY" for t in tasks_of(aws))
             and len(tasks_of(aws)) == 2)
    for t in replaced:
        assert http_get(task_ip(t)) == 200


def test_missing_image_stops_with_cannot_pull(aws):
    setup_stack(aws, image_tag="not-pushed", push=False, desired=1)

    def stopped():
        tasks = [t for t in tasks_of(aws, "STOPPED") if t["lastStatus"] == "STOPPED"]
        return tasks[0] if tasks else None

    task = wait_for("a STOPPED task", stopped)
    assert task["stoppedReason"].startswith("CannotPullContainerError:"), task["stoppedReason"]
    assert "not-pushed" in task["stoppedReason"]
    assert task["stopCode"] == "TaskFailedToStart"
    # The endpoint is still up and answering.
    assert aws("ecs").describe_services(cluster="dp", services=["web"])["services"][0]["runningCount"] == 0


XRAY_SIDECAR = {"name": "xray-daemon", "image": "public.ecr.aws/xray/aws-xray-daemon:3.x", "essential": False, "cpu": 32,
                "memoryReservation": 64, "portMappings": [{"containerPort": 2000, "protocol": "udp"}]}


def test_a_non_essential_sidecar_whose_image_is_not_here_is_skipped(aws):
    """The X-Ray daemon of stack_tracing comes from a public registry, which this endpoint cannot pull from: the
    task runs without it (a difference from AWS, docs/local-endpoint.md), the sidecar reported STOPPED."""
    setup_stack(aws, desired=1, sidecars=[XRAY_SIDECAR])
    running_tasks(aws, 1)
    # HEALTHY: the essential container's health check passes (the skipped sidecar has none to count)
    (task,) = wait_for("a HEALTHY task", lambda: [t for t in tasks_of(aws) if t["healthStatus"] == "HEALTHY"])
    assert http_get(task_ip(task)) == 200
    containers = {c["name"]: c for c in task["containers"]}
    assert containers["web"]["lastStatus"] == "RUNNING"
    assert containers["xray-daemon"]["lastStatus"] == "STOPPED"
    assert containers["xray-daemon"]["reason"].startswith("CannotPullContainerError:")


def test_an_essential_sidecar_whose_image_is_not_here_stops_the_task(aws):
    setup_stack(aws, desired=1, sidecars=[dict(XRAY_SIDECAR, essential=True)])

    def stopped():
        tasks = [t for t in tasks_of(aws, "STOPPED") if t["lastStatus"] == "STOPPED"]
        return tasks[0] if tasks else None

    task = wait_for("a STOPPED task", stopped)
    assert task["stoppedReason"].startswith("CannotPullContainerError:") and "aws-xray-daemon" in task["stoppedReason"]


def test_secrets_are_read_at_start_into_the_environment(aws):
    """valueFrom: a JSON key of a Secrets Manager secret and an SSM SecureString parameter, read by the
    task as it starts (the values are nowhere in the task definition)."""
    secret = aws("secretsmanager").create_secret(Name="dp/db", SecretString='{"password": "pw-from-asm", "user": "app"}')
    aws("ssm").put_parameter(Name="/dp/token", Value="token-from-ssm", Type="SecureString")
    parameter = aws("ssm").get_parameter(Name="/dp/token")["Parameter"]["ARN"]
    setup_stack(aws, desired=1, secrets=[{"name": "DB_PASSWORD", "valueFrom": f"{secret['ARN']}:password::"},
                                         {"name": "API_TOKEN", "valueFrom": parameter}])
    task = running_tasks(aws, 1)[0]
    env = podman("inspect", "--format", "{{json .Config.Env}}", f"localaws-{task['taskArn'].split('/')[-1]}-web").stdout
    assert "DB_PASSWORD=pw-from-asm" in env and "API_TOKEN=token-from-ssm" in env and "GREETING=hello" in env, env
    definition = aws("ecs").describe_task_definition(taskDefinition="dp-web")["taskDefinition"]
    assert "pw-from-asm" not in str(definition) and "token-from-ssm" not in str(definition)


def test_a_secret_that_cannot_be_read_stops_the_task_before_it_starts(aws):
    missing = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:dp/gone-AbCdEf"
    setup_stack(aws, desired=1, secrets=[{"name": "DB_PASSWORD", "valueFrom": missing}])

    def stopped():
        tasks = [t for t in tasks_of(aws, "STOPPED") if t["lastStatus"] == "STOPPED"]
        return tasks[0] if tasks else None

    task = wait_for("a STOPPED task", stopped)
    assert task["stoppedReason"].startswith("ResourceInitializationError: unable to pull secrets"), task["stoppedReason"]
    assert missing in task["stoppedReason"]
    assert task["stopCode"] == "TaskFailedToStart"
    left = podman("ps", "-a", "--filter", f"label=localaws.task={task['taskArn'].split('/')[-1]}",
                  "--format", "{{.ID}}").stdout.split()
    assert left == []  # no container was started


def test_scale_to_zero_stops_tasks_with_sigterm(aws):
    stack = setup_stack(aws, desired=1)
    task = running_tasks(aws, 1)[0]
    aws("ecs").update_service(cluster="dp", service="web", desiredCount=0)

    ecs = aws("ecs")

    def stopped():
        described = ecs.describe_tasks(cluster="dp", tasks=[task["taskArn"]])["tasks"][0]
        return described if described["lastStatus"] == "STOPPED" else None

    described = wait_for("the task STOPPED after scaling to 0", stopped)
    assert described["stopCode"] == "ServiceSchedulerInitiated"
    assert described["stoppedReason"].startswith("Scaling activity initiated by")
    # SIGTERM reached the process, which exited by itself (0), before the SIGKILL that
    # follows stopTimeout (which would show as 137).
    assert described["containers"][0]["exitCode"] == 0
    assert aws("elbv2").describe_target_health(TargetGroupArn=stack["tg"])["TargetHealthDescriptions"] == []
    assert ecs.list_tasks(cluster="dp", serviceName="web")["taskArns"] == []
    left = podman("ps", "-a", "--filter", f"label=localaws.task={task['taskArn'].split('/')[-1]}",
                  "--format", "{{.ID}}").stdout.split()
    assert left == []
