#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cloudfront_distribution
short_description: Converge a CloudFront distribution in front of one custom origin (a load balancer), with check mode and diff
version_added: 0.1.0
description:
  - One distribution, found by O(name) (its C(Comment) in C(ListDistributions), confirmed by its C(CallerReference)),
    with one custom origin, a default cache behaviour and path behaviours, all by cache / origin request policy
    IDs (no legacy C(ForwardedValues)).
  - Compares the fields it manages with the distribution's config and calls C(UpdateDistribution) (with the
    C(ETag) read as C(IfMatch)) only when they differ; fields it does not manage are sent back as they are.
  - O(state=absent) disables the distribution, waits until it is C(Deployed) (AWS refuses to delete a
    distribution that is enabled or still propagating, C(DistributionNotDisabled)) at most O(wait_timeout)
    seconds, then deletes it.
  - Written because C(community.aws.cloudfront_distribution) does not support check mode (a C(--check) run skips
    it and reports nothing), returns no diff, and returns the origin's custom headers (the secret the load
    balancer checks) in its result.
options:
  name:
    description: The distribution's identity, its C(CallerReference) and C(Comment) (at most 128 characters).
    type: str
    required: true
  state:
    description: Whether the distribution exists.
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description: Whether the distribution serves requests.
    type: bool
    default: true
  origin_domain_name:
    description: The origin's DNS name (a load balancer's). Required with O(state=present).
    type: str
  origin_protocol_policy:
    description: How CloudFront connects to the origin.
    type: str
    choices: [http-only, https-only, match-viewer]
    default: http-only
  origin_headers:
    description: Custom headers CloudFront adds to every request to the origin (for example a secret the origin checks).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Header name.
        type: str
        required: true
      value:
        description: Header value (never logged).
        type: str
        required: true
  viewer_protocol_policy:
    description: Viewer protocol policy of every behaviour.
    type: str
    choices: [allow-all, https-only, redirect-to-https]
    default: redirect-to-https
  default_cache_policy_id:
    description: Cache policy of the default behaviour. Required with O(state=present).
    type: str
  default_origin_request_policy_id:
    description: Origin request policy of the default behaviour; none when empty.
    type: str
    default: ""
  default_allowed_methods:
    description: Methods of the default behaviour (C([GET, HEAD]), C([GET, HEAD, OPTIONS]) or all seven).
    type: list
    elements: str
    default: [GET, HEAD]
  cache_behaviors:
    description: Path behaviours, in precedence order.
    type: list
    elements: dict
    default: []
    suboptions:
      path_pattern:
        description: Path pattern (C(/api/*)).
        type: str
        required: true
      cache_policy_id:
        description: Cache policy.
        type: str
        required: true
      origin_request_policy_id:
        description: Origin request policy; none when empty.
        type: str
        default: ""
      allowed_methods:
        description: Allowed methods (C([GET, HEAD]), C([GET, HEAD, OPTIONS]) or all seven).
        type: list
        elements: str
        default: [GET, HEAD]
  compress:
    description: Compress objects (gzip, brotli) in every behaviour.
    type: bool
    default: true
  price_class:
    description: Price class.
    type: str
    choices: [PriceClass_All, PriceClass_200, PriceClass_100]
    default: PriceClass_All
  web_acl_id:
    description: ARN of a WAF (v2, scope C(CLOUDFRONT)) web ACL; none when empty.
    type: str
    default: ""
  http_version:
    description: Highest HTTP version for viewers.
    type: str
    choices: [http1.1, http2, http3, http2and3]
    default: http2
  ipv6_enabled:
    description: Answer on IPv6 too.
    type: bool
    default: true
  aliases:
    description:
      - Alternate domain names (CNAMEs) the distribution answers for (C(app.example.com), C(*.app.example.com)), beside
        its C(*.cloudfront.net) name. Compared as a set.
      - AWS requires a certificate covering each of them (O(viewer_certificate.acm_certificate_arn)).
    type: list
    elements: str
    default: []
  viewer_certificate:
    description:
      - The certificate viewers see for O(aliases). Without O(viewer_certificate.acm_certificate_arn) (the default),
        CloudFront's default certificate (C(*.cloudfront.net)).
    type: dict
    suboptions:
      acm_certificate_arn:
        description: ARN of an ACM certificate in C(us-east-1) (the only region CloudFront takes certificates from).
        type: str
        default: ""
      ssl_support_method:
        description: C(sni-only) (recommended) or C(vip) (dedicated IP addresses, at an extra monthly charge).
        type: str
        choices: [sni-only, vip]
        default: sni-only
      minimum_protocol_version:
        description: The security policy with viewers (minimum TLS version and ciphers).
        type: str
        choices: [TLSv1, TLSv1_2016, TLSv1.1_2016, TLSv1.2_2018, TLSv1.2_2019, TLSv1.2_2021, TLSv1.2_2025, TLSv1.3_2025]
        default: TLSv1.2_2021
  wait:
    description: After a create or update, wait until the distribution is C(Deployed).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for C(Deployed) (with O(wait), and before the delete of O(state=absent)).
    type: int
    default: 1800
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: A distribution in front of a load balancer, /api/* uncached
  seed.fargate.cloudfront_distribution:
    name: seed
    origin_domain_name: seed-123456.us-east-1.elb.amazonaws.com
    origin_headers:
      - name: X-Origin-Verify
        value: "{{ origin_secret }}"
    default_cache_policy_id: 658327ea-f89d-4fab-a63d-7e88639e58f6  # Managed-CachingOptimized
    cache_behaviors:
      - path_pattern: /api/*
        cache_policy_id: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad  # Managed-CachingDisabled
        origin_request_policy_id: b689b0a8-53d0-40ab-baf2-68738e2966ac  # Managed-AllViewerExceptHostHeader
        allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]
    tags:
      stack: seed

- name: The same, answering at app.example.com with a certificate from us-east-1
  seed.fargate.cloudfront_distribution:
    name: seed
    origin_domain_name: seed-123456.eu-west-1.elb.amazonaws.com
    default_cache_policy_id: 658327ea-f89d-4fab-a63d-7e88639e58f6
    aliases: [app.example.com, www.app.example.com]
    viewer_certificate:
      acm_certificate_arn: arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100
      ssl_support_method: sni-only
      minimum_protocol_version: TLSv1.2_2021

- name: Disable it, wait until deployed, delete it
  seed.fargate.cloudfront_distribution:
    name: seed
    state: absent
    wait_timeout: 1800
"""

RETURN = r"""
distribution:
  description:
    - The distribution after the run (as it would be, in check mode; a new one then has empty C(id), C(arn) and
      C(domain_name)); empty after O(state=absent).
    - Origin header values are never returned (C(********)).
  returned: always
  type: dict
  contains:
    id:
      description: Distribution ID.
      type: str
    arn:
      description: Distribution ARN.
      type: str
    domain_name:
      description: The C(*.cloudfront.net) name.
      type: str
    status:
      description: C(InProgress) or C(Deployed).
      type: str
    etag:
      description: The version the next update must name.
      type: str
    config:
      description:
        - The managed fields (what the diff compares), among them C(aliases) (sorted) and C(viewer_certificate)
          (C(cloudfront_default_certificate=true), or C(acm_certificate_arn), C(ssl_support_method) and
          C(minimum_protocol_version)).
      type: dict
    tags:
      description: Tags.
      type: dict
  sample:
    id: E1ABCDEF234567
    arn: arn:aws:cloudfront::123456789012:distribution/E1ABCDEF234567
    domain_name: d111111abcdef8.cloudfront.net
    status: InProgress
    etag: E2QWRUHEXAMPLE
    config:
      enabled: true
      price_class: PriceClass_All
      aliases: [app.example.com]
      viewer_certificate:
        acm_certificate_arn: arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100
        ssl_support_method: sni-only
        minimum_protocol_version: TLSv1.2_2021
    tags: {stack: seed}
"""

import copy
import hashlib
import re

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy import wait_until

ORIGIN_ID = "origin"
METHOD_SETS = (["GET", "HEAD"], ["GET", "HEAD", "OPTIONS"], ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"])
MASK = "********"


def _items(value):
    return (value or {}).get("Items") or []


def _quantity_list(items):
    return {"Quantity": len(items), "Items": list(items)} if items else {"Quantity": 0}


def _behavior(params, path_pattern, cache_policy_id, origin_request_policy_id, methods):
    out = {"TargetOriginId": ORIGIN_ID, "ViewerProtocolPolicy": params["viewer_protocol_policy"],
           "CachePolicyId": cache_policy_id, "Compress": params["compress"],
           "AllowedMethods": dict(_quantity_list(methods), CachedMethods=_quantity_list(["GET", "HEAD"]))}
    if origin_request_policy_id:
        out["OriginRequestPolicyId"] = origin_request_policy_id
    if path_pattern is not None:
        out["PathPattern"] = path_pattern
    return out


def _viewer_certificate(params):
    cert = params["viewer_certificate"] or {}
    if not cert.get("acm_certificate_arn"):
        return {"CloudFrontDefaultCertificate": True}
    return {"CloudFrontDefaultCertificate": False, "ACMCertificateArn": cert["acm_certificate_arn"],
            "SSLSupportMethod": cert["ssl_support_method"], "MinimumProtocolVersion": cert["minimum_protocol_version"]}


def desired_fields(params):
    """The DistributionConfig fields this module manages, as AWS takes them."""
    origin = {"Id": ORIGIN_ID, "DomainName": params["origin_domain_name"], "OriginPath": "",
              "CustomHeaders": _quantity_list([{"HeaderName": h["name"], "HeaderValue": h["value"]} for h in params["origin_headers"]]),
              "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": params["origin_protocol_policy"],
                                     "OriginSslProtocols": _quantity_list(["TLSv1.2"]),
                                     "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5},
              "ConnectionAttempts": 3, "ConnectionTimeout": 10}
    return {
        "Comment": params["name"],
        "Enabled": params["enabled"],
        "Origins": _quantity_list([origin]),
        "DefaultCacheBehavior": _behavior(params, None, params["default_cache_policy_id"],
                                          params["default_origin_request_policy_id"], params["default_allowed_methods"]),
        "CacheBehaviors": _quantity_list([_behavior(params, b["path_pattern"], b["cache_policy_id"], b["origin_request_policy_id"],
                                                    b["allowed_methods"]) for b in params["cache_behaviors"]]),
        "PriceClass": params["price_class"],
        "WebACLId": params["web_acl_id"],
        "HttpVersion": params["http_version"],
        "IsIPV6Enabled": params["ipv6_enabled"],
        "Aliases": _quantity_list(params["aliases"]),
        "ViewerCertificate": _viewer_certificate(params),
    }


def _secret_view(value):
    # the diff tells a changed secret from a kept one without showing either
    return f"{MASK} (sha256 {hashlib.sha256(value.encode()).hexdigest()[:8]})"


def _behavior_view(b):
    return {"path_pattern": b.get("PathPattern"), "cache_policy_id": b.get("CachePolicyId") or "",
            "origin_request_policy_id": b.get("OriginRequestPolicyId") or "",
            "viewer_protocol_policy": b.get("ViewerProtocolPolicy"),
            "allowed_methods": sorted(_items(b.get("AllowedMethods"))),
            "cached_methods": sorted(_items((b.get("AllowedMethods") or {}).get("CachedMethods"))),
            "compress": bool(b.get("Compress"))}


def _certificate_view(cert):
    if cert.get("ACMCertificateArn"):
        return {"acm_certificate_arn": cert["ACMCertificateArn"], "ssl_support_method": cert.get("SSLSupportMethod"),
                "minimum_protocol_version": cert.get("MinimumProtocolVersion")}
    if cert.get("IAMCertificateId"):
        return {"iam_certificate_id": cert["IAMCertificateId"], "ssl_support_method": cert.get("SSLSupportMethod"),
                "minimum_protocol_version": cert.get("MinimumProtocolVersion")}
    return {"cloudfront_default_certificate": True}


def view(config):
    """The managed fields of a DistributionConfig, snake-cased, secrets masked: what is compared and diffed."""
    origins = []
    for o in _items(config.get("Origins")):
        custom = o.get("CustomOriginConfig") or {}
        origins.append({"id": o.get("Id"), "domain_name": o.get("DomainName"), "origin_path": o.get("OriginPath") or "",
                        "protocol_policy": custom.get("OriginProtocolPolicy"),
                        "ports": [custom.get("HTTPPort"), custom.get("HTTPSPort")],
                        "headers": sorted((h["HeaderName"], _secret_view(h["HeaderValue"])) for h in _items(o.get("CustomHeaders")))})
    default = _behavior_view(config.get("DefaultCacheBehavior") or {})
    default.pop("path_pattern")
    return {"comment": config.get("Comment"), "enabled": bool(config.get("Enabled")), "origins": origins,
            "default_cache_behavior": default,
            "cache_behaviors": [_behavior_view(b) for b in _items(config.get("CacheBehaviors"))],
            "price_class": config.get("PriceClass"), "web_acl_id": config.get("WebACLId") or "",
            "http_version": config.get("HttpVersion"), "ipv6_enabled": bool(config.get("IsIPV6Enabled")),
            "aliases": sorted(_items(config.get("Aliases"))),
            "viewer_certificate": _certificate_view(config.get("ViewerCertificate") or {})}


class Distributions:
    def __init__(self, module):
        self.module = module
        self.client = module.client("cloudfront", retry_decorator=AWSRetry.jittered_backoff())

    def fail(self, error, msg):
        self.module.fail_json_aws(error, msg=msg)

    def find(self, name):
        """``(distribution, etag)`` of the one whose Comment and CallerReference are ``name``; ``(None, None)``."""
        try:
            pages = self.client.get_paginator("list_distributions").paginate().build_full_result()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail(e, "Couldn't list the distributions")
        for summary in _items(pages.get("DistributionList")):
            if summary.get("Comment") != name:
                continue
            found = self.get(summary["Id"])
            if found[0] and found[0]["DistributionConfig"].get("CallerReference") == name:
                return found
        return None, None

    def get(self, ident):
        try:
            answer = self.client.get_distribution(Id=ident, aws_retry=True)
        except is_boto3_error_code("NoSuchDistribution"):
            return None, None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            self.fail(e, f"Couldn't read distribution {ident}")
        return answer["Distribution"], answer["ETag"]

    def tags(self, arn):
        try:
            return boto3_tag_list_to_ansible_dict(_items(self.client.list_tags_for_resource(Resource=arn, aws_retry=True)["Tags"]))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail(e, f"Couldn't read the tags of {arn}")

    def call(self, method, msg, **kwargs):
        try:
            return getattr(self.client, method)(aws_retry=True, **kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail(e, msg)

    def wait_deployed(self, ident):
        timeout = self.module.params["wait_timeout"]
        (dist, etag), timed_out = wait_until(lambda: self.get(ident), lambda found: found[0] is None or found[0]["Status"] == "Deployed",
                                             timeout, interval=min(15, max(1, timeout // 60)))
        if timed_out:
            self.module.fail_json(msg=f"distribution {ident} still {dist['Status']} after {timeout} s (wait_timeout)")
        return dist, etag


def result(dist, etag, tags):
    if not dist:
        return {}
    return {"id": dist["Id"], "arn": dist["ARN"], "domain_name": dist["DomainName"], "status": dist["Status"], "etag": etag,
            "config": view(dist["DistributionConfig"]), "tags": tags}


def absent(module, api, dist, etag):
    if dist is None:
        module.exit_json(changed=False, distribution={}, diff={"before": {}, "after": {}})
    before = view(dist["DistributionConfig"])
    if not module.check_mode:
        ident = dist["Id"]
        if dist["DistributionConfig"].get("Enabled"):
            config = dict(dist["DistributionConfig"], Enabled=False)
            answer = api.call("update_distribution", f"Couldn't disable distribution {ident}", Id=ident, IfMatch=etag, DistributionConfig=config)
            dist, etag = answer["Distribution"], answer["ETag"]
        if dist["Status"] != "Deployed":
            dist, etag = api.wait_deployed(ident)
        if dist is not None:
            api.call("delete_distribution", f"Couldn't delete distribution {ident}", Id=ident, IfMatch=etag)
    module.exit_json(changed=True, distribution={}, diff={"before": before, "after": {}})


def present(module, api, dist, etag):
    params = module.params
    fields = desired_fields(params)
    tags = params["tags"]
    if dist is None:
        config = dict(fields, CallerReference=params["name"])
        after = {"id": "", "arn": "", "domain_name": "", "status": "InProgress", "etag": "", "config": view(config), "tags": dict(tags or {})}
        if not module.check_mode:
            if tags:
                answer = api.call("create_distribution_with_tags", f"Couldn't create distribution {params['name']}",
                                  DistributionConfigWithTags={"DistributionConfig": config, "Tags": {"Items": ansible_dict_to_boto3_tag_list(tags)}})
            else:
                answer = api.call("create_distribution", f"Couldn't create distribution {params['name']}", DistributionConfig=config)
            dist, etag = answer["Distribution"], answer["ETag"]
            if params["wait"]:
                dist, etag = api.wait_deployed(dist["Id"])
            after = result(dist, etag, dict(tags or {}))
        module.exit_json(changed=True, distribution=after, diff={"before": {}, "after": after["config"]})

    current = dist["DistributionConfig"]
    new = dict(copy.deepcopy(current), **fields)
    changed_config = view(new) != view(current)
    current_tags = api.tags(dist["ARN"])
    to_set, to_unset = compare_aws_tags(current_tags, tags, params["purge_tags"]) if tags is not None else ({}, [])
    after_tags = {k: v for k, v in dict(current_tags, **to_set).items() if k not in to_unset}
    changed = changed_config or bool(to_set) or bool(to_unset)
    if changed and not module.check_mode:
        if changed_config:
            answer = api.call("update_distribution", f"Couldn't update distribution {dist['Id']}", Id=dist["Id"], IfMatch=etag, DistributionConfig=new)
            dist, etag = answer["Distribution"], answer["ETag"]
        if to_set:
            api.call("tag_resource", "Couldn't tag the distribution", Resource=dist["ARN"], Tags={"Items": ansible_dict_to_boto3_tag_list(to_set)})
        if to_unset:
            api.call("untag_resource", "Couldn't untag the distribution", Resource=dist["ARN"], TagKeys={"Items": list(to_unset)})
        if params["wait"] and changed_config:
            dist, etag = api.wait_deployed(dist["Id"])
    after = result(dist, etag, after_tags)
    if module.check_mode and changed_config:
        after["config"] = view(new)
    module.exit_json(changed=changed, distribution=after,
                     diff={"before": dict(view(current), tags=current_tags), "after": dict(after["config"], tags=after_tags)})


def check_inputs(module):
    params = module.params
    if not 1 <= len(params["name"]) <= 128:
        module.fail_json(msg=f"name: 1-128 characters (the distribution's comment), got {len(params['name'])}")
    if params["state"] != "present":
        return
    for key in ("origin_domain_name", "default_cache_policy_id"):
        if not params[key]:
            module.fail_json(msg=f"{key} is required with state=present")
    methods = [("default_allowed_methods", params["default_allowed_methods"])]
    methods += [(f"cache_behaviors[{b['path_pattern']}].allowed_methods", b["allowed_methods"]) for b in params["cache_behaviors"]]
    for where, value in methods:
        if sorted(m.upper() for m in value) not in METHOD_SETS:
            module.fail_json(msg=f"{where}: one of {[' '.join(s) for s in METHOD_SETS]} (CloudFront's allowed method sets), got {value}")
    for b in params["cache_behaviors"]:
        b["allowed_methods"] = sorted(m.upper() for m in b["allowed_methods"])
    params["default_allowed_methods"] = sorted(m.upper() for m in params["default_allowed_methods"])
    patterns = [b["path_pattern"] for b in params["cache_behaviors"]]
    if len(patterns) != len(set(patterns)):
        module.fail_json(msg=f"cache_behaviors: a path pattern given twice ({patterns})")
    if params["web_acl_id"] and not params["web_acl_id"].startswith("arn:"):
        module.fail_json(msg=f"web_acl_id: a WAFv2 web ACL ARN (scope CLOUDFRONT), got {params['web_acl_id']!r}")
    params["aliases"] = [a.lower().rstrip(".") for a in params["aliases"]]
    if len(params["aliases"]) != len(set(params["aliases"])):
        module.fail_json(msg=f"aliases: a name given twice ({params['aliases']})")
    arn = (params["viewer_certificate"] or {}).get("acm_certificate_arn") or ""
    if params["aliases"] and not arn:
        module.fail_json(msg="aliases need viewer_certificate.acm_certificate_arn: CloudFront serves an alternate domain name "
                             "only with a certificate covering it")
    if arn and not re.match(r"^arn:aws[a-z-]*:acm:us-east-1:[^:]+:certificate/", arn):
        module.fail_json(msg=f"viewer_certificate.acm_certificate_arn: an ACM certificate in us-east-1 (the only region "
                             f"CloudFront takes certificates from), got {arn!r}")


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            enabled=dict(type="bool", default=True),
            origin_domain_name=dict(type="str"),
            origin_protocol_policy=dict(type="str", default="http-only", choices=["http-only", "https-only", "match-viewer"]),
            origin_headers=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                value=dict(type="str", required=True, no_log=True),
            )),
            viewer_protocol_policy=dict(type="str", default="redirect-to-https", choices=["allow-all", "https-only", "redirect-to-https"]),
            default_cache_policy_id=dict(type="str"),
            default_origin_request_policy_id=dict(type="str", default=""),
            default_allowed_methods=dict(type="list", elements="str", default=["GET", "HEAD"]),
            cache_behaviors=dict(type="list", elements="dict", default=[], options=dict(
                path_pattern=dict(type="str", required=True),
                cache_policy_id=dict(type="str", required=True),
                origin_request_policy_id=dict(type="str", default=""),
                allowed_methods=dict(type="list", elements="str", default=["GET", "HEAD"]),
            )),
            compress=dict(type="bool", default=True),
            price_class=dict(type="str", default="PriceClass_All", choices=["PriceClass_All", "PriceClass_200", "PriceClass_100"]),
            web_acl_id=dict(type="str", default=""),
            http_version=dict(type="str", default="http2", choices=["http1.1", "http2", "http3", "http2and3"]),
            ipv6_enabled=dict(type="bool", default=True),
            aliases=dict(type="list", elements="str", default=[]),
            viewer_certificate=dict(type="dict", options=dict(
                acm_certificate_arn=dict(type="str", default=""),
                ssl_support_method=dict(type="str", default="sni-only", choices=["sni-only", "vip"]),
                minimum_protocol_version=dict(type="str", default="TLSv1.2_2021", choices=[
                    "TLSv1", "TLSv1_2016", "TLSv1.1_2016", "TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"]),
            )),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1800),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    check_inputs(module)
    api = Distributions(module)
    dist, etag = api.find(module.params["name"])
    if module.params["state"] == "absent":
        absent(module, api, dist, etag)
    present(module, api, dist, etag)


if __name__ == "__main__":
    main()
