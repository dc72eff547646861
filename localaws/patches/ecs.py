"""ECS: what AWS does for CODE_DEPLOY services and clusters that moto does not.

* CreateService with ``deploymentController.type = CODE_DEPLOY`` gets the PRIMARY
  task set AWS creates for it (task definition, load balancers, network
  configuration and launch type of the service, scale 100 %), and no ECS
  ``deployments`` entry (AWS reports ``taskSets`` for such services).
* UpdateService on a CODE_DEPLOY service refuses what only CodeDeploy may
  change, with AWS's ``InvalidParameterException``: a task definition, a forced
  new deployment, network configuration, platform version or load balancers.
  Service registries are refused too (set at CreateService only; UpdateService lists what a CODE_DEPLOY
  service may change, and ``serviceRegistries`` is not among it).
  Empty values (``taskDefinition=""``, ``loadBalancers=[]``, as
  community.aws.ecs_service sends them) are ignored, as AWS ignores them.
* CreateTaskSet / UpdateTaskSet / DeleteTaskSet / UpdateServicePrimaryTaskSet
  through the API are refused unless the service uses the EXTERNAL controller
  (AWS: task sets of CODE_DEPLOY services are CodeDeploy's). The CodeDeploy
  emulation calls the backend directly (:func:`create_task_set`,
  :func:`delete_task_set`, :func:`make_primary`).
* DescribeServices reports what AWS does and moto leaves out: ``createdAt``, ``createdBy``,
  ``deploymentConfiguration``, ``healthCheckGracePeriodSeconds``, ``enableECSManagedTags``,
  ``enableExecuteCommand``, ``capacityProviderStrategy`` and ``platformVersion`` (``LATEST`` on Fargate);
  UpdateService changes the first four. A CODE_DEPLOY service's ``runningCount``/``pendingCount`` count
  the tasks of its task sets (with the data plane on, its task runner counts the real ones).
* CreateCluster without capacity providers reports ``capacityProviders: []`` and
  ``defaultCapacityProviderStrategy: []`` as AWS does (moto omitted both, so
  community.aws.ecs_cluster failed with a KeyError when the cluster existed).
"""

from __future__ import annotations

from typing import Any

from moto.core.utils import utcnow

from localaws.patches._shared import AwsError, serialise_calls

CODE_DEPLOY_MESSAGE = ("Unable to update {what} on services with a CODE_DEPLOY deployment controller. "
                       "Use AWS CodeDeploy to trigger a new deployment.")
TASK_SET_MESSAGE = ("Amazon ECS only supports task set management on services configured to use external "
                    "deployment controllers.")


# CreateService/UpdateService parameters moto ignores -> the Service attribute DescribeServices reads
SETTABLE = {"deploymentConfiguration": "deployment_configuration",
            "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
            "enableECSManagedTags": "enable_ecs_managed_tags",
            "enableExecuteCommand": "enable_execute_command"}


def service_fields(service: Any, given: dict[str, Any]) -> None:
    """What DescribeServices reports for a new service beyond moto's fields, as AWS fills it (Service, ECS API
    reference): when and by whom it was made, its deployment configuration (200/100, and for the ECS controller
    the circuit breaker off), grace period, managed tags and ECS Exec off unless asked, and platform version
    ``LATEST`` on Fargate. ``given``: CreateService's parameters by attribute name (:data:`SETTABLE`).
    Called by localaws/patches/ecs_platform.py's CreateService, after the capacity provider strategy is kept."""
    service.created_at = utcnow()
    service.created_by = f"arn:aws:iam::{service._account_id}:root"
    deployment = dict(given.get("deployment_configuration") or {})
    deployment.setdefault("maximumPercent", 200)
    deployment.setdefault("minimumHealthyPercent", 100)
    if _controller(service) == "ECS":
        deployment.setdefault("deploymentCircuitBreaker", {"enable": False, "rollback": False})
    service.deployment_configuration = deployment
    service.health_check_grace_period_seconds = int(given.get("health_check_grace_period_seconds") or 0)
    service.enable_ecs_managed_tags = bool(given.get("enable_ecs_managed_tags"))
    service.enable_execute_command = bool(given.get("enable_execute_command"))
    fargate = service.launch_type == "FARGATE" or any(
        (p.get("capacityProvider") or "").startswith("FARGATE")
        for p in getattr(service, "capacity_provider_strategy", None) or [])
    if fargate and not service.platform_version:
        service.platform_version = "LATEST"


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def _controller(service: Any) -> str:
    return (getattr(service, "deployment_controller", None) or {}).get("type", "ECS")


