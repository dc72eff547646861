#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecr_image
version_added: 0.1.0
short_description: Tag an image in an ECR repository, or remove a tag
description:
  - Make O(image_tag) of one Amazon ECR repository name an image with C(PutImage), either the image another
    tag names (O(source_tag), a promotion without pulling or pushing layers) or a given image manifest
    (O(manifest)).
  - With O(state=absent), remove the tag (C(BatchDeleteImage)); an image left without tags becomes untagged.
  - Pushing layers is the container engine's job (C(docker push), C(podman push), CodeBuild); this module
    only writes manifests.
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  repository_name:
    description:
      - The repository, for example C(seed/api).
    required: true
    type: str
  image_tag:
    description:
      - The tag to create or remove.
    required: true
    type: str
  state:
    description:
      - Whether the tag should exist.
    choices: ['present', 'absent']
    default: present
    type: str
  source_tag:
    description:
      - An existing tag whose image O(image_tag) should name too.
      - Mutually exclusive with O(manifest); one of them is required when O(state=present).
    type: str
  manifest:
    description:
      - The image manifest (a Docker image manifest v2 schema 2 or OCI manifest), as a dict or its JSON text.
      - Its layers must already be in the repository (AWS checks this; the local endpoint does not).
    type: raw
  manifest_media_type:
    description:
      - Media type of O(manifest).
    type: str
    default: application/vnd.docker.distribution.manifest.v2+json
  registry_id:
    description:
      - The account of the registry; the caller's by default.
    type: str
notes:
  - An existing O(image_tag) naming another image is replaced only in repositories with mutable tags;
    with immutable tags AWS refuses (C(ImageTagAlreadyExistsException)) and the task fails.
extends_documentation_fragment:
  - seed.fargate.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Promote the image tagged with a commit to the release tag v2
  seed.fargate.ecr_image:
    repository_name: seed/api
    image_tag: v2
    source_tag: 3f2a9c1

- name: Remove a tag
  seed.fargate.ecr_image:
    repository_name: seed/api
    image_tag: v2
    state: absent
"""

RETURN = r"""
image:
  description: The image O(image_tag) names (snake-cased C(imageDetails) entry); empty when O(state=absent).
  returned: always
  type: dict
  contains:
    image_digest:
      description: The manifest digest.
      returned: when the tag exists (in check mode before creation, the digest it would get)
      type: str
    image_tags:
      description: All tags of the image.
      returned: when the tag exists
      type: list
      elements: str
"""

import json

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.seed.fargate.plugins.module_utils.ecr import (
    describe_tag,
    manifest_digest,
)


def source_manifest(module, client, request):
    """(manifest text, media type) of the image ``source_tag`` names."""
    found = client.batch_get_image(aws_retry=True, imageIds=[{"imageTag": module.params["source_tag"]}], **request)
    if not found.get("images"):
        module.fail_json(msg=f"{module.params['repository_name']} has no image tagged {module.params['source_tag']} (source_tag)")
    image = found["images"][0]
    return image["imageManifest"], image.get("imageManifestMediaType") or module.params["manifest_media_type"]


def main():
    argument_spec = {
        "repository_name": {"required": True, "type": "str"},
        "image_tag": {"required": True, "type": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "source_tag": {"type": "str"},
        "manifest": {"type": "raw"},
        "manifest_media_type": {"type": "str", "default": "application/vnd.docker.distribution.manifest.v2+json"},
        "registry_id": {"type": "str"},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("source_tag", "manifest")],
        required_if=[("state", "present", ("source_tag", "manifest"), True)],
    )
    client = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff())
    params = module.params
    request = {"repositoryName": params["repository_name"]}
    if params["registry_id"]:
        request["registryId"] = params["registry_id"]

    try:
        current = describe_tag(client, params["repository_name"], params["image_tag"], params["registry_id"])
        if params["state"] == "absent":
            changed = current is not None
            if changed and not module.check_mode:
                client.batch_delete_image(aws_retry=True, imageIds=[{"imageTag": params["image_tag"]}], **request)
            module.exit_json(changed=changed, image={})

        if params["source_tag"]:
            text, media_type = source_manifest(module, client, request)
        else:
            manifest = params["manifest"]
            text = manifest if isinstance(manifest, str) else json.dumps(manifest, sort_keys=True, separators=(",", ":"))
            media_type = params["manifest_media_type"]
        digest = manifest_digest(text)
        if current is not None and current.get("imageDigest") == digest:
            module.exit_json(changed=False, image=camel_dict_to_snake_dict(current))
        if module.check_mode:
            module.exit_json(changed=True, image={"image_digest": digest, "image_tags": [params["image_tag"]]})
        client.put_image(aws_retry=True, imageManifest=text, imageManifestMediaType=media_type,
                         imageTag=params["image_tag"], **request)
        after = describe_tag(client, params["repository_name"], params["image_tag"], params["registry_id"])
    except is_boto3_error_code("RepositoryNotFoundException"):
        if params["state"] == "absent":
            module.exit_json(changed=False, image={})
        module.fail_json(msg=f"ECR repository {params['repository_name']} does not exist")
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to tag {params['repository_name']}:{params['image_tag']}")

    module.exit_json(changed=True, image=camel_dict_to_snake_dict(after or {}))


if __name__ == "__main__":
    main()
