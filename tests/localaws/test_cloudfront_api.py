"""The CloudFront emulation (localaws/patches/cloudfront.py) through boto3 against the real endpoint:
managed policies, propagation (InProgress -> Deployed on the time scale), ETags, delete refused while enabled."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.exceptions import ClientError

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def _config(ref: str, cache_policy: str = CACHING_OPTIMIZED, request_policy: str = ALL_VIEWER_EXCEPT_HOST,
            enabled: bool = True) -> dict:
    return {
        "CallerReference": ref, "Comment": ref, "Enabled": enabled,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "alb", "DomainName": "seed-123.us-east-1.elb.amazonaws.com",
            "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": "s3cret"}]},
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "alb", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": cache_policy},
        "CacheBehaviors": {"Quantity": 1, "Items": [{
            "PathPattern": "/api/*", "TargetOriginId": "alb", "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": CACHING_DISABLED, "OriginRequestPolicyId": request_policy,
            "AllowedMethods": {"Quantity": 7, "Items": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                               "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}}]},
    }


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def test_managed_policies_are_listed_and_read(boto, endpoint):
    cf = boto("cloudfront")
    names = {i["CachePolicy"]["CachePolicyConfig"]["Name"]
             for i in cf.list_cache_policies(Type="managed")["CachePolicyList"]["Items"]}
    assert {"Managed-CachingOptimized", "Managed-CachingDisabled"} <= names
    assert "Items" not in cf.list_cache_policies(Type="custom")["CachePolicyList"]
    disabled = cf.get_cache_policy(Id=CACHING_DISABLED)["CachePolicy"]["CachePolicyConfig"]
    assert (disabled["MinTTL"], disabled["DefaultTTL"], disabled["MaxTTL"]) == (0, 0, 0)
    policy = cf.get_origin_request_policy(Id=ALL_VIEWER_EXCEPT_HOST)["OriginRequestPolicy"]["OriginRequestPolicyConfig"]
    assert policy["HeadersConfig"] == {"HeaderBehavior": "allExcept", "Headers": {"Quantity": 1, "Items": ["host"]}}
    assert policy["CookiesConfig"]["CookieBehavior"] == "all"
    assert policy["QueryStringsConfig"]["QueryStringBehavior"] == "all"
    with pytest.raises(ClientError) as exc:
        cf.get_cache_policy(Id="00000000-0000-0000-0000-000000000000")
    assert _code(exc) == "NoSuchCachePolicy"


def test_a_distribution_naming_an_unknown_policy_is_refused(boto, endpoint):
    cf = boto("cloudfront")
    with pytest.raises(ClientError) as exc:
        cf.create_distribution(DistributionConfig=_config("a", cache_policy="11111111-1111-1111-1111-111111111111"))
    assert _code(exc) == "NoSuchCachePolicy"
    with pytest.raises(ClientError) as exc:
        cf.create_distribution(DistributionConfig=_config("b", request_policy="11111111-1111-1111-1111-111111111111"))
    assert _code(exc) == "NoSuchOriginRequestPolicy"
    assert "Items" not in cf.list_distributions()["DistributionList"]


def test_propagation_etags_and_delete_only_when_disabled_and_deployed(boto, endpoint, ctl):
    ctl("/_localaws/codedeploy/time-scale", {"secondsPerMinute": 0.2})  # 5 AWS minutes = 1 s
    cf = boto("cloudfront")
    created = cf.create_distribution(DistributionConfig=_config("seed"))
    ident, etag = created["Distribution"]["Id"], created["ETag"]
    assert created["Distribution"]["Status"] == "InProgress"
    got = cf.get_distribution(Id=ident)
    assert got["ETag"] == etag
    assert got["Distribution"]["DistributionConfig"]["Origins"]["Items"][0]["CustomHeaders"]["Items"] == [
        {"HeaderName": "X-Origin-Verify", "HeaderValue": "s3cret"}]

    with pytest.raises(ClientError) as exc:
        cf.update_distribution(Id=ident, IfMatch="STALE", DistributionConfig=_config("seed", enabled=False))
    assert _code(exc) == "PreconditionFailed"
    with pytest.raises(ClientError) as exc:
        cf.delete_distribution(Id=ident, IfMatch=etag)
    assert _code(exc) == "DistributionNotDisabled"  # enabled

    updated = cf.update_distribution(Id=ident, IfMatch=etag, DistributionConfig=_config("seed", enabled=False))
    assert updated["ETag"] != etag
    assert updated["Distribution"]["Status"] == "InProgress"
    with pytest.raises(ClientError) as exc:
        cf.delete_distribution(Id=ident, IfMatch=updated["ETag"])
    assert _code(exc) == "DistributionNotDisabled"  # disabled, still propagating

    cf.get_waiter("distribution_deployed").wait(Id=ident, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    summary = cf.list_distributions()["DistributionList"]["Items"][0]
    assert (summary["Status"], summary["Enabled"]) == ("Deployed", False)
    with pytest.raises(ClientError) as exc:
        cf.delete_distribution(Id=ident, IfMatch=etag)
    assert _code(exc) == "PreconditionFailed"
    cf.delete_distribution(Id=ident, IfMatch=updated["ETag"])
    assert "Items" not in cf.list_distributions()["DistributionList"]


def test_invalidations(boto, endpoint):
    cf = boto("cloudfront")
    ident = cf.create_distribution(DistributionConfig=_config("inv"))["Distribution"]["Id"]
    created = cf.create_invalidation(DistributionId=ident, InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/index.html"]}, "CallerReference": str(time.time())})
    got = cf.get_invalidation(DistributionId=ident, Id=created["Invalidation"]["Id"])["Invalidation"]
    assert got["InvalidationBatch"]["Paths"]["Items"] == ["/index.html"]


def _imported_certificate(acm, names: list[str]) -> str:
    """An ACM certificate (imported: ISSUED at once) for ``names``, the first its common name."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(key, hashes.SHA256()))
    return acm.import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()))["CertificateArn"]


