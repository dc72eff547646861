"""seed.fargate.sns_topic: the plan (calls and the topic after them) from what is read and what is asked, no AWS.
The module against the local endpoint: tests/integration/modules/test_sns_topic_module.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / ".collections"))

from ansible_collections.seed.fargate.plugins.modules.sns_topic import plan

POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                                  "Action": "SNS:Publish", "Resource": "*"}]}
ARN = "arn:aws:sns:us-east-1:123456789012:t"


def params(**over):
    return {"name": "t", "display_name": None, "policy": None, "delivery_policy": None, "kms_master_key_id": None,
            "subscriptions": None, "purge_subscriptions": True, "tags": None, "purge_tags": True} | over


def have(**over):
    return {"name": "t", "display_name": "t", "policy": POLICY, "delivery_policy": None, "kms_master_key_id": "",
            "subscriptions": [{"protocol": "email", "endpoint": "a@example.com", "subscription_arn": f"{ARN}:1"},
                              {"protocol": "email", "endpoint": "p@example.com", "subscription_arn": "PendingConfirmation"}],
            "tags": {"stack": "t"}} | over


def test_new_topic_is_one_create_with_its_attributes_and_tags_then_the_subscriptions():
    calls, after = plan(params(display_name="d", policy=json.dumps(POLICY), kms_master_key_id="",
                               subscriptions=[{"protocol": "sms", "endpoint": "+1 (555) 0100"}], tags={"a": "b"}), None)
    assert calls == [("create_topic", {"Name": "t", "Attributes": {"DisplayName": "d", "Policy": json.dumps(POLICY)},
                                       "Tags": [{"Key": "a", "Value": "b"}]}),
                     ("subscribe", {"Protocol": "sms", "Endpoint": "+15550100", "ReturnSubscriptionArn": True})]
    assert after["policy"] == POLICY and after["tags"] == {"a": "b"}
    assert after["subscriptions"] == [{"protocol": "sms", "endpoint": "+15550100", "subscription_arn": None}]


def test_options_left_out_are_left_alone_and_a_policy_compares_as_a_policy():
    assert plan(params(), have()) == ([], have())
    rewritten = {"Statement": [dict(POLICY["Statement"][0], Action=["SNS:Publish"])], "Version": "2012-10-17"}
    assert plan(params(policy=json.dumps(rewritten)), have())[0] == []
    assert plan(params(delivery_policy={"http": {"defaultHealthyRetryPolicy": {"numRetries": 3}}}),
                have(delivery_policy={"http": {"defaultHealthyRetryPolicy": {"numRetries": 3},
                                               "disableSubscriptionOverrides": False}}))[0] == []


def test_differences_only_and_pending_subscriptions_are_kept():
    calls, after = plan(params(display_name="new", kms_master_key_id="alias/aws/sns",
                               subscriptions=[{"protocol": "https", "endpoint": "https://h.example.com"}],
                               tags={"owner": "me"}), have())
    assert calls == [("set_topic_attributes", {"AttributeName": "DisplayName", "AttributeValue": "new"}),
                     ("set_topic_attributes", {"AttributeName": "KmsMasterKeyId", "AttributeValue": "alias/aws/sns"}),
                     ("tag_resource", {"Tags": [{"Key": "owner", "Value": "me"}]}),
                     ("untag_resource", {"TagKeys": ["stack"]}),
                     ("unsubscribe", {"SubscriptionArn": f"{ARN}:1"}),
                     ("subscribe", {"Protocol": "https", "Endpoint": "https://h.example.com", "ReturnSubscriptionArn": True})]
    assert [s["endpoint"] for s in after["subscriptions"]] == ["p@example.com", "https://h.example.com"]
    assert after["tags"] == {"owner": "me"} and after["display_name"] == "new"


def test_without_purges_nothing_is_removed():
    calls = plan(params(subscriptions=[], purge_subscriptions=False, tags={}, purge_tags=False), have())[0]
    assert calls == []
