#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: sns_topic
short_description: Converge an SNS topic, its attributes, subscriptions and tags with one read of each
version_added: 0.1.0
description:
  - Finds the topic by its ARN, built from the account, the region and O(name) (C(GetTopicAttributes)), never by
    listing the account's topics; then reads its subscriptions (C(ListSubscriptionsByTopic)) and tags
    (C(ListTagsForResource)) once, and writes only what differs.
  - A converged topic costs three reads (four when O(account_id) is omitted, where C(STS GetCallerIdentity) finds the
    account). Written because C(community.aws.sns_topic) with C(community.aws.sns_topic_info) made 12 calls for
    the same topic (C(ListTopics) four times), and fails in check mode for a topic that does not exist yet.
  - C(CreateTopic) is idempotent in AWS and would return the ARN too, but it is a write; this module only reads
    until it knows there is a difference, so a no-op and check mode write nothing.
  - Standard topics only (no C(.fifo) names).
options:
  name:
    description: Topic name (not an ARN).
    type: str
    required: true
  account_id:
    description:
      - The 12-digit account that owns the topic, to build its ARN.
      - When omitted, one C(STS GetCallerIdentity) call finds it (the caller's account).
    type: str
  state:
    description: Whether the topic exists. C(absent) deletes it with its subscriptions (C(DeleteTopic)).
    type: str
    choices: [present, absent]
    default: present
  display_name:
    description: Display name (the sender of email and SMS notifications). Left as it is when omitted.
    type: str
  policy:
    description:
      - The topic's access policy, compared as a policy (statement order, single values and lists alike).
      - Left as it is when omitted; a new topic then gets AWS's default policy.
    type: json
  delivery_policy:
    description:
      - The topic's delivery policy (HTTP/S retries). Left as it is when omitted.
    type: dict
  kms_master_key_id:
    description:
      - KMS key (ID, ARN or alias) that encrypts the topic at rest; an empty string turns encryption off.
      - Left as it is when omitted.
    type: str
  subscriptions:
    description:
      - The topic's subscriptions. Left as they are when omitted.
      - A subscription still pending confirmation has no ARN to unsubscribe; O(purge_subscriptions) leaves it (AWS
        deletes it after three days) and warns.
    type: list
    elements: dict
    suboptions:
      protocol:
        description: Protocol.
        type: str
        required: true
        choices: [http, https, email, email-json, sms, sqs, application, lambda, firehose]
      endpoint:
        description: Endpoint (an address, URL, phone number or ARN depending on O(subscriptions[].protocol)).
        type: str
        required: true
  purge_subscriptions:
    description: Unsubscribe the subscriptions not listed in O(subscriptions) (only when O(subscriptions) is given).
    type: bool
    default: true
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Alarm topic of a stack, with an email subscription and the stack's tags
  seed.fargate.sns_topic:
    name: seed-prod-alarms
    display_name: seed prod alarms
    subscriptions:
      - protocol: email
        endpoint: oncall@example.com
    tags:
      stack: seed
      environment: prod
  register: topic

- name: The alarms notify it
  ansible.builtin.debug:
    msg: "{{ topic.topic_arn }}"

- name: Remove it
  seed.fargate.sns_topic:
    name: seed-prod-alarms
    state: absent
"""

RETURN = r"""
topic_arn:
  description:
    - The topic's ARN; with O(state=present), also in check mode for a topic still to be made (an ARN is built from
      the account, region and name).
  returned: always
  type: str
  sample: arn:aws:sns:us-east-1:123456789012:seed-prod-alarms
