"""One deployed stack serving real traffic, shared by the module's tests (see _stack.py)."""

from __future__ import annotations

import sys

import pytest

from localaws import LocalAWS
from localaws.dataplane.podman import preflight
from tests.integration.dataplane._stack import REGION, ROOT, TIME_SCALE, TRACING, VERSIONS, Stack

sys.path.insert(0, str(ROOT / "tools"))
import demo_images  # the script make demo uses


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    problem = preflight()
    if problem:
        pytest.fail(f"the data plane cannot run here: {problem}")
    try:
        refs = demo_images.build(VERSIONS)
    except demo_images.ImageError as exc:
        pytest.fail(f"building the images failed: {exc}")
    log = tmp_path_factory.mktemp("localaws-dataplane-stack") / "server.log"
    with LocalAWS(log_path=log, env={"LOCALAWS_DATAPLANE": "1", "LOCALAWS_TIME_SCALE": str(TIME_SCALE)}) as aws:
        st = Stack(aws, log)
        st.extra_vars.update(TRACING)
        # In ECR before the services exist, so their first tasks find the images (as CodeBuild
        # pushes before a release); the ecr role then converges the repositories' settings.
        demo_images.push(refs, "seed", endpoint_url=aws.url, region=REGION)
        st.add_secrets()  # in Secrets Manager and SSM before the services exist, as a user creates them
        st.site = st.playbook("playbooks/site.yml")
        assert st.site.rc == 0, st.site.failure_messages() or st.site.stderr[-3000:]
        ports = st.listeners()
        st.production_url, st.test_url = ports[80], ports[9000]
        yield st
