"""The endpoint's fault switch (LOCALAWS_FAULT_RATE, /_localaws/faults) and the playbooks under it.

Faults are throttling and HTTP 500 answers in each protocol's error shape, given before
moto sees the call; the playbooks' botocore retry settings (standard mode, 10 attempts,
set once in each playbook's ``environment``) must ride them out without a task retried by hand.
"""

from __future__ import annotations

import json
import urllib.request

import botocore.config
import botocore.exceptions
import pytest

pytestmark = pytest.mark.slow(minutes=6)


def set_faults(endpoint, rate: float, services: list[str] | None = None) -> dict:
    body = {"rate": rate} | ({"services": services} if services is not None else {})
    request = urllib.request.Request(f"{endpoint.url}/_localaws/faults", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.load(resp)


def no_retry_client(endpoint, service: str):
    import boto3

    return boto3.client(service, endpoint_url=endpoint.url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}))


# (client name, signing name the switch filters on, a read, the throttling code of its protocol)
@pytest.mark.parametrize(("client_name", "service", "call", "throttle_codes"), [
    ("ecs", "ecs", lambda c: c.list_clusters(), {"ThrottlingException"}),
    ("ec2", "ec2", lambda c: c.describe_vpcs(), {"RequestLimitExceeded"}),
    ("elbv2", "elasticloadbalancing", lambda c: c.describe_load_balancers(), {"Throttling"}),
    ("logs", "logs", lambda c: c.describe_log_groups(), {"ThrottlingException"}),
])
def test_faults_are_errors_botocore_retries(endpoint, client_name, service, call, throttle_codes):
    set_faults(endpoint, 1.0, [service])
    client = no_retry_client(endpoint, client_name)
    seen = set()
    for _ in range(12):
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            call(client)
        seen.add(caught.value.response["Error"]["Code"])
    # both kinds appear, each in the shape botocore's retry handler recognises
    assert seen == throttle_codes | {"InternalError"}, seen
    faulted = [c for c in endpoint.calls() if c.get("fault")]
    assert len(faulted) == 12 and {c["service"] for c in faulted} == {service}
    # other services are untouched, and rate 0 turns it off
    assert no_retry_client(endpoint, "sns").list_topics()["Topics"] == []
    assert set_faults(endpoint, 0.0) == {"rate": 0.0, "services": [service]}
    call(client)


def test_converge_and_release_at_a_20_percent_fault_rate(endpoint, run_playbook, boto):
    urllib.request.urlopen(urllib.request.Request(
        f"{endpoint.url}/_localaws/codedeploy/time-scale", data=b'{"secondsPerMinute": 0.05}', method="POST",
        headers={"Content-Type": "application/json"}), timeout=10).read()
    set_faults(endpoint, 0.2, [])
    converge = run_playbook("playbooks/site.yml")
    assert converge.rc == 0, converge.failure_messages() or converge.stderr[-3000:]
    assert sum(1 for c in converge.calls if c.get("fault")) > 10

    release = run_playbook("playbooks/deploy.yml", {"deploy_image_tag": "v2"})
    assert release.rc == 0, release.failure_messages() or release.stderr[-3000:]
    assert any(c.get("fault") for c in release.calls)
    set_faults(endpoint, 0.0)  # the test's own reads go unfaulted
    for service in ("api", "web"):
        [svc] = boto("ecs").describe_services(cluster="seed", services=[service])["services"]
        td = boto("ecs").describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        assert td["containerDefinitions"][0]["image"].endswith(":v2"), service

    # at 5 %, a re-converge finds everything in place: no duplicate, nothing to change
    set_faults(endpoint, 0.05)
    again = run_playbook("playbooks/site.yml")
    assert again.rc == 0, again.failure_messages() or again.stderr[-3000:]
    assert again.changed == 0 and [c for c in again.writes if not c.get("fault")] == []
    set_faults(endpoint, 0.0)
    vpcs = boto("ec2").describe_vpcs(Filters=[{"Name": "tag:stack", "Values": ["seed"]}])["Vpcs"]
    assert len(vpcs) == 1
