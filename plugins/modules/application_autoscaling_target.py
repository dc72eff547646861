#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: application_autoscaling_target
version_added: 0.1.0
short_description: Manage Application Auto Scaling scalable targets
description:
  - Register, update or deregister one Application Auto Scaling scalable target, for example the
    desired count of an ECS service (O(service_namespace=ecs),
    O(resource_id=service/<cluster>/<service>), O(scalable_dimension=ecs:service:DesiredCount)).
  - The target is read with C(DescribeScalableTargets); C(RegisterScalableTarget) is called only when
    it does not exist or differs, C(DeregisterScalableTarget) only when it exists.
  - C(community.aws.application_autoscaling_policy) registers a target as a side effect of putting a
    policy but never deregisters one, so a target outlives its policies without this module.
  - Deregistering a target also deletes the scaling policies and scheduled actions that still refer to it.
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  state:
    description:
      - Whether the scalable target should be registered.
    choices: ['present', 'absent']
    default: present
    type: str
  service_namespace:
    description:
      - The namespace of the AWS service that provides the resource, for example V(ecs).
    required: true
    type: str
  resource_id:
    description:
      - The identifier of the resource, for example V(service/my-cluster/my-service) for an ECS service.
    required: true
    type: str
  scalable_dimension:
    description:
      - The scalable dimension of the resource, for example V(ecs:service:DesiredCount).
    required: true
    type: str
  min_capacity:
    description:
      - The minimum value auto scaling may scale in to.
      - Required when O(state=present).
    type: int
  max_capacity:
    description:
      - The maximum value auto scaling may scale out to.
      - Required when O(state=present).
    type: int
  role_arn:
    description:
      - The IAM role Application Auto Scaling uses to modify the target.
      - Leave unset for services with a service-linked role (such as ECS); an unset O(role_arn)
        is not compared with the registered one.
    type: str
  suspended_state:
    description:
      - Which scaling activities are suspended.
      - Only the keys that are set are compared and changed; the others keep their current values.
    type: dict
    suboptions:
      dynamic_scaling_in_suspended:
        description: Whether scaling policies may scale in (remove capacity).
        type: bool
      dynamic_scaling_out_suspended:
        description: Whether scaling policies may scale out (add capacity).
        type: bool
      scheduled_scaling_suspended:
        description: Whether scheduled actions run.
        type: bool
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Let auto scaling run the api service between 2 and 6 tasks
  seed.fargate.application_autoscaling_target:
    service_namespace: ecs
    resource_id: service/shop/api
    scalable_dimension: ecs:service:DesiredCount
    min_capacity: 2
    max_capacity: 6

- name: Hold the current count while investigating (policies may not scale in)
  seed.fargate.application_autoscaling_target:
    service_namespace: ecs
    resource_id: service/shop/api
    scalable_dimension: ecs:service:DesiredCount
    min_capacity: 2
    max_capacity: 6
    suspended_state:
      dynamic_scaling_in_suspended: true

- name: Deregister the target (delete its policies first to keep their removal explicit)
  seed.fargate.application_autoscaling_target:
    service_namespace: ecs
    resource_id: service/shop/api
    scalable_dimension: ecs:service:DesiredCount
    state: absent
"""

RETURN = r"""
scalable_target:
  description:
    - The scalable target as C(DescribeScalableTargets) returns it, snake-cased.
    - Empty when O(state=absent). In check mode, the target the module would register.
  returned: always
  type: dict
  contains:
    service_namespace:
      description: The namespace of the AWS service.
      returned: when the target is registered
      type: str
      sample: ecs
    resource_id:
      description: The identifier of the resource.
      returned: when the target is registered
      type: str
      sample: service/shop/api
    scalable_dimension:
      description: The scalable dimension.
      returned: when the target is registered
      type: str
      sample: ecs:service:DesiredCount
    min_capacity:
      description: The minimum capacity.
      returned: when the target is registered
      type: int
      sample: 2
    max_capacity:
      description: The maximum capacity.
      returned: when the target is registered
      type: int
      sample: 6
    role_arn:
      description: The IAM role Application Auto Scaling uses.
      returned: when the target is registered (not in check mode before registration)
      type: str
      sample: arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService
    suspended_state:
      description: Which scaling activities are suspended.
      returned: when the target is registered
      type: dict
      contains:
        dynamic_scaling_in_suspended:
          description: Whether scaling policies may not scale in.
          type: bool
          returned: always
        dynamic_scaling_out_suspended:
          description: Whether scaling policies may not scale out.
          type: bool
          returned: always
        scheduled_scaling_suspended:
          description: Whether scheduled actions are suspended.
          type: bool
          returned: always
      sample: {"dynamic_scaling_in_suspended": false, "dynamic_scaling_out_suspended": false,
               "scheduled_scaling_suspended": false}
    scalable_target_arn:
      description: The ARN of the scalable target.
      returned: when the target is registered (not in check mode before registration)
      type: str
      sample: arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0123456789abcdef
    creation_time:
      description: When the target was registered.
      returned: when the target is registered (not in check mode before registration)
      type: str
      sample: "2024-05-01T10:00:00+00:00"
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# suspended_state suboption -> SuspendedState key
SUSPENDED_KEYS = {
    "dynamic_scaling_in_suspended": "DynamicScalingInSuspended",
    "dynamic_scaling_out_suspended": "DynamicScalingOutSuspended",
    "scheduled_scaling_suspended": "ScheduledScalingSuspended",
}


