#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ec2_security_groups
short_description: Converge a VPC's security groups (rules that may refer to each other, tags) in one call
version_added: 0.1.0
description:
  - Finds the groups by name in the VPC with one C(DescribeSecurityGroups), creates the missing ones already
    tagged (C(TagSpecifications)), then authorizes, revokes and re-describes rules, one call per group and
    direction, and adds tags only where they differ.
  - A rule may name another group of the list (or of the VPC) with O(security_groups[].ingress[].group_name),
    so groups that refer to each other (a load balancer's egress to the tasks, the tasks' ingress from the load
    balancer) converge in the same call, whatever exists yet.
  - New rules are authorized before the rules they replace are revoked, so a changed port is never closed
    in between.
  - Written because C(amazon.aws.ec2_security_group) takes one group per call and pauses 3 seconds after
    creating a group (6 s of every first converge of a stack), and the network needed three calls for two
    groups (the second refers to the first, then the first's egress to the second). After a write this module
    reads the groups back until they show what it wrote, without a fixed pause.
  - Groups of the VPC that are not listed are left alone; removal is C(amazon.aws.ec2_security_group) with
    C(state=absent).
options:
  vpc_id:
    description: The VPC of the groups.
    type: str
    required: true
  security_groups:
    description: The groups, each identified by its name, unique among them.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The group's name (C(GroupName)), also its C(Name) tag.
        type: str
        required: true
      description:
        description: The group's description, used when it is created (AWS cannot change it later).
        type: str
        required: true
      ingress:
        description:
          - Every inbound rule of the group; rules not listed are revoked.
          - Not given, the group's inbound rules are left as they are.
        type: list
        elements: dict
        suboptions: &rule
          proto:
            description: C(tcp), C(udp) or C(all) (every protocol and port, also given as C(-1)).
            type: str
            default: tcp
          ports:
            description: Ports (numbers) or C(from-to) ranges (strings) (C(tcp), C(udp)); ignored for C(all).
            type: list
            elements: raw
            default: []
          cidr_ip:
            description: IPv4 CIDR blocks.
            type: list
            elements: str
          cidr_ipv6:
            description: IPv6 CIDR blocks.
            type: list
            elements: str
          group_name:
            description: A group of O(security_groups), or another group of the VPC, by name.
            type: str
          group_id:
            description: A group by ID.
            type: str
          ip_prefix:
            description: A managed prefix list ID (for example a gateway endpoint's).
            type: str
          rule_desc:
            description: The rule's description. Not given, the description of an existing rule is left as it is.
            type: str
      egress:
        description:
          - Every outbound rule of the group; rules not listed are revoked (a new group's default rule to
            everywhere too).
          - Not given, the group's outbound rules are left as they are (a new group keeps the default rule).
        type: list
        elements: dict
        suboptions: *rule
  tags:
    description: Tags of every group (besides its C(Name)).
    type: dict
    default: {}
  purge_tags:
    description: Remove tags not in O(tags) (the C(Name) tag is always kept).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait, after writing, for the groups to read back as written.
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
- name: A load balancer and its tasks, each open to the other on the container port only
  seed.fargate.ec2_security_groups:
    vpc_id: "{{ vpc_id }}"
    tags: {stack: seed}
    security_groups:
      - name: seed-alb
        description: seed load balancer
        ingress: [{proto: tcp, ports: [80, 443], cidr_ip: [0.0.0.0/0], rule_desc: listeners}]
        egress: [{proto: tcp, ports: [8000], group_name: seed-tasks, rule_desc: to the tasks}]
      - name: seed-tasks
        description: seed Fargate tasks
        ingress: [{proto: tcp, ports: [8000], group_name: seed-alb, rule_desc: from the load balancer}]
        egress: [{proto: all, cidr_ip: [0.0.0.0/0]}]
  register: groups
"""

RETURN = r"""
security_groups:
  description: The groups in the order of O(security_groups). In check mode a group still to be made has C(id=null).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The group's name.
      type: str
    id:
      description: The group ID.
      type: str
      sample: sg-0123456789abcdef0
    ingress:
      description: The inbound rules, one per port range and source, sorted.
      type: list
      elements: dict
    egress:
      description: The outbound rules, one per port range and destination, sorted.
      type: list
      elements: dict
    tags:
      description: The group's tags.
      type: dict
group_ids:
  description: Name -> ID of every group listed (C(null) in check mode for a group still to be made).
  returned: always
  type: dict
  sample: {seed-alb: sg-0123456789abcdef0}
"""

import time

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

DIRECTIONS = {"ingress": ("IpPermissions", "ingress"), "egress": ("IpPermissionsEgress", "egress")}
# rule key kind -> (IpPermissions list, its id key)
KINDS = {"cidr": ("IpRanges", "CidrIp"), "cidr6": ("Ipv6Ranges", "CidrIpv6"), "group": ("UserIdGroupPairs", "GroupId"),
         "prefix": ("PrefixListIds", "PrefixListId")}
SHOWN_KEYS = {"cidr": "cidr_ip", "cidr6": "cidr_ipv6", "group": "group_id", "prefix": "ip_prefix"}
NEW = "new:"  # target of a rule to a group check mode has not made


def _port_range(module, group, text):
    low, _sep, high = str(text).partition("-")
    try:
        low, high = int(low), int(high or low)
    except ValueError:
        module.fail_json(msg=f"security_groups: group {group}: port {text!r} is not a port or a from-to range")
    if not 0 <= low <= high <= 65535:
        module.fail_json(msg=f"security_groups: group {group}: port range {text!r} is not within 0-65535")
    return low, high


def desired_rules(module, group, rules, ids):
    """(proto, from, to, kind, target) -> description (None: keep the current one) of a rule list."""
    out = {}
    for rule in rules:
        proto = "-1" if str(rule["proto"]).lower() in ("all", "-1") else str(rule["proto"]).lower()
        if proto not in ("tcp", "udp", "-1"):
            module.fail_json(msg=f"security_groups: group {group}: proto {rule['proto']!r} is not tcp, udp or all")
        targets = [("cidr", c) for c in rule.get("cidr_ip") or []] + [("cidr6", c) for c in rule.get("cidr_ipv6") or []]
        if rule.get("group_id"):
            targets.append(("group", rule["group_id"]))
        if rule.get("group_name"):
            targets.append(("group", ids.get(rule["group_name"]) or module.fail_json(
                msg=f"security_groups: group {group}: group_name {rule['group_name']} is neither listed nor a group of "
                    f"{module.params['vpc_id']}")))
        if rule.get("ip_prefix"):
            targets.append(("prefix", rule["ip_prefix"]))
        if not targets:
            module.fail_json(msg=f"security_groups: group {group}: a rule needs cidr_ip, cidr_ipv6, group_name, group_id or ip_prefix")
        if proto == "-1":
            ranges = [(None, None)]
        elif rule["ports"]:
            ranges = [_port_range(module, group, p) for p in rule["ports"]]
        else:
            module.fail_json(msg=f"security_groups: group {group}: a {proto} rule needs ports")
        for low, high in ranges:
            for kind, target in targets:
                out[(proto, low, high, kind, target)] = rule.get("rule_desc")
    return out


def current_rules(permissions):
    out = {}
    for perm in permissions:
        proto = perm["IpProtocol"]
        low, high = (None, None) if proto == "-1" else (perm.get("FromPort"), perm.get("ToPort"))
        for kind, (key, id_key) in KINDS.items():
            for entry in perm.get(key, []):
                out[(proto, low, high, kind, entry[id_key])] = entry.get("Description")
    return out


def to_permissions(rules):
    """IpPermissions for rule keys (with their descriptions), one permission per protocol and port range."""
    grouped = {}
    for (proto, low, high, kind, target), desc in sorted(rules.items(), key=lambda item: repr(item[0])):
        perm = grouped.setdefault((proto, low, high), dict({"IpProtocol": proto}, **(
            {} if proto == "-1" else {"FromPort": low, "ToPort": high})))
        key, id_key = KINDS[kind]
        perm.setdefault(key, []).append(dict({id_key: target}, **({"Description": desc} if desc else {})))
    return list(grouped.values())


def shown_rules(rules):
    out = []
    for (proto, low, high, kind, target), desc in sorted(rules.items(), key=lambda item: repr(item[0])):
        rule = {"proto": "all" if proto == "-1" else proto, SHOWN_KEYS[kind]: target}
        if proto != "-1":
            rule["ports"] = str(low) if low == high else f"{low}-{high}"
        if desc:
            rule["rule_desc"] = desc
        out.append(rule)
    return out


class SecurityGroups:
    def __init__(self, module):
        self.module = module
        self.client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
        self.vpc_id = module.params["vpc_id"]
        self.changed = False

    def describe(self, filters):
        try:
            paginator = self.client.get_paginator("describe_security_groups")
            return paginator.paginate(Filters=filters).build_full_result()["SecurityGroups"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't describe the security groups of {self.vpc_id}")

    def find(self, names):
        return {g["GroupName"]: g for g in self.describe([{"Name": "vpc-id", "Values": [self.vpc_id]},
                                                          {"Name": "group-name", "Values": sorted(names)}])}

    def call(self, method, msg, **kwargs):
        self.changed = True
        if self.module.check_mode:
            return {}
        try:
            return getattr(self.client, method)(aws_retry=True, **kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=msg)

    def create(self, spec, tags):
        self.changed = True
        if self.module.check_mode:
            return None
        tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
        # Tagged by the call that makes it; found by its name (unique in the VPC) on the next run.
        return self.call("create_security_group", f"Couldn't create security group {spec['name']}", VpcId=self.vpc_id,
                         GroupName=spec["name"], Description=spec["description"],
                         TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list}])["GroupId"]

    def converge_rules(self, name, group_id, direction, current, desired):
        verb = "ingress" if direction == "ingress" else "egress"
        add = {k: d for k, d in desired.items() if k not in current}
        described = {k: d for k, d in desired.items() if k in current and d is not None and d != current[k]}
        remove = {k: d for k, d in current.items() if k not in desired}
        if add:
            self.call(f"authorize_security_group_{verb}", f"Couldn't add {verb} rules to {name}", GroupId=group_id,
                      IpPermissions=to_permissions(add))
        if described:
            self.call(f"update_security_group_rule_descriptions_{verb}", f"Couldn't describe the {verb} rules of {name}",
                      GroupId=group_id, IpPermissions=to_permissions(described))
        if remove:  # named as the group has them, descriptions included
            self.call(f"revoke_security_group_{verb}", f"Couldn't remove {verb} rules from {name}", GroupId=group_id,
                      IpPermissions=to_permissions(remove))

    def wait(self, expected):
        """Read the written groups back until they show ``expected`` (id -> {direction: rules})."""
        deadline = time.monotonic() + self.module.params["wait_timeout"]
        delay = 0.2
        while True:
            found = {g["GroupId"]: g for g in self.describe([{"Name": "group-id", "Values": sorted(expected)}])}
            pending = [group_id for group_id, directions in expected.items() if group_id not in found or any(
                current_rules(found[group_id].get(DIRECTIONS[d][0], [])).keys() != rules.keys()
                for d, rules in directions.items())]
            if not pending:
                return
            if time.monotonic() > deadline:
                self.module.fail_json(msg=f"security_groups: {', '.join(sorted(pending))} did not read back as written "
                                          f"within {self.module.params['wait_timeout']} s; run again to converge")
            time.sleep(delay)
            delay = min(delay * 2, 5)


def main():
    rule = dict(
        proto=dict(type="str", default="tcp"),
        ports=dict(type="list", elements="raw", default=[]),
        cidr_ip=dict(type="list", elements="str"),
        cidr_ipv6=dict(type="list", elements="str"),
        group_name=dict(type="str"),
        group_id=dict(type="str"),
        ip_prefix=dict(type="str"),
        rule_desc=dict(type="str"),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            security_groups=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                description=dict(type="str", required=True),
                ingress=dict(type="list", elements="dict", options=rule),
                egress=dict(type="list", elements="dict", options=rule),
            )),
            tags=dict(type="dict", default={}),
            purge_tags=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    specs = module.params["security_groups"]
    names = [s["name"] for s in specs]
    if len(set(names)) != len(names):
        module.fail_json(msg=f"security_groups: names must be unique, got {names}")
    referred = {r["group_name"] for s in specs for d in DIRECTIONS for r in s[d] or [] if r.get("group_name")}

    sg = SecurityGroups(module)
    found = sg.find(set(names) | referred) if names else {}
    ids = {name: group["GroupId"] for name, group in found.items()}
    known = dict({name: NEW + name for name in names}, **ids)
    for spec in specs:  # every rule checked before any write
        for direction in DIRECTIONS:
            if spec[direction] is not None:
                desired_rules(module, spec["name"], spec[direction], known)
    for spec in specs:  # every group exists before any rule refers to it
        if spec["name"] not in found:
            ids[spec["name"]] = sg.create(spec, dict(module.params["tags"], Name=spec["name"]))
    if module.check_mode:
        ids = {name: group_id or NEW + name for name, group_id in ids.items()}

    before, after, expected, shown = {}, {}, {}, []
    for spec in specs:
        name, group = spec["name"], found.get(spec["name"])
        group_id = ids[name]
        tags = dict(module.params["tags"], Name=name)
        current_tags = boto3_tag_list_to_ansible_dict(group.get("Tags", [])) if group else dict(tags)
        rules = {}
        for direction, (key, _verb) in DIRECTIONS.items():
            if group:
                current = current_rules(group.get(key, []))
            else:  # AWS gives a new group one outbound rule: all traffic to everywhere
                current = {("-1", None, None, "cidr", "0.0.0.0/0"): None} if direction == "egress" else {}
            if spec[direction] is None:
                rules[direction] = current
                continue
            desired = desired_rules(module, name, spec[direction], ids)
            sg.converge_rules(name, group_id, direction, current, desired)
            rules[direction] = {k: (d if d is not None else current.get(k)) for k, d in desired.items()}
            if not group_id.startswith(NEW):
                expected.setdefault(group_id, {})[direction] = rules[direction]
        if group:
            before[name] = {"id": group_id, "ingress": shown_rules(current_rules(group.get("IpPermissions", []))),
                            "egress": shown_rules(current_rules(group.get("IpPermissionsEgress", []))), "tags": current_tags}
        want_tags = dict(tags) if module.params["purge_tags"] else dict(current_tags, **tags)
        add = {k: v for k, v in tags.items() if current_tags.get(k) != v}
        if add and group:
            sg.call("create_tags", f"Couldn't tag {name}", Resources=[group_id], Tags=[{"Key": k, "Value": v} for k, v in add.items()])
        remove = [k for k in current_tags if k not in want_tags]
        if remove and group:
            sg.call("delete_tags", f"Couldn't untag {name}", Resources=[group_id], Tags=[{"Key": k} for k in remove])
        after[name] = {"id": None if group_id.startswith(NEW) else group_id, "ingress": shown_rules(rules["ingress"]),
                       "egress": shown_rules(rules["egress"]), "tags": want_tags}
        shown.append(dict(after[name], name=name))

    if sg.changed and not module.check_mode and expected:
        sg.wait(expected)
    module.exit_json(changed=sg.changed, security_groups=shown, group_ids={s["name"]: s["id"] for s in shown},
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
