# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS Cloud Map (servicediscovery) helpers shared by the servicediscovery_* modules."""

from __future__ import annotations

import time

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)

PLACEHOLDER = "known-after-apply"
# GetOperation statuses (Operation shape): SUBMITTED, PENDING, SUCCESS, FAIL.
OPERATION_DONE = ("SUCCESS", "FAIL")


class OperationError(Exception):
    """A Cloud Map operation that failed or did not finish in time."""


def wait_operation(client, operation_id, timeout, first_delay=1.0, max_delay=10.0, sleep=time.sleep):
    """Poll GetOperation until the operation is SUCCESS (returns it) or FAIL, or ``timeout`` seconds pass
    (both raise OperationError). Namespace operations are asynchronous: AWS takes tens of seconds to make
    the namespace's hosted zone. The delay doubles from ``first_delay`` up to ``max_delay``."""
    deadline = time.monotonic() + timeout
    delay = first_delay
    while True:
        operation = client.get_operation(OperationId=operation_id, aws_retry=True)["Operation"]
        if operation["Status"] == "SUCCESS":
            return operation
        if operation["Status"] == "FAIL":
            raise OperationError(f"Cloud Map operation {operation_id} ({operation.get('Type')}) failed: "
                                 f"{operation.get('ErrorCode', '')} {operation.get('ErrorMessage', '')}".strip())
        if time.monotonic() + delay > deadline:
            raise OperationError(f"Cloud Map operation {operation_id} ({operation.get('Type')}) is still "
                                 f"{operation['Status']} after {timeout}s; raise wait_timeout, or run again later "
                                 "(the operation goes on in AWS)")
        sleep(delay)
        delay = min(delay * 2, max_delay)


def get_tags(client, arn):
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(ResourceARN=arn, aws_retry=True)["Tags"])


def tag_calls(arn, have, want, purge):
    """The TagResource/UntagResource calls that make ``have`` into ``want`` (``want`` None: leave tags alone),
    as (method, kwargs) pairs, and the tags after them."""
    if want is None:
        return [], dict(have)
    to_set, to_unset = compare_aws_tags(have, want, purge)
    calls, after = [], dict(have)
    if to_set:
        calls.append(("tag_resource", {"ResourceARN": arn, "Tags": ansible_dict_to_boto3_tag_list(to_set)}))
        after.update(to_set)
    if to_unset:
        calls.append(("untag_resource", {"ResourceARN": arn, "TagKeys": sorted(to_unset)}))
        for key in to_unset:
            after.pop(key, None)
    return calls, after


def boto_errors():
    return (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
