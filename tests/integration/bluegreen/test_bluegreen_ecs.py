"""Blue/green releases end to end with ECS itself as the release controller (issue 15): roles/ecs_service,
playbooks/deploy.yml and playbooks/rollback.yml against the local endpoint's ECS-native blue/green emulation.

test_bluegreen.py's stack (tests/integration/bluegreen/stack.yml) with both services on
``deployment_controller: ecs``: api a CANARY (10 % for a minute, then all; a minute's bake), web a BLUE_GREEN.
One sequence on one stack, through the playbooks: converge, release
v1 -> v2 with api's canary in its order (the service deployment's lifecycle stages, the production rule's
weights seen while it runs), the same release again (nothing to do), a re-converge that keeps production
on the target groups the release made live, a release stopped and rolled back by an alarm, rollback.yml
during a release (StopServiceDeployment with rollback) and after one (the previous revision released
again), destroy back to the fresh-endpoint baseline. A second converge right after the first (nothing to do) is
not made here: the re-converge and --check --diff after the release are (nothing to do, nothing written), and a
freshly converged ECS-released service's no-op is test_deployment_controllers.py's. The CodeDeploy story is
test_bluegreen.py's. Time runs on the emulation's clock (seconds per AWS minute).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.integration.bluegreen.test_bluegreen import Background, facts, image_of, time_scale, wait_for
from tests.integration.platform.inventory import diff, snapshot

ROOT = Path(__file__).resolve().parents[3]
STACK = "tests/integration/bluegreen/stack.yml"
DEPLOY = "playbooks/deploy.yml"
ROLLBACK = "playbooks/rollback.yml"
DESTROY = "playbooks/destroy.yml"
ENVIRONMENT = "local"

API_CANARY = {"strategy": "CANARY", "canary_percent": 10.0, "canary_bake_time_minutes": 1, "bake_time_minutes": 1}
WEB_BLUE_GREEN = {"strategy": "BLUE_GREEN", "bake_time_minutes": 1}


def _ecs_stack() -> dict:
    """The local inventory's stack with both services released by ECS (and no CodeDeploy configs)."""
    stack = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())
    api, web = copy.deepcopy(stack["stack_services"])
    api.update(deployment_controller="ecs", ecs_deployment=API_CANARY)
    web.update(deployment_controller="ecs", ecs_deployment=WEB_BLUE_GREEN)
    return {"stack_services": [api, web], "stack_service_deployment_configs": {}}


ECS_STACK = _ecs_stack()
RELEASE_TASK = "Release | update the ECS-controlled services and wait for their service deployments"
ORDER = ["RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
         "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME",
         "CLEAN_UP"]


@pytest.fixture
def run(run_playbook):
    """run_playbook with the ECS-controlled stack description."""
    def run_ecs(playbook: str, extra_vars: dict | None = None, **kwargs):
        return run_playbook(playbook, {**ECS_STACK, **(extra_vars or {})}, **kwargs)
    return run_ecs


def service(boto, name: str) -> dict:
    return boto("ecs").describe_services(cluster="seed", services=[name])["services"][0]


def rules(boto, name: str) -> dict[str, str]:
    """production / test -> the listener rule ARN of the service's load balancer configuration."""
    advanced = service(boto, name)["loadBalancers"][0]["advancedConfiguration"]
    return {"production": advanced["productionListenerRule"], "test": advanced["testListenerRule"]}


def weights(boto, rule_arn: str) -> dict[str, int]:
    """target group name -> weight of a listener rule's forward action."""
    (rule,) = boto("elbv2").describe_rules(RuleArns=[rule_arn])["Rules"]
    fwd = next(a for a in rule["Actions"] if a["Type"] == "forward")
    groups = fwd.get("ForwardConfig", {}).get("TargetGroups") or [{"TargetGroupArn": fwd["TargetGroupArn"], "Weight": 1}]
    return {g["TargetGroupArn"].split(":targetgroup/")[1].split("/")[0]: g.get("Weight", 1) for g in groups}


