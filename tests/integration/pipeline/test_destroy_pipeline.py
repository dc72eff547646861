"""playbooks/destroy.yml removes what playbooks/pipeline.yml converged: the pipeline, its CodeBuild project,
both roles, the build log group and the artifact bucket, besides the stack's own
resources; --check first writes nothing, and a second destroy (no pipeline left) changes nothing."""

from __future__ import annotations

import pytest

from tests.integration.pipeline.test_pipeline_role import BUCKET, PLAYBOOK, inventory

DESTROY = "playbooks/destroy.yml"


@pytest.mark.slow(minutes=3)
def test_destroy_removes_the_pipeline_and_what_it_created(run_playbook, boto):
    empty = inventory(boto)
    up = run_playbook(PLAYBOOK)
    assert up.rc == 0, up.failure_messages() or up.stdout[-3000:]
    converged = inventory(boto)
    assert converged["pipelines"] == ["seed"] and converged["projects"] == ["seed-release"]
    assert BUCKET in converged["buckets"] and {"seed-codebuild", "seed-codepipeline"} <= set(converged["roles"])

    check = run_playbook(DESTROY, check=True)
    assert check.rc == 0, check.failure_messages() or check.stdout[-3000:]
    assert check.writes == []
    [report] = check.task_results("seed.fargate.pipeline : Report what --check cannot run "
                                  "(community.aws.codebuild_project and codepipeline have no check mode)")
    assert report["changed"] is True and "seed: True" in report["msg"] and "seed-release: True" in report["msg"]
    assert inventory(boto) == converged

    gone = run_playbook(DESTROY)
    assert gone.rc == 0, gone.failure_messages() or gone.stdout[-3000:]
    writes = [c["action"] for c in gone.writes]
    assert "DeletePipeline" in writes and "DeleteProject" in writes
    left = inventory(boto)
    assert (left["pipelines"], left["projects"]) == ([], [])
    assert left == empty

    # Nothing of the pipeline left (as on a stack whose pipeline role never ran): reads only.
    again = run_playbook(DESTROY)
    assert again.rc == 0, again.failure_messages()
    assert again.changed == 0 and again.writes == []
