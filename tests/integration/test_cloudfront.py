"""CloudFront in front of the load balancer (stack_cloudfront), against the local endpoint: --check on a new stack,
the converge (distribution, behaviours and managed policies, the secret origin header, the load balancer open to
CloudFront's prefix list only, the listener refusing requests without the header), in sync on the next converge and
under --check --diff, the invalidation after a release of the web service, teardown, and bad inputs refused before
any AWS write. A second endpoint with the data plane's load balancer (no tasks) answers real requests on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
import yaml

from localaws import LocalAWS
from tests.conftest import REGION, ROOT, PlaybookRun, playbook_env

SITE, DEPLOY, DESTROY = "playbooks/site.yml", "playbooks/deploy.yml", "playbooks/destroy.yml"
PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/seed/a1b2c3d4-5678-90ab-cdef-111111111111"
CLOUDFRONT = {"stack_cloudfront": {"enabled": True, "price_class": "PriceClass_100", "web_acl_arn": WEB_ACL}}
# The first test's stack has one service on each release controller: web (the default route, whose production rule is
# the origin header's rule with CloudFront in front) released by ECS itself, api by CodeDeploy.
_API, _WEB = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())["stack_services"]
MIXED = dict(CLOUDFRONT, stack_services=[_API, dict(_WEB, deployment_controller="ecs",
                                                    ecs_deployment={"strategy": "BLUE_GREEN", "bake_time_minutes": 0})])

pytestmark = pytest.mark.slow(minutes=9)


def ok(run: PlaybookRun) -> PlaybookRun:
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    return run


def in_sync(run: PlaybookRun) -> None:
    ok(run)
    changed = [t["task"]["name"] for p in run.plays for t in p["tasks"] if any(h.get("changed") for h in t["hosts"].values())]
    assert run.changed == 0 and run.writes == [], (changed, run.writes)


def distributions(boto) -> list[dict]:
    return boto("cloudfront").list_distributions()["DistributionList"].get("Items", [])


def production_listener(boto) -> tuple[dict, list[dict]]:
    elbv2 = boto("elbv2")
    [lb] = [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == "seed"]
    [listener] = [li for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"] if li["Port"] == 80]
    return listener, elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]


def origin_secret(rules: list[dict]) -> str:
    values = {c["HttpHeaderConfig"]["HttpHeaderName"]: c["HttpHeaderConfig"]["Values"][0]
              for r in rules for c in r["Conditions"] if c["Field"] == "http-header"}
    assert list(values) == ["X-Origin-Verify"], values
    return values["X-Origin-Verify"]


def alb_ingress(boto) -> list[dict]:
    [group] = boto("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": ["seed-alb"]}])["SecurityGroups"]
    return group["IpPermissions"]


def test_cloudfront_converges_stays_in_sync_invalidates_after_a_web_release_and_goes(run_playbook, boto):
    cloudfront, ec2 = boto("cloudfront"), boto("ec2")
    [prefix_list] = ec2.describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [PREFIX_LIST]}])["PrefixLists"]

    # A dry run of a stack that does not exist yet: the distribution is planned, nothing written.
    dry = ok(run_playbook(SITE, MIXED, check=True, diff=True))
    assert dry.writes == [] and dry.task_results("seed.fargate.cloudfront : Distribution | converge it in front of the load balancer "
                                                 "(static content cached, API passed through)")[0]["changed"]

    run = ok(run_playbook(SITE, MIXED))
    [summary] = distributions(boto)
    got = cloudfront.get_distribution(Id=summary["Id"])["Distribution"]
    config = got["DistributionConfig"]
    listener, rules = production_listener(boto)
    secret = origin_secret(rules)
    assert secret not in run.stdout and secret not in run.stderr  # no_log everywhere

    # The origin: the load balancer, with the secret header the listener checks.
    [lb] = [lb for lb in boto("elbv2").describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == "seed"]
    [origin] = config["Origins"]["Items"]
    assert origin["DomainName"] == lb["DNSName"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "http-only"  # no certificate on this stack
    assert origin["CustomHeaders"]["Items"] == [{"HeaderName": "X-Origin-Verify", "HeaderValue": secret}]
    # The web service's static content cached at the edge; /api/* passed through, uncached, all methods.
    default = config["DefaultCacheBehavior"]
    assert (default["CachePolicyId"], default["ViewerProtocolPolicy"]) == (CACHING_OPTIMIZED, "redirect-to-https")
    [api] = config["CacheBehaviors"]["Items"]
    assert api["PathPattern"] == "/api/*"
    assert (api["CachePolicyId"], api["OriginRequestPolicyId"]) == (CACHING_DISABLED, ALL_VIEWER_EXCEPT_HOST)
    assert sorted(api["AllowedMethods"]["Items"]) == ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    assert api["ViewerProtocolPolicy"] == "redirect-to-https"
    assert (config["PriceClass"], config["WebACLId"], config["Enabled"]) == ("PriceClass_100", WEB_ACL, True)
    tags = {t["Key"]: t["Value"] for t in cloudfront.list_tags_for_resource(Resource=got["ARN"])["Tags"]["Items"]}
    assert tags["stack"] == "seed"

    # The load balancer: open to CloudFront's prefix list only, on the production port.
    ingress = alb_ingress(boto)
    assert [(p["FromPort"], [x["PrefixListId"] for x in p["PrefixListIds"]], p["IpRanges"]) for p in ingress] == [
        (80, [prefix_list["PrefixListId"]], [])]
    # The production listener: every request without the header gets a fixed 403.
    assert listener["DefaultActions"] == [{"Type": "fixed-response", "FixedResponseConfig": {
        "MessageBody": "Forbidden", "StatusCode": "403", "ContentType": "text/plain"}}]
    forwards = {r["Priority"]: [c["Field"] for c in r["Conditions"]] for r in rules if not r["IsDefault"]}
    assert forwards == {"10": ["path-pattern", "http-header"], "50000": ["http-header"]}
    assert all(r["Actions"][0]["Type"] == "forward" for r in rules if not r["IsDefault"])
    # ECS shifts web's production traffic on the origin header's rule (the default action only refuses).
    [web] = boto("ecs").describe_services(cluster="seed", services=["web"])["services"]
    assert web["deploymentController"] == {"type": "ECS"}
    assert web["loadBalancers"][0]["advancedConfiguration"]["productionListenerRule"] == \
        next(r["RuleArn"] for r in rules if r["Priority"] == "50000")

    in_sync(run_playbook(SITE, MIXED))
    in_sync(run_playbook(SITE, MIXED, check=True, diff=True))
    assert origin_secret(production_listener(boto)[1]) == secret  # kept

    # A release of the web service invalidates its entry page (once per deployment); the API's does not.
    release = ok(run_playbook(DEPLOY, dict(MIXED, deploy_image_tag="v2", deploy_service="web")))
    [invalidation] = cloudfront.list_invalidations(DistributionId=summary["Id"])["InvalidationList"]["Items"]
    batch = cloudfront.get_invalidation(DistributionId=summary["Id"], Id=invalidation["Id"])["Invalidation"]["InvalidationBatch"]
    assert batch["Paths"]["Items"] == ["/index.html"]
    assert batch["CallerReference"] == release.task_results("Summary | keep the outcome in deploy_releases")[0][
        "ansible_facts"]["deploy_releases"][0]["deployment_id"]
    ok(run_playbook(DEPLOY, dict(MIXED, deploy_image_tag="v2", deploy_service="api")))
    assert len(cloudfront.list_invalidations(DistributionId=summary["Id"])["InvalidationList"]["Items"]) == 1
    # Both releases made the green groups live; a converge keeps them (ECS's weights on the origin header's rule too).
    in_sync(run_playbook(SITE, MIXED))

    # Teardown: disabled, deployed, deleted, before the load balancer and its security group.
    ok(run_playbook(DESTROY, MIXED))
    assert distributions(boto) == []
    assert boto("elbv2").describe_load_balancers()["LoadBalancers"] == []


def test_turned_on_for_a_stack_then_off_the_distribution_goes_and_the_load_balancer_opens_again(run_playbook, boto):
    ok(run_playbook(SITE))
    assert distributions(boto) == []
    ok(run_playbook(SITE, CLOUDFRONT))
    assert len(distributions(boto)) == 1
    listener, rules = production_listener(boto)
    assert listener["DefaultActions"][0]["Type"] == "fixed-response"
    assert sorted([c["Field"] for c in r["Conditions"]] for r in rules if not r["IsDefault"]) == [
        ["http-header"], ["path-pattern", "http-header"]]
    ok(run_playbook(SITE, {"stack_cloudfront": {"enabled": False}}))
    assert distributions(boto) == []
    listener, rules = production_listener(boto)
    assert listener["DefaultActions"][0]["Type"] == "forward"
    assert [c["Field"] for r in rules for c in r["Conditions"]] == ["path-pattern"]
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]], p["PrefixListIds"]) for p in alb_ingress(boto)] == [
        (80, ["0.0.0.0/0"], [])]


USER_CERTIFICATE = f"arn:aws:acm:{REGION}:123456789012:certificate/a1b2c3d4-5678-90ab-cdef-222222222222"

# Bad inputs: case -> (the stack's variables, what the failure message names).
BAD = {
    "price class not a choice": ({"stack_cloudfront": {"enabled": True, "price_class": "PriceClass_Cheap"}},
                                 "cloudfront_price_class"),
    "regional web ACL": ({"stack_cloudfront": {"enabled": True,
                                               "web_acl_arn": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/y"}},
                         "stack_cloudfront.web_acl_arn"),
    "invalidation path without /": ({"stack_cloudfront": {"enabled": True, "invalidation_paths": ["index.html"]}},
                                    "stack_cloudfront.invalidation_paths"),
    "short origin secret": ({"stack_cloudfront": {"enabled": True, "origin_secret": "short"}},
                            "stack_cloudfront.origin_secret"),
    "header name with a space": ({"stack_cloudfront": {"enabled": True, "origin_header_name": "X Bad"}},
                                 "stack_cloudfront.origin_header_name"),
    "unknown key": ({"stack_cloudfront": {"enabled": True, "cache": "all"}}, "stack_cloudfront"),
    # CloudFront checks the origin's certificate against the name it connects to: the load balancer's *.elb name is in
    # no certificate, so with the user's certificate the user must name the origin.
    "user certificate without an origin name": (
        {"stack_certificate_arn": USER_CERTIFICATE, "stack_cloudfront": {"enabled": True}},
        "stack_cloudfront.origin_domain_name (cloudfront_origin_domain_name) is required with stack_certificate_arn"),
    "user certificate with http-only": (
        {"stack_certificate_arn": USER_CERTIFICATE,
         "stack_cloudfront": {"enabled": True, "origin_domain_name": "origin.example.com", "origin_protocol_policy": "http-only"}},
        "stack_cloudfront.origin_protocol_policy"),
    "user certificate with a wildcard origin name": (
        {"stack_certificate_arn": USER_CERTIFICATE,
         "stack_cloudfront": {"enabled": True, "origin_domain_name": "*.example.com"}},
        "stack_cloudfront.origin_domain_name"),
}


@pytest.fixture(scope="module")
def refused(run_playbook_per_case):
    """Every bad input's site.yml run: one run, a host per input (run_playbook_per_case in tests/conftest.py)."""
    return run_playbook_per_case(SITE, {case: given[0] for case, given in BAD.items()})