def live(boto) -> dict[str, str]:
    """service -> the one target group its production rule forwards to (fails while traffic is split)."""
    out = {}
    for name in ("api", "web"):
        groups = weights(boto, rules(boto, name)["production"])
        assert len(groups) == 1 or sorted(groups.values())[-2] == 0, groups
        out[name] = max(groups, key=groups.get)
    return out


def canary_split(boto, replacement: str) -> bool:
    """True while api's production rule sends part, not all, of its traffic to ``replacement``."""
    groups = weights(boto, rules(boto, "api")["production"])
    return 0 < groups.get(replacement, 0) < sum(groups.values())


def in_progress(boto, name: str) -> list[dict]:
    arns = [d["serviceDeploymentArn"] for d in boto("ecs").list_service_deployments(
        cluster="seed", service=name, status=["PENDING", "IN_PROGRESS"])["serviceDeployments"]]
    return boto("ecs").describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"] if arns else []


def released(run_result) -> dict[str, dict]:
    """service -> its ecs_service_deployments result (the module's progress) of a deploy.yml run."""
    results = run_result.task_results(RELEASE_TASK)
    assert results, "the ECS release did not run"
    return {d["service"]: d for d in results[0]["deployments"]}


def summary(run_result) -> dict[str, dict]:
    return {r["service"]: r for r in facts(run_result, "Summary | keep the outcome in deploy_releases")["deploy_releases"]}


def assert_ok(run_result) -> None:
    assert run_result.rc == 0, run_result.failure_messages() or run_result.stderr[-3000:]


def assert_in_sync(run_result) -> None:
    assert_ok(run_result)
    assert run_result.changed == 0, [t for p in run_result.plays for t in p.get("tasks", [])
                                     if any(h.get("changed") for h in t["hosts"].values())]
    assert run_result.writes == [], run_result.writes


class Watch:
    """api's test and production rule weights, sampled while a release runs (each distinct pair once, in order)."""

    def __init__(self, boto):
        self.seen: list[tuple[dict[str, int], dict[str, int]]] = []
        self._boto, self._rules = boto, rules(boto, "api")

    def __call__(self) -> bool:
        pair = tuple({k: v for k, v in weights(self._boto, self._rules[which]).items() if v} for which in ("test", "production"))
        if not self.seen or self.seen[-1] != pair:
            self.seen.append(pair)
        return False

    def first(self, which: int, predicate) -> int:
        return next(i for i, pair in enumerate(self.seen) if predicate(pair[which]))


