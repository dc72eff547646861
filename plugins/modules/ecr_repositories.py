#!/usr/bin/python
# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecr_repositories
short_description: Converge several ECR repositories (tag mutability, scan on push, encryption, lifecycle) in one call
version_added: 0.1.0
description:
  - Makes each repository of O(repositories) what it describes, or with O(state=absent) deletes them.
  - One C(DescribeRepositories) call reads every repository named (each one alone only when some are missing), then
    one C(GetLifecyclePolicy) per repository with a O(repositories[].lifecycle_policy) and one C(ListTagsForResource)
    per repository with O(repositories[].tags); writes follow only for what differs. A converged pair of repositories
    with lifecycle policies costs 3 calls, where C(community.aws.ecs_ecr) in a loop makes 10 (it describes each
    repository three times and reads its repository policy even when none is managed), which the seed.fargate.ecr
    role's no-op re-converge measured as its whole cost.
  - The repository policy is not managed (C(community.aws.ecs_ecr) does that).
  - The encryption of a repository cannot change after it is made; a repository whose encryption differs fails the
    module (before any write) instead of being replaced.
  - Under check mode nothing is written; a repository still to be made is returned with RV(repositories[].repository_uri)
    V(null).
options:
  repositories:
    description: The repositories.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Repository name (C(stack/service), 2-256 characters of lowercase letters, digits, C(._-/)).
        type: str
        required: true
      image_tag_mutability:
        description: Whether a tag may be pushed again for another image.
        type: str
        choices: [MUTABLE, IMMUTABLE]
        default: MUTABLE
      scan_on_push:
        description: Scan each image for vulnerabilities when it is pushed (basic scanning).
        type: bool
        default: false
      encryption_type:
        description: Encryption at rest, set when the repository is made.
        type: str
        choices: [AES256, KMS]
        default: AES256
      kms_key:
        description: KMS key (ARN, ID or alias) with O(repositories[].encryption_type=KMS); omitted, the AWS managed key.
        type: str
      lifecycle_policy:
        description:
          - The lifecycle policy (a dict with C(rules)). V(null) leaves the repository's policy as it is.
          - C(rulePriority) and C(selection.countNumber) given as strings of digits are sent as the integers AWS expects.
        type: dict
      tags:
        description: Tags of the repository; V(null) leaves them as they are.
        type: dict
      purge_tags:
        description: Remove the tags not in O(repositories[].tags) (when that is given).
        type: bool
        default: true
  state:
    description: C(present) converges the repositories; C(absent) deletes those that exist.
    type: str
    choices: [present, absent]
    default: present
  force_absent:
    description: With O(state=absent), delete repositories that still hold images (their images with them).
    type: bool
    default: false
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: A repository per service, immutable tags, untagged images expire
  seed.fargate.ecr_repositories:
    repositories:
      - name: shop/api
        image_tag_mutability: IMMUTABLE
        scan_on_push: true
        lifecycle_policy: &lifecycle
          rules:
            - rulePriority: 1
              description: Expire untagged images after 7 days
              selection: {tagStatus: untagged, countType: sinceImagePushed, countUnit: days, countNumber: 7}
              action: {type: expire}
      - name: shop/web
        image_tag_mutability: IMMUTABLE
        scan_on_push: true
        lifecycle_policy: *lifecycle
  register: repos

- name: Remove them with their images
  seed.fargate.ecr_repositories:
    repositories: [{name: shop/api}, {name: shop/web}]
    state: absent
    force_absent: true
