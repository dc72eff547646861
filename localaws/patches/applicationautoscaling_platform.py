"""Application Auto Scaling gaps met by the platform roles (ecs_service).

* DescribeScalingPolicies honours ``PolicyNames``. moto ignores the filter, so a
  lookup of one policy (community.aws.application_autoscaling_policy asks for its
  policy by name with ``MaxResults=1``) got the first policy of the resource, and
  the second policy of a service (memory after CPU) was rewritten on every run.
"""

from __future__ import annotations

import json
from typing import Any


def apply() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse, _build_policy

    if ApplicationAutoScalingResponse.__dict__.get("_localaws_platform_names"):
        return
    original = ApplicationAutoScalingResponse.describe_scaling_policies

    def describe_scaling_policies(self: Any) -> str:
        names = self._get_param("PolicyNames")
        if not names:
            return original(self)
        _, policies = self.applicationautoscaling_backend.describe_scaling_policies(
            service_namespace=self._get_param("ServiceNamespace"),
            resource_id=self._get_param("ResourceId"),
            scalable_dimension=self._get_param("ScalableDimension"),
            max_results=1_000_000,
            next_token=None,
        )
        policies = [p for p in policies if p.policy_name in names]
        start = int(self._get_param("NextToken") or 0)
        end = start + (self._get_int_param("MaxResults") or 100)
        body: dict[str, Any] = {"ScalingPolicies": [_build_policy(p) for p in policies[start:end]]}
        if end < len(policies):
            body["NextToken"] = str(end)
        return json.dumps(body)

    ApplicationAutoScalingResponse.describe_scaling_policies = describe_scaling_policies
    ApplicationAutoScalingResponse._localaws_platform_names = True