@pytest.mark.parametrize("case, message", [(case, given[1]) for case, given in BAD.items()], ids=list(BAD))
def test_bad_inputs_fail_before_any_aws_write(refused, case, message):
    run = refused[case]
    assert run.rc != 0
    assert any(message in m for m in run.failure_messages()), run.failure_messages() or run.stderr[-2000:]
    assert run.writes == []


def test_user_certificate_must_cover_the_origin_name_before_any_aws_write(run_playbook, boto):
    """A read of the certificate (ACM DescribeCertificate) before any write: a name it does not hold is refused, one
    label under its *. name passes the check (the run then goes on; not converged here)."""
    from tests.integration.test_https import self_signed

    pem, key = self_signed("*.example.com")
    certificate = boto("acm").import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
    stack = {"stack_certificate_arn": certificate, "stack_cloudfront": {"enabled": True, "origin_domain_name": "origin.example.org"}}
    run = run_playbook(SITE, stack)
    assert run.rc != 0
    assert any("origin.example.org is not covered by the certificate of the load balancer" in m and "*.example.com" in m
               for m in run.failure_messages()), run.failure_messages()
    assert run.writes == []
    covered = run_playbook(SITE, dict(stack, stack_cloudfront={"enabled": True, "origin_domain_name": "origin.example.com"}),
                           check=True)
    assert [r for r in covered.task_results("seed.fargate.cloudfront : Preflight | the load balancer's certificate covers the origin name")
            if not r.get("failed")], covered.failure_messages()


