"""The release story with real requests: the deployed stack serves traffic through its load balancer.

One stack (conftest.py: the data plane on, images from tools/demo_images.py, site.yml), then, in
order: a browser uses the page (items shared by the API tasks); requests through the load balancer are
traced (X-Ray daemon sidecar, the endpoint's X-Ray); v1 -> v2 with deploy.yml (the api's canary) under a
bounded load with no failed request; a task killed with SIGKILL is replaced and the load balancer stops
routing to it.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

from localaws.dataplane.podman import podman, podman_json
from tests.integration.dataplane._stack import DAEMON_IMAGE, TIME_SCALE, Load, get, wait_for
from tests.integration.platform.policies import findings

# One stack, shared and used in order: the file goes to one xdist worker whole (--dist loadfile).
pytestmark = [pytest.mark.slow(minutes=8), pytest.mark.images]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


# --- helpers ----------------------------------------------------------------------------------
def version_of(url: str) -> dict:
    status, body = get(url + "/api/version")
    assert status == 200, (status, body[:300])
    return json.loads(body)


def post_item(url: str, name: str) -> dict:
    request = urllib.request.Request(url + "/api/items", data=json.dumps({"name": name}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 201
        return json.load(resp)


def item_names(url: str) -> set[str]:
    status, body = get(url + "/api/items?limit=100")
    assert status == 200, (status, body[:300])
    return {i["name"] for i in json.loads(body)["items"]}


def running_tasks(stack, service: str) -> list[dict]:
    ecs = stack.client("ecs")
    arns = ecs.list_tasks(cluster="seed", serviceName=service, desiredStatus="RUNNING")["taskArns"]
    tasks = ecs.describe_tasks(cluster="seed", tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if t["lastStatus"] == "RUNNING"]


def task_ip(task: dict) -> str:
    details = {d["name"]: d["value"] for a in task.get("attachments", []) for d in a.get("details", [])}
    return details["privateIPv4Address"]


def healthy_targets(stack, target_group: str) -> set[str]:
    elbv2 = stack.client("elbv2")
    arn = elbv2.describe_target_groups(Names=[target_group])["TargetGroups"][0]["TargetGroupArn"]
    return {d["Target"]["Id"] for d in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
            if d["TargetHealth"]["State"] == "healthy"}


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("chromium/chromium-driver missing: run services/scripts/install-deps.sh")
    profile = tempfile.mkdtemp(prefix="seed-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1000,800", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(driver, condition, timeout=30):
    """Poll ``condition``; a stale element (React re-rendered the list) means "not yet"."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=[StaleElementReferenceException]).until(condition)


def by_testid(driver, testid):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def text_of(driver, testid) -> str:
    return wait(driver, lambda d: by_testid(d, testid) and by_testid(d, testid)[0].text)


def item_texts(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('[data-testid=\"item\"]'), (li) => li.textContent)")


# --- the story --------------------------------------------------------------------------------
def test_site_summary_prints_the_listeners_local_urls(stack):
    printed = "\n".join(stack.site.task_results("Stack summary")[0]["msg"])
    assert f"production listener (HTTP:80) local URL: {stack.production_url}" in printed, printed
    assert f"test listener (HTTP:9000) local URL: {stack.test_url}" in printed, printed


def test_browser_uses_the_page_served_by_the_tasks(stack, browser):
    # Two API tasks registered and healthy behind /api/*: the page may be answered by either.
    wait_for("two healthy api targets", lambda: len(healthy_targets(stack, "seed-api-blue")) == 2)
    wait_for("a healthy web target", lambda: healthy_targets(stack, "seed-web-blue"))
    browser.get(stack.production_url + "/")
    assert text_of(browser, "version-number") == "1.0.0"
    assert not by_testid(browser, "outage")

    name = f"dp-{uuid.uuid4().hex[:8]}"
    wait(browser, lambda d: by_testid(d, "new-item")[0].send_keys(name) or True)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait(browser, lambda d: ec.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="add"]'))(d).click() or True)
    wait(browser, lambda d: any(name in t for t in item_texts(d)))

    hosts = set()
    for _ in range(6):
        browser.refresh()
        wait(browser, lambda d: any(name in t for t in item_texts(d)))
        hosts.add(text_of(browser, "host"))
        assert text_of(browser, "version-number") == "1.0.0"
    # the items live in the stack's DynamoDB table: every task answers the same list
    served_by = {version_of(stack.production_url)["host"] for _ in range(12)}
    assert len(served_by) == 2, served_by
    assert hosts <= served_by, (hosts, served_by)
    assert name in item_names(stack.production_url)


