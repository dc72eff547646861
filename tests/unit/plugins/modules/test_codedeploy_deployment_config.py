"""codedeploy_deployment_config: definition building and comparison with AWS's description."""

from __future__ import annotations

import pytest
from _codedeploy_stubs import stubbed
from ansible_collections.seed.fargate.plugins.module_utils import codedeploy as cd
from ansible_collections.seed.fargate.plugins.modules import (
    codedeploy_deployment_config as module_under_test,
)


def aws_config(routing):
    return {"deploymentConfigId": "c-1", "deploymentConfigName": "shop-canary", "computePlatform": "ECS",
            "minimumHealthyHosts": {"type": "FLEET_PERCENT", "value": 0}, "trafficRoutingConfig": routing}


@pytest.mark.parametrize(("args", "routing"), [
    (("AllAtOnce",), {"type": "AllAtOnce"}),
    (("TimeBasedCanary", 20, 5), {"type": "TimeBasedCanary",
                                  "timeBasedCanary": {"canaryPercentage": 20, "canaryInterval": 5}}),
    (("TimeBasedLinear", 25, 2), {"type": "TimeBasedLinear",
                                  "timeBasedLinear": {"linearPercentage": 25, "linearInterval": 2}}),
])
def test_spec_matches_what_aws_describes(args, routing):
    spec = cd.build_deployment_config_spec(*args)
    assert spec == {"computePlatform": "ECS", "trafficRoutingConfig": routing}
    # AWS may echo the other sub-structures empty; they do not count
    described = dict(routing, timeBasedLinear={}) if args[0] != "TimeBasedLinear" else dict(routing)
    assert cd.normalize_deployment_config(aws_config(described)) == spec


@pytest.mark.parametrize("other", [
    ("TimeBasedCanary", 10, 5),
    ("TimeBasedCanary", 20, 15),
    ("TimeBasedLinear", 20, 5),
    ("AllAtOnce",),
])
def test_any_other_definition_differs(other):
    current = cd.normalize_deployment_config(aws_config(
        {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 20, "canaryInterval": 5}}))
    assert current != cd.build_deployment_config_spec(*other)


def test_a_server_config_of_the_same_name_differs():
    server = {"deploymentConfigName": "x", "computePlatform": "Server", "trafficRoutingConfig": {"type": "AllAtOnce"}}
    assert cd.normalize_deployment_config(server) != cd.build_deployment_config_spec("AllAtOnce")


def test_description_names_both_definitions():
    text = module_under_test.describe_spec(cd.build_deployment_config_spec("TimeBasedLinear", 25, 2))
    assert text == "TimeBasedLinear 25% every 2 min"


def test_missing_config_reads_as_none():
    wrapped, stubber = stubbed("codedeploy")
    stubber.add_client_error("get_deployment_config", "DeploymentConfigDoesNotExistException", "no such config")
    assert cd.get_deployment_config(wrapped, "nope") is None
    stubber.assert_no_pending_responses()