def _init_task_set(task_set: Any, desired: int, status: str) -> None:
    count = round(desired * float(task_set.scale.get("value", 100.0)) / 100.0)
    task_set.status = status
    task_set.computed_desired_count = count
    task_set.running_count = count
    task_set.pending_count = 0
    task_set.started_by = "CodeDeploy"
    task_set.stability_status = "STEADY_STATE"
    task_set.stabilityStatus = "STEADY_STATE"


def create_task_set(backend: Any, service: Any, task_definition: str, load_balancers: list[dict],
                    network_configuration: dict | None, platform_version: str | None,
                    external_id: str, status: str = "ACTIVE") -> Any:
    """A task set on ``service`` as CodeDeploy creates it (no tasks are run)."""
    task_set = backend.create_task_set(
        service.arn, service.cluster_name, task_definition,
        external_id=external_id,
        network_configuration=network_configuration or None,
        load_balancers=load_balancers,
        launch_type=service.launch_type,
        platform_version=platform_version or service.platform_version,
        scale=None,
    )
    task_set.scale = {"value": 100.0, "unit": "PERCENT"}
    _init_task_set(task_set, service.desired_count, status)
    try:
        register_targets(service, task_set)
    except Exception:  # noqa: BLE001 - targets are a courtesy; never fail the task set for them
        task_set.localaws_targets = []
    return task_set


def _elbv2_backend(service: Any) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[service._account_id][service.region_name]


def _tasks_run() -> bool:
    """True when the data plane's task runner runs real tasks (it registers their real IPs)."""
    from localaws import dataplane

    if not dataplane.enabled():
        return False
    from localaws.dataplane import tasks

    return tasks.active()


def _wake_task_runner() -> None:
    """Let the task runner reconcile now rather than at its next tick (a no-op when it is off)."""
    if _tasks_run():
        from localaws.dataplane import tasks

        tasks.wake()


def register_targets(service: Any, task_set: Any) -> None:
    """Register one IP target per task of the task set in its target groups of type ``ip``
    (what ECS does for awsvpc tasks), so DescribeTargetHealth has something to report.

    With the data plane's task runner on, the runner registers each task's real address
    once it runs, so nothing is invented here."""
    if _tasks_run():
        task_set.localaws_targets = []
        _wake_task_runner()
        return
    from moto.ec2.models import ec2_backends
    from moto.ec2.utils import random_private_ip

    elbv2 = _elbv2_backend(service)
    subnets = (((task_set.network_configuration or {}).get("awsvpcConfiguration") or {}).get("subnets") or [])
    cidr = None
    if subnets:
        try:
            cidr = ec2_backends[service._account_id][service.region_name].get_subnet(subnets[0]).cidr_block
        except Exception:  # noqa: BLE001 - the subnet is the caller's business; any address will do
            cidr = None
    targets = []
    for lb in task_set.load_balancers or []:
        target_group = elbv2.target_groups.get(lb.get("targetGroupArn"))
        if target_group is None or target_group.target_type != "ip":
            continue
        for _ in range(task_set.computed_desired_count):
            ip = random_private_ip(cidr)
            targets.append((target_group, {"Id": ip, "Port": lb.get("containerPort") or target_group.port}))
    for target_group, target in targets:
        target_group.register([target])
    task_set.localaws_targets = targets


def deregister_targets(task_set: Any) -> None:
    for target_group, target in getattr(task_set, "localaws_targets", []):
        target_group.targets.pop(target["Id"], None)
    task_set.localaws_targets = []


def delete_task_set(service: Any, task_set: Any) -> None:
    if task_set in service.task_sets:
        service.task_sets.remove(task_set)
    deregister_targets(task_set)
    task_set.status = "DRAINING"
    _wake_task_runner()  # its tasks stop (deregistered, drained, SIGTERM)


def make_primary(service: Any, task_set: Any) -> None:
    """UpdateServicePrimaryTaskSet: the service now reports this task set's definition and LBs."""
    for other in service.task_sets:
        other.status = "PRIMARY" if other is task_set else "ACTIVE"
        other.updatedAt = utcnow()
    service.task_definition = task_set.task_definition
    service.load_balancers = task_set.load_balancers


def primary_task_set(service: Any) -> Any | None:
    for task_set in service.task_sets:
        if task_set.status == "PRIMARY":
            return task_set
    return None


