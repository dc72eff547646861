"""AWS Cloud Map (servicediscovery) and ECS service discovery: what AWS does that moto does not.

moto keeps namespaces, services, instances and operations. AWS also (AWS Cloud Map API reference,
https://docs.aws.amazon.com/cloud-map/latest/api/; Amazon ECS developer guide, "Use service discovery to
connect Amazon ECS services with DNS names", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-discovery.html):

- ``CreatePrivateDnsNamespace`` makes a Route 53 private hosted zone named after the namespace (moto: ``<name>-hz``)
  associated with the namespace's VPC; a VPC may hold several namespaces, but not two of the same name
  (``NamespaceAlreadyExists``; moto refused any second namespace in the VPC with ``ConflictingDomainExists``).
- Namespace operations are asynchronous: ``CreatePrivateDnsNamespace`` and ``DeleteNamespace`` return an operation
  that ``GetOperation`` reports ``SUBMITTED``, then ``PENDING``, then ``SUCCESS`` (one step per ``GetOperation``
  call here; moto: ``SUCCESS`` at once), so a client has to poll as it must on AWS.
- ``DeleteNamespace`` of a namespace that still has services, and ``DeleteService`` of a service that still has
  instances, fail with ``ResourceInUse``; ``DeleteService`` of an unknown service fails with ``ServiceNotFound``
  (moto deleted silently). Deleting a namespace deletes its hosted zone.
- ``CreateService`` of a name the namespace already has fails with ``ServiceAlreadyExists``.
- ``ListNamespaces`` and ``ListServices`` apply their ``Filters`` (``TYPE``/``NAME`` and ``NAMESPACE_ID``, condition
  ``EQ``; moto ignored them).
- For an instance with ``AWS_INSTANCE_IPV4`` in a service with ``DnsConfig`` A records, Cloud Map writes
  ``<service>.<namespace>`` A records to the namespace's hosted zone; here one record set holds every instance's
  address (AWS: one multivalue answer record per instance), rewritten on each register and deregister.
- ECS registers each task of a service with ``serviceRegistries`` as an instance of the registry (instance ID: the
  task ID; attributes ``AWS_INSTANCE_IPV4``, ``AWS_INIT_HEALTH_STATUS``, ``AVAILABILITY_ZONE``, ``REGION``,
  ``ECS_CLUSTER_NAME``, ``ECS_SERVICE_NAME``, ``ECS_TASK_DEFINITION_FAMILY`` and, for a task set,
  ``ECS_TASK_SET_EXTERNAL_ID``) once it runs, and deregisters it when it stops. With the data plane's task runner
  the instances are the real tasks and their addresses; on the control plane (no tasks), a task set's tasks are
  invented with the addresses it registered in its target groups (instance ID ``<task set id>-<n>``).
"""

from __future__ import annotations

import logging
from typing import Any

from localaws.patches._shared import AwsError, serialise_calls

LOG = logging.getLogger(__name__)
_PATCHED = "_localaws_servicediscovery"
STEPS = ("SUBMITTED", "PENDING", "SUCCESS")
ASYNC_OPERATIONS = ("CREATE_NAMESPACE", "DELETE_NAMESPACE")


def _backend(account: str, region: str) -> Any:
    from moto.servicediscovery.models import servicediscovery_backends

    return servicediscovery_backends[account][region]


def _route53(account: str, region: str) -> Any:
    from moto.route53 import route53_backends
    from moto.utilities.utils import get_partition

    return route53_backends[account][get_partition(region)]


def _find_service(account: str, region: str, arn: str) -> tuple[Any, Any] | tuple[None, None]:
    backend = _backend(account, region)
    for service in backend.services.values():
        if service.arn == arn:
            return backend, service
    return None, None


def _sync_records(backend: Any, service: Any) -> None:
    """The service's A record set in its namespace's hosted zone: every instance's IPv4 address (none: no set)."""
    namespace = backend.namespaces.get(service.namespace_id)
    zone_id = ((namespace.dns_properties or {}).get("HostedZoneId") if namespace else None)
    records = [r for r in ((service.dns_config or {}).get("DnsRecords") or []) if r.get("Type") == "A"]
    if not zone_id or not records:
        return
    route53 = _route53(backend.account_id, backend.region_name)
    try:
        zone = route53.get_hosted_zone(zone_id)
    except Exception:  # noqa: BLE001 - the zone is gone with its namespace
        return
    name = f"{service.name}.{namespace.name}."
    addresses = sorted({i.attributes["AWS_INSTANCE_IPV4"] for i in service.instances
                        if i.attributes.get("AWS_INSTANCE_IPV4")})
    existing = [r for r in zone.rrsets if r.name == name and r.type == "A"]
    for record in existing:
        zone.delete_rrset({"Name": name, "Type": "A"})
    if addresses:
        zone.add_rrset({"Name": name, "Type": "A", "TTL": int(records[0].get("TTL", 60)),
                        "ResourceRecords": addresses})


