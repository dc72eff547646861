#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: servicediscovery_namespace
short_description: Converge an AWS Cloud Map private DNS namespace in a VPC, waiting for its operations
version_added: 0.1.0
description:
  - Finds the private DNS namespace named O(name) in the VPC O(vpc_id) (C(ListNamespaces) filtered by name and type,
    then the VPCs of the namespace's Route 53 private hosted zone with C(GetHostedZone) when the name is used by more
    than one namespace or to check the VPC), creates it when missing (C(CreatePrivateDnsNamespace)) and converges
    its description and tags.
  - Creating, updating and deleting a namespace are asynchronous in Cloud Map; with O(wait) the module polls
    C(GetOperation) until the operation succeeds, for at most O(wait_timeout) seconds, and fails naming the
    operation otherwise (it goes on in AWS, and a later run finds the namespace).
  - O(state=absent) deletes the namespace and its hosted zone (C(DeleteNamespace)); Cloud Map refuses while the
    namespace has services (remove them first, M(seed.fargate.servicediscovery_services)).
  - In check mode, a O(vpc_id) containing C(known-after-apply) stands for a VPC still to be made, and the namespace is
    reported as to be created.
  - No module of amazon.aws or community.aws manages Cloud Map.
options:
  name:
    description: Namespace name, a DNS domain such as C(seed.internal); services are found as C(<service>.<name>).
    type: str
    required: true
  vpc_id:
    description:
      - The VPC the namespace's private hosted zone is associated with. Required with O(state=present).
      - With O(state=absent), when omitted, the one namespace of that name is deleted (the module fails when the
        name is used by several).
    type: str
  description:
    description: Namespace description. Left as it is when omitted.
    type: str
  state:
    description: Whether the namespace exists.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Wait for the create, update or delete operation to succeed.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for an operation at most.
    type: int
    default: 600
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The stack's private namespace
  seed.fargate.servicediscovery_namespace:
    name: seed.internal
    vpc_id: vpc-0123456789abcdef0
    tags:
      stack: seed
  register: namespace

- name: Remove it (its services first)
  seed.fargate.servicediscovery_namespace:
    name: seed.internal
    vpc_id: vpc-0123456789abcdef0
    state: absent
"""

RETURN = r"""
namespace:
  description:
    - The namespace after the run; in check mode, for one still to be made, its C(id) and C(arn) contain
      C(known-after-apply). Empty with O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: Namespace ID.
      type: str
      sample: ns-abcdefghijklmnop
    arn:
      description: Namespace ARN.
      type: str
    name:
      description: Namespace name.
      type: str
      sample: seed.internal
    description:
      description: Description.
      type: str
    hosted_zone_id:
      description: The Route 53 private hosted zone Cloud Map made for the namespace.
      type: str
    vpc_id:
      description: The VPC of the namespace.
      type: str
    tags:
      description: Tags.
      type: dict
operation_id:
  description: The Cloud Map operation this run started (create, update or delete), if any.
  returned: when an operation was started
  type: str
