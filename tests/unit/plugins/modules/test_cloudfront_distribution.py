"""seed.fargate.cloudfront_distribution: the config it asks for and what it compares, no AWS.
The module against the local endpoint: tests/integration/test_cloudfront.py (through the cloudfront role)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / ".collections"))

from ansible_collections.seed.fargate.plugins.modules.cloudfront_distribution import desired_fields, view


def params(**over):
    return {"name": "seed", "enabled": True, "origin_domain_name": "seed-1.us-east-1.elb.amazonaws.com",
            "origin_protocol_policy": "http-only", "origin_headers": [{"name": "X-Origin-Verify", "value": "s3cret-value"}],
            "viewer_protocol_policy": "redirect-to-https", "default_cache_policy_id": "cp-static",
            "default_origin_request_policy_id": "", "default_allowed_methods": ["GET", "HEAD"],
            "cache_behaviors": [{"path_pattern": "/api/*", "cache_policy_id": "cp-off", "origin_request_policy_id": "orp-all",
                                 "allowed_methods": ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]}],
            "compress": True, "price_class": "PriceClass_All", "web_acl_id": "", "http_version": "http2",
            "ipv6_enabled": True, "aliases": [], "viewer_certificate": None} | over


def test_the_secret_never_shows_but_a_changed_one_is_a_difference():
    fields = desired_fields(params())
    shown = view(fields)
    assert "s3cret-value" not in repr(shown)
    assert shown["origins"][0]["headers"][0][1].startswith("********")
    assert view(desired_fields(params(origin_headers=[{"name": "X-Origin-Verify", "value": "other-value"}]))) != shown


def test_what_aws_adds_or_reorders_is_no_difference():
    current = copy.deepcopy(desired_fields(params()))
    current.update(CallerReference="seed", Logging={"Enabled": False}, DefaultRootObject="", Staging=False)
    current["CacheBehaviors"]["Items"][0]["AllowedMethods"]["Items"].reverse()
    current["CacheBehaviors"]["Items"][0]["ForwardedValues"] = {"QueryString": False}
    assert view(current) == view(desired_fields(params()))


def test_the_managed_fields_are_differences():
    base = view(desired_fields(params()))
    assert view(desired_fields(params(enabled=False))) != base
    assert view(desired_fields(params(price_class="PriceClass_100"))) != base
    assert view(desired_fields(params(web_acl_id="arn:aws:wafv2:us-east-1:123456789012:global/webacl/a/b"))) != base
    assert view(desired_fields(params(cache_behaviors=[]))) != base


CERT = {"acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100",
        "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021"}


def test_aliases_and_the_certificate_as_aws_takes_them_and_as_compared():
    fields = desired_fields(params(aliases=["www.app.example.com", "app.example.com"], viewer_certificate=CERT))
    assert fields["Aliases"] == {"Quantity": 2, "Items": ["www.app.example.com", "app.example.com"]}
    assert fields["ViewerCertificate"] == {"CloudFrontDefaultCertificate": False, "ACMCertificateArn": CERT["acm_certificate_arn"],
                                           "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"}
    # As AWS answers: the aliases in another order, the deprecated Certificate / CertificateSource fields added.
    answered = copy.deepcopy(fields)
    answered["Aliases"]["Items"].reverse()
    answered["ViewerCertificate"].update(Certificate=CERT["acm_certificate_arn"], CertificateSource="acm", IAMCertificateId="")
    assert view(answered) == view(fields)
    assert view(fields)["viewer_certificate"] == CERT
    assert view(fields)["aliases"] == ["app.example.com", "www.app.example.com"]
    # Each of them is a difference.
    assert view(desired_fields(params(aliases=["app.example.com"], viewer_certificate=CERT))) != view(fields)
    assert view(desired_fields(params(aliases=fields["Aliases"]["Items"],
                                      viewer_certificate=dict(CERT, minimum_protocol_version="TLSv1.2_2019")))) != view(fields)


def test_no_certificate_is_cloudfronts_default_one_as_aws_answers_it():
    fields = desired_fields(params())
    assert (fields["Aliases"], fields["ViewerCertificate"]) == ({"Quantity": 0}, {"CloudFrontDefaultCertificate": True})
    # A distribution made before the module managed them: AWS's answer for the default certificate.
    answered = dict(copy.deepcopy(fields), Aliases={"Quantity": 0}, ViewerCertificate={
        "CloudFrontDefaultCertificate": True, "SSLSupportMethod": "vip", "MinimumProtocolVersion": "TLSv1",
        "CertificateSource": "cloudfront"})
    assert view(answered) == view(fields)
    assert view(fields)["viewer_certificate"] == {"cloudfront_default_certificate": True}
