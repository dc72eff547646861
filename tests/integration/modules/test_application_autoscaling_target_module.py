"""application_autoscaling_target against the local endpoint.

Register (check mode first), re-run, update (check mode with --diff first),
suspend scale-in, deregister (check mode first), deregister again. Every step
asserts what changed in AWS and which write calls were made.
"""

from __future__ import annotations

import pytest

PLAYBOOK = "tests/integration/modules/playbooks/application_autoscaling_target.yml"
TASK = "Scalable target"
RESOURCE = "service/shop/api"


@pytest.fixture
def service(boto):
    """An ECS service to scale (Application Auto Scaling rejects targets for missing services)."""
    ecs = boto("ecs")
    ecs.create_cluster(clusterName="shop")
    td = ecs.register_task_definition(
        family="shop-api", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "api", "image": "api:v1", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="shop", serviceName="api", taskDefinition=td, desiredCount=2, launchType="FARGATE")
    return RESOURCE


def targets(boto):
    return boto("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]


def writes(run):
    return [c["action"] for c in run.writes]


def result(run):
    return run.task_results(TASK)[0]


def test_scalable_target_lifecycle(run_playbook, boto, service):
    present = {"resource_id": service, "state": "present", "min_capacity": 2, "max_capacity": 6}

    check = run_playbook(PLAYBOOK, present, check=True)
    assert check.rc == 0, check.failure_messages() or check.stderr
    assert check.changed == 1 and writes(check) == []
    assert targets(boto) == []

    created = run_playbook(PLAYBOOK, present)
    assert created.rc == 0, created.failure_messages() or created.stderr
    assert created.changed == 1 and writes(created) == ["RegisterScalableTarget"]
    [target] = targets(boto)
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (RESOURCE, 2, 6)
    returned = result(created)["scalable_target"]
    assert (returned["resource_id"], returned["min_capacity"], returned["max_capacity"]) == (RESOURCE, 2, 6)
    assert returned["scalable_target_arn"] == target["ScalableTargetARN"]

    again = run_playbook(PLAYBOOK, present)
    assert again.rc == 0 and again.changed == 0 and writes(again) == []

    wider = dict(present, max_capacity=8)
    preview = run_playbook(PLAYBOOK, wider, check=True, diff=True)
    assert preview.rc == 0 and preview.changed == 1 and writes(preview) == []
    diff = result(preview)["diff"]
    assert (diff["before"]["max_capacity"], diff["after"]["max_capacity"]) == (6, 8)
    assert targets(boto)[0]["MaxCapacity"] == 6

    updated = run_playbook(PLAYBOOK, wider)
    assert updated.rc == 0 and updated.changed == 1 and writes(updated) == ["RegisterScalableTarget"]
    assert (targets(boto)[0]["MinCapacity"], targets(boto)[0]["MaxCapacity"]) == (2, 8)
    assert run_playbook(PLAYBOOK, wider).changed == 0

    held = dict(wider, suspend_scale_in=True)
    suspended = run_playbook(PLAYBOOK, held)
    assert suspended.rc == 0 and suspended.changed == 1 and writes(suspended) == ["RegisterScalableTarget"]
    assert targets(boto)[0]["SuspendedState"] == {"DynamicScalingInSuspended": True,
                                                  "DynamicScalingOutSuspended": False,
                                                  "ScheduledScalingSuspended": False}
    settled = run_playbook(PLAYBOOK, held)
    assert settled.changed == 0 and writes(settled) == []

    absent = {"resource_id": service, "state": "absent"}
    remove_check = run_playbook(PLAYBOOK, absent, check=True, diff=True)
    assert remove_check.rc == 0 and remove_check.changed == 1 and writes(remove_check) == []
    assert result(remove_check)["diff"]["after"] == {} and len(targets(boto)) == 1

    removed = run_playbook(PLAYBOOK, absent)
    assert removed.rc == 0 and removed.changed == 1 and writes(removed) == ["DeregisterScalableTarget"]
    assert targets(boto) == []
    assert result(removed)["scalable_target"] == {}

    twice = run_playbook(PLAYBOOK, absent)
    assert twice.rc == 0 and twice.changed == 0 and writes(twice) == []


def test_aws_rejection_is_reported(run_playbook, boto, service):
    """A target for a service that does not exist: AWS's validation error reaches the user."""
    run = run_playbook(PLAYBOOK, {"resource_id": "service/shop/missing", "state": "present",
                                  "min_capacity": 1, "max_capacity": 2})
    assert run.rc != 0
    [message] = run.failure_messages()
    assert "Failed to register scalable target ecs service/shop/missing" in message
    assert targets(boto) == []


def test_min_above_max_fails_without_a_write(run_playbook, service):
    run = run_playbook(PLAYBOOK, {"resource_id": service, "state": "present", "min_capacity": 5, "max_capacity": 2})
    assert run.rc != 0
    assert any("must not exceed max_capacity" in m for m in run.failure_messages())
    assert writes(run) == []