def traced_request(url: str, method: str, path: str, request_id: str) -> tuple[int, str]:
    """One request that asks to be sampled (``X-Amzn-Trace-Id: Sampled=1``, a caller's decision the API follows):
    (status, the trace id the API answered)."""
    body = json.dumps({"name": request_id}).encode() if method == "POST" else None
    request = urllib.request.Request(url + path, data=body, method=method, headers={
        "X-Request-ID": request_id, "X-Amzn-Trace-Id": "Sampled=1", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            status, headers = resp.status, resp.headers
    except urllib.error.HTTPError as exc:
        status, headers = exc.code, exc.headers
    assert headers["X-Request-ID"] == request_id
    return status, headers["X-Amzn-Trace-Id"].removeprefix("Root=")


def test_requests_through_the_load_balancer_are_traced(stack):
    """stack_tracing is on for the api (_stack.py's TRACING, which conftest.py adds), with the local X-Ray daemon
    image: each api task runs the daemon sidecar, and a request sent through the load balancer's production listener
    leaves a trace in the endpoint's X-Ray, found by its request id annotation (GetTraceSummaries) and read whole
    (BatchGetTraces): the API's segment with the request's method, URL and status."""
    wait_for("two healthy api targets", lambda: len(healthy_targets(stack, "seed-api-blue")) == 2)
    tasks = running_tasks(stack, "api")
    for task in tasks:
        containers = {c["name"]: c for c in task["containers"]}
        assert containers["xray-daemon"]["lastStatus"] == "RUNNING", containers["xray-daemon"]
        assert containers["xray-daemon"]["image"] == DAEMON_IMAGE
    since = time.time()
    token = uuid.uuid4().hex[:8]
    sent = {}
    for index, (method, path, expected) in enumerate([("GET", "/api/items?limit=5", 200), ("POST", "/api/items", 201),
                                                      ("GET", "/api/items/987654321", 404), ("GET", "/api/version", 200)]):
        request_id = f"traced-{token}-{index}"
        status, trace_id = traced_request(stack.production_url, method, path, request_id)
        assert status == expected, (method, path, status)
        sent[request_id] = (method, path, status, trace_id)

    xray = stack.client("xray")
    for request_id, (method, path, status, trace_id) in sent.items():
        (summary,) = wait_for(f"the trace of request {request_id}", lambda rid=request_id: xray.get_trace_summaries(
            StartTime=since - 1, EndTime=time.time() + 1,
            FilterExpression=f'annotation.request_id = "{rid}"')["TraceSummaries"], deadline=60)
        assert summary["Id"] == trace_id
        assert summary["Http"]["HttpMethod"] == method and summary["Http"]["HttpStatus"] == status, summary["Http"]
        assert summary["Http"]["HttpURL"].endswith(path), summary["Http"]
        assert summary["HasError"] == (status == 404) and not summary["HasFault"]
        assert [s["Name"] for s in summary["ServiceIds"]] == ["seed-api"]
        (trace,) = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        (segment,) = [json.loads(s["Document"]) for s in trace["Segments"]]
        assert segment["name"] == "seed-api" and segment["origin"] == "AWS::ECS::Container"
        assert segment["annotations"] == {"request_id": request_id}
        assert segment["http"]["request"]["method"] == method and segment["http"]["response"]["status"] == status
        assert segment["service"]["version"] == "1.0.0"

    # the daemon's own log, in CloudWatch Logs as the task definition says (the service's group, prefix xray/)
    logs = stack.client("logs")
    group = next(c["logConfiguration"]["options"]["awslogs-group"] for c in stack.client("ecs").describe_task_definition(
        taskDefinition=tasks[0]["taskDefinitionArn"])["taskDefinition"]["containerDefinitions"] if c["name"] == "xray-daemon")
    events = wait_for("the daemons' log lines about batches sent", lambda: [
        e for e in logs.filter_log_events(logGroupName=group, logStreamNamePrefix="xray/")["events"]
        if "Successfully sent batch" in e["message"]])
    assert events


def test_release_v2_under_load_without_a_failed_request(stack):
    before = {f"before-release-{uuid.uuid4().hex[:6]}-{i}" for i in range(3)}
    for name in before:
        post_item(stack.production_url, name)
    assert version_of(stack.production_url)["version"] == "1.0.0"

    originals = [t["taskArn"] for t in running_tasks(stack, "api")]
    wall_minus_monotonic = time.time() - time.monotonic()  # Sample.at is monotonic, ECS's stoppingAt wall-clock
    production = Load(stack.production_url)
    test_listener = Load(stack.test_url, paths=("/api/version",), workers=1, pause=0.05)
    release = stack.playbook("playbooks/deploy.yml", {"deploy_image_tag": "v2", "deploy_poll_interval": 0.2})
    time.sleep(3)  # traffic after the release too
    prod, test = production.stop(), test_listener.stop()

    assert release.rc == 0, release.failure_messages() or release.stderr[-3000:]
    failed = [s for s in prod if s.status != 200]
    assert not failed, f"{len(failed)} of {len(prod)} requests failed: {failed[:5]}"
    versions = [s for s in prod if s.version]
    assert len(versions) >= 50, len(versions)
    assert versions[0].version == "1.0.0" and versions[-1].version == "2.0.0"
    first_v2 = next(s.at for s in versions if s.version == "2.0.0")
    last_v1 = max(s.at for s in versions if s.version == "1.0.0")
    # After the shift is complete nothing goes back to v1.
    assert all(s.version == "2.0.0" for s in versions if s.at > last_v1)
    # The canary: while both versions answered, v2 had the smaller share (10 % configured).
    mixed = [s for s in versions if first_v2 <= s.at <= last_v1]
    if len(mixed) >= 10:
        share = sum(s.version == "2.0.0" for s in mixed) / len(mixed)
        assert share < 0.5, (share, len(mixed))
    # The test listener reached the replacement (v2) before production did.
    test_v2 = [s.at for s in test if s.version == "2.0.0"]
    assert test_v2 and min(test_v2) < first_v2, (test_v2[:1], first_v2)
    # The store outlived the tasks that wrote to it.
    assert before <= item_names(stack.production_url)
    summary = {r["service"]: r for play in release.plays for t in play.get("tasks", [])
               if t["task"]["name"] == "Summary | keep the outcome in deploy_releases"
               for h in t["hosts"].values() for r in h["ansible_facts"]["deploy_releases"]}
    assert summary["api"]["status"] == "Succeeded" and summary["web"]["status"] == "Succeeded", summary
    # The original api tasks kept running through CodeDeploy's termination wait (the codedeploy role's 5
    # minutes, TIME_SCALE real seconds a minute) after production stopped reaching them (the last v1 answer);
    # the release ends once their task set is removed and they are stopping. Four fifths of the wait: a v1
    # answer may precede the end of the shift by a request.
    termination_wait = 5 * TIME_SCALE
    tasks = stack.client("ecs").describe_tasks(cluster="seed", tasks=originals)["tasks"]
    assert len(tasks) == 2 and all(t["desiredStatus"] == "STOPPED" and "stoppingAt" in t for t in tasks), [
        (t["taskArn"], t["lastStatus"], t["desiredStatus"]) for t in tasks]
    early = {t["taskArn"]: round(t["stoppingAt"].timestamp() - wall_minus_monotonic - last_v1, 1) for t in tasks
             if t["stoppingAt"].timestamp() - wall_minus_monotonic < last_v1 + 0.8 * termination_wait}
    assert not early, f"original tasks stopped (seconds after the last v1 answer) before the {termination_wait} s wait: {early}"


def test_the_load_balancer_is_protected_from_deletion(stack):
    elbv2 = stack.client("elbv2")
    arn = elbv2.describe_load_balancers(Names=["seed"])["LoadBalancers"][0]["LoadBalancerArn"]
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
    assert attributes["deletion_protection.enabled"] == "true"


def test_web_runs_read_only_writing_only_to_its_task_volume(stack):
    """The web tasks' root filesystem is read-only; /tmp (writable_paths) is a task volume that nginx (uid 10002)
    can write to because the image declares it a VOLUME (Fargate gives other bind mounts root 0755)."""
    tasks = running_tasks(stack, "web")
    assert tasks
    for task in tasks:
        name = f"localaws-{task['taskArn'].rsplit('/', 1)[1]}-web"
        info = podman_json("inspect", name)[0]
        assert info["HostConfig"]["ReadonlyRootfs"] is True
        assert [m["Type"] for m in info["Mounts"] if m["Destination"] == "/tmp"] == ["bind"], info["Mounts"]
        assert podman("exec", name, "sh", "-c", "touch /tmp/probe && id -u", check=False).stdout.strip() == "10002"
        assert podman("exec", name, "touch", "/probe", check=False).returncode != 0  # read-only root


def test_secrets_reach_the_tasks_and_never_the_output(stack):
    """The api's secrets (a Secrets Manager JSON key, an SSM SecureString) and its opted-in plain credential are
    in the environment of the tasks v2 runs; the execution role may read exactly that secret and parameter; no
    playbook output shows a value: site.yml and deploy.yml so far, and a re-converge at -vvv with the default
    callback, which changes nothing after the release."""
    rerun = stack.playbook("playbooks/site.yml", verbose=True)
    assert rerun.rc == 0, rerun.stdout[-3000:]
    recap = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", rerun.stdout)
    assert recap and recap.group(1) == "0", rerun.stdout[-3000:]

    assert stack.secret_values and len(stack.outputs) >= 3
    for index, output in enumerate(stack.outputs):
        shown = [name for name, value in stack.secret_values.items() if value in output]
        assert not shown, f"playbook run {index} printed the value of {shown}"

    tasks = running_tasks(stack, "api")
    assert tasks
    for task in tasks:
        name = f"localaws-{task['taskArn'].rsplit('/', 1)[1]}-api"
        env = set(json.loads(podman("inspect", "--format", "{{json .Config.Env}}", name).stdout))
        assert {f"{k}={v}" for k, v in stack.secret_values.items()} <= env, name

    iam = stack.client("iam")
    policy = iam.get_role_policy(RoleName="seed-task-execution", PolicyName="seed-task-execution-secrets")["PolicyDocument"]
    api = next(svc for svc in stack.extra_vars["stack_services"] if svc["name"] == "api")
    granted = {s["Action"]: s["Resource"] for s in policy["Statement"]}
    assert granted == {"secretsmanager:GetSecretValue": [api["secrets"]["DB_PASSWORD"]["arn"]],
                       "ssm:GetParameters": [api["secrets"]["API_TOKEN"]]}, granted
    assert findings(policy) == []  # parliament: each action on a resource type it takes


def test_a_killed_task_is_replaced_and_no_longer_routed_to(stack):
    wait_for("two running api tasks", lambda: len(running_tasks(stack, "api")) == 2)
    victim = running_tasks(stack, "api")[0]
    victim_id, victim_ip = victim["taskArn"].rsplit("/", 1)[1], task_ip(victim)
    live_group = next(g for g in ("seed-api-blue", "seed-api-green") if victim_ip in healthy_targets(stack, g))
    containers = podman_json("ps", "--filter", f"label=localaws.task={victim_id}", "--filter",
                             "label=localaws.container=api", "--format", "json")
    assert len(containers) == 1, containers
    podman("kill", "--signal", "KILL", containers[0]["Id"])

    ecs = stack.client("ecs")
    stopped = wait_for("the killed task STOPPED", lambda: next(
        (t for t in ecs.describe_tasks(cluster="seed", tasks=[victim_id])["tasks"] if t["lastStatus"] == "STOPPED"),
        None), deadline=120)
    api_container = next(c for c in stopped["containers"] if c["name"] == "api")
    assert api_container.get("exitCode") == 137, stopped["containers"]
    assert stopped["stopCode"] == "EssentialContainerExited"
    replacement = wait_for("a replacement task, healthy behind the load balancer", lambda: [
        t for t in running_tasks(stack, "api")
        if t["taskArn"] != victim["taskArn"] and task_ip(t) in healthy_targets(stack, live_group)
        and t["startedAt"].timestamp() > victim["startedAt"].timestamp()], deadline=180)
    assert replacement
    assert victim_ip not in healthy_targets(stack, live_group)
    victim_host = "ip-" + victim_ip.replace(".", "-")
    # Both tasks answer through the load balancer once the replacement's target is healthy; the proxy may
    # take a moment to route to it (a loaded CI machine once gave 30 answers from the other task alone right
    # after DescribeTargetHealth said healthy), so look for both in rounds of 10 for up to 60 s. The victim
    # never answers.
    answers: list[str] = []

    def both_tasks_answer() -> bool:
        answers.extend(version_of(stack.production_url)["host"] for _ in range(10))
        return len(set(answers[-10:])) == 2

    wait_for("the replacement and the other task both answering through the load balancer", both_tasks_answer,
             deadline=60)
    assert victim_host not in answers, answers


def time_scale(stack, seconds_per_minute: float) -> None:
    request = urllib.request.Request(stack.aws.url + "/_localaws/codedeploy/time-scale", method="POST",
                                     data=json.dumps({"secondsPerMinute": seconds_per_minute}).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def release_outcome(run) -> dict:
    return next(r for play in run.plays for t in play.get("tasks", [])
                if t["task"]["name"] == "Summary | keep the outcome in deploy_releases"
                for h in t["hosts"].values() for r in h["ansible_facts"]["deploy_releases"])


def test_release_whose_health_check_fails_is_rolled_back_on_real_health(stack):
    # v3 listens on 8001; the target group and the container health check ask 8000. Nobody sets a
    # target's health by hand: the load balancer's own checks fail, CodeDeploy fails the release.
    assert version_of(stack.production_url)["version"] == "2.0.0"
    assert stack.control("/_localaws/elbv2/target-health") in ([], {}, {"overrides": []})
    time_scale(stack, 1.0)  # CodeDeploy's 60-minute wait for a healthy replacement lasts 60 s
    try:
        production = Load(stack.production_url)
        release = stack.playbook("playbooks/deploy.yml", {"deploy_image_tag": "v3", "deploy_service": "api",
                                                          "deploy_poll_interval": 0.2})
        time.sleep(2)
        prod = production.stop()
    finally:
        time_scale(stack, TIME_SCALE)
    assert release.rc != 0
    outcome = release_outcome(release)
    assert outcome["failed"] and outcome["rollback"], outcome
    # Real health stops it either way: CodeDeploy's own wait (HEALTH_CONSTRAINTS / ECS_UPDATE_ERROR) or,
    # often first, the role's unhealthy-hosts alarm on the replacement group's real UnHealthyHostCount.
    error = outcome["error"]
    assert error["code"] in ("HEALTH_CONSTRAINTS", "ECS_UPDATE_ERROR") or (
        error["code"] == "ALARM_ACTIVE" and "-api-unhealthy-hosts-" in error["message"]), error
    assert "unhealthy" in outcome["error"]["message"] or "health" in outcome["error"]["message"], outcome["error"]
    failed = [s for s in prod if s.status != 200]
    assert not failed, f"{len(failed)} of {len(prod)} requests failed: {failed[:5]}"
    served = {s.version for s in prod if s.version}
    assert served == {"2.0.0"}, served
    assert version_of(stack.production_url)["version"] == "2.0.0"


def test_release_that_answers_5xx_is_rolled_back_by_the_real_alarm(stack):
    # v4's store calls fail: /api/items answers 503 while /api/health is fine, so health passes and
    # only the 5xx alarm of the replacement's target group (from the proxied requests) can stop it.
    # at TIME_SCALE a 60 s alarm period lasts 4 s, the termination wait (5 min) 20 s
    try:
        production = Load(stack.production_url, paths=("/api/items", "/api/version"), workers=8, pause=0.01)
        release = stack.playbook("playbooks/deploy.yml", {"deploy_image_tag": "v4", "deploy_service": "api",
                                                          "deploy_poll_interval": 0.2})
        time.sleep(2)
        prod = production.stop()
    finally:
        time_scale(stack, TIME_SCALE)
    assert release.rc != 0
    outcome = release_outcome(release)
    assert outcome["status"] == "Stopped" and outcome["error"]["code"] == "ALARM_ACTIVE", outcome
    assert outcome["rollback"], outcome
    fired = [a for a in ("seed-local-api-target-5xx-blue", "seed-local-api-target-5xx-green")
             if a in outcome["error"]["message"]]
    assert fired, outcome["error"]["message"]
    printed = "\n".join(r["msg"] if isinstance(r["msg"], str) else "\n".join(r["msg"])
                        for r in release.task_results("Summary"))
    assert fired[0] in printed or fired[0] in " ".join(release.failure_messages()), printed
    history = stack.client("cloudwatch").describe_alarm_history(AlarmName=fired[0], HistoryItemType="StateUpdate")
    assert any(json.loads(h["HistoryData"])["newState"]["stateValue"] == "ALARM"
               for h in history["AlarmHistoryItems"]), history["AlarmHistoryItems"]
    # v4 did answer (the canary's share of /api/items), then production went back to v2 alone.
    assert any(s.status == 503 and s.path == "/api/items" for s in prod)
    assert version_of(stack.production_url)["version"] == "2.0.0"
    assert all(version_of(stack.production_url)["version"] == "2.0.0" for _ in range(10))
