"""Per-service release controller (issue 15): ``stack_services[].deployment_controller: codedeploy | ecs``.

A stack with ``api`` released by ECS itself (a CANARY) and ``web`` by CodeDeploy, converged by ``site.yml`` against the
real local endpoint: planned under ``--check`` on an empty endpoint (nothing written), converged, re-converged with
``changed=0``, planned again with nothing to do, and removed by ``destroy.yml``. Bad inputs for the new fields fail in
site.yml's validation before any write, naming the variable; a move from ECS back to CodeDeploy (which AWS cannot make
in place) stops before any write; the move from CodeDeploy to ECS is made in place.

The stack with both controllers is also Cloud Map service discovery's story (test_service_discovery.py's assertions,
run here: one converge serves both features): the plan, the namespace and registries, the tasks of both services
registered, the teardown. The move to ECS in place starts from the stack without discovery, where turning it on is
refused before any write while the services have no registry.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.integration.platform.inventory import snapshot
from tests.integration.test_service_discovery import ON, assert_discovery, assert_discovery_gone, assert_planned
from tests.localaws.conftest import control

ROOT = Path(__file__).resolve().parents[2]
STACK = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())
SITE = "playbooks/site.yml"
API, WEB = STACK["stack_services"]
CANARY = {"strategy": "CANARY", "bake_time_minutes": 1, "canary_percent": 20.0, "canary_bake_time_minutes": 1}


def services(api: dict | None = None, web: dict | None = None) -> list[dict]:
    """stack_services with fields of api and web changed."""
    return [dict(copy.deepcopy(API), **(api or {})), dict(copy.deepcopy(WEB), **(web or {}))]


ECS_API = services({"deployment_controller": "ecs", "ecs_deployment": CANARY})
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:check"
ROLE = "arn:aws:iam::123456789012:role/hooks"


# The local inventory gives api a CodeDeploy config; a service ECS releases has none.
NO_CD_CONFIG = {"stack_service_deployment_configs": {}}


def ecs_api(**settings) -> dict:
    return {"stack_services": services({"deployment_controller": "ecs", "ecs_deployment": settings}), **NO_CD_CONFIG}


def hook(**fields) -> dict:
    """api released by ECS with one lifecycle hook."""
    return ecs_api(lifecycle_hooks=[fields])


BAD = {
    "controller not a choice": ({"stack_services": services({"deployment_controller": "ECS_NATIVE"})},
                                "deployment_controller"),
    "strategy not a choice": (ecs_api(strategy="ROLLING"), "strategy"),
    "canary percent above 100": (ecs_api(strategy="CANARY", canary_percent=120.0), "canary_percent"),
    "canary percent not in tenths": (ecs_api(strategy="CANARY", canary_percent=2.55), "canary_percent"),
    "linear step below 3": (ecs_api(strategy="LINEAR", linear_step_percent=1.0), "linear_step_percent"),
    "bake time negative": (ecs_api(bake_time_minutes=-1), "bake_time_minutes"),
    "bake time above a day": (ecs_api(bake_time_minutes=1441), "bake_time_minutes"),
    "linear settings with BLUE_GREEN": (ecs_api(strategy="BLUE_GREEN", linear_step_percent=10.0), "linear_step_percent"),
    "canary settings with LINEAR": (ecs_api(strategy="LINEAR", canary_bake_time_minutes=3), "canary_bake_time_minutes"),
    "Lambda hook without target ARN": (hook(lifecycle_stages=["POST_TEST_TRAFFIC_SHIFT"], role_arn=ROLE), "hook_target_arn"),
    "Lambda hook without role": (hook(lifecycle_stages=["PRE_SCALE_UP"], hook_target_arn=LAMBDA), "role_arn"),
    "hook target not a Lambda ARN": (hook(lifecycle_stages=["PRE_SCALE_UP"], role_arn=ROLE,
                                          hook_target_arn="arn:aws:sns:us-east-1:1:t"), "hook_target_arn"),
    "PAUSE hook with a target": (hook(lifecycle_stages=["PRE_SCALE_UP"], target_type="PAUSE", hook_target_arn=LAMBDA),
                                 "hook_target_arn"),
    "lifecycle stage not a stage": (hook(lifecycle_stages=["BAKE_TIME"], target_type="PAUSE"), "lifecycle_stages"),
    "hook without stages": (hook(lifecycle_stages=[], target_type="PAUSE"), "lifecycle_stages"),
    "hook timeout action not a choice": (hook(lifecycle_stages=["PRE_SCALE_UP"], target_type="PAUSE", timeout_action="ABORT"),
                                         "timeout_action"),
    "ecs_deployment on a CodeDeploy service": ({"stack_services": services({"ecs_deployment": CANARY})}, "ecs_deployment"),
    "CodeDeploy config for an ECS service": ({"stack_services": ECS_API}, "stack_service_deployment_configs"),
}


@pytest.fixture(scope="module")
def refused(run_playbook_per_case):
    """Every bad input's site.yml run: one run, a host per input (run_playbook_per_case in tests/conftest.py)."""
    return run_playbook_per_case(SITE, {case: given[0] for case, given in BAD.items()})


