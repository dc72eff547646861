"""The CloudFront emulation (localaws/patches/cloudfront.py) through boto3 against the real endpoint:
managed policies, propagation (InProgress -> Deployed on the time scale), ETags, delete refused while enabled."""

from __future__ import annotations

import time

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
