"""application_autoscaling_target: read, compare, register only on difference, deregister; check mode.

The helpers run against a real boto3 client under botocore's Stubber, so every
call the module makes must be expected (with its exact parameters) and every
expected call must be made. ``main()`` runs once per state with the module's
own argument spec and result shape.
"""

from __future__ import annotations

import datetime
import json

import pytest
from _codedeploy_stubs import FakeModule, stubbed
from ansible.module_utils.testing import patch_module_args
from ansible_collections.seed.fargate.plugins.modules import (
    application_autoscaling_target as module_under_test,
)

KEY = {"ServiceNamespace": "ecs", "ResourceId": "service/shop/api", "ScalableDimension": "ecs:service:DesiredCount"}
DESCRIBE = {"ServiceNamespace": "ecs", "ResourceIds": ["service/shop/api"],
            "ScalableDimension": "ecs:service:DesiredCount"}
NOT_SUSPENDED = {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                 "ScheduledScalingSuspended": False}
ROLE = ("arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_ECSService")


def params(**overrides):
    base = {"state": "present", "service_namespace": "ecs", "resource_id": "service/shop/api",
            "scalable_dimension": "ecs:service:DesiredCount", "min_capacity": 2, "max_capacity": 6,
            "role_arn": None, "suspended_state": None}
    base.update(overrides)
    return base


def registered(min_capacity=2, max_capacity=6, suspended=None):
    return dict(KEY, MinCapacity=min_capacity, MaxCapacity=max_capacity, RoleARN=ROLE,
                SuspendedState=dict(NOT_SUSPENDED, **(suspended or {})),
                ScalableTargetARN="arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0abc",
                CreationTime=datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.UTC))


@pytest.fixture
def client():
    wrapped, stubber = stubbed("application-autoscaling")
    yield wrapped, stubber
    stubber.assert_no_pending_responses()


def test_get_target_returns_the_matching_target(client):
    wrapped, stubber = client
    stubber.add_response("describe_scalable_targets", {"ScalableTargets": [registered()]}, DESCRIBE)
    assert module_under_test.get_target(wrapped, KEY)["MinCapacity"] == 2


def test_get_target_none_when_not_registered(client):
    wrapped, stubber = client
    stubber.add_response("describe_scalable_targets", {"ScalableTargets": []}, DESCRIBE)
    assert module_under_test.get_target(wrapped, KEY) is None


def test_register_new_target(client):
    wrapped, stubber = client
    stubber.add_response("register_scalable_target", {}, dict(KEY, MinCapacity=2, MaxCapacity=6))
    stubber.add_response("describe_scalable_targets", {"ScalableTargets": [registered()]}, DESCRIBE)
    changed, after = module_under_test.ensure_present(FakeModule(params()), wrapped, None)
    assert changed is True
    assert after["ScalableTargetARN"].endswith("/0abc")


def test_new_target_in_check_mode_writes_nothing(client):
    wrapped, _ = client
    changed, after = module_under_test.ensure_present(FakeModule(params(), check_mode=True), wrapped, None)
    assert changed is True
    assert (after["MinCapacity"], after["MaxCapacity"], after["SuspendedState"]) == (2, 6, NOT_SUSPENDED)


def test_same_target_is_not_registered_again(client):
    wrapped, _ = client
    current = registered()
    changed, after = module_under_test.ensure_present(FakeModule(params()), wrapped, current)
    assert changed is False and after is current


def test_unset_role_and_suspended_state_are_not_compared(client):
    wrapped, _ = client
    current = dict(registered(suspended={"ScheduledScalingSuspended": True}), RoleARN="arn:aws:iam::1:role/other")
    changed, _ = module_under_test.ensure_present(FakeModule(params()), wrapped, current)
    assert changed is False


def test_changed_capacity_is_registered(client):
    wrapped, stubber = client
    stubber.add_response("register_scalable_target", {}, dict(KEY, MinCapacity=3, MaxCapacity=8))
    stubber.add_response("describe_scalable_targets", {"ScalableTargets": [registered(3, 8)]}, DESCRIBE)
    changed, after = module_under_test.ensure_present(FakeModule(params(min_capacity=3, max_capacity=8)), wrapped,
                                                      registered())
    assert changed is True and (after["MinCapacity"], after["MaxCapacity"]) == (3, 8)


def test_changed_capacity_in_check_mode_writes_nothing(client):
    wrapped, _ = client
    changed, after = module_under_test.ensure_present(FakeModule(params(max_capacity=8), check_mode=True), wrapped,
                                                      registered())
    assert changed is True and after["MaxCapacity"] == 8 and after["RoleARN"] == ROLE


def test_suspended_state_sends_the_whole_state(client):
    wrapped, stubber = client
    expected = dict(NOT_SUSPENDED, DynamicScalingInSuspended=True, ScheduledScalingSuspended=True)
    stubber.add_response("register_scalable_target", {},
                         dict(KEY, MinCapacity=2, MaxCapacity=6, SuspendedState=expected))
    stubber.add_response("describe_scalable_targets",
                         {"ScalableTargets": [registered(suspended={"DynamicScalingInSuspended": True,
                                                                    "ScheduledScalingSuspended": True})]}, DESCRIBE)
    module = FakeModule(params(suspended_state={"dynamic_scaling_in_suspended": True,
                                                "dynamic_scaling_out_suspended": None,
                                                "scheduled_scaling_suspended": None}))
    changed, after = module_under_test.ensure_present(
        module, wrapped, registered(suspended={"ScheduledScalingSuspended": True}))
    assert changed is True and after["SuspendedState"] == expected