"""

RETURN = r"""
repositories:
  description: Each repository of O(repositories), in their order, as it is after the call (or would be, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Repository name.
      type: str
      sample: shop/api
    exists:
      description: Whether it exists after the call (in check mode, whether it would).
      type: bool
    repository_uri:
      description: URI to push to; V(null) for one still to be made in check mode, or deleted.
      type: str
      sample: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/api
    repository_arn:
      description: ARN; V(null) when not known (as RV(repositories[].repository_uri)).
      type: str
    image_tag_mutability:
      description: Tag mutability.
      type: str
    scan_on_push:
      description: Scan on push.
      type: bool
    encryption_type:
      description: Encryption at rest.
      type: str
    lifecycle_policy:
      description: The lifecycle policy, when one was given.
      type: dict
    tags:
      description: The tags, when they were given.
      type: dict
"""

import copy
import json
import re

try:
    import botocore.exceptions

    ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
except ImportError:
    ERRORS = ()  # AnsibleAWSModule fails for the missing botocore first

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)

# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html (repositoryName)
NAME = re.compile(r"^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")


def check_input(module):
    """Every problem of the input, before any call."""
    problems, seen = [], set()
    for i, repo in enumerate(module.params["repositories"]):
        name = repo["name"]
        if not NAME.match(name):
            problems.append(f"repositories[{i}].name: {name!r} is not a repository name (2-256 of [a-z0-9._-/], "
                            "each part starting and ending with a letter or digit)")
        if name in seen:
            problems.append(f"repositories[{i}].name: {name!r} is given twice")
        seen.add(name)
        if repo["kms_key"] and repo["encryption_type"] != "KMS":
            problems.append(f"repositories[{i}].kms_key: only with encryption_type KMS ({name})")
        policy = repo["lifecycle_policy"]
        if policy is not None and not isinstance(policy.get("rules"), list):
            problems.append(f"repositories[{i}].lifecycle_policy: a dict with a list of rules ({name})")
    if problems:
        module.fail_json(msg="; ".join(problems))


def normalized_policy(policy):
    """The lifecycle policy with the integers AWS stores as integers (templated values may come as strings)."""
    policy = copy.deepcopy(policy)
    for rule in policy.get("rules") or []:
        if isinstance(rule.get("rulePriority"), str) and rule["rulePriority"].isdigit():
            rule["rulePriority"] = int(rule["rulePriority"])
        selection = rule.get("selection") or {}
        if isinstance(selection.get("countNumber"), str) and selection["countNumber"].isdigit():
            selection["countNumber"] = int(selection["countNumber"])
    return policy


def describe(module, client, names):
    """name -> repository description, for the names that exist: one call, or one per name when some are missing."""
    try:
        found = client.describe_repositories(repositoryNames=names, aws_retry=True)["repositories"]
    except is_boto3_error_code("RepositoryNotFoundException"):
        found = []
        for name in names:
            try:
                found += client.describe_repositories(repositoryNames=[name], aws_retry=True)["repositories"]
            except is_boto3_error_code("RepositoryNotFoundException"):
                pass
            except ERRORS as e:  # pylint: disable=duplicate-except
                module.fail_json_aws(e, msg=f"Couldn't describe repository {name}")
    except ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't describe repositories {names}")
    return {r["repositoryName"]: r for r in found}


def read_policy(module, client, name):
    try:
        text = client.get_lifecycle_policy(repositoryName=name, aws_retry=True)["lifecyclePolicyText"]
    except is_boto3_error_code("LifecyclePolicyNotFoundException"):
        return None
    except ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't read the lifecycle policy of repository {name}")
    return json.loads(text)


def read_tags(module, client, arn):
    try:
        return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(resourceArn=arn, aws_retry=True)["tags"],
                                              tag_name_key_name="Key", tag_value_key_name="Value")
    except ERRORS as e:
        module.fail_json_aws(e, msg=f"Couldn't read the tags of {arn}")


def view(repo, found, policy, tags):
    """What the module returns (and diffs) of a repository: ``found`` its description or None."""
    out = {"name": repo["name"], "exists": found is not None,
           "repository_uri": found["repositoryUri"] if found else None,
           "repository_arn": found["repositoryArn"] if found else None}
    if found:
        out.update(image_tag_mutability=found.get("imageTagMutability", "MUTABLE"),
                   scan_on_push=bool((found.get("imageScanningConfiguration") or {}).get("scanOnPush")),
                   encryption_type=(found.get("encryptionConfiguration") or {}).get("encryptionType", "AES256"))
    if repo["lifecycle_policy"] is not None:
        out["lifecycle_policy"] = policy
    if repo["tags"] is not None:
        out["tags"] = tags
    return out


class Converger:
    def __init__(self, module, client):
        self.module, self.client = module, client

    def write(self, method, name, **kwargs):
        """One write (none in check mode); returns its answer."""
        if self.module.check_mode:
            return {}
        try:
            return getattr(self.client, method)(aws_retry=True, **kwargs)
        except ERRORS as e:
            self.module.fail_json_aws(e, msg=f"Couldn't {method} for repository {name}")

    def present(self, repo, found):
        """(changed, before, after) of one repository."""
        name = repo["name"]
        desired_policy = normalized_policy(repo["lifecycle_policy"]) if repo["lifecycle_policy"] is not None else None
        desired_tags = {k: str(v) for k, v in (repo["tags"] or {}).items()}
        if found is None:
            request = {"repositoryName": name, "imageTagMutability": repo["image_tag_mutability"],
                       "imageScanningConfiguration": {"scanOnPush": repo["scan_on_push"]},
                       "encryptionConfiguration": {"encryptionType": repo["encryption_type"]}}
            if repo["kms_key"]:
                request["encryptionConfiguration"]["kmsKey"] = repo["kms_key"]
            if desired_tags:
                request["tags"] = ansible_dict_to_boto3_tag_list(desired_tags, tag_name_key_name="Key",
                                                                 tag_value_key_name="Value")
            made = self.write("create_repository", name, **request).get("repository")
            if desired_policy is not None:
                self.write("put_lifecycle_policy", name, repositoryName=name,
                           lifecyclePolicyText=json.dumps(desired_policy, sort_keys=True))
            after = view(repo, made, desired_policy, desired_tags)
            if made is None:  # check mode: what it would be
                after.update(exists=True, image_tag_mutability=repo["image_tag_mutability"],
                             scan_on_push=repo["scan_on_push"], encryption_type=repo["encryption_type"])
            return True, None, after

        encryption = (found.get("encryptionConfiguration") or {}).get("encryptionType", "AES256")
        if encryption != repo["encryption_type"]:
            self.module.fail_json(msg=f"repository {name} is encrypted with {encryption}, not {repo['encryption_type']}: "
                                      "ECR cannot change the encryption of a repository (delete it to make it again)")
        policy = read_policy(self.module, self.client, name) if desired_policy is not None else None
        tags = read_tags(self.module, self.client, found["repositoryArn"]) if repo["tags"] is not None else None
        before = view(repo, found, policy, tags)
        after = copy.deepcopy(before)
        if before["image_tag_mutability"] != repo["image_tag_mutability"]:
            self.write("put_image_tag_mutability", name, repositoryName=name,
                       imageTagMutability=repo["image_tag_mutability"])
            after["image_tag_mutability"] = repo["image_tag_mutability"]
        if before["scan_on_push"] != repo["scan_on_push"]:
            self.write("put_image_scanning_configuration", name, repositoryName=name,
                       imageScanningConfiguration={"scanOnPush": repo["scan_on_push"]})
            after["scan_on_push"] = repo["scan_on_push"]
        if desired_policy is not None and policy != desired_policy:
            self.write("put_lifecycle_policy", name, repositoryName=name,
                       lifecyclePolicyText=json.dumps(desired_policy, sort_keys=True))
            after["lifecycle_policy"] = desired_policy
        if repo["tags"] is not None:
            to_set, to_remove = compare_aws_tags(tags, desired_tags, purge_tags=repo["purge_tags"])
            if to_remove:
                self.write("untag_resource", name, resourceArn=found["repositoryArn"], tagKeys=to_remove)
            if to_set:
                self.write("tag_resource", name, resourceArn=found["repositoryArn"],
                           tags=ansible_dict_to_boto3_tag_list(to_set, tag_name_key_name="Key",
                                                               tag_value_key_name="Value"))
            after["tags"] = {k: v for k, v in tags.items() if k not in to_remove} | to_set
        return before != after, before, after

    def absent(self, repo, found):
        if found is None:
            return False, None, None
        self.write("delete_repository", repo["name"], repositoryName=repo["name"], force=self.module.params["force_absent"])
        return True, view(repo, found, None, None), None


def main():
    repository = dict(
        name=dict(type="str", required=True),
        image_tag_mutability=dict(type="str", choices=["MUTABLE", "IMMUTABLE"], default="MUTABLE"),
        scan_on_push=dict(type="bool", default=False),
        encryption_type=dict(type="str", choices=["AES256", "KMS"], default="AES256"),
        kms_key=dict(type="str", no_log=False),
        lifecycle_policy=dict(type="dict"),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            repositories=dict(type="list", elements="dict", required=True, options=repository),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            force_absent=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    check_input(module)
    repos = module.params["repositories"]
    if not repos:
        module.exit_json(changed=False, repositories=[], diff={"before": {}, "after": {}})
    client = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff())
    found = describe(module, client, [r["name"] for r in repos])
    converger = Converger(module, client)
    step = converger.present if module.params["state"] == "present" else converger.absent

    changed, results, before, after = False, [], {}, {}
    for repo in repos:
        repo_changed, repo_before, repo_after = step(repo, found.get(repo["name"]))
        changed = changed or repo_changed
        before[repo["name"]], after[repo["name"]] = repo_before, repo_after
        results.append(repo_after if repo_after is not None else view(repo, None, None, None))
    module.exit_json(changed=changed, repositories=results, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
