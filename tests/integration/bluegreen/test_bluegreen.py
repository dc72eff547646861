"""Blue/green releases end to end: roles/codedeploy, playbooks/deploy.yml and playbooks/rollback.yml
against the local endpoint's CodeDeploy / ECS / ELB emulation.

The stack's life is one sequence on one stack (converging is the slow part): converge from empty and the
wiring, release v1 -> v2, release v2 again (nothing to do), re-converges and --check --diff with nothing to do
that keep every shape a release leaves on the listeners, a converge during a canary
(listeners left alone), a release stopped by an alarm, a release stopped by rollback.yml during its canary,
a rollback with no release running, destroy (twice) back to the fresh-endpoint baseline. Input validation runs
on an empty endpoint and must fail before any AWS call.

A second converge and --check --diff right after the first (nothing to do, nothing written) are not repeated here:
test_platform.py's --check --diff and re-converge make them on the same stack, freshly converged;
this story's re-converges come after a release, when the listeners hold what a release leaves.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest

from tests.integration.platform.inventory import diff, snapshot
from tests.integration.platform.wiring import assert_wiring

STACK = "tests/integration/bluegreen/stack.yml"
DEPLOY = "playbooks/deploy.yml"
ROLLBACK = "playbooks/rollback.yml"
DESTROY = "playbooks/destroy.yml"
ENVIRONMENT = "local"


def _post(endpoint, path: str, body: dict) -> None:
    request = urllib.request.Request(f"{endpoint.url}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def time_scale(endpoint, seconds_per_minute: float) -> None:
    _post(endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": seconds_per_minute})


def _forward(actions: list[dict]) -> dict[str, int]:
    """target group name -> weight of a listener's forward action."""
    fwd = next(a for a in actions if a["Type"] == "forward")
    groups = fwd.get("ForwardConfig", {}).get("TargetGroups") or [{"TargetGroupArn": fwd["TargetGroupArn"], "Weight": 1}]
    return {g["TargetGroupArn"].split(":targetgroup/")[1].split("/")[0]: g.get("Weight", 1) for g in groups}


def production(boto) -> dict[str, dict[str, int]]:
    """service -> {target group: weight} on the production listener (port 80)."""
    elbv2 = boto("elbv2")
    lb = next(lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == "seed")
    listener = next(li for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
                    if li["Port"] == 80)
    out = {"web": _forward(listener["DefaultActions"])}
    for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
        if not rule["IsDefault"]:
            out["api"] = _forward(rule["Actions"])
    return out


def live(boto) -> dict[str, str]:
    """service -> the one target group production forwards to (fails while traffic is split)."""
    out = {}
    for svc, groups in production(boto).items():
        assert len(groups) == 1 or min(groups.values()) == 0, groups
        out[svc] = max(groups, key=groups.get)
    return out


def task_sets(boto, service: str) -> list[dict]:
    return boto("ecs").describe_services(cluster="seed", services=[service])["services"][0]["taskSets"]


def image_of(boto, task_definition: str) -> str:
    td = boto("ecs").describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    return td["containerDefinitions"][0]["image"].rsplit(":", 1)[1]


def facts(run, task: str) -> dict:
    """The facts the last run of ``task`` set (role tasks are named ``<role> : <task>``)."""
    results = [r for play in run.plays for t in play.get("tasks", [])
               if t["task"]["name"] == task or t["task"]["name"].endswith(f" : {task}")
               for r in t.get("hosts", {}).values()]
    assert results, f"task {task!r} did not run"
    return results[-1].get("ansible_facts", {})


