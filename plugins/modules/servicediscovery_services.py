#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: servicediscovery_services
short_description: Converge the AWS Cloud Map services (service registries) of a DNS namespace, all in one call
version_added: 0.1.0
description:
  - Reads the services of the namespace O(namespace_id) once (C(ListServices) filtered by namespace), creates each
    service of O(services) that is missing (C(CreateService)) and converges the TTL of its DNS records and its tags;
    with O(state=absent), deletes them.
  - Each service answers C(<name>.<namespace>) with MULTIVALUE routing and the record types of
    O(services[].record_type) (C(A) for C(awsvpc) tasks, what Amazon ECS registers for Fargate), and has a custom
    health check config (C(HealthCheckCustomConfig)), which Amazon ECS needs to report its tasks' health to Cloud Map
    (Amazon ECS developer guide, service discovery). Routing policy, record types and the health check config are
    fixed when the service is made; a service that differs in them is reported and left as it is (delete it and run
    again to recreate it).
  - O(state=absent) retries C(ResourceInUse) for at most O(wait_timeout) seconds, since Cloud Map refuses to delete a
    service while instances are registered, and Amazon ECS deregisters the tasks of a deleted ECS service as they stop.
  - In check mode, a O(namespace_id) containing C(known-after-apply) stands for a namespace still to be made, and every
    service is reported as to be created.
options:
  namespace_id:
    description: ID of the namespace (C(ns-...)). One of O(namespace_id) and O(namespace_name) is required.
    type: str
  namespace_name:
    description:
      - Name of the private DNS namespace, looked up with C(ListNamespaces) instead of giving O(namespace_id); the
        module fails when several private namespaces have that name.
      - With O(state=absent), a namespace that does not exist has no services, so there is nothing to do.
    type: str
  services:
    description: The services, each a service registry an ECS service registers its tasks in.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Service name; its DNS name is C(<name>.<namespace name>).
        type: str
        required: true
      record_type:
        description: DNS record type of each instance (C(A) for the IPv4 address of an C(awsvpc) task).
        type: str
        choices: [A, AAAA, SRV]
        default: A
      ttl:
        description: Seconds resolvers may cache the records.
        type: int
        default: 60
      description:
        description: Description. Left as it is when omitted.
        type: str
  state:
    description: Whether the services exist.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description: Seconds to wait at most for an update operation, or (O(state=absent)) for the instances of a service
      to be deregistered.
    type: int
    default: 300
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
- name: A service registry per ECS service
  seed.fargate.servicediscovery_services:
    namespace_id: "{{ namespace.namespace.id }}"
    services:
      - name: api
        ttl: 10
      - name: web
    tags:
      stack: seed
  register: registries

- name: The ECS services register in them
  ansible.builtin.debug:
    msg: "{{ registries.registry_arns }}"

- name: Delete them (after the ECS services)
  seed.fargate.servicediscovery_services:
    namespace_id: "{{ namespace.namespace.id }}"
    services: [{name: api}, {name: web}]
    state: absent
"""

RETURN = r"""
services:
  description:
    - Name -> the service after the run; in check mode, for one still to be made, its C(id) and C(arn) contain
      C(known-after-apply). Empty with O(state=absent).
  returned: always
  type: dict
  sample: {"api": {"id": "srv-abcdefgh", "arn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-abcdefgh",
           "name": "api", "record_type": "A", "ttl": 60, "routing_policy": "MULTIVALUE", "custom_health_check": true,
           "description": "", "tags": {"stack": "seed"}}}
