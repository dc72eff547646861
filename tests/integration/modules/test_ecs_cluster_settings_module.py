"""seed.fargate.ecs_cluster_settings against the local endpoint: Container Insights and the tags read in one
DescribeClusters call, written only where they differ, check mode and diff writing nothing, tags left alone when not
given, and a cluster still to be made under --check."""

from __future__ import annotations

import yaml


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "settings", "seed.fargate.ecs_cluster_settings": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def actions(calls):
    return sorted(c["action"] for c in calls)


def test_settings_and_tags(run_playbook, boto, tmp_path):
    ecs = boto("ecs")
    # --check for a cluster an earlier task would make: everything still to set, nothing written.
    planned = run_playbook(playbook(tmp_path, {"cluster": "t", "container_insights": "enabled", "tags": {"stack": "t"}},
                                    "planned.yml"), check=True, diff=True)
    assert planned.rc == 0 and planned.changed == 1 and planned.writes == [], planned.failure_messages()
    assert planned.task_results("settings")[0]["diff"]["after"]["tags"] == {"stack": "t"}

    arn = ecs.create_cluster(clusterName="t", tags=[{"key": "old", "value": "1"}])["cluster"]["clusterArn"]
    converge = playbook(tmp_path, {"cluster": "t", "container_insights": "enabled", "tags": {"stack": "t", "n": 2}})
    check = run_playbook(converge, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    diff = check.task_results("settings")[0]["diff"]
    assert diff["before"]["tags"] == {"old": "1"} and diff["after"]["tags"] == {"stack": "t", "n": "2"}

    run = run_playbook(converge)
    assert run.rc == 0, run.failure_messages()
    assert actions(run.writes) == ["TagResource", "UntagResource", "UpdateCluster"]
    assert {t["key"]: t["value"] for t in ecs.list_tags_for_resource(resourceArn=arn)["tags"]} == {"stack": "t", "n": "2"}

    # Converged: one read for the settings and the tags together.
    again = run_playbook(converge)
    assert again.rc == 0 and again.changed == 0 and actions(again.calls) == ["DescribeClusters"]

    # Without purge_tags a tag added out of band stays; without tags they are left alone.
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "extra", "value": "x"}])
    keep = run_playbook(playbook(tmp_path, {"cluster": "t", "container_insights": "enabled", "tags": {"stack": "t"},
                                            "purge_tags": False}, "keep.yml"))
    assert keep.changed == 0 and keep.writes == []
    alone = run_playbook(playbook(tmp_path, {"cluster": "t", "container_insights": "enabled"}, "alone.yml"))
    assert alone.changed == 0 and alone.writes == []
    purge = run_playbook(converge)
    assert actions(purge.writes) == ["UntagResource"]


def test_create_and_capacity_providers(run_playbook, boto, tmp_path):
    ecs = boto("ecs")
    args = {"cluster": "c", "create": True, "container_insights": "enabled", "tags": {"stack": "c"},
            "capacity_providers": ["FARGATE", "FARGATE_SPOT"],
            "default_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1}]}
    converge = playbook(tmp_path, args)

    # --check on nothing: the cluster to make, no ARN, nothing written.
    check = run_playbook(converge, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == [], check.failure_messages()
    assert check.task_results("settings")[0]["cluster_arn"] is None
    assert check.task_results("settings")[0]["diff"]["after"]["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]

    # Made in one call with everything; then one read and nothing else.
    run = run_playbook(converge)
    assert run.rc == 0, run.failure_messages()
    assert actions(run.writes) == ["CreateCluster"]
    cluster = ecs.describe_clusters(clusters=["c"], include=["SETTINGS", "TAGS"])["clusters"][0]
    assert run.task_results("settings")[0]["cluster_arn"] == cluster["clusterArn"]
    assert sorted(cluster["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert cluster["defaultCapacityProviderStrategy"][0]["capacityProvider"] == "FARGATE"
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert cluster["tags"] == [{"key": "stack", "value": "c"}]
    again = run_playbook(converge)
    assert again.rc == 0 and again.changed == 0 and actions(again.calls) == ["DescribeClusters"]

    # The strategy changes: check mode shows it; then one PutClusterCapacityProviders.
    spot = playbook(tmp_path, args | {"default_capacity_provider_strategy": [
        {"capacity_provider": "FARGATE_SPOT", "weight": 2, "base": 1}]}, "spot.yml")
    check = run_playbook(spot, check=True, diff=True)
    assert check.changed == 1 and check.writes == []
    assert check.task_results("settings")[0]["diff"]["after"]["default_capacity_provider_strategy"] == [
        {"capacityProvider": "FARGATE_SPOT", "weight": 2, "base": 1}]
    run = run_playbook(spot)
    assert actions(run.writes) == ["PutClusterCapacityProviders"]
    strategy = ecs.describe_clusters(clusters=["c"])["clusters"][0]["defaultCapacityProviderStrategy"]
    assert strategy == [{"capacityProvider": "FARGATE_SPOT", "weight": 2, "base": 1}]
    assert run_playbook(spot).changed == 0

    # Without create a missing cluster is an error, not a new cluster.
    missing = run_playbook(playbook(tmp_path, {"cluster": "nope", "container_insights": "enabled"}, "missing.yml"))
    assert missing.rc != 0 and missing.writes == []
