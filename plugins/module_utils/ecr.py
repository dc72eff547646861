# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Amazon ECR helpers shared by the ecr_image and ecr_image_info modules."""

from __future__ import annotations

import hashlib

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
)


def describe_tag(client, repository_name, tag, registry_id=None):
    """The image (DescribeImages ``imageDetails`` entry) tagged ``tag``, or None.

    A missing repository raises (``RepositoryNotFoundException``); callers decide what it means.
    """
    request = {"repositoryName": repository_name, "imageIds": [{"imageTag": tag}]}
    if registry_id:
        request["registryId"] = registry_id
    try:
        details = client.describe_images(aws_retry=True, **request)["imageDetails"]
    except is_boto3_error_code("ImageNotFoundException"):
        return None
    return details[0] if details else None


def manifest_digest(text):
    """The digest ECR gives an image manifest: sha256 of its bytes."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
