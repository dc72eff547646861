"""stack_domain together with stack_cloudfront (the seed.fargate.domain and seed.fargate.cloudfront roles), in a region
other than us-east-1: the distribution answers at the domain's names with a certificate requested in us-east-1, the
alias records point at the distribution; CloudFront connects to the load balancer over HTTPS by an origin name that the
listener's certificate holds and that points at the load balancer; in sync; CloudFront turned off moves the names back
to the load balancer and takes the origin name off; destroy leaves the zone as it was. Its own file (not
test_domain.py) so that the two run on different workers."""

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
# Not under *.app.example.com, so the load balancer's certificate gets it as a name of its own.
ORIGIN = "origin-app.example.com"


def covers(names: list[str], host: str) -> bool:
    """A certificate's names cover host as TLS clients check it (RFC 6125: a *. name matches one label)."""
    return host in names or f"*.{host.split('.', 1)[1]}" in names


def validation_records(acm, arn: str) -> set[tuple]:
    return {(o["ResourceRecord"]["Name"], "CNAME", str([o["ResourceRecord"]["Value"]]))
            for o in acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]}


def test_domain_with_cloudfront_outside_us_east_1_answers_at_the_distribution(run_playbook, boto, endpoint):
    """stack_domain with stack_cloudfront in eu-west-1: the distribution answers at the names with a certificate the
    domain role requested in us-east-1, the alias records point at it; in sync; CloudFront turned off moves them back
    to the load balancer and deletes the us-east-1 certificate; destroy leaves the zone as it was."""
    zone_id = zone(boto)
    before = records(boto, zone_id)
    here = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")

    def regional(service: str):
        return here.client(service, endpoint_url=endpoint.url)

    stack = {**DOMAIN, "stack_region": "eu-west-1", "stack_cloudfront": {"enabled": True, "origin_domain_name": ORIGIN}}
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
    # The load balancer's certificate holds the origin name too; CloudFront's (us-east-1) only the viewers' names.
    assert (east_status, east_names, eu_status, eu_names) == ("ISSUED", names, "ISSUED", sorted(names + [ORIGIN]))
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
    # The origin: CloudFront connects over HTTPS by the origin name, which the listener's certificate covers (CloudFront
    # checks the origin's certificate against the name it connects to; the load balancer's *.elb name is in none).
    [origin] = config["Origins"]["Items"]
    assert (origin["DomainName"], origin["CustomOriginConfig"]["OriginProtocolPolicy"]) == (ORIGIN, "https-only")
    [listener_certificate] = [c["CertificateArn"] for c in listeners[443]["Certificates"]]
    listener_names = regional("acm").describe_certificate(CertificateArn=listener_certificate)["Certificate"]["SubjectAlternativeNames"]
    assert covers(listener_names, origin["DomainName"]), (origin["DomainName"], listener_names)
    assert not covers(listener_names, lb["DNSName"].lower())
    # The zone: the validation records (shared by both certificates: same account, same names) and the alias records
    # to the distribution, in CloudFront's zone.
    # to the distribution, in CloudFront's zone; the origin name's validation record and its alias records to the
    # load balancer, in the load balancer's zone.
    validation = sorted(validation_records(boto("acm"), east_arn))
    origin_validation = sorted(validation_records(regional("acm"), eu_arn) - set(validation))
    assert len(origin_validation) == 1
    aliases = [f"{name}." for name in ("app.example.com", "www.app.example.com")]
    origin_records = [(f"{ORIGIN}.", kind, f"{lb['DNSName'].lower()}.") for kind in ("A", "AAAA")]
    assert records(boto, zone_id) == sorted(before + validation + origin_validation + origin_records + [
        (name, kind, f"{summary['DomainName']}.") for name in aliases for kind in ("A", "AAAA")])
    alias_zones = {r["Name"]: r["AliasTarget"]["HostedZoneId"] for r in boto("route53").list_resource_record_sets(
        HostedZoneId=zone_id)["ResourceRecordSets"] if "AliasTarget" in r}
    assert alias_zones == {**{name: CLOUDFRONT_ZONE for name in aliases}, f"{ORIGIN}.": lb["CanonicalHostedZoneId"]}
    summary_lines = run.task_results("Stack summary")[0]["msg"]
    assert f"CloudFront: https://app.example.com (distribution {summary['DomainName']})" in summary_lines

    in_sync(run_playbook(SITE, stack))
    in_sync(run_playbook(SITE, stack, check=True, diff=True))

    # CloudFront off: the aliases back at the load balancer (before the distribution goes), the distribution and the
    # us-east-1 certificate gone, the validation records kept for the regional one; the origin name off the load
    # balancer's certificate (a new one on the listener, the old one deleted), its records gone.
    off = {**stack, "stack_cloudfront": {"enabled": False, "origin_domain_name": ORIGIN}}
    moved = run_playbook(SITE, off)
    ok(moved)
    assert cloudfront.list_distributions()["DistributionList"].get("Items", []) == []
    assert names_and_certificates(boto("acm")) == []
    [(eu_arn_off, eu_status_off, eu_names_off)] = names_and_certificates(regional("acm"))
    assert (eu_arn_off != eu_arn, eu_status_off, eu_names_off) == (True, "ISSUED", names)
    listeners = {li["Port"]: li for li in regional("elbv2").describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert [c["CertificateArn"] for c in listeners[443]["Certificates"]] == [eu_arn_off]
    assert records(boto, zone_id) == sorted(before + validation + [
        (name, kind, f"{lb['DNSName'].lower()}.") for name in aliases for kind in ("A", "AAAA")])

    gone = run_playbook(DESTROY, off)
    ok(gone)
    assert records(boto, zone_id) == before
    assert names_and_certificates(boto("acm")) == [] and names_and_certificates(regional("acm")) == []
