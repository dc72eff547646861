"""A domain name for the stack (stack_domain, the seed.fargate.domain role) against the local endpoint: an ACM
certificate requested with DNS validation, its validation records written to an existing hosted zone, the HTTPS
listener on it once issued, alias A and AAAA records to the load balancer; in sync on the next converge and under
--check --diff (on a new stack too, writing nothing); destroy.yml leaving the zone as it was; bad inputs refused
before any AWS write, naming the variable."""

from __future__ import annotations

import time

import pytest

SITE, DESTROY = "playbooks/site.yml", "playbooks/destroy.yml"
ZONE = "example.com"
DOMAIN = {"stack_domain": "app.example.com", "stack_domain_hosted_zone": ZONE,
          "stack_domain_alternative_names": ["www.app.example.com", "*.app.example.com"],
          "domain_certificate_poll_interval": 1}

pytestmark = pytest.mark.slow(minutes=4)


def ok(run) -> None:
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]


def in_sync(run) -> None:
    ok(run)
    changed = [t["task"]["name"] for p in run.plays for t in p["tasks"] if any(h.get("changed") for h in t["hosts"].values())]
    assert run.changed == 0 and run.writes == [], (changed, run.writes)


def zone(boto, name: str = ZONE) -> str:
    """A public hosted zone with records of its own (which nothing of the stack may touch)."""
    route53 = boto("route53")
    zone_id = route53.create_hosted_zone(Name=name, CallerReference=f"{name}-{time.time()}")["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": f"www.{name}.", "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": "192.0.2.10"}]}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": f"{name}.", "Type": "MX", "TTL": 60,
                                                   "ResourceRecords": [{"Value": "10 mail.example.net."}]}}]})
    return zone_id


