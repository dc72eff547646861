"""CloudFront: what moto lacks for a distribution in front of a load balancer.

moto creates, reads, updates and deletes distributions and invalidations. AWS also has, and
seed.fargate's cloudfront role relies on:

- the **managed cache and origin request policies** (``ListCachePolicies`` / ``GetCachePolicy``,
  ``ListOriginRequestPolicies`` / ``GetOriginRequestPolicy``), with their fixed IDs, and a distribution
  that names an unknown policy is refused (``NoSuchCachePolicy`` / ``NoSuchOriginRequestPolicy``, 404);
  ([managed cache policies](https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html),
  [managed origin request policies](https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html));
- **propagation**: a created or updated distribution is ``InProgress`` for a while, then ``Deployed``
  ([DistributionSummary.Status](https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DistributionSummary.html));
  here 5 AWS minutes on the CodeDeploy time scale (``LOCALAWS_TIME_SCALE``, 5 s by default);
- **ETags**: every update gives the distribution a new ``ETag``; ``UpdateDistribution`` and
  ``DeleteDistribution`` with another ``IfMatch`` are refused with ``PreconditionFailed`` (412), without one
  with ``InvalidIfMatchVersion`` (moto accepted any value);
- **delete refused while enabled or still propagating**: ``DistributionNotDisabled`` (409), "The
  distribution you are trying to delete has not been disabled." (AWS: "you must first disable the
  distribution ... wait until the Status ... changes to Deployed",
  [deleting a distribution](https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/HowToDeleteDistribution.html));
- **alternate domain names and their certificate**: ``ViewerCertificate`` answered as AWS does (with an ACM
  certificate ``CloudFrontDefaultCertificate`` is false and ``CertificateSource`` ``acm``; moto kept true and
  ``cloudfront``), and the refusals of ``CreateDistribution`` / ``UpdateDistribution``
  ([requirements for alternate domain names](
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/CNAMEs.html#alternate-domain-names-requirements)):
  ``InvalidViewerCertificate`` (400) for ``Aliases`` without an ACM or IAM certificate, for an ACM certificate that
  does not exist in ``us-east-1`` (CloudFront takes ACM certificates from that region only) or is not ``ISSUED``,
  and for an alias the certificate does not cover (exactly, or by a ``*.`` wildcard one label deep);
  ``CNAMEAlreadyExists`` (409) for an alias another distribution of the endpoint has. ACM's ``InUseBy`` lists the
  distributions using a certificate, which ``DeleteCertificate`` then refuses (``localaws/patches/acm.py``).
"""

from __future__ import annotations

import time
from typing import Any

_PATCHED = "_localaws_cloudfront"
PROPAGATION_MINUTES = 5.0
_LAST_MODIFIED = "2020-10-07T00:00:00Z"
_CNAME_DOCS = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/CNAMEs.html#alternate-domain-names-requirements"


def _headers(behavior: str, items: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"HeaderBehavior": behavior}
    if items:
        out["Headers"] = {"Quantity": len(items), "Items": items}
    return out


def _cache_policy(name: str, comment: str, min_ttl: int, default_ttl: int, max_ttl: int, compress: bool) -> dict:
    return {
        "Name": name, "Comment": comment, "MinTTL": min_ttl, "DefaultTTL": default_ttl, "MaxTTL": max_ttl,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": compress, "EnableAcceptEncodingBrotli": compress,
            "HeadersConfig": {"HeaderBehavior": "none"},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"},
        },
    }


# id -> CachePolicyConfig (AWS's managed policies, values from the developer guide)
MANAGED_CACHE_POLICIES: dict[str, dict] = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": _cache_policy(
        "Managed-CachingOptimized", "Policy with caching enabled. Supports Gzip and Brotli compression.",
        1, 86400, 31536000, True),
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": _cache_policy(
        "Managed-CachingDisabled", "Policy with caching disabled", 0, 0, 0, False),
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": _cache_policy(
        "Managed-CachingOptimizedForUncompressedObjects", "Default policy when compression is disabled",
        1, 86400, 31536000, False),
}