class Background:
    """A playbook run in a thread, so that the test can act while it waits on a release."""

    def __init__(self, run_playbook, *args, **kwargs):
        self.result = None
        self._thread = threading.Thread(target=self._run, args=(run_playbook, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, run_playbook, args, kwargs):
        self.result = run_playbook(*args, **kwargs)

    def join(self, timeout: float = 300):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the playbook did not end"
        return self.result


def wait_for(predicate, timeout: float = 120, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")


def canary_split(boto, service: str, replacement: str):
    """True while production sends part, not all, of ``service``'s traffic to ``replacement``."""
    groups = production(boto)[service]
    return 0 < groups.get(replacement, 0) < sum(groups.values())


# -- the converge and the shapes a release leaves on the listeners ------------------------------

LISTENER_WRITES = {"CreateListener", "ModifyListener", "DeleteListener", "CreateRule", "ModifyRule", "DeleteRule",
                   "SetRulePriorities"}
IN_PROGRESS = "seed.fargate.alb : Releases | a release is in progress, leave the listeners as they are"


def target_group_arns(boto) -> dict[str, str]:
    return {tg["TargetGroupName"]: tg["TargetGroupArn"] for tg in boto("elbv2").describe_target_groups()["TargetGroups"]}


def forward_actions(boto, port: int) -> dict[str, tuple[str, dict]]:
    """service -> (listener or rule ARN, its forward action as DescribeListeners/DescribeRules answer)."""
    elbv2 = boto("elbv2")
    lb = next(lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == "seed")
    listener = next(li for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
                    if li["Port"] == port)
    out = {"web": (listener["ListenerArn"], listener["DefaultActions"][0])}
    for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
        if not rule["IsDefault"]:
            out["api"] = (rule["RuleArn"], rule["Actions"][0])
    return out


def set_production(boto, action_of) -> None:
    """Set each service's production forward to ``action_of(blue ARN, green ARN)``, as CodeDeploy would."""
    elbv2, arns = boto("elbv2"), target_group_arns(boto)
    for service, (arn, _) in forward_actions(boto, 80).items():
        action = action_of(arns[f"seed-{service}-blue"], arns[f"seed-{service}-green"])
        if service == "web":
            elbv2.modify_listener(ListenerArn=arn, DefaultActions=[action])
        else:
            elbv2.modify_rule(RuleArn=arn, Actions=[action])


def weighted(*groups: tuple[str, int]) -> dict:
    return {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": a, "Weight": w} for a, w in groups]}}


def assert_in_sync(run) -> None:
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    assert run.changed == 0 and run.writes == [], run.writes


@pytest.mark.slow(minutes=13)
def test_stack_lifecycle(endpoint, run_playbook, boto):
    time_scale(endpoint, 0.05)
    baseline = snapshot(boto)
    converge = run_playbook(STACK)
    assert converge.rc == 0, converge.failure_messages() or converge.stderr[-3000:]
    assert_wiring(boto)
    assert live(boto) == {"api": "seed-api-blue", "web": "seed-web-blue"}

    # The groups the role made: application, one group per service, the custom canary for api,
    # the alb role's pair and listeners, the cloudwatch role's rollback alarms.
    codedeploy = boto("codedeploy")
    groups = {g: codedeploy.get_deployment_group(applicationName="seed", deploymentGroupName=f"seed-{g}")["deploymentGroupInfo"]
              for g in ("api", "web")}
    assert groups["api"]["deploymentConfigName"] == "seed-canary-10-percent-1-minute"
    assert groups["web"]["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    config = codedeploy.get_deployment_config(deploymentConfigName="seed-canary-10-percent-1-minute")["deploymentConfigInfo"]
    assert config["trafficRoutingConfig"]["timeBasedCanary"] == {"canaryPercentage": 10, "canaryInterval": 1}
    api = groups["api"]
    assert [t["name"] for t in api["loadBalancerInfo"]["targetGroupPairInfoList"][0]["targetGroups"]] == \
        ["seed-api-blue", "seed-api-green"]
    assert api["ecsServices"] == [{"serviceName": "api", "clusterName": "seed"}]
    assert api["serviceRoleArn"].endswith(":role/seed-codedeploy-ecs")
    assert sorted(api["autoRollbackConfiguration"]["events"]) == ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
    alarms = {a["name"] for a in api["alarmConfiguration"]["alarms"]}
    assert f"seed-{ENVIRONMENT}-api-target-5xx-blue" in alarms and f"seed-{ENVIRONMENT}-api-unhealthy-hosts-green" in alarms
    assert all("-api-" in a for a in alarms) and api["alarmConfiguration"]["enabled"] is True

    # An image tag nobody pushed (no stand-in images, as against AWS): fails naming it, before any write.
    missing = run_playbook(DEPLOY, {"deploy_image_tag": "v9", "deploy_seed_local_images": False})
    assert missing.rc != 0 and missing.writes == []
    assert any("deploy_image_tag 'v9' is not in ECR: seed/api:v9, seed/web:v9" in m for m in missing.failure_messages()), \
        missing.failure_messages()

    # --check first: nothing written; the new revisions are predicted (registration is where check mode
    # stops: the releases then see no registered revision and name the live one), both services summarised.
    predicted = run_playbook(DEPLOY, {"deploy_image_tag": "v2"}, check=True)
    assert predicted.rc == 0 and predicted.writes == [], predicted.failure_messages() or predicted.writes
    registering = [t for play in predicted.plays for t in play.get("tasks", [])
                   if t["task"]["name"].endswith("Task definitions | register a revision where no revision of the family is the desired one")]
    assert registering and all(h.get("changed") for t in registering for h in t["hosts"].values()), registering
    predicted_releases = facts(predicted, "Summary | keep the outcome in deploy_releases")["deploy_releases"]
    assert [(r["service"], r["failed"]) for r in predicted_releases] == [("api", False), ("web", False)], predicted_releases

    # Release v1 -> v2 (every service): production moves to green, the PRIMARY task set runs v2, the old one is gone.
    time_scale(endpoint, 0.5)  # api's canary minute lasts 0.5 s: long enough to be seen at 0.1 s polls
    release = run_playbook(DEPLOY, {"deploy_image_tag": "v2", "deploy_poll_interval": 0.1})
    assert release.rc == 0, release.failure_messages() or release.stderr[-3000:]
    assert live(boto) == {"api": "seed-api-green", "web": "seed-web-green"}
    for svc in ("api", "web"):
        sets = task_sets(boto, svc)
        assert [s["status"] for s in sets] == ["PRIMARY"], sets
        assert image_of(boto, sets[0]["taskDefinition"]) == "v2"
    summary = {r["service"]: r for r in facts(release, "Summary | keep the outcome in deploy_releases")["deploy_releases"]}
    assert summary["api"]["from"] == "seed-api:1" and summary["api"]["to"] == "seed-api:2"
    assert summary["api"]["status"] == "Succeeded" and summary["api"]["live_target_group"] == "seed-api-green"
    # api's canary: 10 % to green first, then all of it.
    assert [t["weights"].get("seed-api-green") for t in summary["api"]["traffic"]][-2:] == [10, 100], summary["api"]["traffic"]
    printed = "\n".join(release.task_results("Summary")[0]["msg"])
    assert "api: seed-api:1 -> seed-api:2 (v2): Succeeded" in printed and "seed-web-green" in printed
    # The two releases ran at the same time (one CodeDeploy deployment per service's group): each
    # deployment was created, in the endpoint's records, before the other one completed.
    api_d, web_d = (boto("codedeploy").get_deployment(deploymentId=summary[svc]["deployment_id"])["deploymentInfo"]
                    for svc in ("api", "web"))
    assert api_d["createTime"] < web_d["completeTime"] and web_d["createTime"] < api_d["completeTime"], (api_d, web_d)
    # The end state AWS leaves: a forward to both groups, the new one at 100 first, the old one at 0.
    arns = target_group_arns(boto)
    for service, (_, action) in forward_actions(boto, 80).items():
        assert "TargetGroupArn" not in action, action
        assert action["ForwardConfig"]["TargetGroups"] == [
            {"TargetGroupArn": arns[f"seed-{service}-green"], "Weight": 100},
            {"TargetGroupArn": arns[f"seed-{service}-blue"], "Weight": 0}], action
    test_before = forward_actions(boto, 9000)

    time_scale(endpoint, 0.05)

    # The same release again: nothing to do, nothing written.
    again = run_playbook(DEPLOY, {"deploy_image_tag": "v2"})
    assert again.rc == 0, again.failure_messages()
    assert again.changed == 0 and again.writes == [], again.writes
    assert {r["status"] for r in facts(again, "Summary | keep the outcome in deploy_releases")["deploy_releases"]} == {"AlreadyLive"}

    # A plain re-converge keeps traffic where the release put it.
    reconverge = run_playbook(STACK)
    assert reconverge.rc == 0, reconverge.failure_messages()
    assert live(boto) == {"api": "seed-api-green", "web": "seed-web-green"}
    alb = facts(reconverge, "Load balancer | publish alb_arn, alb_dns_name, alb_canonical_hosted_zone_id,"
                            " listener ARNs and alb_target_groups")
    assert {svc: tg["live"] for svc, tg in alb["alb_target_groups"].items()} == {"api": "green", "web": "green"}
    assert [image_of(boto, s["taskDefinition"]) for s in task_sets(boto, "api")] == ["v2"]
    assert not {c["action"] for c in reconverge.writes} & {"CreateDeployment", "UpdateService", "StopDeployment",
                                                           "RegisterTaskDefinition"}
    # The forwards the release left (weighted, test listener on the new group) are in sync: nothing moves.
    assert reconverge.changed == 0 and reconverge.writes == [], reconverge.writes
    assert forward_actions(boto, 9000) == test_before

    # The same 100/0 in the other order (api's rule) and a plain forward to the live group (web's
    # default action): in sync as well, in check mode with --diff too.
    set_production(boto, lambda blue, green: weighted((blue, 0), (green, 100)))
    web_listener = forward_actions(boto, 80)["web"][0]
    boto("elbv2").modify_listener(ListenerArn=web_listener,
                                  DefaultActions=[{"Type": "forward", "TargetGroupArn": arns["seed-web-green"]}])
    assert_in_sync(run_playbook(STACK, check=True, diff=True))
    assert_in_sync(run_playbook(STACK))

    # A release in its canary (api 90/10, its CodeDeploy deployment running): the listeners are left
    # as they are, and the output says why, naming the deployment and the split.
    time_scale(endpoint, 2.0)
    canary = Background(run_playbook, DEPLOY, {"deploy_image_tag": "v3", "deploy_service": "api", "deploy_poll_interval": 0.2})
    wait_for(lambda: canary_split(boto, "api", "seed-api-blue"))
    time_scale(endpoint, 100000.0)  # the canary's remaining minute now outlasts the converge
    codedeploy = boto("codedeploy")
    running = codedeploy.list_deployments(applicationName="seed", deploymentGroupName="seed-api",
                                          includeOnlyStatuses=["InProgress"])["deployments"]
    assert len(running) == 1, running
    before = {port: forward_actions(boto, port) for port in (80, 9000)}
    during = run_playbook(STACK)
    assert during.rc == 0, during.failure_messages() or during.stderr[-3000:]
    assert not {c["action"] for c in during.writes} & LISTENER_WRITES, during.writes
    said = during.task_results(IN_PROGRESS)
    assert said and "A release is in progress" in said[0]["msg"], said
    assert f"api: {running[0]} (InProgress)" in said[0]["msg"] and "api 90/10" in said[0]["msg"], said[0]["msg"]
    assert {port: forward_actions(boto, port) for port in (80, 9000)} == before
    codedeploy.stop_deployment(deploymentId=running[0], autoRollbackEnabled=True)
    stopped = canary.join()
    assert stopped.rc != 0 and any("MANUAL_STOP" in m for m in stopped.failure_messages()), stopped.failure_messages()
    assert live(boto) == {"api": "seed-api-green", "web": "seed-web-green"}

    # A release whose alarm fires during the canary: stopped, rolled back, production still on green.
    time_scale(endpoint, 2.0)  # the canary's minute lasts 2 s
    alarm = f"seed-{ENVIRONMENT}-api-target-5xx-blue"
    bad = Background(run_playbook, DEPLOY, {"deploy_image_tag": "v3", "deploy_service": "api", "deploy_poll_interval": 0.2})
    wait_for(lambda: canary_split(boto, "api", "seed-api-blue"))
    boto("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: 5xx on the replacement")
    failed = bad.join()
    boto("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test")
    assert failed.rc != 0
    # The v3 revision the stopped release registered is the family's latest: used again, not registered twice
    # (as after a run cut short between RegisterTaskDefinition and CreateDeployment).
    assert "RegisterTaskDefinition" not in [c["action"] for c in failed.writes], failed.writes
    assert boto("ecs").list_task_definitions(familyPrefix="seed-api")["taskDefinitionArns"][-1].endswith("/seed-api:3")
    assert any("api: Stopped (ALARM_ACTIVE" in m and alarm in m and "rolled back; live seed-api:2 on seed-api-green" in m
               for m in failed.failure_messages()), failed.failure_messages()
    outcome = facts(failed, "Summary | keep the outcome in deploy_releases")["deploy_releases"][0]
    assert outcome["status"] == "Stopped" and outcome["error"]["code"] == "ALARM_ACTIVE"
    assert outcome["live_target_group"] == "seed-api-green"
    assert live(boto)["api"] == "seed-api-green"
    assert [image_of(boto, s["taskDefinition"]) for s in task_sets(boto, "api")] == ["v2"]

    # rollback.yml during a canary: the release is stopped and rolled back.
    time_scale(endpoint, 20.0)  # the canary holds 10 % for 20 s; the stop comes first
    canary = Background(run_playbook, DEPLOY, {"deploy_image_tag": "v3", "deploy_service": "api", "deploy_poll_interval": 0.2})
    wait_for(lambda: canary_split(boto, "api", "seed-api-blue"))
    stop = run_playbook(ROLLBACK, {"rollback_service": "api", "rollback_poll_interval": 0.2})
    assert stop.rc == 0, stop.failure_messages() or stop.stderr[-3000:]
    result = facts(stop, "Summary | keep the outcome in rollback_result")["rollback_result"]
    assert result["action"] == "stopped" and result["status"] == "Stopped"
    assert result["live_target_group"] == "seed-api-green"
    stopped = canary.join()
    assert stopped.rc != 0 and any("MANUAL_STOP" in m for m in stopped.failure_messages()), stopped.failure_messages()
    assert live(boto)["api"] == "seed-api-green"

    # rollback.yml with nothing running: the previous revision (v1) is released again.
    time_scale(endpoint, 0.05)
    back = run_playbook(ROLLBACK, {"rollback_service": "api", "rollback_poll_interval": 0.1})
    assert back.rc == 0, back.failure_messages() or back.stderr[-3000:]
    result = facts(back, "Summary | keep the outcome in rollback_result")["rollback_result"]
    assert result["action"] == "released_previous" and result["status"] == "Succeeded"
    assert result["live_target_group"] == "seed-api-blue" and live(boto)["api"] == "seed-api-blue"
    assert [image_of(boto, s["taskDefinition"]) for s in task_sets(boto, "api")] == ["v1"]

    # A release of both services in which web's fails (its replacement's targets unhealthy): api's is
    # released all the same, the summary has both, and the run fails naming web only.
    time_scale(endpoint, 0.2)
    idle_web = target_group_arns(boto)["seed-web-blue"]
    _post(endpoint, "/_localaws/elbv2/target-health", {"targetGroupArn": idle_web, "state": "unhealthy"})
    partial = run_playbook(DEPLOY, {"deploy_image_tag": "v4", "deploy_poll_interval": 0.1})
    _post(endpoint, "/_localaws/elbv2/target-health", {"targetGroupArn": idle_web, "state": None})
    assert partial.rc != 0
    outcome = {r["service"]: r for r in facts(partial, "Summary | keep the outcome in deploy_releases")["deploy_releases"]}
    assert (outcome["api"]["status"], outcome["api"]["failed"], outcome["api"]["live_target_group"]) == \
        ("Succeeded", False, "seed-api-green"), outcome["api"]
    assert outcome["web"]["failed"] is True and outcome["web"]["error"]["code"] == "HEALTH_CONSTRAINTS", outcome["web"]
    assert outcome["web"]["rollback"] and outcome["web"]["live_target_group"] == "seed-web-green"
    failure = [m for m in partial.failure_messages() if "Release of deploy_image_tag v4 failed" in m]
    assert len(failure) == 1 and "web: Failed (HEALTH_CONSTRAINTS" in failure[0] and "api:" not in failure[0], failure
    assert [image_of(boto, s["taskDefinition"]) for s in task_sets(boto, "api")] == ["v4"]
    assert [image_of(boto, s["taskDefinition"]) for s in task_sets(boto, "web")] == ["v2"]

    # Destroy: back to the fresh endpoint, and a second destroy is a no-op.
    gone = run_playbook(DESTROY)
    assert gone.rc == 0, gone.failure_messages() or gone.stderr[-3000:]
    assert diff(baseline, snapshot(boto)) == {}
    twice = run_playbook(DESTROY)
    assert twice.rc == 0, twice.failure_messages()
    assert twice.changed == 0 and twice.writes == []


DEPLOY_BAD = [
    ({}, "deploy_image_tag"),
    ({"deploy_image_tag": "-bad:tag"}, "deploy_image_tag"),
    ({"deploy_image_tag": None}, "deploy_image_tag"),
    ({"deploy_image_tag": "v2", "deploy_wait_timeout": -5}, "deploy_wait_timeout"),
    ({"deploy_image_tag": "v2", "deploy_poll_interval": 0}, "deploy_poll_interval"),
    ({"deploy_image_tag": "v2", "deploy_wait_timeout": "soon"}, "deploy_wait_timeout"),
    ({"deploy_image_tag": "v2", "deploy_service": "nope"}, "deploy_service"),
    ({"deploy_image_tag": "v2", "deploy_build": True}, "deploy_build"),
    ({"deploy_image_tag": "v2", "deploy_seed_local_images": True, "aws_endpoint_url": ""}, "deploy_seed_local_images"),
    ({"deploy_image_tag": "v2", "stack_service_deployment_configs": {"api": "missing-config"}},
     "codedeploy_service_deployment_configs"),
]
ROLLBACK_BAD = [({}, "rollback_service"), ({"rollback_service": "nope"}, "rollback_service"),
                ({"rollback_service": None}, "rollback_service"),
                ({"rollback_service": "api", "rollback_wait_timeout": 0}, "rollback_wait_timeout"),
                ({"rollback_service": "api", "rollback_poll_interval": -1}, "rollback_poll_interval")]


@pytest.fixture(scope="module")
def refused(run_playbook_per_case):
    """Every bad input's deploy.yml or rollback.yml run: one run of each, a host per input (run_playbook_per_case in
    tests/conftest.py)."""
    return {playbook: run_playbook_per_case(playbook, {str(i): case[0] for i, case in enumerate(cases)})
            for playbook, cases in ((DEPLOY, DEPLOY_BAD), (ROLLBACK, ROLLBACK_BAD))}


@pytest.mark.parametrize(("case", "names"), [(str(i), case[1]) for i, case in enumerate(DEPLOY_BAD)],
                         ids=[f"{variables}-{names}" for variables, names in DEPLOY_BAD])
def test_deploy_validation_fails_before_any_call(refused, case, names):
    run = refused[DEPLOY][case]
    assert run.rc != 0
    assert any(names in m for m in run.failure_messages()), run.failure_messages() or run.stdout[-2000:]
    assert run.calls == []


@pytest.mark.parametrize(("case", "names"), [(str(i), case[1]) for i, case in enumerate(ROLLBACK_BAD)],
                         ids=[f"{variables}-{names}" for variables, names in ROLLBACK_BAD])
def test_rollback_validation_fails_before_any_call(refused, case, names):
    run = refused[ROLLBACK][case]
    assert run.rc != 0
    assert any(names in m for m in run.failure_messages()), run.failure_messages() or run.stdout[-2000:]
    assert run.calls == []