registry_arns:
  description: Name -> service ARN (what ECS's C(serviceRegistries[].registryArn) takes). Empty with O(state=absent).
  returned: always
  type: dict
  sample: {"api": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-abcdefgh"}
created:
  description: Names of the services created (would be, in check mode).
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the services deleted (would be, in check mode).
  returned: always
  type: list
  elements: str
"""

import time
import uuid

try:
    import botocore  # noqa: F401 pylint: disable=unused-import
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
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


@AWSRetry.jittered_backoff()
def list_services(client, namespace_id):
    filters = [{"Name": "NAMESPACE_ID", "Values": [namespace_id], "Condition": "EQ"}]
    found = client.get_paginator("list_services").paginate(Filters=filters).build_full_result()["Services"]
    return [s for s in found if s.get("NamespaceId", namespace_id) == namespace_id]


@AWSRetry.jittered_backoff()
def namespace_ids(client, name):
    filters = [{"Name": "TYPE", "Values": ["DNS_PRIVATE"], "Condition": "EQ"},
               {"Name": "NAME", "Values": [name], "Condition": "EQ"}]
    found = client.get_paginator("list_namespaces").paginate(Filters=filters).build_full_result()["Namespaces"]
    return [n["Id"] for n in found if n.get("Name") == name and n.get("Type") == "DNS_PRIVATE"]


def shape(service, tags):
    records = ((service.get("DnsConfig") or {}).get("DnsRecords") or [{}])
    return {
        "id": service["Id"], "arn": service["Arn"], "name": service["Name"],
        "record_type": records[0].get("Type", ""), "ttl": records[0].get("TTL", 0),
        "routing_policy": (service.get("DnsConfig") or {}).get("RoutingPolicy", ""),
        "custom_health_check": service.get("HealthCheckCustomConfig") is not None,
        "description": service.get("Description", "") or "", "tags": tags,
    }


def desired_shape(want, namespace_id, tags):
    ident = f"srv-{PLACEHOLDER}"
    return {"id": ident, "arn": f"arn:aws:servicediscovery:{PLACEHOLDER}:service/{ident}", "name": want["name"],
            "record_type": want["record_type"], "ttl": want["ttl"], "routing_policy": "MULTIVALUE",
            "custom_health_check": True, "description": want.get("description") or "", "tags": dict(tags or {})}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            namespace_id=dict(type="str"),
            namespace_name=dict(type="str"),
            services=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                record_type=dict(type="str", choices=["A", "AAAA", "SRV"], default="A"),
                ttl=dict(type="int", default=60),
                description=dict(type="str"),
            )),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=300),
        ),
        required_one_of=[("namespace_id", "namespace_name")],
        mutually_exclusive=[("namespace_id", "namespace_name")],
        supports_check_mode=True,
    )
    params = module.params
    client = module.client("servicediscovery", retry_decorator=AWSRetry.jittered_backoff())
    namespace_id = params["namespace_id"]
    wanted = {s["name"]: s for s in params["services"]}
    if len(wanted) != len(params["services"]):
        module.fail_json(msg="services: each name may appear once")
    for want in wanted.values():
        if want["ttl"] < 0 or want["ttl"] > 2147483647:
            module.fail_json(msg=f"services[{want['name']}].ttl must be between 0 and 2147483647 seconds")

    if namespace_id is None:
        try:
            ids = namespace_ids(client, params["namespace_name"])
        except boto_errors() as e:
            module.fail_json_aws(e, msg=f"Couldn't look up Cloud Map namespace {params['namespace_name']}")
        if len(ids) > 1:
            module.fail_json(msg=f"Several private DNS namespaces are named {params['namespace_name']} "
                                 f"({', '.join(ids)}); give namespace_id")
        if not ids:
            if params["state"] == "absent":
                module.exit_json(changed=False, services={}, registry_arns={}, created=[], deleted=[],
                                 diff={"before": {}, "after": {}})
            module.fail_json(msg=f"No private DNS namespace is named {params['namespace_name']}")
        namespace_id = ids[0]

    existing = {}
    try:
        if PLACEHOLDER not in namespace_id:
            existing = {s["Name"]: s for s in list_services(client, namespace_id) if s["Name"] in wanted}
        have = {n: shape(s, get_tags(client, s["Arn"])) for n, s in existing.items()}
    except boto_errors() as e:
        module.fail_json_aws(e, msg=f"Couldn't read the Cloud Map services of namespace {namespace_id}")
    before = {n: have[n] for n in sorted(have)}

    if params["state"] == "absent":
        doomed = sorted(existing)
        if doomed and not module.check_mode:
            deadline = time.monotonic() + params["wait_timeout"]
            for name in doomed:
                delay = 2.0
                while True:
                    try:
                        client.delete_service(Id=existing[name]["Id"], aws_retry=True)
                        break
                    except is_boto3_error_code("ServiceNotFound"):
                        break  # gone meanwhile
                    except is_boto3_error_code("ResourceInUse") as e:  # pylint: disable=duplicate-except
                        if time.monotonic() + delay > deadline:
                            module.fail_json_aws(e, msg=f"Cloud Map service {name} still has registered instances "
                                                        f"after {params['wait_timeout']}s; delete the ECS service "
                                                        "that registers in it first, or raise wait_timeout")
                        time.sleep(delay)
                        delay = min(delay * 2, 15.0)
                    except boto_errors() as e:  # pylint: disable=duplicate-except
                        module.fail_json_aws(e, msg=f"Couldn't delete Cloud Map service {name}")
        module.exit_json(changed=bool(doomed), services={}, registry_arns={}, created=[], deleted=doomed,
                         diff={"before": before, "after": {}})

    after, created, warnings = {}, [], []
    changed = False
    for name, want in wanted.items():
        if name not in existing:
            created.append(name)
            after[name] = desired_shape(want, namespace_id, params["tags"])
            changed = True
            if module.check_mode:
                continue
            create = {
                "Name": name, "NamespaceId": namespace_id,
                # the same request made twice (a run cut short and run again) makes one service in AWS
                "CreatorRequestId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace_id}/{name}")),
                "DnsConfig": {"RoutingPolicy": "MULTIVALUE",
                              "DnsRecords": [{"Type": want["record_type"], "TTL": want["ttl"]}]},
                "HealthCheckCustomConfig": {"FailureThreshold": 1},
            }
            if want.get("description"):
                create["Description"] = want["description"]
            if params["tags"]:
                create["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
            try:
                service = client.create_service(aws_retry=True, **create)["Service"]
            except boto_errors() as e:
                module.fail_json_aws(e, msg=f"Couldn't create Cloud Map service {name} in namespace {namespace_id}")
            after[name] = shape(service, dict(params["tags"] or {}))
            continue
        current, service = have[name], existing[name]
        fixed = {"record_type": want["record_type"], "routing_policy": "MULTIVALUE", "custom_health_check": True}
        differs = sorted(k for k, v in fixed.items() if current[k] != v)
        if differs:
            warnings.append(f"Cloud Map service {name} ({current['id']}) differs in {', '.join(differs)}, which Cloud "
                            "Map fixes when a service is made; it is left as it is (delete it and run again to "
                            "recreate it)")
        calls, after_tags = tag_calls(current["arn"], current["tags"], params["tags"], params["purge_tags"])
        update = {}
        if current["ttl"] != want["ttl"] and not differs:
            update["DnsConfig"] = {"DnsRecords": [{"Type": want["record_type"], "TTL": want["ttl"]}]}
        if want.get("description") is not None and want["description"] != current["description"]:
            update["Description"] = want["description"]
        after[name] = dict(current, tags=after_tags)
        if "DnsConfig" in update:
            after[name]["ttl"] = want["ttl"]
        if "Description" in update:
            after[name]["description"] = want["description"]
        if not (calls or update):
            continue
        changed = True
        if module.check_mode:
            continue
        try:
            for method, kwargs in calls:
                getattr(client, method)(aws_retry=True, **kwargs)
            if update:
                # UpdateService replaces DnsConfig and the health check config as given: keep the records' type
                update.setdefault("DnsConfig", {"DnsRecords": (service.get("DnsConfig") or {}).get("DnsRecords", [])})
                operation_id = client.update_service(Id=current["id"], Service=update, aws_retry=True)["OperationId"]
                wait_operation(client, operation_id, params["wait_timeout"])
        except OperationError as e:
            module.fail_json(msg=f"Updating Cloud Map service {name}: {e}")
        except boto_errors() as e:
            module.fail_json_aws(e, msg=f"Couldn't update Cloud Map service {name}")

    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=changed, services=after, registry_arns={n: s["arn"] for n, s in after.items()},
                     created=created, deleted=[], diff={"before": before, "after": {n: after[n] for n in sorted(after)}})


if __name__ == "__main__":
    main()
