"""EC2: DescribeTags speaks AWS's resource-type names.

AWS's DescribeTags ``resource-type`` filter and result use names such as
``natgateway``, ``elastic-ip``, ``reserved-instances`` and
``spot-instances-request``; moto spells some of them differently
(``nat-gateway``, ``vpc-elastic-ip``, ...), so a filter in AWS's spelling
matched nothing and amazon.aws's ec2_vpc_nat_gateway saw no tags on a NAT
gateway (and re-tagged it on every run).

Security group rules: a rule is the same rule whatever its description. AWS matches a rule of
RevokeSecurityGroupIngress/Egress and UpdateSecurityGroupRuleDescriptionsIngress/Egress by protocol,
ports and source or destination; moto compared the source group's description too, so a rule to
another group could not be revoked without repeating its description, and its description could not
be changed at all (the update found no rule equal to the one it names with the new description).
"""

from __future__ import annotations

from moto.ec2.models.security_groups import SecurityGroupRule
from moto.ec2.models.tags import TagBackend

# AWS spelling -> moto spelling
AWS_TO_MOTO = {
    "natgateway": "nat-gateway",
    "elastic-ip": "vpc-elastic-ip",
    "reserved-instances": "reserved-instance",
    "spot-instances-request": "spot-instance-request",
    "dedicated-host": "dedicated_host",
}
MOTO_TO_AWS = {moto: aws for aws, moto in AWS_TO_MOTO.items()}


def _without_description(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "Description"}


def _patch_rule_equality() -> None:
    original = SecurityGroupRule.__eq__
    if getattr(original, "_localaws", False):
        return

    def __eq__(self, other):  # what moto's rule lists call through .index() and ==
        if not isinstance(other, SecurityGroupRule):
            return NotImplemented
        if self.source_group == other.source_group:
            return original(self, other)
        if _without_description(self.source_group) != _without_description(other.source_group):
            return False
        saved = other.source_group
        other.source_group = self.source_group  # compare the rest as moto does
        try:
            return original(self, other)
        finally:
            other.source_group = saved

    __eq__._localaws = True
    SecurityGroupRule.__eq__ = __eq__


def apply() -> None:
    _patch_rule_equality()
    original = TagBackend.describe_tags
    if getattr(original, "_localaws", False):
        return

    def describe_tags(self, filters=None):
        if filters and "resource-type" in filters:
            filters = dict(filters)
            filters["resource-type"] = [AWS_TO_MOTO.get(v, v) for v in filters["resource-type"]]
        results = original(self, filters=filters)
        for result in results:
            result["resource_type"] = MOTO_TO_AWS.get(result["resource_type"], result["resource_type"])
        return results

    describe_tags._localaws = True
    TagBackend.describe_tags = describe_tags
