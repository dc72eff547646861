"""seed.fargate.cloudwatch_dashboard: body comparison and check mode.

The module's functions run against a real botocore CloudWatch client whose
HTTP layer is replaced by botocore's Stubber: an unexpected call (a write in
check mode, a write when nothing changed) makes the Stubber raise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / ".collections"))

from ansible_collections.amazon.aws.plugins.module_utils.retries import (
    AWSRetry,
    RetryingBotoClientWrapper,
)
from ansible_collections.seed.fargate.plugins.module_utils.cloudwatch_dashboard import (
    DashboardBodyError,
    bodies_equal,
    body_to_json,
    normalize_body,
)
from ansible_collections.seed.fargate.plugins.modules import (
    cloudwatch_dashboard as module_under_test,
)

NAME = "seed-local"
ARN = f"arn:aws:cloudwatch::123456789012:dashboard/{NAME}"
BODY = {
    "widgets": [
        {
            "type": "metric",
            "x": 0,
            "y": 0,
            "width": 12,
            "height": 6,
            "properties": {
                "region": "us-east-1",
                "stat": "p99",
                "period": 60,
                "metrics": [["AWS/ApplicationELB", "TargetResponseTime", "TargetGroup", "targetgroup/a/1"]],
                "yAxis": {"left": {"min": 0, "max": 2.5}},
                "stacked": False,
            },
        }
    ]
}


# -- comparison -------------------------------------------------------------------------
class TestComparison:
    def test_key_order_does_not_matter(self):
        reordered = json.loads(json.dumps(BODY, sort_keys=True))
        reordered["widgets"][0] = dict(reversed(list(reordered["widgets"][0].items())))
        assert bodies_equal(BODY, reordered)

    @pytest.mark.parametrize("spelling", ["6", "6.0", "6e0", "60e-1", "6.000"])
    def test_number_spelling_does_not_matter(self, spelling):
        text = json.dumps(BODY).replace('"height": 6', f'"height": {spelling}')
        assert spelling in text
        assert bodies_equal(BODY, text)

    def test_int_and_float_one_are_equal(self):
        assert bodies_equal({"widgets": [], "v": 1}, {"widgets": [], "v": 1.0})
        assert normalize_body('{"v": 1.0}') == {"v": 1}
        assert isinstance(normalize_body('{"v": 1.0}')["v"], int)

    def test_fractions_are_kept(self):
        assert not bodies_equal({"v": 2.5}, {"v": 2})
        assert normalize_body('{"v": 2.50}') == {"v": 2.5}

    def test_bool_is_not_a_number(self):
        assert not bodies_equal({"v": True}, {"v": 1})
        assert not bodies_equal({"v": False}, {"v": 0})

    def test_string_is_not_a_number(self):
        assert not bodies_equal({"v": "1"}, {"v": 1})

    def test_nested_list_order_matters(self):
        swapped = json.loads(json.dumps(BODY))
        metric = swapped["widgets"][0]["properties"]["metrics"][0]
        metric[2], metric[3] = metric[3], metric[2]
        assert not bodies_equal(BODY, swapped)

    def test_nested_numbers_inside_lists(self):
        a = {"widgets": [{"properties": {"metrics": [["N", "M", {"yAxis": "left", "period": 300}]]}}]}
        b = '{"widgets":[{"properties":{"metrics":[["N","M",{"period":300.0,"yAxis":"left"}]]}}]}'
        assert bodies_equal(a, b)
        b_changed = b.replace("300.0", "301")
        assert not bodies_equal(a, b_changed)

    def test_extra_widget_differs(self):
        more = json.loads(json.dumps(BODY))
        more["widgets"].append({"type": "text", "properties": {"markdown": "x"}})
        assert not bodies_equal(BODY, more)

    def test_whitespace_in_json_text_does_not_matter(self):
        assert bodies_equal(BODY, json.dumps(BODY, indent=4))

    def test_canonical_json_is_stable(self):
        assert body_to_json(normalize_body(BODY)) == body_to_json(normalize_body(json.dumps(BODY, indent=2)))

    @pytest.mark.parametrize("bad", ["not json", "[1, 2]", "3", '"text"'])
    def test_non_object_bodies_are_rejected(self, bad):
        with pytest.raises(DashboardBodyError):
            normalize_body(bad)


# -- module functions against a stubbed client ------------------------------------------
class FakeModule:
    """The part of AnsibleAWSModule the functions use; failures raise."""

    def __init__(self, check_mode):
        self.check_mode = check_mode

    def fail_json_aws(self, exception, msg=None, **kwargs):
        raise AssertionError(f"fail_json_aws: {msg}: {exception} {kwargs}")

    def fail_json(self, msg=None, **kwargs):
        raise AssertionError(f"fail_json: {msg} {kwargs}")


@pytest.fixture
def stubbed():
    raw = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(raw)
    client = RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1))
    with stubber:
        yield client, stubber
    stubber.assert_no_pending_responses()


def stored(body):
    return {"DashboardName": NAME, "DashboardArn": ARN, "DashboardBody": body}


def test_check_mode_create_writes_nothing(stubbed):
    client, _stubber = stubbed  # no responses queued: any call fails
    changed, dashboard, messages = module_under_test.ensure_present(
        FakeModule(check_mode=True), client, NAME, normalize_body(BODY), None
    )
    assert changed is True
    assert dashboard["dashboard_body"] == normalize_body(BODY)
    assert messages == []


def test_check_mode_update_writes_nothing(stubbed):
    client, _stubber = stubbed
    current = stored(json.dumps({"widgets": []}))
    changed, dashboard, _ = module_under_test.ensure_present(
        FakeModule(check_mode=True), client, NAME, normalize_body(BODY), current
    )
    assert changed is True
    assert dashboard["dashboard_arn"] == ARN


def test_check_mode_delete_writes_nothing(stubbed):
    client, _ = stubbed
    assert module_under_test.ensure_absent(FakeModule(check_mode=True), client, NAME, stored("{}")) is True


def test_absent_when_missing_is_unchanged(stubbed):
    client, _ = stubbed
    assert module_under_test.ensure_absent(FakeModule(check_mode=False), client, NAME, None) is False


def test_equivalent_body_makes_no_write(stubbed):
    client, _ = stubbed
    # Stored as AWS would return it: other key order, 6.0 for 6, indented.
    text = json.dumps(json.loads(json.dumps(BODY, sort_keys=True)), indent=2).replace('"height": 6', '"height": 6.0')
    changed, dashboard, _ = module_under_test.ensure_present(
        FakeModule(check_mode=False), client, NAME, normalize_body(BODY), stored(text)
    )
    assert changed is False
    assert dashboard == {"dashboard_name": NAME, "dashboard_arn": ARN, "dashboard_body": normalize_body(BODY)}


def test_changed_body_is_put_once(stubbed):
    client, stubber = stubbed
    desired = normalize_body(BODY)
    stubber.add_response(
        "put_dashboard",
        {"DashboardValidationMessages": []},
        {"DashboardName": NAME, "DashboardBody": body_to_json(desired)},
    )
    stubber.add_response("get_dashboard", stored(body_to_json(desired)), {"DashboardName": NAME})
    changed, dashboard, messages = module_under_test.ensure_present(
        FakeModule(check_mode=False), client, NAME, desired, stored('{"widgets": []}')
    )
    assert changed is True
    assert dashboard["dashboard_arn"] == ARN
    assert messages == []


def test_validation_error_fails_with_aws_message(stubbed):
    client, stubber = stubbed
    desired = normalize_body({"widgets": [{"type": "metric", "properties": {}}]})
    stubber.add_client_error(
        "put_dashboard",
        service_error_code="InvalidParameterInput",
        service_message="The dashboard body is invalid, there are 1 validation errors",
        http_status_code=400,
    )
    with pytest.raises(AssertionError, match="AWS rejected the body of dashboard seed-local"):
        module_under_test.ensure_present(FakeModule(check_mode=False), client, NAME, desired, None)
