"""module_utils/ecr: the image a tag names, and manifest digests (botocore Stubber on a real client)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

ROOT = Path(__file__).resolve().parents[4]
if str(ROOT / ".collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.amazon.aws.plugins.module_utils.retries import (
    AWSRetry,
    RetryingBotoClientWrapper,
)
from ansible_collections.seed.fargate.plugins.module_utils.ecr import (
    describe_tag,
    manifest_digest,
)


@pytest.fixture
def ecr():
    client = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing", endpoint_url="https://stubbed.invalid")
    with Stubber(client) as stubber:
        yield RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1)), stubber
        stubber.assert_no_pending_responses()


def test_describe_tag_returns_the_image(ecr):
    client, stubber = ecr
    image = {"repositoryName": "seed/api", "imageDigest": "sha256:" + "a" * 64, "imageTags": ["v2", "abc123"]}
    stubber.add_response("describe_images", {"imageDetails": [image]},
                         {"repositoryName": "seed/api", "imageIds": [{"imageTag": "v2"}]})
    assert describe_tag(client, "seed/api", "v2") == image


def test_describe_tag_of_a_missing_tag_is_none(ecr):
    client, stubber = ecr
    stubber.add_client_error("describe_images", "ImageNotFoundException", "not found",
                             expected_params={"repositoryName": "seed/api", "imageIds": [{"imageTag": "v9"}],
                                              "registryId": "123456789012"})
    assert describe_tag(client, "seed/api", "v9", registry_id="123456789012") is None


def test_describe_tag_of_a_missing_repository_raises(ecr):
    client, stubber = ecr
    stubber.add_client_error("describe_images", "RepositoryNotFoundException", "no repository")
    with pytest.raises(client.client.exceptions.RepositoryNotFoundException):
        describe_tag(client, "seed/nope", "v1")


def test_manifest_digest_is_sha256_of_the_bytes():
    text = '{"schemaVersion":2}'
    assert manifest_digest(text) == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