@pytest.mark.slow(minutes=4)
def test_stack_lifecycle_with_ecs_as_release_controller(endpoint, run, boto):
    time_scale(endpoint, 0.05)
    baseline = snapshot(boto)
    converge = run(STACK)
    assert_ok(converge)
    api, web = service(boto, "api"), service(boto, "web")
    assert api["deploymentController"] == web["deploymentController"] == {"type": "ECS"}
    assert api["deploymentConfiguration"]["strategy"] == "CANARY"
    assert api["deploymentConfiguration"]["canaryConfiguration"] == {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1}
    assert web["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    alarms = api["deploymentConfiguration"]["alarms"]
    assert alarms["enable"] and alarms["rollback"] and f"seed-{ENVIRONMENT}-api-target-5xx-blue" in alarms["alarmNames"]
    assert all("-api-" in a for a in alarms["alarmNames"])
    codedeploy = boto("codedeploy")
    if "seed" in codedeploy.list_applications()["applications"]:   # no deployment group: ECS releases both
        assert codedeploy.list_deployment_groups(applicationName="seed")["deploymentGroups"] == []
    assert live(boto) == {"api": "seed-api-blue", "web": "seed-web-blue"}
    assert "release controllers: {'api': 'ecs', 'web': 'ecs'}" in converge.task_results("Stack summary")[0]["msg"]

    # Release v1 -> v2 (both services at once): one UpdateService each, no CodeDeploy; api's canary in order.
    # a minute lasts 4 s: each lifecycle stage (3 AWS seconds) 0.2 s, seen by the module's 0.05 s polls and the
    # test's looks at the rules
    time_scale(endpoint, 4.0)
    release = Background(run, DEPLOY, {"deploy_image_tag": "v2", "deploy_poll_interval": 0.05})
    watch = Watch(boto)
    try:
        wait_for(lambda: watch() or release.result is not None, timeout=240, interval=0.02)
    except AssertionError:
        pass
    release = release.join()
    assert_ok(release)
    assert sorted(c["action"] for c in release.writes if c["action"] in ("UpdateService", "CreateDeployment")) == \
        ["UpdateService", "UpdateService"], release.writes
    # what the rules did while it ran: the test rule on green first (production all blue), then 90/10 on
    # production, then all of production on green
    test, prod = 0, 1
    green_on_test = watch.first(test, lambda w: w == {"seed-api-green": 100})
    canary = watch.first(prod, lambda w: w == {"seed-api-blue": 90, "seed-api-green": 10})
    all_green = watch.first(prod, lambda w: w == {"seed-api-green": 100})
    assert watch.seen[0] == ({"seed-api-blue": 100}, {"seed-api-blue": 100}), watch.seen
    assert watch.seen[green_on_test][prod] == {"seed-api-blue": 100}, watch.seen
    assert green_on_test < canary < all_green, watch.seen
    assert [pair[prod] for pair in watch.seen[canary:]] == \
        [{"seed-api-blue": 90, "seed-api-green": 10}] * (all_green - canary) + \
        [{"seed-api-green": 100}] * (len(watch.seen) - all_green), watch.seen
    assert live(boto) == {"api": "seed-api-green", "web": "seed-web-green"}
    results = released(release)
    for name in ("api", "web"):
        r = results[name]
        assert r["changed"] and r["status"] == "SUCCESSFUL", r
        stages = [e["stage"] for e in r["progress"] if e["type"] == "lifecycle_stage"]
        # in the lifecycle's order; the stages that last (the canary's minute, the bake time) seen, the short ones
        # as the polls catch them
        assert stages == [s for s in ORDER if s in stages], stages
        assert {"PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"} <= set(stages), stages
        assert image_of(boto, service(boto, name)["taskDefinition"]) == "v2"
    # api's progress: 10 % on production during PRODUCTION_TRAFFIC_SHIFT, then all of it, then the bake, the clean-up
    progress = results["api"]["progress"]
    api_traffic = [e for e in progress if e["type"] == "traffic"]
    assert [e["weights"]["green"] for e in api_traffic if e["weights"]["green"] > 0] == [10.0, 100.0], api_traffic
    assert api_traffic[-1]["target_groups"] == {"blue": "seed-api-blue", "green": "seed-api-green"}, api_traffic

    def at(predicate) -> int:
        return next(i for i, e in enumerate(progress) if predicate(e))

    def stage(name):
        return at(lambda e: e["type"] == "lifecycle_stage" and e["stage"] == name)

    ten, hundred = (at(lambda e, w=w: e["type"] == "traffic" and e["weights"]["green"] == w) for w in (10.0, 100.0))
    assert stage("PRODUCTION_TRAFFIC_SHIFT") < ten < hundred < stage("BAKE_TIME"), progress
    web_traffic = [e for e in results["web"]["progress"] if e["type"] == "traffic"]
    assert [e["weights"]["green"] for e in web_traffic if e["weights"]["green"] > 0] == [100.0], web_traffic
    rs = summary(release)
    assert (rs["api"]["controller"], rs["api"]["from"], rs["api"]["to"]) == ("ecs", "seed-api:1", "seed-api:2"), rs["api"]
    assert rs["api"]["live_target_group"] == "seed-api-green" and rs["web"]["live_target_group"] == "seed-web-green"
    assert [t["weights"].get("seed-api-green") for t in rs["api"]["traffic"]][-2:] == [10, 100], rs["api"]["traffic"]
    printed = "\n".join(release.task_results("Summary")[0]["msg"])
    assert "api" in printed and "seed-api-green" in printed, printed

    time_scale(endpoint, 0.05)

    # The same release again: nothing to do, no UpdateService.
    again = run(DEPLOY, {"deploy_image_tag": "v2"})
    assert_in_sync(again)
    assert {r["status"] for r in summary(again).values()} == {"AlreadyLive"}

    # A plain re-converge keeps production on the target groups the release made live: nothing moves.
    before = {name: {k: weights(boto, arn) for k, arn in rules(boto, name).items()} for name in ("api", "web")}
    reconverge = run(STACK)
    assert_in_sync(reconverge)
    assert live(boto) == {"api": "seed-api-green", "web": "seed-web-green"}
    assert {name: {k: weights(boto, arn) for k, arn in rules(boto, name).items()} for name in ("api", "web")} == before
    assert image_of(boto, service(boto, "api")["taskDefinition"]) == "v2"
    # --check --diff on the released stack: nothing to do either
    assert_in_sync(run(STACK, check=True, diff=True))

    # An alarm of api's goes into ALARM during its canary: ECS rolls the release back, production stays on green.
    time_scale(endpoint, 2.0)
    alarm = f"seed-{ENVIRONMENT}-api-target-5xx-blue"
    bad = Background(run, DEPLOY, {"deploy_image_tag": "v3", "deploy_service": "api", "deploy_poll_interval": 0.1})
    wait_for(lambda: canary_split(boto, "seed-api-blue"), timeout=120, interval=0.05)
    boto("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: 5xx on the replacement")
    failed = bad.join()
    boto("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test")
    assert failed.rc != 0
    outcome = summary(failed)["api"]
    assert outcome["failed"] and outcome["status"] == "ROLLBACK_SUCCESSFUL", outcome
    assert outcome["error"]["code"] == "ALARM_ACTIVE" and alarm in outcome["error"]["message"], outcome
    assert outcome["live_target_group"] == "seed-api-green"
    messages = failed.failure_messages()
    assert any("Release of deploy_image_tag v3 failed" in m and "api: ROLLBACK_SUCCESSFUL (ALARM_ACTIVE" in m
               and "seed-api-green" in m for m in messages), messages
    assert live(boto)["api"] == "seed-api-green"
    assert image_of(boto, service(boto, "api")["taskDefinition"]) == "v2"

    # rollback.yml during a release (its canary held long): StopServiceDeployment with rollback.
    time_scale(endpoint, 15.0)  # the canary holds 10 % for 15 s, then the bake 15 s: rollback.yml comes first
    canary = Background(run, DEPLOY, {"deploy_image_tag": "v3", "deploy_service": "api", "deploy_poll_interval": 0.1})
    wait_for(lambda: canary_split(boto, "seed-api-blue"), timeout=120, interval=0.05)
    (running,) = in_progress(boto, "api")
    stop = run(ROLLBACK, {"rollback_service": "api", "rollback_poll_interval": 0.1})
    assert_ok(stop)
    assert [c["action"] for c in stop.writes] == ["StopServiceDeployment"], stop.writes
    result = facts(stop, "Summary | keep the outcome in rollback_result")["rollback_result"]
    assert (result["controller"], result["action"], result["status"]) == ("ecs", "stopped", "ROLLBACK_SUCCESSFUL"), result
    assert result["deployment_id"] == running["serviceDeploymentArn"]
    assert result["live_target_group"] == "seed-api-green"
    stopped = canary.join()
    assert stopped.rc != 0 and any("MANUAL_STOP" in m for m in stopped.failure_messages()), stopped.failure_messages()
    assert live(boto)["api"] == "seed-api-green" and in_progress(boto, "api") == []
    assert image_of(boto, service(boto, "api")["taskDefinition"]) == "v2"

    # rollback.yml after a finished release: the previous revision (v1) released again, by ECS's own canary.
    time_scale(endpoint, 0.05)
    back = run(ROLLBACK, {"rollback_service": "api", "rollback_poll_interval": 0.1})
    assert_ok(back)
    assert [c["action"] for c in back.writes] == ["UpdateService"], back.writes
    result = facts(back, "Summary | keep the outcome in rollback_result")["rollback_result"]
    assert (result["action"], result["status"]) == ("released_previous", "SUCCESSFUL"), result
    assert result["live_target_group"] == "seed-api-blue" and live(boto)["api"] == "seed-api-blue"
    assert image_of(boto, service(boto, "api")["taskDefinition"]) == "v1"

    # Destroy: back to the fresh endpoint (the infrastructure role included). A second destroy being a no-op is
    # test_bluegreen.py's.
    gone = run(DESTROY)
    assert_ok(gone)
    assert diff(baseline, snapshot(boto)) == {}
