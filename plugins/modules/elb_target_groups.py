#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: elb_target_groups
short_description: Converge a list of application load balancer target groups (health check, attributes, tags) in one call
version_added: 0.1.0
description:
  - Reads the groups by name with one C(DescribeTargetGroups) and their tags with one C(DescribeTags), creates the
    missing ones already tagged, and changes health checks (C(ModifyTargetGroup)), the deregistration delay
    (C(ModifyTargetGroupAttributes)) and tags only where they differ. The targets are never touched (ECS registers
    them).
  - Written because C(community.aws.elb_target_group) takes one group per call, reads each group three times over
    (33 calls for a stack's four groups where this module makes 6) and has no check mode, so a dry run could not
    plan the listeners that forward to new groups.
  - A group's protocol, port, target type and VPC cannot change; a listed group that differs in one of them fails
    the module, naming the group, before any write.
  - Groups that are not listed are left alone; removal is C(community.aws.elb_target_group) with C(state=absent).
options:
  vpc_id:
    description: The VPC of the groups.
    type: str
    required: true
  target_groups:
    description: The groups, each identified by its name (at most 32 characters), unique among them.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The group's name.
        type: str
        required: true
      port:
        description: The port the targets receive traffic on.
        type: int
        required: true
      protocol:
        description: C(HTTP) or C(HTTPS).
        type: str
        default: HTTP
        choices: [HTTP, HTTPS]
      target_type:
        description: C(ip) (Fargate tasks) or C(instance).
        type: str
        default: ip
        choices: [ip, instance]
      health_check_path:
        description: The path of the health check.
        type: str
        default: /
      health_check_protocol:
        description: The protocol of the health check.
        type: str
        default: HTTP
        choices: [HTTP, HTTPS]
      health_check_interval:
        description: Seconds between two checks of a target.
        type: int
        default: 30
      health_check_timeout:
        description: Seconds without an answer that make a check fail.
        type: int
        default: 5
      healthy_threshold:
        description: Passed checks in a row that make a target healthy.
        type: int
        default: 5
      unhealthy_threshold:
        description: Failed checks in a row that make a target unhealthy.
        type: int
        default: 2
      matcher:
        description: HTTP codes of a passed check, e.g. C(200) or C(200-399).
        type: str
        default: "200"
      deregistration_delay:
        description: Seconds a deregistered target keeps its in-flight requests (C(deregistration_delay.timeout_seconds)).
        type: int
        default: 300
      tags:
        description: Tags of this group, besides O(tags).
        type: dict
        default: {}
  tags:
    description: Tags of every group.
    type: dict
    default: {}
  purge_tags:
    description: Remove the tags of a group that are not given.
    type: bool
    default: true
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: A blue and a green group for the api service
  seed.fargate.elb_target_groups:
    vpc_id: "{{ vpc_id }}"
    tags: {stack: seed}
    target_groups:
      - {name: seed-api-blue, port: 8000, health_check_path: /api/health, tags: {color: blue}}
      - {name: seed-api-green, port: 8000, health_check_path: /api/health, tags: {color: green}}
  register: groups
"""

RETURN = r"""
target_groups:
  description: The groups in the order of O(target_groups). In check mode a group still to be made has C(arn=null).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The group's name.
      type: str
    arn:
      description: The group's ARN.
      type: str
    settings:
      description: The group's managed settings, as the options name them.
      type: dict
    tags:
      description: The group's tags.
      type: dict
arns:
  description: Name -> ARN of every group listed (C(null) in check mode for a group still to be made).
  returned: always
  type: dict
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

FIXED = {"protocol": "Protocol", "port": "Port", "target_type": "TargetType"}
# option -> DescribeTargetGroups / ModifyTargetGroup key
HEALTH = {"health_check_protocol": "HealthCheckProtocol", "health_check_path": "HealthCheckPath",
          "health_check_interval": "HealthCheckIntervalSeconds", "health_check_timeout": "HealthCheckTimeoutSeconds",
          "healthy_threshold": "HealthyThresholdCount", "unhealthy_threshold": "UnhealthyThresholdCount"}
DELAY = "deregistration_delay.timeout_seconds"
SETTINGS = list(FIXED) + list(HEALTH) + ["matcher", "deregistration_delay"]


def settings_of(group, attributes):
    out = {option: group.get(key) for option, key in dict(FIXED, **HEALTH).items()}
    out["matcher"] = (group.get("Matcher") or {}).get("HttpCode")
    out["deregistration_delay"] = int(attributes[DELAY]) if DELAY in attributes else None
    return out


class TargetGroups:
    def __init__(self, module):
        self.module = module
        self.client = module.client("elbv2", retry_decorator=AWSRetry.jittered_backoff())
        self.changed = False

    def fail(self, error, msg):
        self.module.fail_json_aws(error, msg=msg)

    def find(self, names):
        """name -> group of the ``names`` that exist: one call, or a listing when some do not exist yet."""
        try:
            groups = self.client.describe_target_groups(aws_retry=True, Names=names)["TargetGroups"]
        except is_boto3_error_code("TargetGroupNotFound"):
            try:  # AWS answers nothing when one name is missing: list them all (a first converge pays it)
                paginator = self.client.get_paginator("describe_target_groups")
                groups = paginator.paginate().build_full_result()["TargetGroups"]
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.fail(e, "Couldn't list the target groups")
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            self.fail(e, f"Couldn't describe the target groups {', '.join(names)}")
        return {g["TargetGroupName"]: g for g in groups if g["TargetGroupName"] in names}

    def tags(self, arns):
        out = {}
        for start in range(0, len(arns), 20):  # DescribeTags takes 20 ARNs
            try:
                found = self.client.describe_tags(aws_retry=True, ResourceArns=arns[start:start + 20])["TagDescriptions"]
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.fail(e, "Couldn't read the target groups' tags")
            out.update({d["ResourceArn"]: {t["Key"]: t["Value"] for t in d.get("Tags", [])} for d in found})
        return out

    def attributes(self, arn):
        try:
            found = self.client.describe_target_group_attributes(aws_retry=True, TargetGroupArn=arn)["Attributes"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail(e, f"Couldn't read the attributes of {arn}")
        return {a["Key"]: a["Value"] for a in found}

    def call(self, method, msg, **kwargs):
        self.changed = True
        if self.module.check_mode:
            return {}
        try:
            return getattr(self.client, method)(aws_retry=True, **kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail(e, msg)


def health_params(spec):
    return dict({key: spec[option] for option, key in HEALTH.items()}, HealthCheckEnabled=True, Matcher={"HttpCode": spec["matcher"]})


def main():
    group = dict(
        name=dict(type="str", required=True),
        port=dict(type="int", required=True),
        protocol=dict(type="str", default="HTTP", choices=["HTTP", "HTTPS"]),
        target_type=dict(type="str", default="ip", choices=["ip", "instance"]),
        health_check_path=dict(type="str", default="/"),
        health_check_protocol=dict(type="str", default="HTTP", choices=["HTTP", "HTTPS"]),
        health_check_interval=dict(type="int", default=30),
        health_check_timeout=dict(type="int", default=5),
        healthy_threshold=dict(type="int", default=5),
        unhealthy_threshold=dict(type="int", default=2),
        matcher=dict(type="str", default="200"),
        deregistration_delay=dict(type="int", default=300),
        tags=dict(type="dict", default={}),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            target_groups=dict(type="list", elements="dict", required=True, options=group),
            tags=dict(type="dict", default={}),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    specs, vpc_id = module.params["target_groups"], module.params["vpc_id"]
    names = [s["name"] for s in specs]
    if len(set(names)) != len(names):
        module.fail_json(msg=f"target_groups: names must be unique, got {names}")
    too_long = [n for n in names if len(n) > 32]
    if too_long:
        module.fail_json(msg=f"target_groups: names are at most 32 characters, got {too_long}")

    tg = TargetGroups(module)
    found = tg.find(names) if names else {}
    for spec in specs:  # what AWS cannot change in place, before any write
        current = found.get(spec["name"])
        if not current:
            continue
        fixed = {o: (current.get(k), spec[o]) for o, k in FIXED.items() if current.get(k) != spec[o]}
        if current.get("VpcId") != vpc_id:
            fixed["vpc_id"] = (current.get("VpcId"), vpc_id)
        if fixed:
            module.fail_json(msg=f"target_groups: {spec['name']} exists with "
                                 + ", ".join(f"{o} {have} (not {want})" for o, (have, want) in fixed.items())
                                 + "; AWS cannot change these in place: remove the group (no listener may use it) or rename it")
    current_tags = tg.tags([g["TargetGroupArn"] for g in found.values()]) if found else {}

    before, after, shown, arns = {}, {}, [], {}
    for spec in specs:
        name, current = spec["name"], found.get(spec["name"])
        tags = dict(module.params["tags"], **spec["tags"])
        desired = {o: spec[o] for o in SETTINGS}
        if current:
            arn = current["TargetGroupArn"]
            attributes = tg.attributes(arn)
            settings, have_tags = settings_of(current, attributes), current_tags.get(arn, {})
            before[name] = {"arn": arn, "settings": settings, "tags": have_tags}
            if any(settings[o] != spec[o] for o in list(HEALTH) + ["matcher"]):
                tg.call("modify_target_group", f"Couldn't change the health check of {name}", TargetGroupArn=arn,
                        **health_params(spec))
            if settings["deregistration_delay"] != spec["deregistration_delay"]:
                tg.call("modify_target_group_attributes", f"Couldn't change the attributes of {name}", TargetGroupArn=arn,
                        Attributes=[{"Key": DELAY, "Value": str(spec["deregistration_delay"])}])
            add = {k: v for k, v in tags.items() if have_tags.get(k) != v}
            if add:
                tg.call("add_tags", f"Couldn't tag {name}", ResourceArns=[arn], Tags=[{"Key": k, "Value": v} for k, v in add.items()])
            remove = [k for k in have_tags if k not in tags] if module.params["purge_tags"] else []
            if remove:
                tg.call("remove_tags", f"Couldn't untag {name}", ResourceArns=[arn], TagKeys=remove)
            want_tags = tags if module.params["purge_tags"] else dict(have_tags, **tags)
        else:
            made = tg.call("create_target_group", f"Couldn't create target group {name}", Name=name, VpcId=vpc_id,
                           Protocol=spec["protocol"], Port=spec["port"], TargetType=spec["target_type"],
                           Tags=[{"Key": k, "Value": v} for k, v in tags.items()], **health_params(spec))
            arn = made["TargetGroups"][0]["TargetGroupArn"] if made else None
            if arn and spec["deregistration_delay"] != 300:  # AWS's default delay
                tg.call("modify_target_group_attributes", f"Couldn't change the attributes of {name}", TargetGroupArn=arn,
                        Attributes=[{"Key": DELAY, "Value": str(spec["deregistration_delay"])}])
            want_tags = tags
        arns[name] = arn
        after[name] = {"arn": arn, "settings": desired, "tags": want_tags}
        shown.append(dict(after[name], name=name))

    module.exit_json(changed=tg.changed, target_groups=shown, arns=arns, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
