"""seed.fargate.sns_topic against the local endpoint: the topic found by its ARN (no ListTopics), one read each of
its attributes, subscriptions and tags for a converged topic, writes only for what differs, check mode writing
nothing, removal, and bad input failing before any call."""

from __future__ import annotations

import json

import yaml

ACCOUNT = "123456789012"
NAME = "t-alarms"
ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:{NAME}"
POLICY = {"Version": "2012-10-17",
          "Statement": [{"Sid": "Publish", "Effect": "Allow", "Principal": {"Service": ["budgets.amazonaws.com", "cloudwatch.amazonaws.com"]},
                         "Action": "SNS:Publish", "Resource": "*"}]}
# The same policy as AWS may answer it: a one-element list for a single action, principals in another order.
POLICY_REWRITTEN = {"Version": "2012-10-17",
                    "Statement": [{"Sid": "Publish", "Effect": "Allow",
                                   "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
                                   "Action": ["SNS:Publish"], "Resource": "*"}]}
READS = ["GetTopicAttributes", "ListSubscriptionsByTopic", "ListTagsForResource"]


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "topic", "seed.fargate.sns_topic": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def topic(**over):
    args = {"name": NAME, "display_name": "t alarms", "policy": POLICY,
            "subscriptions": [{"protocol": "email", "endpoint": "oncall@example.com"}],
            "tags": {"stack": "t", "environment": "test"}} | over
    return {k: v for k, v in args.items() if v is not None}


def result(run):
    return run.task_results("topic")[0]


def actions(calls):
    return [c["action"] for c in calls]


def subscriptions(sns):
    return sorted((s["Protocol"], s["Endpoint"]) for s in sns.list_subscriptions_by_topic(TopicArn=ARN)["Subscriptions"])


def tags(sns):
    return {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=ARN)["Tags"]}


