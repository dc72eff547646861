#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ec2_managed_prefix_list_info
short_description: Find managed prefix lists (AWS's or the account's) by name
version_added: 0.1.0
description:
  - One C(DescribeManagedPrefixLists) call filtered by C(prefix-list-name), for example to find the ID of
    C(com.amazonaws.global.cloudfront.origin-facing), CloudFront's origin-facing addresses, for a security group
    rule. Neither amazon.aws nor community.aws has a module that reads prefix lists.
  - A name that matches no prefix list fails the task, naming it.
options:
  names:
    description: Prefix list names.
    type: list
    elements: str
    required: true
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: CloudFront's origin-facing prefix list
  seed.fargate.ec2_managed_prefix_list_info:
    names: [com.amazonaws.global.cloudfront.origin-facing]
  register: cloudfront_prefix_list

- name: Its ID
  ansible.builtin.debug:
    msg: "{{ cloudfront_prefix_list.prefix_lists['com.amazonaws.global.cloudfront.origin-facing'].prefix_list_id }}"
"""

RETURN = r"""
prefix_lists:
  description: Name -> the prefix list (DescribeManagedPrefixLists' shape, snake-cased).
  returned: always
  type: dict
  sample:
    com.amazonaws.global.cloudfront.origin-facing:
      prefix_list_id: pl-3b927c52
      prefix_list_name: com.amazonaws.global.cloudfront.origin-facing
      address_family: IPv4
      max_entries: 55
      owner_id: AWS
      state: create-complete
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


@AWSRetry.jittered_backoff()
def describe(client, names):
    paginator = client.get_paginator("describe_managed_prefix_lists")
    return paginator.paginate(Filters=[{"Name": "prefix-list-name", "Values": names}]).build_full_result()["PrefixLists"]


def main():
    module = AnsibleAWSModule(argument_spec=dict(names=dict(type="list", elements="str", required=True)), supports_check_mode=True)
    names = module.params["names"]
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        found = describe(client, names) if names else []
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Couldn't describe the prefix lists {names}")
    lists = {p["PrefixListName"]: camel_dict_to_snake_dict(p, ignore_list=["Tags"]) for p in found if p["PrefixListName"] in names}
    missing = [n for n in names if n not in lists]
    if missing:
        module.fail_json(msg=f"no managed prefix list named {missing} in this region", prefix_lists=lists)
    module.exit_json(changed=False, prefix_lists=lists)


if __name__ == "__main__":
    main()
