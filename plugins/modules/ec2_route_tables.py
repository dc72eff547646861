#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ec2_route_tables
short_description: Converge a VPC's route tables (routes, subnet associations, tags) in one call
version_added: 0.1.0
description:
  - Finds each table by its C(Name) tag in the VPC with one C(DescribeRouteTables), creates the missing ones
    already tagged (C(TagSpecifications)), then creates, replaces and deletes routes, associates subnets and
    adds tags only where they differ.
  - A table made by a call whose answer was lost is found by its tags on the next run, never made twice.
  - Routes to prefix lists (VPC gateway endpoints, managed by C(amazon.aws.ec2_vpc_endpoint)), the C(local)
    route and propagated routes are left alone.
  - Written because C(amazon.aws.ec2_vpc_route_table) takes one table per call and sleeps 5 seconds after every
    change, which made the route tables a third of a stack's first converge (15 s of 55 s for three tables).
    After a write this module reads the tables back until they show what it wrote, without a fixed pause.
  - Tables of the VPC that are not listed are left alone; removal is C(amazon.aws.ec2_vpc_route_table) with
    C(state=absent).
options:
  vpc_id:
    description: The VPC of the tables.
    type: str
    required: true
  route_tables:
    description: The tables, each identified by its C(Name) tag, which must be unique among them.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Value of the table's C(Name) tag.
        type: str
        required: true
      subnets:
        description:
          - IDs of the subnets associated with the table. A subnet associated with another table is moved
            (C(ReplaceRouteTableAssociation)).
          - Subnets associated with the table but not listed are disassociated when O(purge_subnets=true).
        type: list
        elements: str
        default: []
      routes:
        description: Routes of the table, each a destination and exactly one target.
        type: list
        elements: dict
        default: []
        suboptions:
          dest:
            description: Destination IPv4 or IPv6 CIDR block.
            type: str
            required: true
          gateway_id:
            description: An internet gateway (or virtual private gateway).
            type: str
          nat_gateway_id:
            description: A NAT gateway.
            type: str
          transit_gateway_id:
            description: A transit gateway.
            type: str
          vpc_peering_connection_id:
            description: A VPC peering connection.
            type: str
          network_interface_id:
            description: A network interface.
            type: str
  tags:
    description: Tags of every table (besides its C(Name)).
    type: dict
    default: {}
  purge_tags:
    description: Remove tags not in O(tags) (the C(Name) tag is always kept).
    type: bool
    default: false
  purge_routes:
    description: Delete routes with a CIDR destination that were created by C(CreateRoute) and are not listed.
    type: bool
    default: true
  purge_subnets:
    description: Disassociate subnets that are associated with a table but not listed for it.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait, after writing, for the tables to read back as written.
    type: int
    default: 60
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: A public table to the internet gateway and one private table per AZ to its NAT gateway
  seed.fargate.ec2_route_tables:
    vpc_id: "{{ vpc_id }}"
    tags: {stack: seed}
    route_tables:
      - name: seed-public
        subnets: "{{ public_subnet_ids }}"
        routes: [{dest: 0.0.0.0/0, gateway_id: "{{ igw_id }}"}]
      - name: seed-private-us-east-1a
        subnets: ["{{ private_subnet_ids[0] }}"]
        routes: [{dest: 0.0.0.0/0, nat_gateway_id: "{{ nat_ids[0] }}"}]
  register: tables
"""

RETURN = r"""
route_tables:
  description: The tables in the order of O(route_tables). In check mode a table still to be made has C(id=null).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The C(Name) tag.
      type: str
    id:
      description: The route table ID.
      type: str
      sample: rtb-0123456789abcdef0
    subnets:
      description: IDs of the associated subnets, sorted.
      type: list
      elements: str
    routes:
      description: The managed routes (CIDR destinations created by C(CreateRoute)), as O(route_tables[].routes).
      type: list
      elements: dict
    tags:
      description: The table's tags.
      type: dict