def apply() -> None:
    from moto.ecs.models import Cluster, EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse

    if getattr(EC2ContainerServiceBackend, "_localaws_ecs", False):
        return
    EC2ContainerServiceBackend._localaws_ecs = True
    serialise_calls(EC2ContainerServiceResponse)

    # -- clusters: capacity providers default to [] --------------------------------------------
    original_cluster_init = Cluster.__init__

    def cluster_init(self, *args, **kwargs):
        original_cluster_init(self, *args, **kwargs)
        if self.capacity_providers is None:
            self.capacity_providers = []
        if self.default_capacity_provider_strategy is None:
            self.default_capacity_provider_strategy = []

    Cluster.__init__ = cluster_init

    # -- CreateService: the PRIMARY task set of a CODE_DEPLOY service ---------------------------
    original_create_service = EC2ContainerServiceBackend.create_service

    def create_service(self, cluster_str, service_name, desired_count, task_definition_str=None,
                       load_balancers=None, *args, **kwargs):
        service = original_create_service(self, cluster_str, service_name, desired_count, task_definition_str,
                                          load_balancers, *args, **kwargs)
        if _controller(service) == "CODE_DEPLOY" and service.task_definition and not service.task_sets:
            create_task_set(self, service, service.task_definition, list(service.load_balancers or []),
                            kwargs.get("network_configuration") or service.network_configuration or None,
                            kwargs.get("platform_version"), external_id="", status="PRIMARY")
            service.deployments = []
        _wake_task_runner()
        return service

    EC2ContainerServiceBackend.create_service = create_service

    # -- UpdateService: what only CodeDeploy may change -----------------------------------------
    original_update_service = EC2ContainerServiceBackend.update_service

    def update_service(self, service_properties: dict[str, Any]):
        cluster = service_properties.get("cluster", "default")
        name = (service_properties.get("service") or "").split("/")[-1]
        service = self._get_service(cluster, name)
        if _controller(service) == "CODE_DEPLOY":
            if service_properties.get("task_definition"):
                raise invalid_parameter(CODE_DEPLOY_MESSAGE.format(what="task definition"))
            if service_properties.get("force_new_deployment"):
                raise invalid_parameter("Unable to force a new deployment on services with a CODE_DEPLOY "
                                        "deployment controller. Use AWS CodeDeploy to trigger a new deployment.")
            if service_properties.get("network_configuration"):
                raise invalid_parameter(CODE_DEPLOY_MESSAGE.format(what="network parameters"))
            if service_properties.get("platform_version"):
                raise invalid_parameter(CODE_DEPLOY_MESSAGE.format(what="platform version"))
            if service_properties.get("load_balancers"):
                raise invalid_parameter(CODE_DEPLOY_MESSAGE.format(what="load balancers"))
            if service_properties.get("service_registries") is not None:
                # UpdateService (API reference): a CODE_DEPLOY service's registries are set at CreateService only
                raise invalid_parameter(CODE_DEPLOY_MESSAGE.format(what="service registries"))
            for key in ("task_definition", "force_new_deployment", "network_configuration", "platform_version",
                        "load_balancers"):
                service_properties.pop(key, None)
        given = {attr: service_properties.pop(attr) for attr in SETTABLE.values()
                 if service_properties.get(attr) is not None}
        updated = original_update_service(self, service_properties)
        for attr, value in given.items():
            setattr(updated, attr, value)
        if _controller(updated) == "CODE_DEPLOY":
            for task_set in updated.task_sets:
                _init_task_set(task_set, updated.desired_count, task_set.status)
        _wake_task_runner()  # a new desired count or task definition
        return updated

    EC2ContainerServiceBackend.update_service = update_service

    # -- CODE_DEPLOY services count the tasks of their task sets ---------------------------------
    original_describe_services = EC2ContainerServiceBackend.describe_services

    def describe_services(self, cluster_str, service_names_or_arns):
        services, failures = original_describe_services(self, cluster_str, service_names_or_arns)
        if not _tasks_run():  # the data plane's task runner counts real tasks itself
            for service in services:
                if _controller(service) == "CODE_DEPLOY" and service.task_sets:
                    # the tasks of every task set, as AWS counts them (moto: 0, MOTO_ECS_SERVICE_RUNNING)
                    service.running_count = sum(getattr(t, "running_count", 0) for t in service.task_sets)
                    service.pending_count = sum(getattr(t, "pending_count", 0) for t in service.task_sets)
        return services, failures

    EC2ContainerServiceBackend.describe_services = describe_services

    # -- task-set API calls: EXTERNAL services only ---------------------------------------------
    def require_external(handler_name: str):
        original = getattr(EC2ContainerServiceResponse, handler_name)

        def handler(self):
            cluster = self._get_param("cluster", "default")
            service_name = (self._get_param("service") or "").split("/")[-1]
            service = self.ecs_backend._get_service(cluster, service_name)
            if _controller(service) != "EXTERNAL":
                raise invalid_parameter(TASK_SET_MESSAGE)
            return original(self)

        setattr(EC2ContainerServiceResponse, handler_name, handler)

    for name in ("create_task_set", "update_task_set", "delete_task_set", "update_service_primary_task_set"):
        require_external(name)
