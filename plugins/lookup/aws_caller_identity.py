# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: aws_caller_identity
author:
  - seed.fargate maintainers (@seed-fargate)
version_added: 0.1.0
short_description: The account, partition and ARN the AWS credentials are in, with one STS call on the controller
description:
  - Calls C(sts:GetCallerIdentity) once, on the controller (no module process), and returns the account ID, the
    partition (from the caller's ARN), the ARN and the user ID.
  - C(amazon.aws.aws_caller_info) answers the same with two calls (it also lists the account's aliases) in a module
    process of its own; the seed.fargate.stack role (entry point C(account)) uses this lookup to find the account once
    for every role of a C(site.yml) run.
  - Lookups do not read C(module_defaults), so give O(region) and O(endpoint_url) (the local endpoint) as options, or
    through the C(AWS_REGION) and C(AWS_ENDPOINT_URL) environment variables.
extends_documentation_fragment:
  - amazon.aws.boto3
  - amazon.aws.common.plugins
  - amazon.aws.region.plugins
"""

EXAMPLES = r"""
- name: The account the credentials are in
  ansible.builtin.debug:
    msg: "{{ lookup('seed.fargate.aws_caller_identity', region='us-east-1').account }}"
  # => "123456789012"
"""

RETURN = r"""
_raw:
  description: One dict.
  type: list
  elements: dict
  contains:
    account:
      description: The 12-digit account ID.
      type: str
      sample: "123456789012"
    partition:
      description: The partition of the account (C(aws), C(aws-cn), C(aws-us-gov)).
      type: str
      sample: aws
    arn:
      description: The caller's ARN.
      type: str
      sample: arn:aws:iam::123456789012:user/deploy
    user_id:
      description: The caller's unique ID.
      type: str
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AWSLookupBase

from ansible.errors import AnsibleLookupError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.plugin_utils.lookup import AWSLookupBase


class LookupModule(AWSLookupBase):
    def run(self, terms, variables, **kwargs):
        super().run(terms, variables, **kwargs)
        client = self.client("sts", AWSRetry.jittered_backoff())
        try:
            caller = client.get_caller_identity(aws_retry=True)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            raise AnsibleLookupError(f"Couldn't find the account the credentials are in (sts:GetCallerIdentity): {e}")
        return [{"account": caller["Account"], "partition": caller["Arn"].split(":")[1], "arn": caller["Arn"],
                 "user_id": caller["UserId"]}]