def register(account: str, region: str, registry_arn: str, instance_id: str, attributes: dict[str, str]) -> None:
    """What ECS does for a task of a service with this registry once it runs (no-op for an unknown registry)."""
    backend, service = _find_service(account, region, registry_arn)
    if service is None:
        return
    attrs = {k: v for k, v in attributes.items() if v}
    if service.health_check_custom_config is not None:
        attrs.setdefault("AWS_INIT_HEALTH_STATUS", "HEALTHY")
    service.instances = [i for i in service.instances if i.instance_id != instance_id]
    backend.register_instance(service.id, instance_id, None, attrs)
    _sync_records(backend, service)


def deregister(account: str, region: str, registry_arn: str, instance_id: str) -> None:
    backend, service = _find_service(account, region, registry_arn)
    if service is None or not any(i.instance_id == instance_id for i in service.instances):
        return
    backend.deregister_instance(service.id, instance_id)
    _sync_records(backend, service)


def _task_attributes(ecs_service: Any, ip: str, family: str, task_set: Any | None, az: str) -> dict[str, str]:
    return {"AWS_INSTANCE_IPV4": ip, "AVAILABILITY_ZONE": az, "REGION": ecs_service.region_name,
            "ECS_CLUSTER_NAME": ecs_service.cluster_name, "ECS_SERVICE_NAME": ecs_service.name,
            "ECS_TASK_DEFINITION_FAMILY": family,
            "ECS_TASK_SET_EXTERNAL_ID": (getattr(task_set, "external_id", "") or "") if task_set else ""}


def _family(task_definition_arn: str) -> str:
    return (task_definition_arn or "").rsplit("/", 1)[-1].split(":")[0]


# -- control plane: a task set's invented tasks --------------------------------------------------
def register_task_set(ecs_service: Any, task_set: Any) -> None:
    """Instances for the tasks of a task set of a service with registries (control plane: no real tasks)."""
    registries = getattr(ecs_service, "service_registries", None) or []
    if not registries:
        return
    from moto.ec2.utils import random_private_ip

    ips = list(dict.fromkeys(t["Id"] for _tg, t in getattr(task_set, "localaws_targets", []) or []))
    count = int(getattr(task_set, "computed_desired_count", 0) or 0)
    while len(ips) < count:
        ips.append(random_private_ip("10.0.0.0/16"))
    ids = []
    for n, ip in enumerate(ips[:count]):
        instance_id = f"{task_set.id}-{n}"
        for registry in registries:
            register(ecs_service._account_id, ecs_service.region_name, registry.get("registryArn", ""), instance_id,
                     _task_attributes(ecs_service, ip, _family(task_set.task_definition), task_set,
                                      f"{ecs_service.region_name}a"))
        ids.append(instance_id)
    task_set.localaws_instances = [(r.get("registryArn", ""), i) for r in registries for i in ids]


def deregister_task_set(ecs_service: Any, task_set: Any) -> None:
    for registry_arn, instance_id in getattr(task_set, "localaws_instances", []) or []:
        deregister(ecs_service._account_id, ecs_service.region_name, registry_arn, instance_id)
    task_set.localaws_instances = []


# -- data plane: the real tasks ------------------------------------------------------------------
def _task_service(task: Any) -> tuple[Any, Any]:
    from moto.ecs.models import ecs_backends

    service_arn, task_set_id = task.key
    if not service_arn:
        return None, None
    backend = ecs_backends[task.account][task.region]
    for service in backend.services.values():
        if service.arn == service_arn:
            task_set = next((t for t in service.task_sets if t.id == task_set_id), None)
            return service, task_set
    return None, None


def register_task(task: Any) -> None:
    service, task_set = _task_service(task)
    registries = (getattr(service, "service_registries", None) or []) if service is not None else []
    if not registries or not task.ip:
        return
    task_id = task.arn.rsplit("/", 1)[-1]
    az = getattr(task.model, "availability_zone", None) or f"{task.region}a"
    for registry in registries:
        register(task.account, task.region, registry.get("registryArn", ""), task_id,
                 _task_attributes(service, task.ip, task.task_definition.family, task_set, az))
    task.localaws_instances = [(r.get("registryArn", ""), task_id) for r in registries]


