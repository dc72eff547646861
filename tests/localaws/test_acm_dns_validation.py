"""ACM DNS validation on the local endpoint (localaws/patches/acm.py): a DNS-validated certificate stays
PENDING_VALIDATION until its validation CNAMEs exist in a public hosted zone, then becomes ISSUED; records per
domain (the wildcard sharing its base domain's); InUseBy and ResourceInUseException on delete; checked against
botocore's model and its own waiter."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.localaws.conftest import control

SCALE = 0.2  # real seconds per AWS minute: issuance 1 AWS minute after the records are seen = 0.2 s


@pytest.fixture
def acm(boto, endpoint):
    control(endpoint, "/_localaws/codedeploy/time-scale", {"secondsPerMinute": SCALE})
    return boto("acm")


def _zone(boto, name: str, private: bool = False) -> str:
    kwargs = {"HostedZoneConfig": {"PrivateZone": True}, "VPC": {"VPCRegion": "us-east-1", "VPCId": _vpc(boto)}} if private else {}
    return boto("route53").create_hosted_zone(Name=name, CallerReference=f"{name}{time.time()}", **kwargs)["HostedZone"]["Id"]


def _vpc(boto) -> str:
    return boto("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]


def _records(acm, arn: str) -> list[dict]:
    """The validation records, once ACM has populated them (a few AWS seconds after the request)."""
    for _attempt in range(100):
        options = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
        if all("ResourceRecord" in o for o in options):
            return [o["ResourceRecord"] for o in options]
        time.sleep(0.02)
    raise AssertionError(f"no ResourceRecord in {options}")


def _write(boto, zone: str, records: list[dict]) -> None:
    unique = {r["Name"]: r for r in records}.values()
    boto("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": r["Name"], "Type": "CNAME", "TTL": 300,
                                                   "ResourceRecords": [{"Value": r["Value"]}]}} for r in unique]})


def test_dns_certificate_is_issued_only_once_its_records_exist(acm, boto):
    arn = acm.request_certificate(DomainName="app.example.com", ValidationMethod="DNS",
                                  SubjectAlternativeNames=["app.example.com", "*.app.example.com", "www.example.com"])["CertificateArn"]
    records = _records(acm, arn)
    cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert cert["Status"] == "PENDING_VALIDATION" and "IssuedAt" not in cert
    assert {o["DomainName"] for o in cert["DomainValidationOptions"]} == {"app.example.com", "*.app.example.com", "www.example.com"}
    assert {o["ValidationStatus"] for o in cert["DomainValidationOptions"]} == {"PENDING_VALIDATION"}
    by_domain = {o["DomainName"]: o["ResourceRecord"] for o in cert["DomainValidationOptions"]}
    assert by_domain["*.app.example.com"] == by_domain["app.example.com"]  # the wildcard shares the base's record
    assert by_domain["www.example.com"]["Name"].endswith(".www.example.com.")
    assert all(r["Type"] == "CNAME" and r["Value"].endswith(".acm-validations.aws.") for r in records)

    # The same domain in the same account: the same record for every certificate.
    other = acm.request_certificate(DomainName="app.example.com", ValidationMethod="DNS")["CertificateArn"]
    assert _records(acm, other) == [by_domain["app.example.com"]]

    # Longer than moto's 60 s would not matter: without the records nothing is issued. A private zone does not count,
    # nor the records of only some of the domains.
    private = _zone(boto, "example.com", private=True)
    _write(boto, private, records)
    zone = _zone(boto, "example.com")
    _write(boto, zone, [by_domain["app.example.com"]])
    time.sleep(10 * SCALE)
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "PENDING_VALIDATION"
    with pytest.raises(WaiterError):
        acm.get_waiter("certificate_validated").wait(CertificateArn=arn, WaiterConfig={"Delay": 1, "MaxAttempts": 2})

    _write(boto, zone, records)
    acm.get_waiter("certificate_validated").wait(CertificateArn=arn, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert cert["Status"] == "ISSUED" and "IssuedAt" in cert
    assert {o["ValidationStatus"] for o in cert["DomainValidationOptions"]} == {"SUCCESS"}
    assert [c["Status"] for c in acm.list_certificates()["CertificateSummaryList"] if c["CertificateArn"] == arn] == ["ISSUED"]


def test_certificate_in_use_by_a_listener_cannot_be_deleted(acm, boto):
    arn = acm.request_certificate(DomainName="api.example.com", ValidationMethod="DNS")["CertificateArn"]
    _write(boto, _zone(boto, "example.com"), _records(acm, arn))
    acm.get_waiter("certificate_validated").wait(CertificateArn=arn, WaiterConfig={"Delay": 1, "MaxAttempts": 20})

    ec2, elbv2 = boto("ec2"), boto("elbv2")
    vpc = _vpc(boto)
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
               for i, z in ((1, "a"), (2, "b"))]
    lb = elbv2.create_load_balancer(Name="tls", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": arn}],
                                     DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == [lb]
    with pytest.raises(ClientError) as err:
        acm.delete_certificate(CertificateArn=arn)
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"

    elbv2.delete_listener(ListenerArn=listener["Listeners"][0]["ListenerArn"])
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == []
    acm.delete_certificate(CertificateArn=arn)
    assert acm.list_certificates()["CertificateSummaryList"] == []


def test_email_validation_keeps_moto_behaviour(acm):
    arn = acm.request_certificate(DomainName="mail.example.com")["CertificateArn"]
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "PENDING_VALIDATION"