"""

import uuid

try:
    import botocore  # noqa: F401 pylint: disable=unused-import
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.seed.fargate.plugins.module_utils.servicediscovery import (
    PLACEHOLDER,
    OperationError,
    boto_errors,
    get_tags,
    tag_calls,
    wait_operation,
)


def zone_vpcs(route53, zone_id):
    return [v["VPCId"] for v in route53.get_hosted_zone(Id=zone_id, aws_retry=True).get("VPCs", [])]


@AWSRetry.jittered_backoff()
def list_namespaces(client, filters):
    return client.get_paginator("list_namespaces").paginate(Filters=filters).build_full_result()["Namespaces"]


def find(module, client, route53, name, vpc_id):
    """The private DNS namespace ``name`` in ``vpc_id`` (any VPC when None), with its VPC, or None."""
    filters = [{"Name": "TYPE", "Values": ["DNS_PRIVATE"], "Condition": "EQ"},
               {"Name": "NAME", "Values": [name], "Condition": "EQ"}]
    found = [n for n in list_namespaces(client, filters) if n.get("Name") == name and n.get("Type") == "DNS_PRIVATE"]
    if not found:
        return None
    candidates = []
    for summary in found:
        namespace = client.get_namespace(Id=summary["Id"], aws_retry=True)["Namespace"]
        zone_id = ((namespace.get("Properties") or {}).get("DnsProperties") or {}).get("HostedZoneId")
        vpcs = zone_vpcs(route53, zone_id) if zone_id else []
        namespace["_vpc_id"] = vpcs[0] if vpcs else ""
        if vpc_id is None or vpc_id in vpcs:
            candidates.append(namespace)
    if len(candidates) > 1:
        module.fail_json(msg=f"Several private DNS namespaces are named {name} "
                             f"({', '.join(n['Id'] for n in candidates)}); give vpc_id to pick one")
    return candidates[0] if candidates else None


def shape(namespace, tags):
    if not namespace:
        return {}
    return {
        "id": namespace["Id"], "arn": namespace["Arn"], "name": namespace["Name"],
        "description": namespace.get("Description", ""),
        "hosted_zone_id": ((namespace.get("Properties") or {}).get("DnsProperties") or {}).get("HostedZoneId", ""),
        "vpc_id": namespace.get("_vpc_id", ""), "tags": tags,
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            vpc_id=dict(type="str"),
            description=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
        ),
        required_if=[("state", "present", ["vpc_id"])],
        supports_check_mode=True,
    )
    params = module.params
    retry = AWSRetry.jittered_backoff(catch_extra_error_codes=["ThrottlingException"])
    client = module.client("servicediscovery", retry_decorator=retry)
    name, vpc_id = params["name"], params["vpc_id"]
    planned_vpc = bool(vpc_id) and PLACEHOLDER in vpc_id

    def wait(operation_id, what):
        if not params["wait"]:
            return None
        try:
            return wait_operation(client, operation_id, params["wait_timeout"])
        except OperationError as e:
            module.fail_json(msg=f"{what}: {e}", operation_id=operation_id)
        except boto_errors() as e:
            module.fail_json_aws(e, msg=f"{what}: couldn't read operation {operation_id}")

    try:
        current = None
        if not planned_vpc:
            route53 = module.client("route53", retry_decorator=retry)
            current = find(module, client, route53, name, vpc_id)
        have_tags = get_tags(client, current["Arn"]) if current else {}
    except boto_errors() as e:
        module.fail_json_aws(e, msg=f"Couldn't read Cloud Map namespace {name}")
    before = shape(current, have_tags)

    if params["state"] == "absent":
        if not current:
            module.exit_json(changed=False, namespace={}, diff={"before": {}, "after": {}})
        result = dict(changed=True, namespace={}, diff={"before": before, "after": {}})
        if not module.check_mode:
            try:
                result["operation_id"] = client.delete_namespace(Id=current["Id"], aws_retry=True)["OperationId"]
            except boto_errors() as e:
                module.fail_json_aws(e, msg=f"Couldn't delete Cloud Map namespace {name} ({current['Id']}); "
                                            "a namespace with services cannot be deleted: remove them first")
            wait(result["operation_id"], f"Deleting namespace {name}")
        module.exit_json(**result)

    want_tags = params["tags"]
    if not current:
        after = {"id": f"ns-{PLACEHOLDER}", "name": name, "description": params["description"] or "",
                 "arn": f"arn:aws:servicediscovery:{PLACEHOLDER}:namespace/ns-{PLACEHOLDER}",
                 "hosted_zone_id": PLACEHOLDER, "vpc_id": vpc_id, "tags": dict(want_tags or {})}
        result = dict(changed=True, diff={"before": {}, "after": after})
        if module.check_mode:
            module.exit_json(namespace=after, **result)
        create = {"Name": name, "Vpc": vpc_id, "CreatorRequestId": str(uuid.uuid4())}
        if params["description"]:
            create["Description"] = params["description"]
        if want_tags:
            create["Tags"] = ansible_dict_to_boto3_tag_list(want_tags)
        try:
            operation_id = client.create_private_dns_namespace(aws_retry=True, **create)["OperationId"]
        except boto_errors() as e:
            module.fail_json_aws(e, msg=f"Couldn't create Cloud Map namespace {name} in VPC {vpc_id}")
        operation = wait(operation_id, f"Creating namespace {name}")
        try:
            namespace_id = operation["Targets"]["NAMESPACE"] if operation else None
            current = client.get_namespace(Id=namespace_id, aws_retry=True)["Namespace"] if namespace_id else None
        except boto_errors() as e:
            module.fail_json_aws(e, msg=f"Couldn't read the new Cloud Map namespace {name}")
        if current:
            current["_vpc_id"] = vpc_id
            after = shape(current, dict(want_tags or {}))
            result["diff"]["after"] = after
        module.exit_json(namespace=after, operation_id=operation_id, **result)

    calls, after_tags = tag_calls(current["Arn"], have_tags, want_tags, params["purge_tags"])
    update_description = params["description"] is not None and params["description"] != current.get("Description", "")
    after = dict(before, tags=after_tags)
    if update_description:
        after["description"] = params["description"]
    changed = bool(calls) or update_description
    result = dict(changed=changed, namespace=after, diff={"before": before, "after": after})
    if changed and not module.check_mode:
        try:
            for method, kwargs in calls:
                getattr(client, method)(aws_retry=True, **kwargs)
            if update_description:
                operation_id = client.update_private_dns_namespace(
                    Id=current["Id"], UpdaterRequestId=str(uuid.uuid4()),
                    Namespace={"Description": params["description"]}, aws_retry=True)["OperationId"]
                result["operation_id"] = operation_id
                wait(operation_id, f"Updating namespace {name}")
        except boto_errors() as e:
            module.fail_json_aws(e, msg=f"Couldn't update Cloud Map namespace {name}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
