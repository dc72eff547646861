"""ECS gaps met by the platform roles (ecs_cluster), outside CodeDeploy/deployments.

* ListTagsForResource always returns ``tags`` (a list, ``[]`` when untagged), as AWS
  does. moto returns ``None`` for a cluster created without tags, the key is then
  dropped from the response and community.aws.ecs_tag fails with ``KeyError: 'tags'``.
* CreateService with a ``capacityProviderStrategy`` keeps it and reports it (moto
  drops it and reports ``launchType: EC2``); such a service, and its task sets, have
  no ``launchType``, as in AWS, where the two are mutually exclusive.
* CreateService keeps ``healthCheckGracePeriodSeconds``, ``deploymentConfiguration``, ``enableECSManagedTags``
  and ``enableExecuteCommand`` and reports them with ``createdAt``, ``createdBy`` and ``platformVersion``
  (localaws/patches/ecs.py: ``service_fields``; moto drops them).
"""

from __future__ import annotations

from typing import Any

from localaws.patches import ecs


def apply() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    if EC2ContainerServiceBackend.__dict__.get("_localaws_platform_tags"):
        return
    original = EC2ContainerServiceBackend.list_tags_for_resource

    def list_tags_for_resource(self: Any, resource_arn: str) -> list[dict[str, str]]:
        return original(self, resource_arn) or []

    EC2ContainerServiceBackend.list_tags_for_resource = list_tags_for_resource
    EC2ContainerServiceBackend._localaws_platform_tags = True
    _apply_capacity_provider_strategy()


def _apply_capacity_provider_strategy() -> None:
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.responses import EC2ContainerServiceResponse

    if EC2ContainerServiceResponse.__dict__.get("_localaws_platform_cps"):
        return
    original = EC2ContainerServiceResponse.create_service

    def create_service(self: Any) -> Any:
        strategy = self._get_param("capacityProviderStrategy") or []
        if strategy and self._get_param("launchType"):
            raise InvalidParameterException("Specifying both a launch type and capacity provider strategy is not supported.")
        result = original(self)
        service = self.ecs_backend.describe_services(self._get_param("cluster", "default"),
                                                     [self._get_param("serviceName")])[0][0]
        if strategy:
            service.capacity_provider_strategy = [
                {"capacityProvider": s["capacityProvider"], "weight": int(s.get("weight", 0)), "base": int(s.get("base", 0))}
                for s in strategy]
            service.launch_type = None
            for task_set in getattr(service, "task_sets", []) or []:
                task_set.launch_type = None
                task_set.capacity_provider_strategy = service.capacity_provider_strategy
        ecs.service_fields(service, {attr: self._get_param(name) for name, attr in ecs.SETTABLE.items()})
        return result

    EC2ContainerServiceResponse.create_service = create_service
    EC2ContainerServiceResponse._localaws_platform_cps = True