def target_key(params):
    return {
        "ServiceNamespace": params["service_namespace"],
        "ResourceId": params["resource_id"],
        "ScalableDimension": params["scalable_dimension"],
    }


def get_target(client, key):
    """The registered target identified by ``key`` (namespace, resource, dimension), or None."""
    targets = client.describe_scalable_targets(
        ServiceNamespace=key["ServiceNamespace"],
        ResourceIds=[key["ResourceId"]],
        ScalableDimension=key["ScalableDimension"],
        aws_retry=True,
    )["ScalableTargets"]
    return next((t for t in targets if t["ResourceId"] == key["ResourceId"]), None)


def suspended_state(target):
    """SuspendedState with every key present (AWS reports all three; an absent key is False)."""
    current = (target or {}).get("SuspendedState") or {}
    return {k: bool(current.get(k, False)) for k in SUSPENDED_KEYS.values()}


def desired_target(params, current):
    """The target as it should be: ``current`` with the options that are set applied."""
    desired = dict(current or {}, **target_key(params))
    desired["MinCapacity"] = params["min_capacity"]
    desired["MaxCapacity"] = params["max_capacity"]
    if params["role_arn"] is not None:
        desired["RoleARN"] = params["role_arn"]
    state = suspended_state(current)
    for option, key in SUSPENDED_KEYS.items():
        value = (params["suspended_state"] or {}).get(option)
        if value is not None:
            state[key] = value
    # AWS reports SuspendedState on every target; add it where the current target lacks it
    # only when it is new or the state is set, so that a diff shows no change that is not one.
    if current is None or "SuspendedState" in current or params["suspended_state"] is not None:
        desired["SuspendedState"] = state
    return desired


def differences(current, desired):
    """Names of the fields RegisterScalableTarget would change; None means the target is new."""
    if current is None:
        return None
    fields = [f for f in ("MinCapacity", "MaxCapacity", "RoleARN") if f in desired and current.get(f) != desired[f]]
    if suspended_state(current) != suspended_state(desired):
        fields.append("SuspendedState")
    return fields


def ensure_present(module, client, current):
    """Register or update the target; returns (changed, after) and writes nothing in check mode."""
    params = module.params
    if params["min_capacity"] > params["max_capacity"]:
        module.fail_json(msg=f"min_capacity ({params['min_capacity']}) must not exceed max_capacity"
                             f" ({params['max_capacity']})")
    desired = desired_target(params, current)
    changes = differences(current, desired)
    if changes == []:
        return False, current
    if module.check_mode:
        return True, desired
    request = dict(target_key(params), MinCapacity=desired["MinCapacity"], MaxCapacity=desired["MaxCapacity"])
    if params["role_arn"] is not None:
        request["RoleARN"] = params["role_arn"]
    if params["suspended_state"] is not None:
        request["SuspendedState"] = desired["SuspendedState"]
    client.register_scalable_target(aws_retry=True, **request)
    return True, get_target(client, target_key(params)) or desired


def ensure_absent(module, client, current):
    """Deregister the target if it is registered; returns changed."""
    if current is None:
        return False
    if not module.check_mode:
        try:
            client.deregister_scalable_target(aws_retry=True, **target_key(module.params))
        except is_boto3_error_code("ObjectNotFoundException"):
            return False  # deregistered since it was read
    return True


def format_target(target):
    return camel_dict_to_snake_dict(target) if target else {}


def main():
    argument_spec = {
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "service_namespace": {"type": "str", "required": True},
        "resource_id": {"type": "str", "required": True},
        "scalable_dimension": {"type": "str", "required": True},
        "min_capacity": {"type": "int"},
        "max_capacity": {"type": "int"},
        "role_arn": {"type": "str"},
        "suspended_state": {
            "type": "dict",
            "options": {option: {"type": "bool"} for option in SUSPENDED_KEYS},
        },
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["min_capacity", "max_capacity"])],
        supports_check_mode=True,
    )
    client = module.client("application-autoscaling", retry_decorator=AWSRetry.jittered_backoff())
    key = target_key(module.params)
    name = f"{key['ServiceNamespace']} {key['ResourceId']} {key['ScalableDimension']}"

    try:
        current = get_target(client, key)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to describe scalable target {name}")
    try:
        if module.params["state"] == "absent":
            changed, after = ensure_absent(module, client, current), None
        else:
            changed, after = ensure_present(module, client, current)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        action = "deregister" if module.params["state"] == "absent" else "register"
        module.fail_json_aws(e, msg=f"Failed to {action} scalable target {name}")

    result = {"changed": changed, "scalable_target": format_target(after)}
    if module._diff:
        result["diff"] = {"before": format_target(current), "after": format_target(after)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
