#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_deployment_group
version_added: 0.1.0
short_description: Manage CodeDeploy blue/green deployment groups for ECS services
description:
  - Create, update in place or delete an AWS CodeDeploy deployment group that releases one
    Amazon ECS service with blue/green traffic shifting behind an Application Load Balancer.
  - The group always uses O(deployment_config_name) with C(BLUE_GREEN) deployments
    C(WITH_TRAFFIC_CONTROL), the only style CodeDeploy supports for ECS.
  - An existing group is compared field by field with the options given and updated with a
    single C(UpdateDeploymentGroup) call when anything differs.
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  application_name:
    description:
      - The CodeDeploy application (compute platform C(ECS)) the group belongs to.
    required: true
    type: str
  name:
    description:
      - The name of the deployment group.
    required: true
    type: str
    aliases: ['deployment_group_name']
  account_id:
    description:
      - The 12-digit account of the group's ARN, on which its tags are read and written.
      - When omitted, one C(sts:GetCallerIdentity) call finds it (the caller's account); give it to spare that call
        (the seed.fargate.codedeploy role passes the account site.yml looked up once).
    type: str
    version_added: 0.1.0
  state:
    description:
      - Whether the deployment group should exist.
    choices: ['present', 'absent']
    default: present
    type: str
  service_role_arn:
    description:
      - ARN of the IAM role CodeDeploy assumes (with the C(AWSCodeDeployRoleForECSLimited) policy and C(iam:PassRole)
        on the task definitions' roles, or equivalent).
      - Required when O(state=present).
    type: str
  deployment_config_name:
    description:
      - The deployment configuration, a predefined one such as C(CodeDeployDefault.ECSAllAtOnce),
        C(CodeDeployDefault.ECSLinear10PercentEvery1Minutes), C(CodeDeployDefault.ECSCanary10Percent5Minutes),
        or a custom one (see M(seed.fargate.codedeploy_deployment_config)).
    default: CodeDeployDefault.ECSAllAtOnce
    type: str
  cluster_name:
    description:
      - The ECS cluster of the service.
      - Required when O(state=present).
    type: str
  service_name:
    description:
      - The ECS service (deployment controller C(CODE_DEPLOY)) the group deploys.
      - Required when O(state=present).
    type: str
  blue_target_group:
    description:
      - Name of the target group that serves production traffic when the group is created.
      - Each deployment moves production to the other target group; this option and
        O(green_target_group) keep naming the pair in the order first given.
      - Required when O(state=present).
    type: str
  green_target_group:
    description:
      - Name of the target group the replacement task set registers with.
      - Required when O(state=present).
    type: str
  production_listener_arns:
    description:
      - ARNs of the listeners that carry production traffic (CodeDeploy accepts one).
      - Required when O(state=present).
    type: list
    elements: str
  test_listener_arns:
    description:
      - ARNs of the listeners that carry test traffic to the replacement task set before production shifts.
      - An empty list means no test listener.
    type: list
    elements: str
    default: []
  termination_wait_time:
    description:
      - Minutes to keep the original task set after a successful deployment (0 to 2880).
    type: int
    default: 5
  action_on_timeout:
    description:
      - C(CONTINUE_DEPLOYMENT) shifts traffic as soon as the replacement task set is ready.
      - C(STOP_DEPLOYMENT) holds the deployment in status C(Ready) for O(ready_wait_time) minutes until it
        is continued (see O(seed.fargate.codedeploy_deployment#module:state=continued)); when nobody continues
        it, the deployment stops.
    choices: ['CONTINUE_DEPLOYMENT', 'STOP_DEPLOYMENT']
    default: CONTINUE_DEPLOYMENT
    type: str
  ready_wait_time:
    description:
      - Minutes a deployment waits in status C(Ready) when O(action_on_timeout=STOP_DEPLOYMENT).
      - Must be greater than 0 with C(STOP_DEPLOYMENT); ignored (stored as 0) otherwise.
    type: int
    default: 0
  auto_rollback_on_failure:
    description:
      - Roll back automatically when a deployment fails.
    type: bool
    default: true
  auto_rollback_on_alarm:
    description:
      - Roll back automatically when one of O(alarms) goes into C(ALARM) during a deployment.
    type: bool
    default: false
  alarms:
    description:
      - Names of CloudWatch alarms that stop a deployment when they go into C(ALARM).
      - At most 10. An empty list disables the alarm configuration.
      - Required (non-empty) when O(auto_rollback_on_alarm=true).
    type: list
    elements: str
    default: []
  ignore_poll_alarm_failure:
    description:
      - Continue a deployment when CodeDeploy cannot read the alarms' state.
    type: bool
    default: false
notes:
  - Tags are applied with C(TagResource) on the group's ARN, built from O(account_id) or else the caller's account and
    partition (C(sts:GetCallerIdentity)).
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Blue/green deployment group for the api service
  seed.fargate.codedeploy_deployment_group:
    application_name: shop-api
    name: shop-api-prod
    service_role_arn: arn:aws:iam::123456789012:role/codedeploy-ecs
    deployment_config_name: CodeDeployDefault.ECSCanary10Percent5Minutes
    cluster_name: shop
    service_name: api
    blue_target_group: api-blue
    green_target_group: api-green
    production_listener_arns:
      - arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/0123456789abcdef/0123456789abcdef
    test_listener_arns:
      - arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/0123456789abcdef/fedcba9876543210
    termination_wait_time: 10
    auto_rollback_on_alarm: true
    alarms:
      - api-5xx
    tags:
      project: shop

- name: Hold each deployment for a manual go-ahead (up to one hour)
  seed.fargate.codedeploy_deployment_group:
    application_name: shop-api
    name: shop-api-prod
    service_role_arn: arn:aws:iam::123456789012:role/codedeploy-ecs
    cluster_name: shop
    service_name: api
    blue_target_group: api-blue
    green_target_group: api-green
    production_listener_arns: ["{{ prod_listener_arn }}"]
    action_on_timeout: STOP_DEPLOYMENT
    ready_wait_time: 60

- name: Delete the group
  seed.fargate.codedeploy_deployment_group:
    application_name: shop-api
    name: shop-api-prod
    state: absent
"""

RETURN = r"""
deployment_group:
  description:
    - The deployment group as CodeDeploy describes it (snake-cased), plus its tags and ARN;
      empty when O(state=absent).
    - In check mode, before creation, the fields the group would be created with.
  returned: always
  type: dict
  contains:
    application_name:
      description: The application.
      returned: when the group exists
      type: str
    deployment_group_name:
      description: The group's name.
      returned: when the group exists
      type: str
    deployment_group_id:
      description: The group's ID.
      returned: when the group exists (not in check mode before creation)
      type: str
    deployment_group_arn:
      description: The group's ARN.
      returned: when the group exists
      type: str
    deployment_config_name:
      description: The deployment configuration.
      returned: when the group exists
      type: str
      sample: CodeDeployDefault.ECSAllAtOnce
    service_role_arn:
      description: The service role.
      returned: when the group exists
      type: str
    deployment_style:
      description: Always C(BLUE_GREEN) C(WITH_TRAFFIC_CONTROL) for ECS.
      returned: when the group exists
      type: dict
    blue_green_deployment_configuration:
      description: Termination of the original task set and the deployment ready option.
      returned: when the group exists
      type: dict
    load_balancer_info:
      description: The target group pair with production and test listener ARNs.
      returned: when the group exists
      type: dict
    ecs_services:
      description: The ECS service (cluster and service names).
      returned: when the group exists
      type: list
      elements: dict
    alarm_configuration:
      description: The CloudWatch alarms that stop deployments.
      returned: when the group exists
      type: dict
    auto_rollback_configuration:
      description: The events that roll a deployment back.
      returned: when the group exists
      type: dict
    last_successful_deployment:
      description: The group's last successful deployment.
      returned: when the group has one
      type: dict
    last_attempted_deployment:
      description: The group's last attempted deployment.
      returned: when the group has one
      type: dict
    tags:
      description: The group's tags.
      returned: when the group exists
      type: dict
differences:
  description: The top-level fields that differed from the options (and so were, or would be, updated).
  returned: when O(state=present) and the group existed
  type: list
  elements: str
  sample: ["deployment_config_name", "alarm_configuration"]
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
)
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy import (
    account_and_partition,
    build_deployment_group_spec,
    check_account_id,
    deployment_group_arn,
    ensure_tags,
    get_deployment_group,
    normalize_deployment_group,
    snake_keep_tags,
    spec_differences,
    with_tags,
)


def describe(client, application_name, name, arn):
    return with_tags(client, get_deployment_group(client, application_name, name), "deploymentGroupArn", arn)


format_group = snake_keep_tags


def diff_view(group):
    """The managed fields (plus tags) of a group, for --diff."""
    if not group:
        return {}
    view = camel_dict_to_snake_dict(normalize_deployment_group(group))
    view["tags"] = dict(group.get("tags") or {})
    return view


def validate(module):
    params = module.params
    if params["state"] != "present":
        return
    if params["action_on_timeout"] == "STOP_DEPLOYMENT" and not params["ready_wait_time"]:
        module.fail_json(msg="ready_wait_time must be greater than 0 when action_on_timeout=STOP_DEPLOYMENT")
    if params["action_on_timeout"] == "CONTINUE_DEPLOYMENT" and params["ready_wait_time"]:
        module.warn("ready_wait_time is ignored with action_on_timeout=CONTINUE_DEPLOYMENT; storing 0")
        params["ready_wait_time"] = 0
    if not 0 <= params["termination_wait_time"] <= 2880:
        module.fail_json(msg="termination_wait_time must be between 0 and 2880 minutes")
    if params["auto_rollback_on_alarm"] and not params["alarms"]:
        module.fail_json(msg="auto_rollback_on_alarm=true needs at least one alarm in alarms")
    if len(params["alarms"]) > 10:
        module.fail_json(msg="CodeDeploy accepts at most 10 alarms per deployment group")
    if params["blue_target_group"] == params["green_target_group"]:
        module.fail_json(msg="blue_target_group and green_target_group must be different target groups")


def ensure_present(module, client, arn, current):
    params = module.params
    desired = build_deployment_group_spec(params)
    application_name, name = params["application_name"], params["name"]

    if current is None:
        after = dict(desired, applicationName=application_name, deploymentGroupName=name,
                     computePlatform="ECS", deploymentGroupArn=arn, tags=dict(params["tags"] or {}))
        if module.check_mode:
            return True, None, after
        request = dict(desired, applicationName=application_name, deploymentGroupName=name)
        if params["tags"]:
            request["tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
        client.create_deployment_group(aws_retry=True, **request)
        return True, None, describe(client, application_name, name, arn)

    differences = spec_differences(desired, normalize_deployment_group(current))
    changed = bool(differences)
    if changed and not module.check_mode:
        client.update_deployment_group(
            applicationName=application_name, currentDeploymentGroupName=name, aws_retry=True, **desired
        )
    tags_changed, tags_after = ensure_tags(
        client, arn, current.get("tags"), params["tags"], params["purge_tags"], module.check_mode
    )
    if module.check_mode or not (changed or tags_changed):
        after = dict(current, tags=tags_after)
        if changed:
            after.update(desired)
    else:
        after = describe(client, application_name, name, arn)
    return changed or tags_changed, differences, after


def main():
    argument_spec = {
        "application_name": {"required": True, "type": "str"},
        "name": {"required": True, "type": "str", "aliases": ["deployment_group_name"]},
        "account_id": {"type": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "service_role_arn": {"type": "str"},
        "deployment_config_name": {"type": "str", "default": "CodeDeployDefault.ECSAllAtOnce"},
        "cluster_name": {"type": "str"},
        "service_name": {"type": "str"},
        "blue_target_group": {"type": "str"},
        "green_target_group": {"type": "str"},
        "production_listener_arns": {"type": "list", "elements": "str"},
        "test_listener_arns": {"type": "list", "elements": "str", "default": []},
        "termination_wait_time": {"type": "int", "default": 5},
        "action_on_timeout": {
            "type": "str", "default": "CONTINUE_DEPLOYMENT", "choices": ["CONTINUE_DEPLOYMENT", "STOP_DEPLOYMENT"],
        },
        "ready_wait_time": {"type": "int", "default": 0},
        "auto_rollback_on_failure": {"type": "bool", "default": True},
        "auto_rollback_on_alarm": {"type": "bool", "default": False},
        "alarms": {"type": "list", "elements": "str", "default": []},
        "ignore_poll_alarm_failure": {"type": "bool", "default": False},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    required_if = [
        ("state", "present", ["service_role_arn", "cluster_name", "service_name", "blue_target_group",
                              "green_target_group", "production_listener_arns"]),
    ]
    module = AnsibleAWSModule(argument_spec=argument_spec, required_if=required_if, supports_check_mode=True)
    validate(module)
    check_account_id(module)
    client = module.client("codedeploy", retry_decorator=AWSRetry.jittered_backoff())
    application_name, name = module.params["application_name"], module.params["name"]

    differences = None
    try:
        account_id, partition = account_and_partition(module, client)
        arn = deployment_group_arn(partition, module.region, account_id, application_name, name)
        current = describe(client, application_name, name, arn)
        if module.params["state"] == "absent":
            changed = current is not None
            if changed and not module.check_mode:
                client.delete_deployment_group(
                    applicationName=application_name, deploymentGroupName=name, aws_retry=True
                )
            before, after = current, None
        else:
            before = current
            changed, differences, after = ensure_present(module, client, arn, current)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage CodeDeploy deployment group {name} of {application_name}")

    result = {"changed": changed, "deployment_group": format_group(after)}
    if differences is not None:
        result["differences"] = [camel_to_snake(d) for d in differences]
    if module._diff:
        result["diff"] = {"before": diff_view(before), "after": diff_view(after)}
    module.exit_json(**result)


def camel_to_snake(name):
    return next(iter(camel_dict_to_snake_dict({name: None})))


if __name__ == "__main__":
    main()
