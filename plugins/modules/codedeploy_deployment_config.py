#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_deployment_config
version_added: 0.1.0
short_description: Manage custom CodeDeploy deployment configurations for ECS
description:
  - Create or delete a custom CodeDeploy deployment configuration (compute platform C(ECS)) that
    shifts traffic all at once, in two steps (canary), or in equal steps (linear).
  - CodeDeploy cannot update a deployment configuration. When a configuration with O(name) exists
    with a different definition the module fails and names the differences; delete it first
    (AWS refuses while a deployment group uses it) or create one under a new name.
  - The predefined C(CodeDeployDefault.*) configurations cannot be created or deleted.
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  name:
    description:
      - The name of the deployment configuration.
    required: true
    type: str
    aliases: ['deployment_config_name']
  state:
    description:
      - Whether the deployment configuration should exist.
    choices: ['present', 'absent']
    default: present
    type: str
  traffic_routing:
    description:
      - How traffic shifts from the original to the replacement task set.
      - C(TimeBasedCanary) shifts O(percentage) percent, waits O(interval) minutes, then shifts the rest.
      - C(TimeBasedLinear) shifts O(percentage) percent every O(interval) minutes.
      - C(AllAtOnce) shifts everything at once.
    choices: ['AllAtOnce', 'TimeBasedCanary', 'TimeBasedLinear']
    default: AllAtOnce
    type: str
  percentage:
    description:
      - Percentage of traffic shifted in the first step (canary) or in each step (linear), 1 to 99.
      - Required when O(traffic_routing) is C(TimeBasedCanary) or C(TimeBasedLinear).
    type: int
  interval:
    description:
      - Minutes between the steps.
      - Required when O(traffic_routing) is C(TimeBasedCanary) or C(TimeBasedLinear).
    type: int
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: 20% first, the rest five minutes later
  seed.fargate.codedeploy_deployment_config:
    name: shop-canary-20-5
    traffic_routing: TimeBasedCanary
    percentage: 20
    interval: 5

- name: 25% every two minutes
  seed.fargate.codedeploy_deployment_config:
    name: shop-linear-25-2
    traffic_routing: TimeBasedLinear
    percentage: 25
    interval: 2

- name: Remove a configuration no group uses any more
  seed.fargate.codedeploy_deployment_config:
    name: shop-linear-25-2
    state: absent
"""

RETURN = r"""
deployment_config:
  description: The deployment configuration (snake-cased DeploymentConfigInfo); empty when O(state=absent).
  returned: always
  type: dict
  contains:
    deployment_config_name:
      description: The name.
      returned: when the configuration exists
      type: str
      sample: shop-canary-20-5
    deployment_config_id:
      description: The ID.
      returned: when the configuration exists (not in check mode before creation)
      type: str
    compute_platform:
      description: Always C(ECS) for configurations this module creates.
      returned: when the configuration exists
      type: str
    traffic_routing_config:
      description: The traffic routing definition.
      returned: when the configuration exists
      type: dict
      sample: {"type": "TimeBasedCanary", "time_based_canary": {"canary_percentage": 20, "canary_interval": 5}}
    create_time:
      description: When the configuration was created.
      returned: when the configuration exists (not in check mode before creation)
      type: str
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy import (
    PREDEFINED_CONFIG_PREFIX,
    build_deployment_config_spec,
    get_deployment_config,
    normalize_deployment_config,
)


def format_config(config):
    return camel_dict_to_snake_dict(config) if config else {}


def diff_view(config):
    return camel_dict_to_snake_dict(normalize_deployment_config(config)) if config else {}


def describe_spec(spec):
    routing = spec["trafficRoutingConfig"]
    if routing["type"] == "TimeBasedCanary":
        step = routing.get("timeBasedCanary") or {}
        return f"TimeBasedCanary {step.get('canaryPercentage')}% then the rest after {step.get('canaryInterval')} min"
    if routing["type"] == "TimeBasedLinear":
        step = routing.get("timeBasedLinear") or {}
        return f"TimeBasedLinear {step.get('linearPercentage')}% every {step.get('linearInterval')} min"
    return f"{routing['type']} ({spec.get('computePlatform')})"


def validate(module):
    params = module.params
    if params["state"] == "present" and params["traffic_routing"] != "AllAtOnce":
        if not 1 <= params["percentage"] <= 99:
            module.fail_json(msg="percentage must be between 1 and 99")
        if params["interval"] < 1:
            module.fail_json(msg="interval must be at least 1 minute")


def main():
    argument_spec = {
        "name": {"required": True, "type": "str", "aliases": ["deployment_config_name"]},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "traffic_routing": {
            "type": "str", "default": "AllAtOnce", "choices": ["AllAtOnce", "TimeBasedCanary", "TimeBasedLinear"],
        },
        "percentage": {"type": "int"},
        "interval": {"type": "int"},
    }
    required_if = [
        ("traffic_routing", "TimeBasedCanary", ["percentage", "interval"]),
        ("traffic_routing", "TimeBasedLinear", ["percentage", "interval"]),
    ]
    module = AnsibleAWSModule(argument_spec=argument_spec, required_if=required_if, supports_check_mode=True)
    validate(module)
    params = module.params
    name = params["name"]
    if name.startswith(PREDEFINED_CONFIG_PREFIX):
        module.fail_json(msg=f"{name} is a predefined CodeDeploy configuration; it cannot be created or deleted")
    client = module.client("codedeploy", retry_decorator=AWSRetry.jittered_backoff())

    try:
        current = get_deployment_config(client, name)
        if params["state"] == "absent":
            changed = current is not None
            if changed and not module.check_mode:
                client.delete_deployment_config(deploymentConfigName=name, aws_retry=True)
            before, after = current, None
        else:
            desired = build_deployment_config_spec(params["traffic_routing"], params["percentage"], params["interval"])
            before = current
            if current is None:
                changed = True
                after = dict(desired, deploymentConfigName=name)
                if not module.check_mode:
                    client.create_deployment_config(deploymentConfigName=name, aws_retry=True, **desired)
                    after = get_deployment_config(client, name)
            elif normalize_deployment_config(current) != desired:
                module.fail_json(
                    msg=(
                        f"Deployment configuration {name} exists as {describe_spec(normalize_deployment_config(current))}"
                        f" but {describe_spec(desired)} was requested. CodeDeploy cannot update a deployment"
                        " configuration: delete it (state=absent, once no deployment group uses it) or use a new name."
                    ),
                    deployment_config=format_config(current),
                )
            else:
                changed, after = False, current
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage CodeDeploy deployment configuration {name}")

    result = {"changed": changed, "deployment_config": format_config(after)}
    if module._diff:
        result["diff"] = {"before": diff_view(before), "after": diff_view(after)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