@pytest.mark.parametrize("case, variable", [(case, given[1]) for case, given in BAD.items()], ids=list(BAD))
def test_bad_controller_input_fails_before_any_write(refused, case, variable):
    run = refused[case]
    assert run.rc != 0
    assert run.writes == []
    messages = " ".join(run.failure_messages()) or run.stderr
    assert variable in messages, messages
    assert "stack_services" in messages or "ecs_service_services" in messages, messages


def summary(run) -> list[str]:
    return run.task_results("Stack summary")[0]["msg"]


@pytest.mark.slow(minutes=5)
def test_one_service_on_each_controller_converges_idempotently_and_is_destroyed(run_playbook, boto, endpoint):
    extra = {"stack_services": ECS_API, **NO_CD_CONFIG, **ON}
    plan = run_playbook(SITE, extra, check=True, diff=True)
    assert plan.rc == 0, plan.failure_messages() or plan.stderr[-3000:]
    assert plan.writes == [], plan.writes
    planned = plan.task_results(
        "seed.fargate.ecs_service : Services | under --check, the ECS-released services that would be created in the network "
        "still to be made")
    assert planned and planned[0].get("changed"), planned
    assert_planned(plan)

    converge = run_playbook(SITE, extra)
    assert converge.rc == 0, converge.failure_messages() or converge.stderr[-3000:]
    ecs, elbv2, iam, codedeploy = boto("ecs"), boto("elbv2"), boto("iam"), boto("codedeploy")
    api, web = ecs.describe_services(cluster="seed", services=["api", "web"])["services"]
    assert api["deploymentController"] == {"type": "ECS"}
    assert web["deploymentController"] == {"type": "CODE_DEPLOY"}
    # both register their tasks in their Cloud Map service (stack_service_discovery), whichever the controller
    registries = {s["Name"]: s["Arn"] for s in boto("servicediscovery").list_services()["Services"]}
    assert api["serviceRegistries"] == [{"registryArn": registries["api"]}], api.get("serviceRegistries")
    assert web["serviceRegistries"] == [{"registryArn": registries["web"]}], web.get("serviceRegistries")
    config = api["deploymentConfiguration"]
    assert config["strategy"] == "CANARY" and config["bakeTimeInMinutes"] == 1
    assert config["canaryConfiguration"] == {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 1}
    assert config["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    # the cloudwatch role's rollback alarms, as for a CodeDeploy deployment group, and they exist
    alarms = config["alarms"]
    assert alarms["enable"] and alarms["rollback"]
    assert "seed-local-api-target-5xx-blue" in alarms["alarmNames"] and "seed-local-api-log-errors" in alarms["alarmNames"]
    existing = {a["AlarmName"] for a in boto("cloudwatch").describe_alarms(AlarmNames=alarms["alarmNames"])["MetricAlarms"]}
    assert existing == set(alarms["alarmNames"])
    groups = {tg["TargetGroupName"]: tg["TargetGroupArn"] for tg in elbv2.describe_target_groups()["TargetGroups"]}
    (lb,) = api["loadBalancers"]
    advanced = lb["advancedConfiguration"]
    assert {lb["targetGroupArn"], advanced["alternateTargetGroupArn"]} == {groups["seed-api-blue"], groups["seed-api-green"]}
    role = iam.get_role(RoleName="seed-ecs-infrastructure")["Role"]
    assert advanced["roleArn"] == role["Arn"]
    assert [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="seed-ecs-infrastructure")["AttachedPolicies"]] \
        == ["AmazonECSInfrastructureRolePolicyForLoadBalancers"]
    rules = elbv2.describe_rules(RuleArns=[advanced["productionListenerRule"], advanced["testListenerRule"]])["Rules"]
    assert all(r["Conditions"][0]["Values"] == ["/api/*"] for r in rules), rules
    # CodeDeploy releases web only
    assert codedeploy.list_deployment_groups(applicationName="seed")["deploymentGroups"] == ["seed-web"]
    lines = summary(converge)
    assert "release controllers: {'api': 'ecs', 'web': 'codedeploy'}" in lines, lines
    # web's task set runs (CodeDeploy's, made by the endpoint's control plane): its tasks are registered
    assert_discovery(converge, boto, endpoint, running=("web",))

    again = run_playbook(SITE, extra)
    assert again.rc == 0, again.failure_messages() or again.stderr[-3000:]
    assert again.changed == 0, again.stats
    assert again.writes == [], again.writes

    dry = run_playbook(SITE, extra, check=True, diff=True)
    assert dry.rc == 0 and dry.changed == 0 and dry.writes == [], dry.failure_messages() or dry.writes

    # A release of both services: CodeDeploy's runs in the background while ECS releases api, so the two overlap.
    control(endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": 2.0})  # web's 5-minute wait: 10 s
    release = run_playbook("playbooks/deploy.yml", dict(extra, deploy_image_tag="v2"))
    control(endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": 1.0})
    assert release.rc == 0, release.failure_messages() or release.stderr[-3000:]
    outcome = {r["service"]: r for r in release.task_results("Summary | keep the outcome in deploy_releases")[0][
        "ansible_facts"]["deploy_releases"]}
    assert {name: (r["controller"], r["failed"]) for name, r in outcome.items()} == {
        "api": ("ecs", False), "web": ("codedeploy", False)}, outcome
    [started] = [c["time"] for c in release.writes if c["action"] == "CreateDeployment"]
    [updated] = [c["time"] for c in release.writes if c["action"] == "UpdateService"]
    web_done = codedeploy.get_deployment(deploymentId=outcome["web"]["deployment_id"])["deploymentInfo"]["completeTime"]
    assert started < updated < web_done.timestamp(), (started, updated, web_done)
    assert all(r["changed"] and r["live_task_definition"] == r["to"] for r in outcome.values()), outcome

    # Back to CodeDeploy: AWS cannot move an ECS service in place; the run stops before any write.
    back = run_playbook(SITE, {"stack_services": services()})
    assert back.rc != 0 and back.writes == [], back.writes
    assert "stack_services[api].deployment_controller" in " ".join(back.failure_messages()), back.failure_messages()

    destroy = run_playbook("playbooks/destroy.yml", extra)
    assert destroy.rc == 0, destroy.failure_messages() or destroy.stderr[-3000:]
    state = snapshot(boto)
    assert state["ecs_services"] == set() and state["load_balancers"] == set()
    assert "seed-ecs-infrastructure" not in state["iam_roles"]
    assert boto("servicediscovery").list_namespaces()["Namespaces"] == []
    assert_discovery_gone(boto)


@pytest.mark.slow(minutes=4)
def test_a_codedeploy_service_moves_to_ecs_in_place(run_playbook, boto):
    first = run_playbook(SITE, {"stack_services": services()})
    assert first.rc == 0, first.failure_messages() or first.stderr[-3000:]
    assert boto("servicediscovery").list_namespaces()["Namespaces"] == []  # discovery off by default: nothing made

    # Discovery turned on for services made without a registry: refused before any write, naming both and the way out.
    refused = run_playbook(SITE, {"stack_services": services(), **ON})
    assert refused.rc != 0
    assert refused.writes == []
    message = " ".join(refused.failure_messages())
    assert "stack_service_discovery is enabled but the ECS services ['api', 'web']" in message
    assert "delete-service" in message

    ecs = boto("ecs")
    before = ecs.describe_services(cluster="seed", services=["api"])["services"][0]
    assert before["deploymentController"] == {"type": "CODE_DEPLOY"}

    moved = run_playbook(SITE, {"stack_services": ECS_API, **NO_CD_CONFIG})
    assert moved.rc == 0, moved.failure_messages() or moved.stderr[-3000:]
    after = ecs.describe_services(cluster="seed", services=["api"])["services"][0]
    assert after["deploymentController"] == {"type": "ECS"}
    assert after["serviceArn"] == before["serviceArn"] and after["createdAt"] == before["createdAt"]  # the same service
    assert after["deploymentConfiguration"]["strategy"] == "CANARY"
    groups = boto("codedeploy").list_deployment_groups(applicationName="seed")["deploymentGroups"]
    assert groups == ["seed-web"], groups

    again = run_playbook(SITE, {"stack_services": ECS_API, **NO_CD_CONFIG})
    assert again.rc == 0 and again.changed == 0, again.failure_messages() or again.stats

    # Service discovery turned on afterwards: the CODE_DEPLOY service web cannot be given its registry in place and
    # stops the run before any write; api, released by ECS, is not named (UpdateService may give it its registry).
    discovery = {"stack_services": ECS_API, **NO_CD_CONFIG, **ON}
    refused = run_playbook(SITE, discovery)
    assert refused.rc != 0 and refused.writes == [], refused.writes
    assert "the ECS services ['web'] of cluster seed" in " ".join(refused.failure_messages()), refused.failure_messages()
    # As the message says: delete web, converge again. web is made with its registry, api is given its own in place.
    ecs.delete_service(cluster="seed", service="web", force=True)
    registered = run_playbook(SITE, discovery)
    assert registered.rc == 0, registered.failure_messages() or registered.stderr[-3000:]
    registries = {s["Name"]: s["Arn"] for s in boto("servicediscovery").list_services()["Services"]}
    api, web = ecs.describe_services(cluster="seed", services=["api", "web"])["services"]
    assert api["serviceArn"] == before["serviceArn"] and api["deploymentController"] == {"type": "ECS"}
    assert api["serviceRegistries"] == [{"registryArn": registries["api"]}]
    assert web["serviceRegistries"] == [{"registryArn": registries["web"]}]
    assert [c for c in registered.writes if c["action"] == "UpdateService"], registered.writes
