#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ec2_subnets
short_description: Converge a list of subnets of one VPC (CIDR, availability zone, public IPs, tags) in one call
version_added: 0.1.0
description:
  - Reads every subnet of the VPC with one C(DescribeSubnets) (tags come with it), finds each listed subnet by its
    CIDR block, creates the missing ones already tagged (C(TagSpecifications)), then calls
    C(ModifySubnetAttribute), C(CreateTags) and C(DeleteTags) only where they differ.
  - A subnet made by a call whose answer was lost is found by its CIDR block on the next run, never made twice.
  - Written because C(amazon.aws.ec2_vpc_subnet) takes one subnet per call and makes three to four reads for each
    (C(DescribeSubnets) and C(DescribeTags)), twenty calls and four module runs for a no-op on four subnets, one
    call and one module run here.
  - Subnets of the VPC that are not listed are left alone.
  - In check mode, a O(vpc_id) containing C(known-after-apply) stands for a VPC still to be made (the placeholder
    the collection's roles plan with); every subnet is reported as to be created and AWS is not called.
  - IPv6 CIDR blocks are not managed (C(amazon.aws.ec2_vpc_subnet) does that).
options:
  vpc_id:
    description: The VPC of the subnets.
    type: str
    required: true
  subnets:
    description: The subnets, each identified by its CIDR block, which must be unique among them.
    type: list
    elements: dict
    required: true
    suboptions:
      cidr:
        description: The subnet's IPv4 CIDR block.
        type: str
        required: true
      az:
        description:
          - The availability zone of a subnet to create (AWS picks one if omitted).
          - An existing subnet in another zone is an error (a subnet cannot move); nothing is written then.
        type: str
      map_public_ip_on_launch:
        description: Whether network interfaces made in the subnet get a public IPv4 address.
        type: bool
        default: false
      tags:
        description: Tags of this subnet, added to (and overriding) O(tags).
        type: dict
        default: {}
  tags:
    description: Tags of every subnet.
    type: dict
    default: {}
  purge_tags:
    description: Remove the tags that neither O(tags) nor the subnet's own tags list (C(aws:) tags are kept).
    type: bool
    default: false
  state:
    description: C(present) to converge the listed subnets, C(absent) to delete those that exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Wait for a created subnet to be C(available) (botocore's C(subnet_available) waiter).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for created subnets.
    type: int
    default: 300
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: A public and a private subnet in each of two availability zones
  seed.fargate.ec2_subnets:
    vpc_id: "{{ vpc_id }}"
    tags: {stack: seed}
    subnets:
      - {cidr: 10.0.0.0/24, az: us-east-1a, tags: {Name: seed-public-us-east-1a, tier: public}}
      - {cidr: 10.0.1.0/24, az: us-east-1b, tags: {Name: seed-public-us-east-1b, tier: public}}
      - {cidr: 10.0.10.0/24, az: us-east-1a, tags: {Name: seed-private-us-east-1a, tier: private}}
      - {cidr: 10.0.11.0/24, az: us-east-1b, tags: {Name: seed-private-us-east-1b, tier: private}}
  register: subnets

- name: Remove two of them
  seed.fargate.ec2_subnets:
    vpc_id: "{{ vpc_id }}"
    subnets: [{cidr: 10.0.1.0/24}, {cidr: 10.0.11.0/24}]
    state: absent
"""

RETURN = r"""
subnets:
  description:
    - The subnets in the order of O(subnets), as C(DescribeSubnets) shows them, snake-cased, with C(id) and C(tags)
      as a dict.
    - In check mode a subnet still to be made has C(id=null); with O(state=absent) the subnets as they were before.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The subnet ID (C(null) when absent or still to be made).
      type: str
      sample: subnet-0123456789abcdef0
    cidr_block:
      description: The IPv4 CIDR block.
      type: str
      sample: 10.0.0.0/24
    availability_zone:
      description: The availability zone (C(null) for a subnet still to be made without O(subnets[].az)).
      type: str
      sample: us-east-1a
    availability_zone_id:
      description: The zone's ID.
      type: str
      returned: when the subnet exists
    map_public_ip_on_launch:
      description: Whether network interfaces made in the subnet get a public IPv4 address.
      type: bool
    state:
      description: C(pending) or C(available); C(absent) for a subnet that does not exist.
      type: str
    vpc_id:
      description: The VPC.
      type: str
    subnet_arn:
      description: The subnet's ARN.
      type: str
      returned: when the subnet exists
    available_ip_address_count:
      description: Free IPv4 addresses.
      type: int
      returned: when the subnet exists
    tags:
      description: The subnet's tags.
      type: dict
"""

import ipaddress

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)

PLACEHOLDER = "known-after-apply"


@AWSRetry.jittered_backoff()
def _describe_subnets(client, **kwargs):
    return client.get_paginator("describe_subnets").paginate(**kwargs).build_full_result()["Subnets"]


def _shown(subnet):
    """The AWS subnet snake-cased, with ``id`` and its tags as a dict."""
    out = camel_dict_to_snake_dict({k: v for k, v in subnet.items() if k != "Tags"})
    out["id"] = out.pop("subnet_id", None)
    out["tags"] = boto3_tag_list_to_ansible_dict(subnet.get("Tags", []))
    return out


def _summary(subnet):
    return {"id": subnet["id"], "availability_zone": subnet.get("availability_zone"),
            "map_public_ip_on_launch": subnet.get("map_public_ip_on_launch", False), "tags": subnet["tags"]}


def _check_input(module):
    """Everything that can be known wrong without AWS, before any call."""
    seen = {}
    for spec in module.params["subnets"]:
        try:
            network = ipaddress.IPv4Network(spec["cidr"])
        except ValueError as e:
            module.fail_json(msg=f"subnets: {spec['cidr']!r} is not an IPv4 CIDR block ({e})")
        spec["cidr"] = str(network)
        for other in seen.values():
            if network.overlaps(other):
                module.fail_json(msg=f"subnets: {network} overlaps {other} (each subnet is listed once)")
        seen[spec["cidr"]] = network


class Subnets:
    def __init__(self, module):
        self.module = module
        self.client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
        self.vpc_id = module.params["vpc_id"]
        self.changed = False

    def fail(self, error, msg):
        self.module.fail_json_aws(error, msg=msg)

    def read(self):
        """CIDR block -> subnet (AWS shape) of every subnet of the VPC, in one (paginated) call."""
        if self.module.check_mode and PLACEHOLDER in self.vpc_id:
            return {}  # a VPC still to be made holds nothing; the placeholder is no id to send
        try:
            found = _describe_subnets(self.client, Filters=[{"Name": "vpc-id", "Values": [self.vpc_id]}])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail(e, f"Couldn't describe the subnets of {self.vpc_id}")
        return {s["CidrBlock"]: s for s in found}

    def call(self, method, msg, **kwargs):
        self.changed = True
        if self.module.check_mode:
            return {}
        try:
            return getattr(self.client, method)(aws_retry=True, **kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail(e, msg)

    def create(self, spec, tags):
        params = {"VpcId": self.vpc_id, "CidrBlock": spec["cidr"]}
        if spec["az"]:
            params["AvailabilityZone"] = spec["az"]
        if tags:
            # Tagged by the call that makes it: no CreateTags afterwards, no untagged subnet if the run stops here.
            params["TagSpecifications"] = [{"ResourceType": "subnet", "Tags": ansible_dict_to_boto3_tag_list(tags)}]
        made = self.call("create_subnet", f"Couldn't create subnet {spec['cidr']} in {self.vpc_id}", **params)
        if self.module.check_mode:
            return {"SubnetId": None, "CidrBlock": spec["cidr"], "AvailabilityZone": spec["az"], "VpcId": self.vpc_id,
                    "MapPublicIpOnLaunch": False, "State": "pending", "Tags": ansible_dict_to_boto3_tag_list(tags)}
        subnet = made["Subnet"]
        subnet["Tags"] = ansible_dict_to_boto3_tag_list(tags)
        return subnet

    def wait(self, subnet_ids):
        """botocore's subnet_available waiter for the subnets just made (not called when they are available)."""
        delay = 2
        try:
            self.client.get_waiter("subnet_available").wait(
                SubnetIds=subnet_ids,
                WaiterConfig={"Delay": delay, "MaxAttempts": max(1, self.module.params["wait_timeout"] // delay)})
        except botocore.exceptions.WaiterError as e:
            self.module.fail_json_aws(e, msg=f"subnets {', '.join(subnet_ids)} did not become available within "
                                             f"{self.module.params['wait_timeout']} s")
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail(e, f"Couldn't wait for subnets {', '.join(subnet_ids)}")

    def present(self, specs, current):
        # Plan first: a subnet in the wrong zone fails the run before anything is written.
        for spec in specs:
            subnet = current.get(spec["cidr"])
            if subnet and spec["az"] and subnet["AvailabilityZone"] != spec["az"]:
                self.module.fail_json(msg=f"subnets: {spec['cidr']} exists in {subnet['AvailabilityZone']} "
                                          f"({subnet['SubnetId']}), not {spec['az']}; a subnet cannot move: delete it "
                                          "(state=absent) and run again")
        before, after, shown, pending = {}, {}, [], []
        for spec in specs:
            cidr = spec["cidr"]
            tags = dict(self.module.params["tags"], **spec["tags"])
            subnet = current.get(cidr)
            if subnet:
                before[cidr] = _summary(_shown(subnet))
                current_tags = boto3_tag_list_to_ansible_dict(subnet.get("Tags", []))
                add, remove = compare_aws_tags(current_tags, tags, purge_tags=self.module.params["purge_tags"])
                remove = [k for k in remove if not k.startswith("aws:")]
                if add:
                    self.call("create_tags", f"Couldn't tag subnet {cidr}", Resources=[subnet["SubnetId"]],
                              Tags=ansible_dict_to_boto3_tag_list(add))
                if remove:
                    self.call("delete_tags", f"Couldn't untag subnet {cidr}", Resources=[subnet["SubnetId"]],
                              Tags=[{"Key": k} for k in remove])
                subnet["Tags"] = ansible_dict_to_boto3_tag_list(
                    {k: v for k, v in dict(current_tags, **add).items() if k not in remove})
            else:
                subnet = self.create(spec, tags)
                if subnet["SubnetId"] and subnet.get("State") != "available":
                    pending.append(subnet["SubnetId"])
            if subnet.get("MapPublicIpOnLaunch", False) != spec["map_public_ip_on_launch"]:
                self.call("modify_subnet_attribute", f"Couldn't set MapPublicIpOnLaunch of subnet {cidr}",
                          SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": spec["map_public_ip_on_launch"]})
                subnet["MapPublicIpOnLaunch"] = spec["map_public_ip_on_launch"]
            shown.append(_shown(subnet))
            after[cidr] = _summary(shown[-1])
        if pending and self.module.params["wait"]:
            self.wait(pending)
            for subnet in shown:
                if subnet["id"] in pending:
                    subnet["state"] = "available"
        return shown, {"before": before, "after": after}

    def absent(self, specs, current):
        before, shown = {}, []
        for spec in specs:
            subnet = current.get(spec["cidr"])
            if not subnet:
                shown.append({"id": None, "cidr_block": spec["cidr"], "state": "absent", "vpc_id": self.vpc_id,
                              "tags": {}})
                continue
            shown.append(_shown(subnet))
            before[spec["cidr"]] = _summary(shown[-1])
            self.call("delete_subnet", f"Couldn't delete subnet {spec['cidr']} ({subnet['SubnetId']})",
                      SubnetId=subnet["SubnetId"])
        return shown, {"before": before, "after": {}}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            subnets=dict(type="list", elements="dict", required=True, options=dict(
                cidr=dict(type="str", required=True),
                az=dict(type="str"),
                map_public_ip_on_launch=dict(type="bool", default=False),
                tags=dict(type="dict", default={}),
            )),
            tags=dict(type="dict", default={}),
            purge_tags=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    _check_input(module)
    specs = module.params["subnets"]
    subnets = Subnets(module)
    current = subnets.read() if specs else {}
    if module.params["state"] == "present":
        shown, diff = subnets.present(specs, current)
    else:
        shown, diff = subnets.absent(specs, current)
    module.exit_json(changed=subnets.changed, subnets=shown, diff=diff)


if __name__ == "__main__":
    main()
