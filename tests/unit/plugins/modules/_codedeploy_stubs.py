"""Helpers for the CodeDeploy unit tests: real boto3 clients under botocore's Stubber.

Importing this module puts the repository's ``.collections`` on ``sys.path`` so
that ``ansible_collections.seed.fargate`` resolves to this checkout.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
if str(ROOT / ".collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".collections"))

import boto3
from ansible_collections.amazon.aws.plugins.module_utils.retries import (
    AWSRetry,
    RetryingBotoClientWrapper,
)
from botocore.stub import Stubber

CLUSTER = "shop"
SERVICE = "api"
TARGET_ID = f"{CLUSTER}:{SERVICE}"
TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/api:{}"
T0 = datetime.datetime(2024, 5, 1, 10, 0, 0, tzinfo=datetime.UTC)


def stubbed(service: str):
    """(client wrapped like module.client(..., retry_decorator=...), activated Stubber)."""
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing", endpoint_url="https://stubbed.invalid")
    stubber = Stubber(client)
    stubber.activate()
    return RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1)), stubber


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeModule:
    """The few AnsibleAWSModule attributes the module functions use."""

    class Failed(Exception):
        pass

    def __init__(self, params: dict, check_mode: bool = False):
        self.params = params
        self.check_mode = check_mode
        self.warnings: list[str] = []

    def fail_json(self, **kwargs):
        raise self.Failed(kwargs)

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


def appspec_content(task_definition: str) -> str:
    import json

    return json.dumps({"version": 0.0, "Resources": [{"TargetService": {
        "Type": "AWS::ECS::Service",
        "Properties": {"TaskDefinition": task_definition,
                       "LoadBalancerInfo": {"ContainerName": "api", "ContainerPort": 8080}}}}]})


def deployment(deployment_id: str, status: str, revision: int = 2, **extra) -> dict:
    info = {
        "applicationName": "shop",
        "deploymentGroupName": "shop-api",
        "deploymentId": deployment_id,
        "status": status,
        "createTime": T0,
        "revision": {"revisionType": "AppSpecContent",
                     "appSpecContent": {"content": appspec_content(TD.format(revision))}},
        "computePlatform": "ECS",
    }
    info.update(extra)
    return info


def ecs_target(deployment_id: str, weights: dict | None = None, events: dict | None = None) -> dict:
    target = {"deploymentId": deployment_id, "targetId": TARGET_ID, "status": "InProgress",
              "lifecycleEvents": [{"lifecycleEventName": name, "status": status}
                                  for name, status in (events or {}).items()],
              "taskSetsInfo": []}
    for label, weight in (weights or {}).items():
        target["taskSetsInfo"].append({"identifer": f"ecs-svc/{label}", "taskSetLabel": label,
                                       "trafficWeight": weight, "targetGroup": {"name": f"api-{label.lower()}"}})
    return target


def queue_poll(stubber, info: dict, target: dict | None = None, list_targets: bool = False) -> None:
    """Queue the calls of one DeploymentWatcher.poll()."""
    deployment_id = info["deploymentId"]
    stubber.add_response("get_deployment", {"deploymentInfo": info}, {"deploymentId": deployment_id})
    if list_targets:
        stubber.add_response("list_deployment_targets", {"targetIds": [TARGET_ID] if target else []},
                             {"deploymentId": deployment_id})
    if target:
        stubber.add_response("batch_get_deployment_targets",
                             {"deploymentTargets": [{"deploymentTargetType": "ECSTarget", "ecsTarget": target}]},
                             {"deploymentId": deployment_id, "targetIds": [TARGET_ID]})