def _request_policy(name: str, comment: str, headers: dict, cookies: str, query_strings: str) -> dict:
    return {"Name": name, "Comment": comment, "HeadersConfig": headers,
            "CookiesConfig": {"CookieBehavior": cookies}, "QueryStringsConfig": {"QueryStringBehavior": query_strings}}


# id -> OriginRequestPolicyConfig
MANAGED_ORIGIN_REQUEST_POLICIES: dict[str, dict] = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": _request_policy(
        "Managed-AllViewer", "Policy to forward all parameters in viewer requests", _headers("allViewer"), "all", "all"),
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": _request_policy(
        "Managed-AllViewerExceptHostHeader", "Policy to forward all parameters in viewer requests except for the Host header",
        _headers("allExcept", ["host"]), "all", "all"),
    "59781a5b-3903-41f3-afcb-af62929ccde1": _request_policy(
        "Managed-CORS-CustomOrigin", "Policy for Custom Origin with CORS", _headers("whitelist", ["origin"]), "none", "none"),
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": _request_policy(
        "Managed-CORS-S3Origin", "Policy for S3 origin with CORS",
        _headers("whitelist", ["origin", "access-control-request-headers", "access-control-request-method"]), "none", "none"),
    "acba4595-bd28-49b8-b9fe-13317c0390fa": _request_policy(
        "Managed-UserAgentRefererHeaders", "Policy for forwarding User-Agent and Referer headers",
        _headers("whitelist", ["referer", "user-agent"]), "none", "none"),
}

_URL_PATHS = {
    "{0}/2020-05-31/cache-policy$": None,
    "{0}/2020-05-31/cache-policy/(?P<Id>[^/]+)$": None,
    "{0}/2020-05-31/cache-policy/(?P<Id>[^/]+)/config$": None,
    "{0}/2020-05-31/origin-request-policy$": None,
    "{0}/2020-05-31/origin-request-policy/(?P<Id>[^/]+)$": None,
    "{0}/2020-05-31/origin-request-policy/(?P<Id>[^/]+)/config$": None,
}


def _seconds_per_minute() -> float:
    from localaws.patches.codedeploy import SETTINGS

    return SETTINGS.seconds_per_minute


def _summaries(kind: str, table: dict[str, dict], config_key: str, wanted: str | None) -> list[dict]:
    if wanted not in (None, "", "managed"):
        return []  # no custom policies here
    return [{"Type": "managed", kind: {"Id": ident, "LastModifiedTime": _LAST_MODIFIED, config_key: config}}
            for ident, config in table.items()]