def deregister_task(task: Any) -> None:
    for registry_arn, instance_id in getattr(task, "localaws_instances", []) or []:
        deregister(task.account, task.region, registry_arn, instance_id)
    task.localaws_instances = []


def _patch_ecs() -> None:
    from localaws.patches import ecs

    original_register, original_deregister = ecs.register_targets, ecs.deregister_targets

    def register_targets(service: Any, task_set: Any) -> None:
        original_register(service, task_set)
        if not ecs._tasks_run():  # the task runner registers the real tasks itself
            register_task_set(service, task_set)

    def deregister_targets(task_set: Any) -> None:
        original_deregister(task_set)
        for registry_arn, instance_id in getattr(task_set, "localaws_instances", []) or []:
            account, region = registry_arn.split(":")[4], registry_arn.split(":")[3]
            deregister(account, region, registry_arn, instance_id)
        task_set.localaws_instances = []

    ecs.register_targets, ecs.deregister_targets = register_targets, deregister_targets

    # DeleteService: the service's tasks stop, so their instances go (the task runner deregisters real tasks as it
    # stops them; the invented tasks of the control plane go here).
    from moto.ecs.models import EC2ContainerServiceBackend

    original_delete_service = EC2ContainerServiceBackend.delete_service

    def delete_service(self, cluster_name, service_name, force):
        service = original_delete_service(self, cluster_name, service_name, force)
        for task_set in list(getattr(service, "task_sets", None) or []):
            deregister_task_set(service, task_set)
        return service

    EC2ContainerServiceBackend.delete_service = delete_service

    try:
        from localaws.dataplane.tasks import TaskEngine
    except ImportError:  # pragma: no cover - the data plane ships with the endpoint
        return
    original_task_register, original_task_deregister = TaskEngine._register_targets, TaskEngine._deregister_targets

    def task_register(self, task):
        original_task_register(self, task)
        try:
            register_task(task)
        except Exception:  # discovery is a courtesy of the runner; never fail the task for it
            LOG.exception("registering task %s with its service registries", task.arn)

    def task_deregister(self, task):
        try:
            deregister_task(task)
        except Exception:  # likewise
            LOG.exception("deregistering task %s from its service registries", task.arn)
        return original_task_deregister(self, task)

    TaskEngine._register_targets, TaskEngine._deregister_targets = task_register, task_deregister


class _Reported:
    """An operation as one GetOperation call reports it: at the step it was at before the call."""

    def __init__(self, operation: Any, status: str) -> None:
        self.operation, self.status = operation, status

    def to_json(self, short: bool = False) -> dict[str, Any]:
        return dict(self.operation.to_json(short), Status=self.status)


def _filtered(items: list[dict], filters: list[dict] | None, fields: dict[str, str]) -> list[dict]:
    for f in filters or []:
        key = fields.get(f.get("Name", ""))
        values = f.get("Values") or []
        if key is None:
            continue
        if (f.get("Condition") or "EQ") in ("EQ", "IN"):
            items = [i for i in items if str(i.get(key)) in values]
        elif f.get("Condition") == "BEGINS_WITH":
            items = [i for i in items if any(str(i.get(key, "")).startswith(v) for v in values)]
    return items


