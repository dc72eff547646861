"""ecs_service_teardown against the local endpoint: check mode, delete, re-run, missing cluster."""

from __future__ import annotations

PLAYBOOK = "tests/integration/modules/playbooks/ecs_service_teardown.yml"
TASK = "Delete services"


def make_services(boto, cluster: str, names: list[str]) -> None:
    ecs = boto("ecs")
    ecs.create_cluster(clusterName=cluster)
    td = ecs.register_task_definition(
        family="shop-api", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "api", "image": "api:v1", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    for name in names:
        ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=td, desiredCount=2, launchType="FARGATE")


def statuses(boto, cluster: str, names: list[str]) -> dict[str, str]:
    found = boto("ecs").describe_services(cluster=cluster, services=names)["services"]
    return {s["serviceName"]: s["status"] for s in found}


def writes(run):
    return [(c["action"]) for c in run.writes]


def test_teardown_deletes_every_named_service_once(run_playbook, boto):
    make_services(boto, "shop", ["api", "web", "keep"])
    args = {"cluster": "shop", "names": ["api", "web", "missing"]}

    check = run_playbook(PLAYBOOK, args, check=True, diff=True)
    assert check.rc == 0, check.failure_messages() or check.stderr
    [planned] = check.task_results(TASK)
    assert check.changed == 1 and writes(check) == []
    assert sorted(planned["deleted"]) == ["api", "web"]
    assert planned["diff"]["after"] == {"services": []}
    assert statuses(boto, "shop", ["api", "web"]) == {"api": "ACTIVE", "web": "ACTIVE"}

    deleted = run_playbook(PLAYBOOK, args)
    assert deleted.rc == 0, deleted.failure_messages() or deleted.stderr
    assert sorted(deleted.task_results(TASK)[0]["deleted"]) == ["api", "web"]
    assert sorted(writes(deleted)) == ["DeleteService", "DeleteService"]
    assert statuses(boto, "shop", ["api", "web", "keep"]) == {"api": "INACTIVE", "web": "INACTIVE", "keep": "ACTIVE"}
    # the assert task of the playbook proved no service key became a host fact
    assert "reserved name" not in deleted.stdout + deleted.stderr

    again = run_playbook(PLAYBOOK, args)
    assert again.rc == 0 and again.changed == 0 and writes(again) == []


def test_teardown_of_a_missing_cluster_is_a_no_op(run_playbook):
    run = run_playbook(PLAYBOOK, {"cluster": "gone", "names": ["api"]})
    assert run.rc == 0, run.failure_messages() or run.stderr
    assert run.changed == 0 and run.writes == []
