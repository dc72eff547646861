"""stack_domain together with stack_cloudfront (the seed.fargate.domain and seed.fargate.cloudfront roles), in a region
other than us-east-1: the distribution answers at the domain's names with a certificate requested in us-east-1, the
alias records point at the distribution; in sync; CloudFront turned off moves them back to the load balancer; destroy
leaves the zone as it was. Its own file (not test_domain.py) so that the two run on different workers."""

from __future__ import annotations

import boto3
import pytest

from tests.integration.test_domain import DESTROY, DOMAIN, SITE, in_sync, ok, records, zone

pytestmark = pytest.mark.slow(minutes=6)


def names_and_certificates(acm) -> list[tuple]:
    out = []
    for summary in acm.list_certificates()["CertificateSummaryList"]:
        cert = acm.describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"]
        out.append((cert["CertificateArn"], cert["Status"], sorted(cert["SubjectAlternativeNames"])))
    return out


CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"


def test_domain_with_cloudfront_outside_us_east_1_answers_at_the_distribution(run_playbook, boto, endpoint):
    """stack_domain with stack_cloudfront in eu-west-1: the distribution answers at the names with a certificate the
    domain role requested in us-east-1, the alias records point at it; in sync; CloudFront turned off moves them back
    to the load balancer and deletes the us-east-1 certificate; destroy leaves the zone as it was."""
    zone_id = zone(boto)
    before = records(boto, zone_id)
    here = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")

    def regional(service: str):
        return here.client(service, endpoint_url=endpoint.url)

    stack = {**DOMAIN, "stack_region": "eu-west-1", "stack_cloudfront": {"enabled": True}}
    dry = run_playbook(SITE, stack, check=True, diff=True)
    ok(dry)
    assert dry.writes == [], dry.writes
    assert any("to CloudFront distribution seed" in str(r.get("msg")) for r in dry.task_results(
        "seed.fargate.domain : Alias records | under --check, the records that would be created with the target"))

    run = run_playbook(SITE, stack)
    ok(run)
    names = ["*.app.example.com", "app.example.com", "www.app.example.com"]
    [(east_arn, east_status, east_names)] = names_and_certificates(boto("acm"))
    [(eu_arn, eu_status, eu_names)] = names_and_certificates(regional("acm"))
    assert (east_status, east_names, eu_status, eu_names) == ("ISSUED", names, "ISSUED", names)
    # The distribution: the names, the us-east-1 certificate, SNI, TLS 1.2 at least.
    cloudfront = boto("cloudfront")
    [summary] = cloudfront.list_distributions()["DistributionList"]["Items"]
    config = cloudfront.get_distribution(Id=summary["Id"])["Distribution"]["DistributionConfig"]
    assert sorted(config["Aliases"]["Items"]) == names
    certificate = config["ViewerCertificate"]
    assert (certificate["ACMCertificateArn"], certificate["SSLSupportMethod"], certificate["MinimumProtocolVersion"],
            certificate["CloudFrontDefaultCertificate"]) == (east_arn, "sni-only", "TLSv1.2_2021", False)
    # The load balancer's HTTPS listener keeps the regional one.
    [lb] = regional("elbv2").describe_load_balancers()["LoadBalancers"]
    listeners = {li["Port"]: li for li in regional("elbv2").describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert [c["CertificateArn"] for c in listeners[443]["Certificates"]] == [eu_arn]
    # The zone: the validation records (shared by both certificates: same account, same names) and the alias records
    # to the distribution, in CloudFront's zone.
    validation = sorted({(o["ResourceRecord"]["Name"], "CNAME", str([o["ResourceRecord"]["Value"]])) for o in
                         boto("acm").describe_certificate(CertificateArn=east_arn)["Certificate"]["DomainValidationOptions"]})
    aliases = [f"{name}." for name in ("app.example.com", "www.app.example.com")]
    assert records(boto, zone_id) == sorted(before + validation + [
        (name, kind, f"{summary['DomainName']}.") for name in aliases for kind in ("A", "AAAA")])
    alias_zones = {r["AliasTarget"]["HostedZoneId"] for r in boto("route53").list_resource_record_sets(HostedZoneId=zone_id)[
        "ResourceRecordSets"] if "AliasTarget" in r}
    assert alias_zones == {CLOUDFRONT_ZONE}
    summary_lines = run.task_results("Stack summary")[0]["msg"]
    assert f"CloudFront: https://app.example.com (distribution {summary['DomainName']})" in summary_lines

    in_sync(run_playbook(SITE, stack))
    in_sync(run_playbook(SITE, stack, check=True, diff=True))

    # CloudFront off: the aliases back at the load balancer (before the distribution goes), the distribution and the
    # us-east-1 certificate gone, the validation records kept for the regional one.
    off = {**stack, "stack_cloudfront": {"enabled": False}}
    moved = run_playbook(SITE, off)
    ok(moved)
    assert cloudfront.list_distributions()["DistributionList"].get("Items", []) == []
    assert names_and_certificates(boto("acm")) == []
    assert [arn for arn, _s, _n in names_and_certificates(regional("acm"))] == [eu_arn]
    assert records(boto, zone_id) == sorted(before + validation + [
        (name, kind, f"{lb['DNSName'].lower()}.") for name in aliases for kind in ("A", "AAAA")])

    gone = run_playbook(DESTROY, off)
    ok(gone)
    assert records(boto, zone_id) == before
    assert names_and_certificates(boto("acm")) == [] and names_and_certificates(regional("acm")) == []