def records(boto, zone_id: str) -> list[tuple]:
    out = []
    for r in boto("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
        target = r["AliasTarget"]["DNSName"] if "AliasTarget" in r else sorted(v["Value"] for v in r.get("ResourceRecords", []))
        out.append((r["Name"], r["Type"], str(target)))
    return sorted(out)


def load_balancer(boto) -> dict:
    [lb] = [lb for lb in boto("elbv2").describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == "seed"]
    return lb


def test_domain_certificate_listener_aliases_in_sync_and_teardown(run_playbook, boto):
    zone_id = zone(boto)
    before = records(boto, zone_id)

    # --check on a stack that does not exist yet: the certificate and the records reported, nothing written.
    dry = run_playbook(SITE, DOMAIN, check=True, diff=True)
    ok(dry)
    assert dry.writes == [], dry.writes
    assert boto("acm").list_certificates()["CertificateSummaryList"] == []

    run = run_playbook(SITE, DOMAIN)
    ok(run)
    acm = boto("acm")
    [summary] = acm.list_certificates()["CertificateSummaryList"]
    cert = acm.describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"]
    assert cert["Status"] == "ISSUED"
    assert sorted(cert["SubjectAlternativeNames"]) == ["*.app.example.com", "app.example.com", "www.app.example.com"]
    tags = {t["Key"]: t.get("Value") for t in acm.list_tags_for_certificate(CertificateArn=cert["CertificateArn"])["Tags"]}
    assert tags["Name"] == "seed-domain" and tags["stack"] == "seed"

    # The HTTPS listener uses it; 443 opens on the load balancer's security group.
    lb = load_balancer(boto)
    listeners = {li["Port"]: li for li in boto("elbv2").describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert sorted(listeners) == [80, 443, 9000]
    assert [c["CertificateArn"] for c in listeners[443]["Certificates"]] == [cert["CertificateArn"]]
    assert cert["InUseBy"] == [lb["LoadBalancerArn"]]

    # The zone: what it had, one validation CNAME per distinct record (the wildcard shares app's), and alias A + AAAA
    # for the names without a wildcard, to the load balancer.
    validation = {o["ResourceRecord"]["Name"]: o["ResourceRecord"]["Value"] for o in cert["DomainValidationOptions"]}
    assert len(validation) == 2
    alias = f"{lb['DNSName'].lower()}."
    expected = sorted(before + [(name, "CNAME", str([value])) for name, value in validation.items()]
                      + [(f"{name}.", kind, alias) for name in ("app.example.com", "www.app.example.com") for kind in ("A", "AAAA")])
    assert records(boto, zone_id) == expected
    [a_record] = [r for r in boto("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
                  if r["Name"] == "app.example.com." and r["Type"] == "A"]
    assert a_record["AliasTarget"]["HostedZoneId"] == lb["CanonicalHostedZoneId"]

    in_sync(run_playbook(SITE, DOMAIN))
    in_sync(run_playbook(SITE, DOMAIN, check=True, diff=True))

    # Other names: a new certificate on the listener, the old one deleted with the records only it needed (www's
    # validation CNAME and alias records); the wildcard's validation record is app's, which stays.
    fewer = {**DOMAIN, "stack_domain_alternative_names": ["*.app.example.com"]}
    moved = run_playbook(SITE, fewer)
    ok(moved)
    [summary] = acm.list_certificates()["CertificateSummaryList"]
    assert summary["CertificateArn"] != cert["CertificateArn"]
    listeners = {li["Port"]: li for li in boto("elbv2").describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert [c["CertificateArn"] for c in listeners[443]["Certificates"]] == [summary["CertificateArn"]]
    app_record = next(o["ResourceRecord"] for o in cert["DomainValidationOptions"] if o["DomainName"] == "app.example.com")
    assert records(boto, zone_id) == sorted(before + [(app_record["Name"], "CNAME", str([app_record["Value"]]))]
                                            + [("app.example.com.", kind, alias) for kind in ("A", "AAAA")])
    in_sync(run_playbook(SITE, fewer))

    # Teardown: the zone as it was before, no certificate left, the zone itself kept.
    gone = run_playbook(DESTROY, fewer)
    ok(gone)
    assert records(boto, zone_id) == before
    assert acm.list_certificates()["CertificateSummaryList"] == []
    in_sync(run_playbook(DESTROY, fewer))


def test_domain_certificate_is_issued_only_after_its_records_are_written(run_playbook, boto):
    """The converge's own order, read from the endpoint's call log: the records written, then the certificate issued,
    then the listener created with it."""
    zone(boto)
    run = run_playbook(SITE, {**DOMAIN, "stack_domain_alternative_names": []})
    ok(run)
    # (Route 53's REST calls are logged by path: ChangeResourceRecordSets is a POST to .../rrset/.)
    writes = ["ChangeResourceRecordSets" if c["path"].endswith("/rrset/") else c["action"] for c in run.writes]
    assert writes.index("RequestCertificate") < writes.index("ChangeResourceRecordSets") < writes.index("CreateListener")
    [summary] = boto("acm").list_certificates()["CertificateSummaryList"]
    cert = boto("acm").describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"]
    first_record = run.writes[writes.index("ChangeResourceRecordSets")]
    listener = run.writes[writes.index("CreateListener")]
    assert first_record["time"] <= cert["IssuedAt"].timestamp() <= listener["time"]


# Bad inputs, each with what the failure message says.
BAD = [
    ({"stack_domain": "App.Example.com"}, "domain_name (stack_domain) 'App.Example.com' is not a domain name"),
    ({"stack_domain": "app..example.com"}, "is not a domain name"),
    ({"stack_domain_alternative_names": ["bad_name.example.com"]}, "stack_domain_alternative_names): not domain names"),
    ({"stack_domain_hosted_zone": ""}, "stack_domain_hosted_zone) is empty"),
    ({"stack_domain_alternative_names": ["app.example.org"]}, "outside it: app.example.org"),
    ({"stack_domain_alternative_names": [f"n{i}.example.com" for i in range(10)]}, "at most 9 names"),
    ({"stack_domain_hosted_zone": "not a zone"}, "'not a zone' is neither a hosted zone id"),
    ({"stack_domain_certificate_timeout": 5}, "must be at least 60 seconds"),
    ({"stack_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"},
     "stack_certificate_arn (domain_user_certificate_arn) and stack_domain (domain_name) are both set"),
    ({"stack_domain_hosted_zone": "example.net", "stack_domain": "app.example.net", "stack_domain_alternative_names": []},
     "no public hosted zone example.net"),
    # With CloudFront: an alternate domain name the domain's certificate would not cover; a certificate outside us-east-1.
    ({"stack_cloudfront": {"enabled": True}, "cloudfront_aliases": ["app.example.com", "x.www.app.example.com"]},
     "not covered: x.www.app.example.com"),
    ({"stack_cloudfront": {"enabled": True},
      "cloudfront_certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"},
     "cloudfront_certificate_arn is not the ARN of an ACM certificate in us-east-1"),
    # CloudFront's origin name: one of the domain's names (which point at the distribution), or outside the zone.
    ({"stack_cloudfront": {"enabled": True, "origin_domain_name": "www.app.example.com"}},
     "domain_origin_name (stack_cloudfront.origin_domain_name) 'www.app.example.com'"),
    ({"stack_cloudfront": {"enabled": True, "origin_domain_name": "origin.example.net"}},
     "inside the hosted zone example.com"),
]


@pytest.fixture(scope="module")
def refused(run_playbook_per_case):
    """Every bad input's site.yml run against the zone (zone()): one run, a host per input (run_playbook_per_case in
    tests/conftest.py)."""
    return run_playbook_per_case(SITE, {str(i): {**DOMAIN, **extra} for i, (extra, _message) in enumerate(BAD)}, setup=zone)


@pytest.mark.parametrize(("case", "message"), [(str(i), message) for i, (_extra, message) in enumerate(BAD)])
def test_domain_bad_inputs_fail_before_any_write(refused, case, message):
    run = refused[case]
    assert run.rc != 0
    assert any(message in m for m in run.failure_messages()), run.failure_messages() or run.stderr[-2000:]
    assert run.writes == [], run.writes