topic:
  description: The topic after the run (as it would be, in check mode); empty with O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: Topic name.
      type: str
    display_name:
      description: Display name.
      type: str
    policy:
      description: Access policy.
      type: dict
    delivery_policy:
      description: Delivery policy (C(null) when none is set).
      type: dict
    kms_master_key_id:
      description: KMS key (empty when not encrypted).
      type: str
    subscriptions:
      description: Subscriptions, sorted by protocol and endpoint.
      type: list
      elements: dict
      contains:
        protocol:
          description: Protocol.
          type: str
        endpoint:
          description: Endpoint.
          type: str
        subscription_arn:
          description: ARN, C(PendingConfirmation) while unconfirmed, C(null) in check mode for a new one.
          type: str
    tags:
      description: Tags.
      type: dict
  sample:
    name: seed-prod-alarms
    display_name: seed prod alarms
    policy: {"Version": "2012-10-17", "Statement": []}
    delivery_policy: null
    kms_master_key_id: ""
    subscriptions: [{"protocol": "email", "endpoint": "oncall@example.com", "subscription_arn": "PendingConfirmation"}]
    tags: {"stack": "seed"}
"""

import copy
import json
import re

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)

# https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html: 1-256 letters, digits, hyphens, underscores
NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# ListSubscriptionsByTopic's stand-ins for a subscription that has no ARN to unsubscribe
NO_ARN = ("PendingConfirmation", "Deleted")


@AWSRetry.jittered_backoff()
def list_subscriptions(client, topic_arn):
    paginator = client.get_paginator("list_subscriptions_by_topic")
    return paginator.paginate(TopicArn=topic_arn).build_full_result()["Subscriptions"]


def endpoint_key(protocol, endpoint):
    """(protocol, endpoint) as SNS keeps it: phone numbers in E.164 (community.aws does the same)."""
    return protocol, re.sub(r"[^0-9+]", "", endpoint) if protocol == "sms" else endpoint


def delivery_policy_of(value):
    """A delivery policy, with the default SNS adds to an HTTP policy, so that a given one compares with AWS's."""
    if not value:
        return None
    out = copy.deepcopy(json.loads(value) if isinstance(value, str) else value)
    if isinstance(out.get("http"), dict):
        out["http"].setdefault("disableSubscriptionOverrides", False)
    return out


def fail_aws(module, error, msg):
    module.fail_json_aws(error, msg=msg)


def topic_arn(module, client):
    """The ARN from the account (given or the caller's), the client's partition and region, and the name."""
    account = module.params["account_id"]
    partition, region = client.meta.partition, client.meta.region_name
    if not account:
        sts = module.client("sts", retry_decorator=AWSRetry.jittered_backoff())
        try:
            caller = sts.get_caller_identity(aws_retry=True)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, "Couldn't find the account (sts:GetCallerIdentity); set account_id")
        account, partition = caller["Account"], caller["Arn"].split(":")[1]
    return f"arn:{partition}:sns:{region}:{account}:{module.params['name']}"


def read_attributes(module, client, arn):
    try:
        return client.get_topic_attributes(TopicArn=arn, aws_retry=True)["Attributes"]
    except is_boto3_error_code("NotFound"):
        return None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        fail_aws(module, e, f"Couldn't read topic {arn}")


