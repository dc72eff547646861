#!/usr/bin/python


# Copyright: Contributors to the seed.fargate collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecr_image_info
version_added: 0.1.0
short_description: Look up images of an ECR repository by tag
description:
  - Describe the images of one Amazon ECR repository that carry the given tags, and list the tags
    that no image carries.
  - Used before a release to check that the image to release has been pushed.
author:
  - seed.fargate maintainers (@seed-fargate)
options:
  repository_name:
    description:
      - The repository, for example C(seed/api).
    required: true
    type: str
  image_tags:
    description:
      - The tags to look up.
    required: true
    type: list
    elements: str
  registry_id:
    description:
      - The account of the registry; the caller's by default.
    type: str
extends_documentation_fragment:
  - seed.fargate.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Is api:v2 in ECR?
  seed.fargate.ecr_image_info:
    repository_name: seed/api
    image_tags: [v2]
  register: api_images

- name: Fail when it is not
  ansible.builtin.assert:
    that: api_images.missing_tags | length == 0
    fail_msg: "seed/api has no image tagged {{ api_images.missing_tags | join(', ') }}"
"""

RETURN = r"""
images:
  description: The images carrying one of O(image_tags) (snake-cased C(imageDetails)), one per image.
  returned: always
  type: list
  elements: dict
  contains:
    image_digest:
      description: The manifest digest.
      returned: always
      type: str
      sample: sha256:0f3c...
    image_tags:
      description: All tags of the image.
      returned: always
      type: list
      elements: str
    image_pushed_at:
      description: When the image was pushed.
      returned: always
      type: str
missing_tags:
  description: The tags of O(image_tags) no image carries.
  returned: always
  type: list
  elements: str
repository_exists:
  description: Whether the repository exists (when it does not, every tag is missing).
  returned: always
  type: bool
"""

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
from ansible_collections.seed.fargate.plugins.module_utils.ecr import describe_tag


def main():
    argument_spec = {
        "repository_name": {"required": True, "type": "str"},
        "image_tags": {"required": True, "type": "list", "elements": "str"},
        "registry_id": {"type": "str"},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff())
    params = module.params

    images, missing, exists = {}, [], True
    try:
        for tag in params["image_tags"]:
            image = describe_tag(client, params["repository_name"], tag, params["registry_id"])
            if image is None:
                missing.append(tag)
            else:
                images[image["imageDigest"]] = image
    except is_boto3_error_code("RepositoryNotFoundException"):
        exists, images, missing = False, {}, list(params["image_tags"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe the images of ECR repository {params['repository_name']}")

    module.exit_json(
        changed=False,
        images=[camel_dict_to_snake_dict(i) for i in images.values()],
        missing_tags=missing,
        repository_exists=exists,
    )


if __name__ == "__main__":
    main()
