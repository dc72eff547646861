#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: application_autoscaling
short_description: Converge scalable targets and their target tracking policies, for a list of resources, in one call
version_added: 0.1.0
description:
  - Reads the targets with one C(DescribeScalableTargets) and their scaling policies with C(DescribeScalingPolicies)
    (one call per target with O(purge_policies=true), else one per 50 policy names), then registers targets (C(RegisterScalableTarget)) and puts target
    tracking policies (C(PutScalingPolicy)) only where they are missing or differ.
  - With O(purge_policies=true), the scaling policies of a listed target that are not listed are deleted, so a
    metric dropped from the description stops scaling the service.
  - Written because C(community.aws.application_autoscaling_policy) takes one policy per call and reads the target
    and the policy twice each time (18 calls for a stack's two services with two policies each, where this module
    makes 3), and registers a missing target only as a side effect of a policy.
  - Deregistering a target (and with it its policies) is C(seed.fargate.application_autoscaling_target) with
    C(state=absent).
options:
  service_namespace:
    description: The namespace of the resources, for example V(ecs).
    type: str
    required: true
  scalable_dimension:
    description: The dimension scaled, for example V(ecs:service:DesiredCount).
    type: str
    required: true
  targets:
    description: The resources to scale, each identified by its resource ID, unique among them.
    type: list
    elements: dict
    required: true
    suboptions:
      resource_id:
        description: The resource, for example V(service/my-cluster/my-service).
        type: str
        required: true
      min_capacity:
        description: The fewest the target may scale in to.
        type: int
        required: true
      max_capacity:
        description: The most the target may scale out to.
        type: int
        required: true
      target_tracking:
        description: The target tracking policies of the target.
        type: list
        elements: dict
        default: []
        suboptions:
          policy_name:
            description: The policy's name, unique for the target.
            type: str
            required: true
          metric:
            description: A predefined metric, for example V(ECSServiceAverageCPUUtilization).
            type: str
            required: true
          target:
            description: The metric's value the policy keeps the target at.
            type: float
            required: true
          scale_in_cooldown:
            description: Seconds after a scale-in before the next one.
            type: int
            default: 300
          scale_out_cooldown:
            description: Seconds after a scale-out before the next one.
            type: int
            default: 300
          disable_scale_in:
            description: Only scale out.
            type: bool
            default: false
  purge_policies:
    description: Delete the scaling policies of a listed target that are not in its O(targets[].target_tracking).
    type: bool
    default: false
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Two to six api tasks, kept near 60 % CPU
  seed.fargate.application_autoscaling:
    service_namespace: ecs
    scalable_dimension: ecs:service:DesiredCount
    purge_policies: true
    targets:
      - resource_id: service/seed/api
        min_capacity: 2
        max_capacity: 6
        target_tracking:
          - {policy_name: seed-api-cpu, metric: ECSServiceAverageCPUUtilization, target: 60}
"""

RETURN = r"""
targets:
  description: The targets in the order of O(targets), as converged.
  returned: always
  type: list
  elements: dict
  contains:
    resource_id:
      description: The resource.
      type: str
    min_capacity:
      description: The fewest tasks.
      type: int
    max_capacity:
      description: The most tasks.
      type: int
    policies:
      description: Policy name -> its target tracking settings (C(metric), C(target), cooldowns, C(disable_scale_in)).
      type: dict
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def policy_settings(configuration):
    """A TargetTrackingScalingPolicyConfiguration as the options name it (None for other kinds of policy)."""
    metric = (configuration or {}).get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
    if not metric:
        return None
    return {"metric": metric, "target": float(configuration["TargetValue"]),
            "scale_in_cooldown": configuration.get("ScaleInCooldown", 300),
            "scale_out_cooldown": configuration.get("ScaleOutCooldown", 300),
            "disable_scale_in": bool(configuration.get("DisableScaleIn", False))}


def desired_policy(spec):
    return {"metric": spec["metric"], "target": float(spec["target"]), "scale_in_cooldown": spec["scale_in_cooldown"],
            "scale_out_cooldown": spec["scale_out_cooldown"], "disable_scale_in": spec["disable_scale_in"]}