def current_topic(module, client, arn, attributes):
    try:
        subscriptions = list_subscriptions(client, arn)
        tags = client.list_tags_for_resource(ResourceArn=arn, aws_retry=True)["Tags"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Couldn't read the subscriptions and tags of topic {arn}")
    return {
        "name": module.params["name"],
        "display_name": attributes.get("DisplayName", ""),
        "policy": json.loads(attributes["Policy"]) if attributes.get("Policy") else None,
        "delivery_policy": delivery_policy_of(attributes.get("DeliveryPolicy")),
        "kms_master_key_id": attributes.get("KmsMasterKeyId", ""),
        "subscriptions": sorted(({"protocol": s["Protocol"], "endpoint": s["Endpoint"], "subscription_arn": s["SubscriptionArn"]}
                                 for s in subscriptions if s["SubscriptionArn"] != "Deleted"),
                                key=lambda s: (s["protocol"], s["endpoint"])),
        "tags": boto3_tag_list_to_ansible_dict(tags),
    }


def desired_attributes(params):
    """SNS attribute name -> value, for the options given."""
    out = {}
    if params["display_name"] is not None:
        out["DisplayName"] = params["display_name"]
    if params["policy"] is not None:
        out["Policy"] = params["policy"]
    if params["delivery_policy"] is not None:
        out["DeliveryPolicy"] = json.dumps(params["delivery_policy"])
    if params["kms_master_key_id"] is not None:
        out["KmsMasterKeyId"] = params["kms_master_key_id"]
    return out


def attribute_differs(name, want, have):
    if name == "Policy":
        return have["policy"] is None or compare_policies(have["policy"], json.loads(want))
    if name == "DeliveryPolicy":
        return delivery_policy_of(want) != have["delivery_policy"]
    return want != have[{"DisplayName": "display_name", "KmsMasterKeyId": "kms_master_key_id"}[name]]


def plan(params, have):
    """The calls that bring ``have`` (None: no topic) to what ``params`` ask for, and the topic after them.

    Returns ``(calls, after)``; ``calls`` is a list of ``(method, kwargs)`` of the botocore SNS client without
    ``TopicArn``/``ResourceArn``, which the caller adds."""
    attributes = desired_attributes(params)
    after = copy.deepcopy(have) if have else {
        "name": params["name"], "display_name": "", "policy": None, "delivery_policy": None, "kms_master_key_id": "",
        "subscriptions": [], "tags": {}}
    calls = []
    if have is None:
        create = {"Name": params["name"], "Attributes": {k: v for k, v in attributes.items() if v or k == "DisplayName"}}
        if params["tags"]:
            create["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
        calls.append(("create_topic", create))
        after["tags"] = dict(params["tags"] or {})
    else:
        for name, value in attributes.items():
            if attribute_differs(name, value, have):
                calls.append(("set_topic_attributes", {"AttributeName": name, "AttributeValue": value}))
        if params["tags"] is not None:
            to_set, to_unset = compare_aws_tags(have["tags"], params["tags"], params["purge_tags"])
            if to_set:
                calls.append(("tag_resource", {"Tags": ansible_dict_to_boto3_tag_list(to_set)}))
                after["tags"].update(to_set)
            if to_unset:
                calls.append(("untag_resource", {"TagKeys": sorted(to_unset)}))
                for key in to_unset:
                    after["tags"].pop(key, None)
    for key, field in (("DisplayName", "display_name"), ("KmsMasterKeyId", "kms_master_key_id")):
        if key in attributes:
            after[field] = attributes[key]
    if "Policy" in attributes:
        after["policy"] = json.loads(attributes["Policy"])
    if "DeliveryPolicy" in attributes:
        after["delivery_policy"] = delivery_policy_of(attributes["DeliveryPolicy"])

    if params["subscriptions"] is not None:
        wanted = [endpoint_key(s["protocol"], s["endpoint"]) for s in params["subscriptions"]]
        existing = {(s["protocol"], s["endpoint"]) for s in after["subscriptions"]}
        kept = []
        for sub in after["subscriptions"]:
            if (sub["protocol"], sub["endpoint"]) in wanted or not params["purge_subscriptions"] or sub["subscription_arn"] in NO_ARN:
                kept.append(sub)
            else:
                calls.append(("unsubscribe", {"SubscriptionArn": sub["subscription_arn"]}))
        for protocol, endpoint in dict.fromkeys(wanted):
            if (protocol, endpoint) not in existing:
                calls.append(("subscribe", {"Protocol": protocol, "Endpoint": endpoint, "ReturnSubscriptionArn": True}))
                kept.append({"protocol": protocol, "endpoint": endpoint, "subscription_arn": None})
        after["subscriptions"] = sorted(kept, key=lambda s: (s["protocol"], s["endpoint"]))
    return calls, after


def check_inputs(module):
    params = module.params
    if not NAME.match(params["name"]):
        module.fail_json(msg=f"name: {params['name']!r} is not a standard topic name (1-256 letters, digits, - and _;"
                             " not an ARN, no .fifo)")
    if params["account_id"] is not None and not re.match(r"^[0-9]{12}$", params["account_id"]):
        module.fail_json(msg=f"account_id: {params['account_id']!r} is not a 12-digit AWS account ID")
    if params["policy"] is not None:
        try:
            policy = json.loads(params["policy"])
        except ValueError:
            policy = None
        if not isinstance(policy, dict):
            module.fail_json(msg="policy: not a JSON policy document (an object)")
        params["policy"] = json.dumps(policy)
    for sub in params["subscriptions"] or []:
        if not sub["endpoint"]:
            module.fail_json(msg=f"subscriptions: an empty endpoint for protocol {sub['protocol']}")


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            account_id=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            display_name=dict(type="str"),
            policy=dict(type="json"),
            delivery_policy=dict(type="dict"),
            kms_master_key_id=dict(type="str", no_log=False),
            subscriptions=dict(type="list", elements="dict", options=dict(
                protocol=dict(type="str", required=True,
                              choices=["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"]),
                endpoint=dict(type="str", required=True),
            )),
            purge_subscriptions=dict(type="bool", default=True),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    check_inputs(module)
    client = module.client("sns", retry_decorator=AWSRetry.jittered_backoff())
    arn = topic_arn(module, client)
    attributes = read_attributes(module, client, arn)

    if module.params["state"] == "absent":
        if attributes is None:
            module.exit_json(changed=False, topic_arn=arn, topic={}, diff={"before": {}, "after": {}})
        if not module.check_mode:
            try:
                client.delete_topic(TopicArn=arn, aws_retry=True)  # and its subscriptions
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                fail_aws(module, e, f"Couldn't delete topic {arn}")
        before = {"topic_arn": arn, "display_name": attributes.get("DisplayName", "")}
        module.exit_json(changed=True, topic_arn=arn, topic={}, diff={"before": before, "after": {}})

    have = current_topic(module, client, arn, attributes) if attributes is not None else None
    calls, after = plan(module.params, have)
    left = [s["endpoint"] for s in (have or {}).get("subscriptions", []) if s["subscription_arn"] == "PendingConfirmation"
            and module.params["subscriptions"] is not None and module.params["purge_subscriptions"]
            and endpoint_key(s["protocol"], s["endpoint"]) not in
            [endpoint_key(w["protocol"], w["endpoint"]) for w in module.params["subscriptions"]]]
    if left:
        module.warn(f"subscriptions pending confirmation cannot be unsubscribed (AWS deletes them after 3 days): {left}")
    if calls and not module.check_mode:
        new_arns = {}
        for method, kwargs in calls:
            if method == "create_topic":
                pass
            elif method in ("tag_resource", "untag_resource"):
                kwargs = dict(kwargs, ResourceArn=arn)
            elif method != "unsubscribe":
                kwargs = dict(kwargs, TopicArn=arn)
            try:
                answer = getattr(client, method)(aws_retry=True, **kwargs)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                fail_aws(module, e, f"Couldn't {method.replace('_', ' ')} ({arn})")
            if method == "create_topic" and answer["TopicArn"] != arn:
                module.fail_json(msg=f"CreateTopic answered {answer['TopicArn']}, not the ARN built for it ({arn}):"
                                     " set account_id to the account the credentials are in")
            if method == "subscribe":
                new_arns[(kwargs["Protocol"], kwargs["Endpoint"])] = answer.get("SubscriptionArn")
        for sub in after["subscriptions"]:
            if sub["subscription_arn"] is None:
                sub["subscription_arn"] = new_arns.get((sub["protocol"], sub["endpoint"]))
    before = copy.deepcopy(have or {})
    diff_after = copy.deepcopy(after)
    for state in (before, diff_after):  # ARNs are not what the task asks for
        for sub in state.get("subscriptions", []):
            sub.pop("subscription_arn", None)
    module.exit_json(changed=bool(calls), topic_arn=arn, topic=after, diff={"before": before, "after": diff_after})


if __name__ == "__main__":
    main()