def test_topic_lifecycle(run_playbook, boto, tmp_path):
    sns = boto("sns")
    sns.create_topic(Name="other")  # another topic of the account: never read, never touched
    create = playbook(tmp_path, topic())

    # --check on nothing: the topic to make, its ARN already known, nothing written.
    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.failure_messages()
    assert check.changed == 1 and check.writes == []
    assert actions(check.calls) == ["GetCallerIdentity", "GetTopicAttributes"]
    assert result(check)["topic_arn"] == ARN
    assert result(check)["diff"]["before"] == {} and result(check)["diff"]["after"]["display_name"] == "t alarms"
    assert result(check)["topic"]["subscriptions"] == [
        {"protocol": "email", "endpoint": "oncall@example.com", "subscription_arn": None}]

    run = run_playbook(create)
    assert run.rc == 0, run.failure_messages()
    assert actions(run.writes) == ["CreateTopic", "Subscribe"]
    assert result(run)["topic_arn"] == ARN and result(run)["topic"]["subscriptions"][0]["subscription_arn"].startswith(ARN)
    attributes = sns.get_topic_attributes(TopicArn=ARN)["Attributes"]
    assert attributes["DisplayName"] == "t alarms" and json.loads(attributes["Policy"]) == POLICY
    assert subscriptions(sns) == [("email", "oncall@example.com")] and tags(sns) == {"stack": "t", "environment": "test"}

    # Converged: three reads after the account's, nothing written; in check mode too; with the account given, three.
    again = run_playbook(create)
    assert again.rc == 0 and again.changed == 0 and again.writes == []
    assert actions(again.calls) == ["GetCallerIdentity"] + READS
    assert result(again)["topic"]["tags"] == {"stack": "t", "environment": "test"}
    assert run_playbook(create, check=True, diff=True).writes == []
    known = run_playbook(playbook(tmp_path, topic(account_id=ACCOUNT), "known.yml"))
    assert known.changed == 0 and actions(known.calls) == READS
    # The policy compared as a policy: the same one written differently is no change.
    same = run_playbook(playbook(tmp_path, topic(policy=POLICY_REWRITTEN), "same.yml"))
    assert same.changed == 0 and same.writes == []

    # Policy, display name, subscriptions and tags change: check mode shows it and writes nothing, then only those calls.
    new_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Publish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "SNS:Publish", "Resource": "*"}]}
    change = playbook(tmp_path, topic(display_name="changed", policy=new_policy,
                                      subscriptions=[{"protocol": "https", "endpoint": "https://hooks.example.com/a"}],
                                      tags={"stack": "t", "owner": "me"}), "change.yml")
    check = run_playbook(change, check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.writes == []
    diff = result(check)["diff"]
    assert diff["before"]["display_name"] == "t alarms" and diff["after"]["display_name"] == "changed"
    assert diff["after"]["subscriptions"] == [{"protocol": "https", "endpoint": "https://hooks.example.com/a"}]
    assert diff["after"]["tags"] == {"stack": "t", "owner": "me"}
    run = run_playbook(change)
    assert run.rc == 0, run.failure_messages()
    assert sorted(actions(run.writes)) == sorted(["SetTopicAttributes", "SetTopicAttributes", "TagResource", "UntagResource",
                                                  "Unsubscribe", "Subscribe"])
    attributes = sns.get_topic_attributes(TopicArn=ARN)["Attributes"]
    assert attributes["DisplayName"] == "changed" and json.loads(attributes["Policy"]) == new_policy
    assert subscriptions(sns) == [("https", "https://hooks.example.com/a")] and tags(sns) == {"stack": "t", "owner": "me"}
    assert run_playbook(change).writes == []

    # Without purges, what was added out of band stays; options left out are left alone; with purges, it goes.
    sns.subscribe(TopicArn=ARN, Protocol="email", Endpoint="extra@example.com")
    sns.tag_resource(ResourceArn=ARN, Tags=[{"Key": "extra", "Value": "1"}])
    keep = playbook(tmp_path, {"name": NAME, "subscriptions": [{"protocol": "https", "endpoint": "https://hooks.example.com/a"}],
                               "purge_subscriptions": False, "tags": {"stack": "t"}, "purge_tags": False}, "keep.yml")
    run = run_playbook(keep)
    assert run.changed == 0 and run.writes == []
    untouched = run_playbook(playbook(tmp_path, {"name": NAME}, "untouched.yml"))
    assert untouched.changed == 0 and untouched.writes == []
    purge = run_playbook(change)
    assert sorted(actions(purge.writes)) == ["Unsubscribe", "UntagResource"]
    assert subscriptions(sns) == [("https", "https://hooks.example.com/a")] and tags(sns) == {"stack": "t", "owner": "me"}

    # Removal: check mode writes nothing; then the topic goes with its subscriptions; a second run has nothing to do.
    absent = playbook(tmp_path, {"name": NAME, "state": "absent"}, "absent.yml")
    check = run_playbook(absent, check=True, diff=True)
    assert check.changed == 1 and check.writes == []
    run = run_playbook(absent)
    assert run.rc == 0 and actions(run.writes) == ["DeleteTopic"]
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [f"arn:aws:sns:us-east-1:{ACCOUNT}:other"]
    gone = run_playbook(absent)
    assert gone.changed == 0 and actions(gone.calls) == ["GetCallerIdentity", "GetTopicAttributes"]


def test_bad_input_fails_before_any_call(run_playbook, tmp_path):
    bad = [
        (topic(name="arn:aws:sns:us-east-1:123456789012:x"), "not a standard topic name"),
        (topic(name="t.fifo"), "not a standard topic name"),
        (topic(account_id="1234"), "12-digit"),
        (topic(policy="{not json"), "policy"),
        (topic(subscriptions=[{"protocol": "pigeon", "endpoint": "x"}]), "protocol"),
        (topic(subscriptions=[{"protocol": "email"}]), "endpoint"),
    ]
    for i, (args, message) in enumerate(bad):
        run = run_playbook(playbook(tmp_path, args, f"bad{i}.yml"))
        assert run.rc != 0 and run.calls == [], run.calls
        assert any(message in m for m in run.failure_messages()), run.failure_messages()