class Scaling:
    def __init__(self, module):
        self.module = module
        self.client = module.client("application-autoscaling", retry_decorator=AWSRetry.jittered_backoff())
        self.namespace = module.params["service_namespace"]
        self.dimension = module.params["scalable_dimension"]
        self.changed = False

    def read(self, resource_ids):
        """(resource id -> target, resource id -> {policy name -> policy}) of the ``resource_ids`` in the dimension."""
        try:
            targets = self.client.get_paginator("describe_scalable_targets").paginate(
                ServiceNamespace=self.namespace, ResourceIds=resource_ids, ScalableDimension=self.dimension
            ).build_full_result()["ScalableTargets"]
            paginator = self.client.get_paginator("describe_scaling_policies")
            if self.module.params["purge_policies"]:  # every policy of each target
                policies = [p for resource in resource_ids for p in paginator.paginate(
                    ServiceNamespace=self.namespace, ResourceId=resource, ScalableDimension=self.dimension
                ).build_full_result()["ScalingPolicies"]]
            else:  # the listed ones, 50 names a call
                names = sorted({p["policy_name"] for t in self.module.params["targets"] for p in t["target_tracking"]})
                policies = [p for start in range(0, len(names), 50) for p in paginator.paginate(
                    ServiceNamespace=self.namespace, PolicyNames=names[start:start + 50]
                ).build_full_result()["ScalingPolicies"]]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't read the scalable targets and scaling policies of {self.namespace}")
        by_resource = {}
        for policy in policies:
            if policy["ResourceId"] in resource_ids and policy["ScalableDimension"] == self.dimension:
                by_resource.setdefault(policy["ResourceId"], {})[policy["PolicyName"]] = policy
        return {t["ResourceId"]: t for t in targets}, by_resource

    def call(self, method, msg, **kwargs):
        self.changed = True
        if self.module.check_mode:
            return {}
        try:
            return getattr(self.client, method)(aws_retry=True, ServiceNamespace=self.namespace,
                                                ScalableDimension=self.dimension, **kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=msg)


def main():
    policy = dict(
        policy_name=dict(type="str", required=True),
        metric=dict(type="str", required=True),
        target=dict(type="float", required=True),
        scale_in_cooldown=dict(type="int", default=300),
        scale_out_cooldown=dict(type="int", default=300),
        disable_scale_in=dict(type="bool", default=False),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            service_namespace=dict(type="str", required=True),
            scalable_dimension=dict(type="str", required=True),
            targets=dict(type="list", elements="dict", required=True, options=dict(
                resource_id=dict(type="str", required=True),
                min_capacity=dict(type="int", required=True),
                max_capacity=dict(type="int", required=True),
                target_tracking=dict(type="list", elements="dict", default=[], options=policy),
            )),
            purge_policies=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    specs = module.params["targets"]
    ids = [t["resource_id"] for t in specs]
    if len(set(ids)) != len(ids):
        module.fail_json(msg=f"targets: resource ids must be unique, got {ids}")
    for spec in specs:
        if not 0 <= spec["min_capacity"] <= spec["max_capacity"]:
            module.fail_json(msg=f"targets: {spec['resource_id']}: min_capacity {spec['min_capacity']} must be between 0 "
                                 f"and max_capacity {spec['max_capacity']}")
        names = [p["policy_name"] for p in spec["target_tracking"]]
        if len(set(names)) != len(names):
            module.fail_json(msg=f"targets: {spec['resource_id']}: policy names must be unique, got {names}")

    scaling = Scaling(module)
    targets, policies = scaling.read(ids) if ids else ({}, {})
    before, after, shown = {}, {}, []
    for spec in specs:
        resource = spec["resource_id"]
        target, current = targets.get(resource), policies.get(resource, {})
        have = {name: policy_settings(p.get("TargetTrackingScalingPolicyConfiguration")) for name, p in current.items()}
        if target:
            before[resource] = {"min_capacity": target["MinCapacity"], "max_capacity": target["MaxCapacity"], "policies": have}
        if not target or (target["MinCapacity"], target["MaxCapacity"]) != (spec["min_capacity"], spec["max_capacity"]):
            scaling.call("register_scalable_target", f"Couldn't register the scalable target {resource}", ResourceId=resource,
                         MinCapacity=spec["min_capacity"], MaxCapacity=spec["max_capacity"])
        want = {}
        for p in spec["target_tracking"]:
            want[p["policy_name"]] = desired_policy(p)
            if have.get(p["policy_name"]) != want[p["policy_name"]]:
                scaling.call("put_scaling_policy", f"Couldn't put scaling policy {p['policy_name']} of {resource}",
                             ResourceId=resource, PolicyName=p["policy_name"], PolicyType="TargetTrackingScaling",
                             TargetTrackingScalingPolicyConfiguration={
                                 "TargetValue": float(p["target"]),
                                 "PredefinedMetricSpecification": {"PredefinedMetricType": p["metric"]},
                                 "ScaleInCooldown": p["scale_in_cooldown"], "ScaleOutCooldown": p["scale_out_cooldown"],
                                 "DisableScaleIn": p["disable_scale_in"]})
        kept = dict(want)
        for name in current:
            if name in want:
                continue
            if module.params["purge_policies"]:
                scaling.call("delete_scaling_policy", f"Couldn't delete scaling policy {name} of {resource}",
                             ResourceId=resource, PolicyName=name)
            else:
                kept[name] = have[name]
        after[resource] = {"min_capacity": spec["min_capacity"], "max_capacity": spec["max_capacity"], "policies": kept}
        shown.append(dict(after[resource], resource_id=resource))

    module.exit_json(changed=scaling.changed, targets=shown, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