def _with_aliases(ref: str, aliases: list[str], certificate_arn: str = "") -> dict:
    config = dict(_config(ref), Aliases={"Quantity": len(aliases), "Items": aliases})
    config["ViewerCertificate"] = ({"ACMCertificateArn": certificate_arn, "SSLSupportMethod": "sni-only",
                                    "MinimumProtocolVersion": "TLSv1.2_2021"}
                                   if certificate_arn else {"CloudFrontDefaultCertificate": True})
    return config


def test_aliases_need_an_issued_us_east_1_certificate_covering_them(boto, endpoint):
    cf, acm = boto("cloudfront"), boto("acm")
    names = ["app.example.com", "*.app.example.com"]
    arn = _imported_certificate(acm, names)
    elsewhere = _imported_certificate(boto3.client("acm", endpoint_url=endpoint.url, region_name="eu-west-1",
                                                   aws_access_key_id="testing", aws_secret_access_key="testing"), names)
    for config, message in [
        (_with_aliases("a", ["app.example.com"]), "you must attach a trusted certificate"),
        (_with_aliases("a", ["app.example.com"], elsewhere), "isn't in us-east-1 region"),
        (_with_aliases("a", ["x.www.app.example.com"], arn), "doesn't cover the alternate domain name"),
    ]:
        with pytest.raises(ClientError) as exc:
            cf.create_distribution(DistributionConfig=config)
        assert _code(exc) == "InvalidViewerCertificate" and message in str(exc.value)
    assert "Items" not in cf.list_distributions()["DistributionList"]

    dist = cf.create_distribution(DistributionConfig=_with_aliases("a", ["app.example.com", "www.app.example.com"], arn))
    config = cf.get_distribution(Id=dist["Distribution"]["Id"])["Distribution"]["DistributionConfig"]
    assert sorted(config["Aliases"]["Items"]) == ["app.example.com", "www.app.example.com"]
    keys = ("CloudFrontDefaultCertificate", "ACMCertificateArn", "SSLSupportMethod", "MinimumProtocolVersion", "CertificateSource")
    assert {k: config["ViewerCertificate"][k] for k in keys} == {
        "CloudFrontDefaultCertificate": False, "ACMCertificateArn": arn, "SSLSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021", "CertificateSource": "acm"}
    # One distribution per alternate domain name; the certificate is in use by the distribution.
    with pytest.raises(ClientError) as exc:
        cf.create_distribution(DistributionConfig=_with_aliases("b", ["www.app.example.com"], arn))
    assert _code(exc) == "CNAMEAlreadyExists"
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == [dist["Distribution"]["ARN"]]
    with pytest.raises(ClientError) as exc:
        acm.delete_certificate(CertificateArn=arn)
    assert _code(exc) == "ResourceInUseException"