def apply() -> None:
    from moto.cloudfront import urls
    from moto.cloudfront.exceptions import CloudFrontException, InvalidIfMatchVersion
    from moto.cloudfront.models import CloudFrontBackend, Distribution, ViewerCertificate, random_id
    from moto.cloudfront.responses import CloudFrontResponse
    from moto.core.responses import ActionResult

    if getattr(CloudFrontResponse, _PATCHED, False):
        return
    setattr(CloudFrontResponse, _PATCHED, True)

    for path in _URL_PATHS:
        urls.url_paths[path] = CloudFrontResponse.dispatch

    def error(code: str, message: str) -> CloudFrontException:
        return CloudFrontException(code, message)

    # -- policies ----------------------------------------------------------------------------

    def _cache_policy_of(ident: str) -> dict:
        if ident not in MANAGED_CACHE_POLICIES:
            raise error("NoSuchCachePolicy", "The cache policy does not exist.")
        return {"Id": ident, "LastModifiedTime": _LAST_MODIFIED, "CachePolicyConfig": MANAGED_CACHE_POLICIES[ident]}

    def _request_policy_of(ident: str) -> dict:
        if ident not in MANAGED_ORIGIN_REQUEST_POLICIES:
            raise error("NoSuchOriginRequestPolicy", "The origin request policy does not exist.")
        return {"Id": ident, "LastModifiedTime": _LAST_MODIFIED,
                "OriginRequestPolicyConfig": MANAGED_ORIGIN_REQUEST_POLICIES[ident]}

    def list_cache_policies(self):
        items = _summaries("CachePolicy", MANAGED_CACHE_POLICIES, "CachePolicyConfig", self._get_param("Type"))
        return ActionResult({"CachePolicyList": {"MaxItems": 100, "Quantity": len(items), "Items": items or None}})

    def get_cache_policy(self):
        return ActionResult({"CachePolicy": _cache_policy_of(self._get_param("Id")), "ETag": "E23ZP02F085DFQ"})

    def get_cache_policy_config(self):
        policy = _cache_policy_of(self._get_param("Id"))
        return ActionResult({"CachePolicyConfig": policy["CachePolicyConfig"], "ETag": "E23ZP02F085DFQ"})

    def list_origin_request_policies(self):
        items = _summaries("OriginRequestPolicy", MANAGED_ORIGIN_REQUEST_POLICIES, "OriginRequestPolicyConfig",
                           self._get_param("Type"))
        return ActionResult({"OriginRequestPolicyList": {"MaxItems": 100, "Quantity": len(items), "Items": items or None}})

    def get_origin_request_policy(self):
        return ActionResult({"OriginRequestPolicy": _request_policy_of(self._get_param("Id")), "ETag": "E23ZP02F085DFQ"})

    def get_origin_request_policy_config(self):
        policy = _request_policy_of(self._get_param("Id"))
        return ActionResult({"OriginRequestPolicyConfig": policy["OriginRequestPolicyConfig"], "ETag": "E23ZP02F085DFQ"})

    for fn in (list_cache_policies, get_cache_policy, get_cache_policy_config, list_origin_request_policies,
               get_origin_request_policy, get_origin_request_policy_config):
        setattr(CloudFrontResponse, fn.__name__, fn)

    # -- alternate domain names (Aliases) and the viewer certificate ---------------------------

    def _covers(names: list[str], alias: str) -> bool:
        alias = alias.lower().rstrip(".")
        for name in (n.lower().rstrip(".") for n in names):
            if alias == name or (name.startswith("*.") and alias.partition(".")[2] == name[2:]
                                 and not alias.startswith("*.")):
                return True
        return False

    def _check_aliases(backend: CloudFrontBackend, config: dict, own_id: str | None) -> None:
        from moto.acm.models import acm_backends

        aliases = [a.lower().rstrip(".") for a in (config.get("Aliases") or {}).get("Items") or []]
        cert = config.get("ViewerCertificate") or {}
        arn = cert.get("ACMCertificateArn") or ""
        if arn:
            parts = arn.split(":")
            bundle = None
            if len(parts) > 5 and parts[3] == "us-east-1" and parts[4] == backend.account_id:
                bundle = acm_backends[backend.account_id]["us-east-1"]._certificates.get(arn)
            if bundle is not None:
                bundle.check()
            if bundle is None or bundle.status != "ISSUED":
                raise error("InvalidViewerCertificate", "The specified SSL certificate doesn't exist, isn't in us-east-1 "
                                                        "region, isn't valid, or doesn't include a valid certificate chain.")
            names = [bundle.common_name, *bundle.sans]
            outside = [a for a in aliases if not _covers(names, a)]
            if outside:
                raise error("InvalidViewerCertificate", "The certificate that is attached to your distribution doesn't "
                                                        "cover the alternate domain name (CNAME) that you're trying to add. "
                                                        "For more details, see: " + _CNAME_DOCS)
        elif aliases and not cert.get("IAMCertificateId"):
            raise error("InvalidViewerCertificate", "To add an alternate domain name (CNAME) to a CloudFront distribution, "
                                                    "you must attach a trusted certificate that validates your "
                                                    "authorization to use the domain name. For more details, see: " + _CNAME_DOCS)
        for other in backend.distributions.values():
            if other.distribution_id == own_id:
                continue
            taken = {a.lower().rstrip(".") for a in (other.distribution_config.Aliases or {}).get("Items") or []}
            if taken & set(aliases):
                raise error("CNAMEAlreadyExists", "One or more of the CNAMEs you provided are already associated with a "
                                                  "different resource.")

    original_viewer_certificate_init = ViewerCertificate.__init__

    def viewer_certificate_init(self, config: dict) -> None:
        original_viewer_certificate_init(self, config)
        if self.acm_certificate_arn or self.iam_certificate_id:
            self.cloud_front_default_certificate = False
            self.certificate_source = "acm" if self.acm_certificate_arn else "iam"
            self.certificate = self.acm_certificate_arn or self.iam_certificate_id

    ViewerCertificate.__init__ = viewer_certificate_init

    def _check_policies(config: dict) -> None:
        behaviors = [config.get("DefaultCacheBehavior") or {}]
        behaviors += (config.get("CacheBehaviors") or {}).get("Items") or []
        for behavior in behaviors:
            if behavior.get("CachePolicyId"):
                _cache_policy_of(behavior["CachePolicyId"])
            if behavior.get("OriginRequestPolicyId"):
                _request_policy_of(behavior["OriginRequestPolicyId"])

    # -- propagation: InProgress for PROPAGATION_MINUTES AWS minutes after each change ----------

    def _start_propagation(dist: Distribution) -> None:
        dist.localaws_deployed_at = time.monotonic() + PROPAGATION_MINUTES * _seconds_per_minute()
        dist.etag = random_id()

    def status(self) -> str:
        deployed_at = self.__dict__.get("localaws_deployed_at")
        return "InProgress" if deployed_at is not None and time.monotonic() < deployed_at else "Deployed"

    Distribution.status = property(status)
    Distribution.advance = lambda self: None

    original_create = CloudFrontBackend.create_distribution_with_tags
    original_update = CloudFrontBackend.update_distribution
    original_delete = CloudFrontBackend.delete_distribution

    def create_distribution_with_tags(self, distribution_config, tags):
        _check_policies(distribution_config)
        _check_aliases(self, distribution_config, None)
        dist, location, _etag = original_create(self, distribution_config, tags)
        _start_propagation(dist)
        return dist, location, dist.etag

    def _if_match(self, distribution_id: str, if_match: str | None) -> Distribution:
        if not if_match:
            raise InvalidIfMatchVersion
        dist, _etag = self.get_distribution(distribution_id)
        if if_match != dist.etag:
            raise error("PreconditionFailed", "The precondition given in one or more of the request-header fields "
                                              "evaluated to false.")
        return dist

    def update_distribution(self, dist_config, _id, if_match):
        _if_match(self, _id, if_match)
        _check_policies(dist_config)
        _check_aliases(self, dist_config, _id)
        dist, location, _etag = original_update(self, dist_config, _id, if_match)
        _start_propagation(dist)
        return dist, location, dist.etag

    def delete_distribution(self, distribution_id, if_match):
        dist = _if_match(self, distribution_id, if_match)
        if dist.distribution_config.Enabled in (True, "true") or dist.status != "Deployed":
            raise error("DistributionNotDisabled", "The distribution you are trying to delete has not been disabled.")
        return original_delete(self, distribution_id, if_match)

    CloudFrontBackend.create_distribution_with_tags = create_distribution_with_tags
    CloudFrontBackend.update_distribution = update_distribution
    CloudFrontBackend.delete_distribution = delete_distribution


__all__ = ["MANAGED_CACHE_POLICIES", "MANAGED_ORIGIN_REQUEST_POLICIES", "apply"]
