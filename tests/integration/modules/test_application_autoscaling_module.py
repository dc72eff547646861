"""seed.fargate.application_autoscaling against the local endpoint: targets and target tracking policies of several
services in one call, a converged set read in a fixed number of calls, changes only where they differ, a dropped
policy purged, check mode and diff."""

from __future__ import annotations

import pytest
import yaml


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "scaling", "seed.fargate.application_autoscaling": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def result(run):
    return run.task_results("scaling")[0]


def args(cpu=60.0, api_max=6, memory=True):
    def policies(service):
        out = [{"policy_name": f"aas-{service}-cpu", "metric": "ECSServiceAverageCPUUtilization", "target": cpu,
                "scale_in_cooldown": 120, "scale_out_cooldown": 60}]
        if memory:
            out.append({"policy_name": f"aas-{service}-memory", "metric": "ECSServiceAverageMemoryUtilization", "target": 75})
        return out

    return {"service_namespace": "ecs", "scalable_dimension": "ecs:service:DesiredCount", "purge_policies": True,
            "targets": [{"resource_id": "service/aas/api", "min_capacity": 2, "max_capacity": api_max, "target_tracking": policies("api")},
                        {"resource_id": "service/aas/web", "min_capacity": 1, "max_capacity": 4, "target_tracking": policies("web")}]}


@pytest.fixture
def services(boto):
    """The ECS services to scale (Application Auto Scaling refuses targets of missing services)."""
    ecs = boto("ecs")
    ecs.create_cluster(clusterName="aas")
    for name in ("api", "web"):
        td = ecs.register_task_definition(
            family=f"aas-{name}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": name, "image": f"{name}:v1", "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster="aas", serviceName=name, taskDefinition=td, desiredCount=1, launchType="FARGATE")


def live(aas):
    targets = {t["ResourceId"]: (t["MinCapacity"], t["MaxCapacity"])
               for t in aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]}
    policies = {p["PolicyName"]: p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
                for p in aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]}
    return targets, policies


@pytest.mark.usefixtures("services")
def test_targets_and_policies_lifecycle(run_playbook, boto, tmp_path):
    aas = boto("application-autoscaling")
    create = playbook(tmp_path, args())

    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert result(check)["diff"]["before"] == {}

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    assert sorted(c["action"] for c in run.writes) == ["PutScalingPolicy"] * 4 + ["RegisterScalableTarget"] * 2
    targets, policies = live(aas)
    assert targets == {"service/aas/api": (2, 6), "service/aas/web": (1, 4)}
    assert policies == {"aas-api-cpu": 60.0, "aas-api-memory": 75.0, "aas-web-cpu": 60.0, "aas-web-memory": 75.0}

    # Converged: the targets in one call, each target's policies in one; nothing written.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert sorted(c["action"] for c in again.calls) == ["DescribeScalableTargets"] + ["DescribeScalingPolicies"] * 2

    # A new maximum for the api and a new CPU target for both: only those written.
    changed = playbook(tmp_path, args(cpu=50.0, api_max=8), "changed.yml")
    check = run_playbook(changed, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    diff = result(check)["diff"]
    assert diff["before"]["service/aas/api"]["max_capacity"] == 6 and diff["after"]["service/aas/api"]["max_capacity"] == 8
    run = run_playbook(changed)
    assert run.rc == 0, run.failure_messages()
    assert sorted(c["action"] for c in run.writes) == ["PutScalingPolicy"] * 2 + ["RegisterScalableTarget"], run.writes
    assert live(aas)[0]["service/aas/api"] == (2, 8)
    assert live(aas)[1]["aas-web-cpu"] == 50.0

    # A metric no longer described: its policies are deleted.
    dropped = run_playbook(playbook(tmp_path, args(cpu=50.0, api_max=8, memory=False), "dropped.yml"))
    assert dropped.rc == 0, dropped.failure_messages()
    assert sorted(c["action"] for c in dropped.writes) == ["DeleteScalingPolicy"] * 2
    assert sorted(live(aas)[1]) == ["aas-api-cpu", "aas-web-cpu"]


def test_bad_capacities_are_refused_before_any_call(run_playbook, tmp_path):
    bad = args()
    bad["targets"][1]["min_capacity"] = 5
    run = run_playbook(playbook(tmp_path, bad))
    assert run.rc != 0 and run.calls == []
    assert any("service/aas/web: min_capacity 5 must be between 0 and max_capacity 4" in m for m in run.failure_messages())