def apply() -> None:
    import json

    from moto.servicediscovery import models
    from moto.servicediscovery.models import Namespace, ServiceDiscoveryBackend
    from moto.servicediscovery.responses import ServiceDiscoveryResponse

    if getattr(ServiceDiscoveryBackend, _PATCHED, False):
        return
    setattr(ServiceDiscoveryBackend, _PATCHED, True)
    serialise_calls(ServiceDiscoveryResponse)

    def create_private_dns_namespace(self, name, creator_request_id, description, vpc, tags, properties):
        for namespace in self.namespaces.values():
            if namespace.vpc == vpc and namespace.name == name:
                raise AwsError("NamespaceAlreadyExists", f"Namespace {name} already exists in VPC {vpc}.")
        dns_properties = dict((properties or {}).get("DnsProperties") or {})
        zone = _route53(self.account_id, self.region_name).create_hosted_zone(
            f"{name.rstrip('.')}.", private_zone=True, vpcid=vpc, vpcregion=self.region_name, caller_reference=creator_request_id,
            comment="Created by AWS Cloud Map namespace with ARN pending")
        dns_properties["HostedZoneId"] = zone.id
        namespace = Namespace(account_id=self.account_id, region=self.region_name, name=name, ns_type="DNS_PRIVATE",
                              creator_request_id=creator_request_id, description=description,
                              dns_properties=dns_properties, http_properties={}, vpc=vpc)
        zone.comment = f"Created by AWS Cloud Map namespace with ARN {namespace.arn}"
        self.namespaces[namespace.id] = namespace
        if tags:
            self.tagger.tag_resource(namespace.arn, tags)
        return self._create_operation("CREATE_NAMESPACE", targets={"NAMESPACE": namespace.id})

    ServiceDiscoveryBackend.create_private_dns_namespace = create_private_dns_namespace

    original_delete_namespace = ServiceDiscoveryBackend.delete_namespace

    def delete_namespace(self, namespace_id):
        namespace = self.get_namespace(namespace_id)
        if any(s.namespace_id == namespace_id for s in self.services.values()):
            raise AwsError("ResourceInUse", f"Namespace {namespace_id} has services; delete them first.")
        zone_id = (namespace.dns_properties or {}).get("HostedZoneId")
        operation_id = original_delete_namespace(self, namespace_id)
        if zone_id:
            route53 = _route53(self.account_id, self.region_name)
            try:
                zone = route53.get_hosted_zone(zone_id)
                zone.rrsets = [r for r in zone.rrsets if r.type in ("NS", "SOA")]
                route53.delete_hosted_zone(zone_id)
            except Exception:  # noqa: BLE001 - already gone
                LOG.debug("hosted zone %s of namespace %s already gone", zone_id, namespace_id)
        # the operation outlives the namespace (moto's ListOperations drops it; GetOperation reads it)
        self.operations[operation_id].targets = {"NAMESPACE": namespace_id}
        return operation_id

    ServiceDiscoveryBackend.delete_namespace = delete_namespace

    original_create_operation = ServiceDiscoveryBackend._create_operation

    def create_operation(self, op_type, targets):
        operation_id = original_create_operation(self, op_type, targets)
        if op_type in ASYNC_OPERATIONS:
            self.operations[operation_id].status = STEPS[0]
        return operation_id

    ServiceDiscoveryBackend._create_operation = create_operation

    original_get_operation = ServiceDiscoveryBackend.get_operation

    def get_operation(self, operation_id):
        operation = original_get_operation(self, operation_id)
        if operation.status in STEPS[:-1]:
            reported = operation.status
            operation.status = STEPS[STEPS.index(reported) + 1]
            operation.updated = models.unix_time()
            return _Reported(operation, reported)  # this call reports the step it found; the next one the step after
        return operation

    ServiceDiscoveryBackend.get_operation = get_operation

    original_create_service = ServiceDiscoveryBackend.create_service

    def create_service(self, name, namespace_id, *args, **kwargs):
        self.get_namespace(namespace_id)
        for service in self.services.values():
            if service.namespace_id == namespace_id and service.name == name:
                raise AwsError("ServiceAlreadyExists", f"Service {name} already exists in namespace {namespace_id}.")
        return original_create_service(self, name, namespace_id, *args, **kwargs)

    ServiceDiscoveryBackend.create_service = create_service

    def delete_service(self, service_id):
        service = self.get_service(service_id)
        if service.instances:
            raise AwsError("ResourceInUse", f"Service {service_id} has registered instances; deregister them first.")
        self.services.pop(service_id, None)

    ServiceDiscoveryBackend.delete_service = delete_service

    def list_namespaces(self):
        params = json.loads(self.body or "{}")
        items = [ns.to_json() for ns in self.servicediscovery_backend.list_namespaces()]
        items = _filtered(items, params.get("Filters"), {"TYPE": "Type", "NAME": "Name"})
        return 200, {}, json.dumps({"Namespaces": items})

    def list_services(self):
        params = json.loads(self.body or "{}")
        items = [s.to_json() for s in self.servicediscovery_backend.list_services()]
        items = _filtered(items, params.get("Filters"), {"NAMESPACE_ID": "NamespaceId"})
        return json.dumps({"Services": items})

    ServiceDiscoveryResponse.list_namespaces = list_namespaces
    ServiceDiscoveryResponse.list_services = list_services

    _patch_ecs()
