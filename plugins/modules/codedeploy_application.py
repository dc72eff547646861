#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_application
version_added: 0.1.0
short_description: Manage AWS CodeDeploy applications
description:
  - Create, tag or delete an AWS CodeDeploy application.
  - The compute platform of an existing application cannot be changed; asking for a different
    one fails.
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  name:
    description:
      - The name of the application.
    required: true
    type: str
    aliases: ['application_name']
  account_id:
    description:
      - The 12-digit account of the application's ARN, on which its tags are read and written.
      - When omitted, one C(sts:GetCallerIdentity) call finds it (the caller's account); give it to spare that call
        (the seed.fargate.codedeploy role passes the account site.yml looked up once).
    type: str
    version_added: 0.1.0
  state:
    description:
      - Whether the application should exist.
      - Deleting an application also deletes its deployment groups.
    choices: ['present', 'absent']
    default: present
    type: str
  compute_platform:
    description:
      - The compute platform the application deploys to.
    choices: ['ECS', 'Server', 'Lambda']
    default: ECS
    type: str
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: An ECS CodeDeploy application
  seed.fargate.codedeploy_application:
    name: shop-api
    tags:
      project: shop

- name: Remove it (and its deployment groups)
  seed.fargate.codedeploy_application:
    name: shop-api
    state: absent
"""

RETURN = r"""
application:
  description: The application; empty when O(state=absent).
  returned: always
  type: dict
  contains:
    application_id:
      description: The ID of the application.
      returned: when the application exists (not in check mode before creation)
      type: str
      sample: 5b4d6a7c-1234-4cde-9f00-0123456789ab
    application_name:
      description: The name of the application.
      returned: when the application exists
      type: str
      sample: shop-api
    application_arn:
      description: The ARN of the application.
      returned: when the application exists
      type: str
      sample: arn:aws:codedeploy:us-east-1:123456789012:application:shop-api
    compute_platform:
      description: The compute platform.
      returned: when the application exists
      type: str
      sample: ECS
    create_time:
      description: When the application was created.
      returned: when the application exists (not in check mode before creation)
      type: str
    linked_to_git_hub:
      description: Whether the application is linked to a GitHub account.
      returned: when the application exists (not in check mode before creation)
      type: bool
    tags:
      description: The application's tags.
      returned: when the application exists
      type: dict
      sample: {"project": "shop"}
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
)
from ansible_collections.seed.fargate.plugins.module_utils.codedeploy import (
    account_and_partition,
    application_arn,
    check_account_id,
    ensure_tags,
    get_application,
    snake_keep_tags,
    with_tags,
)


def describe(client, name, arn):
    return with_tags(client, get_application(client, name), "applicationArn", arn)


format_application = snake_keep_tags


def ensure_present(module, client, name, arn, current):
    params = module.params
    if current is None:
        after = {
            "applicationName": name,
            "computePlatform": params["compute_platform"],
            "applicationArn": arn,
            "tags": dict(params["tags"] or {}),
        }
        if not module.check_mode:
            request = {"applicationName": name, "computePlatform": params["compute_platform"]}
            if params["tags"]:
                request["tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
            client.create_application(aws_retry=True, **request)
            after = describe(client, name, arn)
        return True, {}, after

    if current.get("computePlatform") != params["compute_platform"]:
        module.fail_json(
            msg=(
                f"Application {name} exists with compute platform {current.get('computePlatform')};"
                f" CodeDeploy cannot change it to {params['compute_platform']}. Delete the application first."
            ),
            application=format_application(current),
        )
    changed, tags_after = ensure_tags(
        client, arn, current.get("tags"), params["tags"], params["purge_tags"], module.check_mode
    )
    after = dict(current, tags=tags_after)
    return changed, current, after


def main():
    argument_spec = {
        "name": {"required": True, "type": "str", "aliases": ["application_name"]},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "compute_platform": {"type": "str", "default": "ECS", "choices": ["ECS", "Server", "Lambda"]},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
        "account_id": {"type": "str"},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    check_account_id(module)
    client = module.client("codedeploy", retry_decorator=AWSRetry.jittered_backoff())
    name = module.params["name"]

    try:
        account_id, partition = account_and_partition(module, client)
        arn = application_arn(partition, module.region, account_id, name)
        current = describe(client, name, arn)
        if module.params["state"] == "absent":
            changed = current is not None
            if changed and not module.check_mode:
                client.delete_application(applicationName=name, aws_retry=True)
            before, after = current or {}, {}
        else:
            changed, before, after = ensure_present(module, client, name, arn, current)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage CodeDeploy application {name}")

    result = {"changed": changed, "application": format_application(after)}
    if module._diff:
        result["diff"] = {"before": format_application(before), "after": format_application(after)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