def test_role_arn_is_compared_when_set(client):
    wrapped, stubber = client
    role = "arn:aws:iam::123456789012:role/scaler"
    stubber.add_response("register_scalable_target", {}, dict(KEY, MinCapacity=2, MaxCapacity=6, RoleARN=role))
    stubber.add_response("describe_scalable_targets", {"ScalableTargets": [dict(registered(), RoleARN=role)]},
                         DESCRIBE)
    changed, _ = module_under_test.ensure_present(FakeModule(params(role_arn=role)), wrapped, registered())
    assert changed is True


def test_min_above_max_fails_before_any_call(client):
    wrapped, _ = client
    with pytest.raises(FakeModule.Failed, match="must not exceed max_capacity"):
        module_under_test.ensure_present(FakeModule(params(min_capacity=7)), wrapped, None)


def test_deregister_registered_target(client):
    wrapped, stubber = client
    stubber.add_response("deregister_scalable_target", {}, KEY)
    assert module_under_test.ensure_absent(FakeModule(params(state="absent")), wrapped, registered()) is True


def test_absent_target_is_left_alone(client):
    wrapped, _ = client
    assert module_under_test.ensure_absent(FakeModule(params(state="absent")), wrapped, None) is False


def test_deregister_in_check_mode_writes_nothing(client):
    wrapped, _ = client
    module = FakeModule(params(state="absent"), check_mode=True)
    assert module_under_test.ensure_absent(module, wrapped, registered()) is True


def test_target_gone_since_it_was_read_is_not_a_change(client):
    wrapped, stubber = client
    stubber.add_client_error("deregister_scalable_target", "ObjectNotFoundException", expected_params=KEY)
    assert module_under_test.ensure_absent(FakeModule(params(state="absent")), wrapped, registered()) is False


def test_other_deregister_errors_propagate(client):
    wrapped, stubber = client
    stubber.add_client_error("deregister_scalable_target", "ConcurrentUpdateException", expected_params=KEY)
    with pytest.raises(Exception, match="ConcurrentUpdateException"):
        module_under_test.ensure_absent(FakeModule(params(state="absent")), wrapped, registered())


def run_main(monkeypatch, capsys, args, stubber_setup, check_mode=False, diff=True):
    """main() with real argument parsing; module.client() answers with a stubbed client."""
    wrapped, stubber = stubbed("application-autoscaling")
    stubber_setup(stubber)
    monkeypatch.setattr(module_under_test.AnsibleAWSModule, "client", lambda self, *a, **kw: wrapped)
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module_under_test.main()
    stubber.assert_no_pending_responses()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_main_present_in_check_mode_reports_diff_without_writing(monkeypatch, capsys):
    def setup(stubber):
        stubber.add_response("describe_scalable_targets", {"ScalableTargets": [registered()]}, DESCRIBE)

    args = {"service_namespace": "ecs", "resource_id": "service/shop/api",
            "scalable_dimension": "ecs:service:DesiredCount", "min_capacity": 2, "max_capacity": 4,
            "region": "us-east-1"}
    code, result = run_main(monkeypatch, capsys, args, setup, check_mode=True)
    assert code == 0 and result["changed"] is True
    assert result["scalable_target"]["max_capacity"] == 4
    assert result["diff"]["before"]["max_capacity"] == 6 and result["diff"]["after"]["max_capacity"] == 4
    assert result["scalable_target"]["suspended_state"] == {"dynamic_scaling_in_suspended": False,
                                                            "dynamic_scaling_out_suspended": False,
                                                            "scheduled_scaling_suspended": False}


def test_main_absent_deregisters(monkeypatch, capsys):
    def setup(stubber):
        stubber.add_response("describe_scalable_targets", {"ScalableTargets": [registered()]}, DESCRIBE)
        stubber.add_response("deregister_scalable_target", {}, KEY)

    args = {"service_namespace": "ecs", "resource_id": "service/shop/api",
            "scalable_dimension": "ecs:service:DesiredCount", "state": "absent", "region": "us-east-1"}
    code, result = run_main(monkeypatch, capsys, args, setup)
    assert code == 0 and result["changed"] is True
    assert result["scalable_target"] == {} and result["diff"]["after"] == {}
    assert result["diff"]["before"]["resource_id"] == "service/shop/api"


def test_main_present_requires_capacities(monkeypatch, capsys):
    args = {"service_namespace": "ecs", "resource_id": "service/shop/api",
            "scalable_dimension": "ecs:service:DesiredCount", "region": "us-east-1"}
    code, result = run_main(monkeypatch, capsys, args, lambda stubber: None)
    assert code == 1 and "min_capacity" in result["msg"] and "max_capacity" in result["msg"]


def test_diff_adds_no_suspended_state_the_target_lacks(client):
    """An endpoint that omits SuspendedState: a capacity change shows only the capacity in the diff."""
    wrapped, _ = client
    current = {k: v for k, v in registered().items() if k != "SuspendedState"}
    changed, after = module_under_test.ensure_present(FakeModule(params(max_capacity=8), check_mode=True), wrapped,
                                                      current)
    assert changed is True and "SuspendedState" not in after
    assert module_under_test.ensure_present(FakeModule(params()), wrapped, current) == (False, current)