"""

import time

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

# option name -> the key DescribeRouteTables and CreateRoute use for it
TARGETS = {
    "gateway_id": "GatewayId",
    "nat_gateway_id": "NatGatewayId",
    "transit_gateway_id": "TransitGatewayId",
    "vpc_peering_connection_id": "VpcPeeringConnectionId",
    "network_interface_id": "NetworkInterfaceId",
}


def _destination(dest):
    return ("DestinationIpv6CidrBlock" if ":" in dest else "DestinationCidrBlock"), dest


def _managed_routes(table):
    """dest -> {target key: id} of the routes this module owns: CIDR destinations made by CreateRoute."""
    out = {}
    for route in table.get("Routes", []):
        dest = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
        if not dest or route.get("Origin") != "CreateRoute":
            continue
        targets = {key: route[key] for key in TARGETS.values() if route.get(key)}
        if route.get("State") == "blackhole":
            targets["blackhole"] = True  # never equal to a desired route: it is replaced
        out[dest] = targets
    return out


def _desired_routes(module, spec):
    out = {}
    for route in spec["routes"]:
        targets = {TARGETS[k]: route[k] for k in TARGETS if route.get(k)}
        if len(targets) != 1:
            module.fail_json(msg=f"route_tables: route {route['dest']} of table {spec['name']} needs exactly one of "
                                 f"{', '.join(TARGETS)}")
        if route["dest"] in out:
            module.fail_json(msg=f"route_tables: table {spec['name']} lists destination {route['dest']} twice")
        out[route["dest"]] = targets
    return out


def _subnets(table):
    return sorted(a["SubnetId"] for a in table.get("Associations", []) if a.get("SubnetId") and not a.get("Main"))


def _shown(name, table_id, subnets, routes, tags):
    return {"name": name, "id": table_id, "subnets": sorted(subnets),
            "routes": [dict({"dest": dest}, **{k: targets[v] for k, v in TARGETS.items() if v in targets})
                       for dest, targets in sorted(routes.items())],
            "tags": tags}


class RouteTables:
    def __init__(self, module):
        self.module = module
        self.client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
        self.vpc_id = module.params["vpc_id"]
        self.changed = False

    def fail(self, error, msg):
        self.module.fail_json_aws(error, msg=msg)

    def describe(self, filters):
        try:
            paginator = self.client.get_paginator("describe_route_tables")
            return paginator.paginate(Filters=filters).build_full_result()["RouteTables"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail(e, f"Couldn't describe the route tables of {self.vpc_id}")

    def find(self, names):
        by_name = {}
        for table in self.describe([{"Name": "vpc-id", "Values": [self.vpc_id]}, {"Name": "tag:Name", "Values": names}]):
            name = boto3_tag_list_to_ansible_dict(table.get("Tags", [])).get("Name")
            by_name.setdefault(name, []).append(table)
        for name, tables in by_name.items():
            if len(tables) > 1:
                ids = ", ".join(sorted(t["RouteTableId"] for t in tables))
                self.module.fail_json(msg=f"route_tables: more than one table of {self.vpc_id} is named {name} ({ids}); "
                                          "delete the extra ones (and their associations) and run again")
        return {name: tables[0] for name, tables in by_name.items()}

    def call(self, method, msg, **kwargs):
        self.changed = True
        if self.module.check_mode:
            return {}
        try:
            return getattr(self.client, method)(aws_retry=True, **kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail(e, msg)

    def create(self, name, tags):
        self.changed = True
        if self.module.check_mode:
            return {"RouteTableId": None, "Routes": [], "Associations": [], "Tags": []}
        tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
        # Tagged by the call that makes it: a table whose answer was lost is found by its Name on the next run.
        return self.call("create_route_table", f"Couldn't create route table {name}", VpcId=self.vpc_id,
                         TagSpecifications=[{"ResourceType": "route-table", "Tags": tag_list}])["RouteTable"]

    def converge_routes(self, table_id, name, current, desired):
        for dest, targets in desired.items():
            key, value = _destination(dest)
            if dest not in current:
                self.call("create_route", f"Couldn't add route {dest} to {name}", RouteTableId=table_id,
                          **{key: value}, **targets)
            elif current[dest] != targets:
                self.call("replace_route", f"Couldn't replace route {dest} of {name}", RouteTableId=table_id,
                          **{key: value}, **targets)
        if self.module.params["purge_routes"]:
            for dest in current:
                if dest not in desired:
                    key, value = _destination(dest)
                    self.call("delete_route", f"Couldn't delete route {dest} of {name}", RouteTableId=table_id,
                              **{key: value})

    def converge_subnets(self, table_id, name, table, desired, elsewhere, wanted_elsewhere):
        current = {a["SubnetId"]: a["RouteTableAssociationId"] for a in table.get("Associations", [])
                   if a.get("SubnetId") and not a.get("Main")}
        for subnet in desired:
            if subnet in current:
                continue
            if subnet in elsewhere:
                # moved in one call: the subnet is never without a table (AssociateRouteTable would fail)
                self.call("replace_route_table_association", f"Couldn't move subnet {subnet} to {name}",
                          AssociationId=elsewhere[subnet], RouteTableId=table_id)
            else:
                self.call("associate_route_table", f"Couldn't associate subnet {subnet} with {name}",
                          RouteTableId=table_id, SubnetId=subnet)
        if self.module.params["purge_subnets"]:
            for subnet, association in current.items():
                if subnet not in desired and subnet not in wanted_elsewhere:
                    self.call("disassociate_route_table", f"Couldn't disassociate subnet {subnet} from {name}",
                              AssociationId=association)

    def associations(self, subnets, found):
        """subnet -> (table id, association id) of the ``subnets`` associated with a table: the tables in ``found``
        are known; one read for the subnets associated with none of them."""
        out = {}
        for table in found:
            for association in table.get("Associations", []):
                if association.get("SubnetId") in subnets and not association.get("Main"):
                    out[association["SubnetId"]] = (table["RouteTableId"], association["RouteTableAssociationId"])
        unknown = sorted(set(subnets) - set(out))
        if unknown:
            for table in self.describe([{"Name": "association.subnet-id", "Values": unknown}]):
                for association in table.get("Associations", []):
                    if association.get("SubnetId") in unknown and not association.get("Main"):
                        out[association["SubnetId"]] = (table["RouteTableId"], association["RouteTableAssociationId"])
        return out

    def shows(self, table, subnets, routes, tags):
        managed, params = _managed_routes(table), self.module.params
        current = _subnets(table)
        return (all(managed.get(dest) == targets for dest, targets in routes.items())
                and (not params["purge_routes"] or managed.keys() <= routes.keys())
                and set(subnets) <= set(current) and (not params["purge_subnets"] or set(current) <= set(subnets))
                and tags.items() <= boto3_tag_list_to_ansible_dict(table.get("Tags", [])).items())

    def wait(self, expected):
        """Read the written tables back until they show ``expected`` (id -> (subnets, routes, tags))."""
        deadline = time.monotonic() + self.module.params["wait_timeout"]
        delay = 0.2
        while True:
            found = {t["RouteTableId"]: t for t in self.describe([{"Name": "route-table-id", "Values": sorted(expected)}])}
            pending = [i for i, (subnets, routes, tags) in expected.items()
                       if i not in found or not self.shows(found[i], subnets, routes, tags)]
            if not pending:
                return found
            if time.monotonic() > deadline:
                self.module.fail_json(msg=f"route_tables: {', '.join(sorted(pending))} did not read back as written "
                                          f"within {self.module.params['wait_timeout']} s; run again to converge")
            time.sleep(delay)
            delay = min(delay * 2, 5)


def main():
    route = dict(dest=dict(type="str", required=True), **{k: dict(type="str") for k in TARGETS})
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            route_tables=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                subnets=dict(type="list", elements="str", default=[]),
                routes=dict(type="list", elements="dict", default=[], options=route),
            )),
            tags=dict(type="dict", default={}),
            purge_tags=dict(type="bool", default=False),
            purge_routes=dict(type="bool", default=True),
            purge_subnets=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    specs = module.params["route_tables"]
    names = [s["name"] for s in specs]
    if len(set(names)) != len(names):
        module.fail_json(msg=f"route_tables: names must be unique, got {names}")
    claimed = [subnet for s in specs for subnet in s["subnets"]]
    if len(set(claimed)) != len(claimed):
        module.fail_json(msg="route_tables: a subnet can be associated with one table only, got "
                             f"{sorted(s for s in set(claimed) if claimed.count(s) > 1)} in more than one")
    desired_routes = {s["name"]: _desired_routes(module, s) for s in specs}

    rt = RouteTables(module)
    found = rt.find(names) if names else {}
    missing_subnets = {subnet for s in specs for subnet in s["subnets"]
                       if s["name"] not in found or subnet not in _subnets(found[s["name"]])}
    associated = rt.associations(missing_subnets, found.values()) if missing_subnets else {}

    before, after, expected, shown = {}, {}, {}, []
    for spec in specs:
        name = spec["name"]
        tags = dict(module.params["tags"], Name=name)
        table = found.get(name)
        current_tags = boto3_tag_list_to_ansible_dict(table.get("Tags", [])) if table else {}
        current_routes = _managed_routes(table) if table else {}
        if table:
            before[name] = _shown(name, table["RouteTableId"], _subnets(table), current_routes, current_tags)
        else:
            table = rt.create(name, tags)
            current_tags = dict(tags)
        table_id = table["RouteTableId"]
        rt.converge_routes(table_id, name, current_routes, desired_routes[name])
        elsewhere = {subnet: association for subnet, (other, association) in associated.items() if other != table_id}
        wanted_elsewhere = {subnet for other in specs if other is not spec for subnet in other["subnets"]}
        rt.converge_subnets(table_id, name, table, spec["subnets"], elsewhere, wanted_elsewhere)
        want_tags = dict(tags) if module.params["purge_tags"] else dict(current_tags, **tags)
        add = {k: v for k, v in tags.items() if current_tags.get(k) != v}
        if add:
            rt.call("create_tags", f"Couldn't tag {name}", Resources=[table_id],
                    Tags=[{"Key": k, "Value": v} for k, v in add.items()])
        remove = [k for k in current_tags if k not in want_tags]
        if remove:
            rt.call("delete_tags", f"Couldn't untag {name}", Resources=[table_id], Tags=[{"Key": k} for k in remove])
        after[name] = _shown(name, table_id, spec["subnets"], desired_routes[name], want_tags)
        shown.append(after[name])
        if table_id:
            expected[table_id] = (sorted(spec["subnets"]), desired_routes[name], tags)

    if rt.changed and not module.check_mode:
        rt.wait(expected)
    module.exit_json(changed=rt.changed, route_tables=shown, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