# ---- real requests: the data plane's load balancer on 127.0.0.1 -------------------------------------------------

@pytest.fixture(scope="module")
def alb_endpoint(tmp_path_factory):
    log = tmp_path_factory.mktemp("localaws-cloudfront") / "server.log"
    with LocalAWS(log_path=log, env={"LOCALAWS_DATAPLANE": "1", "LOCALAWS_DATAPLANE_ENGINES": "alb"}) as aws:
        yield aws


def get(url: str, headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_the_listener_refuses_requests_without_the_origin_header(alb_endpoint):
    """No tasks run (no target is registered: the services' desired count is 0), so a forwarded request gets the
    load balancer's 503; one without the secret header gets the rule's 403."""
    alb_endpoint.reset()
    services = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())["stack_services"]
    for svc in services:
        svc.update(desired_count=0, min_count=0, max_count=1)
    env = playbook_env(dict(os.environ, **alb_endpoint.environment(REGION)))
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "inventories/local", SITE,
           "-e", json.dumps(dict(CLOUDFRONT, stack_services=services))]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    elbv2 = session.client("elbv2", endpoint_url=alb_endpoint.url)
    [lb] = elbv2.describe_load_balancers()["LoadBalancers"]
    [listener] = [li for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"] if li["Port"] == 80]
    secret = origin_secret(elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"])
    with urllib.request.urlopen(alb_endpoint.url + "/_localaws/dataplane/listeners", timeout=10) as resp:
        [url] = [li["localUrl"] for li in json.loads(resp.read()) if li["listenerArn"] == listener["ListenerArn"]]

    assert get(url + "/") == (403, "Forbidden")
    assert get(url + "/api/health") == (403, "Forbidden")
    assert get(url + "/api/health", {"X-Origin-Verify": "not-the-secret"}) == (403, "Forbidden")
    assert get(url + "/", {"X-Origin-Verify": secret})[0] == 503  # forwarded to web's (empty) target group
    assert get(url + "/api/health", {"X-Origin-Verify": secret})[0] == 503
