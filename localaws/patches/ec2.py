"""EC2: DescribeTags speaks AWS's resource-type names.

AWS's DescribeTags ``resource-type`` filter and result use names such as
``natgateway``, ``elastic-ip``, ``reserved-instances`` and
``spot-instances-request``; moto spells some of them differently
(``nat-gateway``, ``vpc-elastic-ip``, ...), so a filter in AWS's spelling
matched nothing and amazon.aws's ec2_vpc_nat_gateway saw no tags on a NAT
gateway (and re-tagged it on every run).
"""

from __future__ import annotations

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


def apply() -> None:
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
