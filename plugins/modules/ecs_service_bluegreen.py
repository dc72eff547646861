#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_service_bluegreen
short_description: Create and converge an ECS service that ECS itself releases blue/green (BLUE_GREEN, LINEAR, CANARY)
version_added: 0.1.0
description:
  - An ECS service with the C(ECS) deployment controller and a blue/green deployment strategy (C(BLUE_GREEN),
    C(LINEAR) or C(CANARY)), with its load balancer with the alternate target group, the production and test listener
    rules and the infrastructure role ECS shifts traffic with (C(advancedConfiguration)), the bake time, canary or
    linear steps, lifecycle hooks, CloudWatch alarms and the deployment circuit breaker.
    C(community.aws.ecs_service) cannot express these.
  - A service that does not exist is created (C(CreateService)) with O(task_definition) and O(desired_count).
  - An existing service's deployment configuration, load balancer and health check grace period are converged with
    one C(UpdateService), only where they differ. Its task definition belongs to releases and its desired count to
    auto scaling, so neither is ever updated. The two target groups of an existing service are compared as a pair in
    either order, because each release makes the other one live.
  - An existing service on the C(CODE_DEPLOY) controller is moved to C(ECS) in place (C(UpdateService) takes
    C(deploymentController) since 2025; see the ECS developer guide, "Migrate CodeDeploy blue/green deployments to
    Amazon ECS blue/green deployments") when O(move_from_codedeploy=true), with O(load_balancer.target_group_arn) as
    the group now live; otherwise the module fails before any write. A service on the C(EXTERNAL) controller is
    refused. AWS offers no documented in-place move from C(ECS) back to C(CODE_DEPLOY).
  - Service tags, network configuration, capacity provider strategy and platform version are set at creation only.
options:
  name:
    description: Name of the service.
    type: str
    required: true
  cluster:
    description: Name or ARN of the cluster (under check mode a cluster still to be made has no services).
    type: str
    required: true
  task_definition:
    description: Task definition (ARN or family:revision) of a service to create; never applied to an existing one.
    type: str
    required: true
  desired_count:
    description: Tasks of a service to create; never applied to an existing one (auto scaling owns it).
    type: int
    required: true
  capacity_provider_strategy:
    description: Capacity provider strategy of a service to create.
    type: list
    elements: dict
    default: []
    suboptions:
      capacity_provider:
        description: C(FARGATE) or C(FARGATE_SPOT).
        type: str
        required: true
      weight:
        description: Relative share of the tasks.
        type: int
        default: 1
      base:
        description: Tasks placed on this provider first.
        type: int
        default: 0
  platform_version:
    description: Fargate platform version of a service to create.
    type: str
    default: LATEST
  network_configuration:
    description: C(awsvpc) network of a service to create.
    type: dict
    required: true
    suboptions:
      subnets:
        description: Subnet IDs.
        type: list
        elements: str
        required: true
      security_groups:
        description: Security group IDs.
        type: list
        elements: str
        required: true
      assign_public_ip:
        description: Give the tasks public IPs.
        type: bool
        default: false
  load_balancer:
    description: The service's load balancer and what ECS shifts traffic with.
    type: dict
    required: true
    suboptions:
      container_name:
        description: Container receiving the traffic.
        type: str
        required: true
      container_port:
        description: Its port.
        type: int
        required: true
      target_group_arn:
        description: The target group live now (production traffic goes to it); the primary group of a new service.
        type: str
        required: true
      alternate_target_group_arn:
        description: The other group of the pair, where a release starts the new tasks.
        type: str
        required: true
      production_listener_rule:
        description: ARN of the listener rule routing the service's production traffic (the listener's default rule for the default route).
        type: str
        required: true
      test_listener_rule:
        description: ARN of the listener rule routing its test traffic; none to release without test traffic.
        type: str
      role_arn:
        description: Infrastructure role ECS modifies the listener rules with (AmazonECSInfrastructureRolePolicyForLoadBalancers).
        type: str
        required: true
  deployment_configuration:
    description:
      - The C(deploymentConfiguration) in the ECS API's shape (C(strategy), C(bakeTimeInMinutes), C(canaryConfiguration),
        C(linearConfiguration), C(lifecycleHooks), C(alarms), C(deploymentCircuitBreaker), C(maximumPercent),
        C(minimumHealthyPercent)), e.g. from the C(seed.fargate.ecs_deployment_configuration) filter.
      - Compared key by key with the service's (alarm names in any order); sent as a whole when a key differs.
    type: dict
    required: true
  service_registries:
    description:
      - The Cloud Map service registries the service registers its tasks in (C(serviceRegistries)); each item takes
        C(registry_arn) and optionally C(port), C(container_name), C(container_port) as the ECS API does.
      - Unlike a CODE_DEPLOY service's, an ECS-controlled service's registries can be changed by C(UpdateService), so
        they are converged (compared by registry ARN); an empty list removes them. Omitted, they are left as they are.
    type: list
    elements: dict
    suboptions:
      registry_arn:
        description: ARN of the Cloud Map service.
        type: str
        required: true
      port:
        description: The port of an SRV record registry.
        type: int
      container_name:
        description: The container whose port an SRV record names.
        type: str
      container_port:
        description: The container port an SRV record names.
        type: int
  health_check_grace_period_seconds:
    description: Seconds failing load balancer health checks of a new task are ignored.
    type: int
    default: 60
  propagate_tags:
    description: Where the tasks' tags come from (a service to create).
    type: str
    choices: [SERVICE, TASK_DEFINITION, NONE]
    default: SERVICE
  tags:
    description: Tags of a service to create.
    type: dict
    default: {}
  move_from_codedeploy:
    description: Move an existing C(CODE_DEPLOY) service to the C(ECS) controller in place; with C(false) such a service fails the task.
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
- name: Service api, released by ECS as a canary
  seed.fargate.ecs_service_bluegreen:
    name: api
    cluster: seed
    task_definition: seed-api:1
    desired_count: 2
    capacity_provider_strategy: [{capacity_provider: FARGATE, weight: 1, base: 0}]
    network_configuration:
      subnets: [subnet-0a, subnet-0b]
      security_groups: [sg-0c]
    load_balancer:
      container_name: api
      container_port: 8080
      target_group_arn: "{{ alb_target_groups.api.blue.arn }}"
      alternate_target_group_arn: "{{ alb_target_groups.api.green.arn }}"
      production_listener_rule: "{{ alb_listener_rules.api.production }}"
      test_listener_rule: "{{ alb_listener_rules.api.test }}"
      role_arn: "{{ iam_ecs_infrastructure_role_arn }}"
    deployment_configuration:
      strategy: CANARY
      bakeTimeInMinutes: 5
      canaryConfiguration: {canaryPercent: 10.0, canaryBakeTimeInMinutes: 5}
      alarms: {alarmNames: [seed-dev-api-target-5xx-blue], enable: true, rollback: true}
      deploymentCircuitBreaker: {enable: true, rollback: true}
"""

RETURN = r"""
service:
  description: The service after the call (DescribeServices, snake-cased); under check mode what it would be.
  returned: success
  type: dict
  sample: {"service_name": "api", "deployment_controller": {"type": "ECS"}, "deployment_configuration": {"strategy": "CANARY"}}
action:
  description: C(create), C(update), C(move) (from CODE_DEPLOY), or C(none).
  returned: success
  type: str
  sample: update
differences:
  description:
    - The fields that differed (C(deploymentConfiguration.<key>), C(loadBalancers), C(serviceRegistries),
      C(healthCheckGracePeriodSeconds), C(deploymentController)).
  returned: success
  type: list
  elements: str
"""

import copy

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# What ECS reports for a key the service never set.
ABSENT = {"lifecycleHooks": [], "alarms": {"alarmNames": [], "enable": False, "rollback": False}}


def _alarms(value):
    value = dict(value or ABSENT["alarms"])
    value["alarmNames"] = sorted(value.get("alarmNames") or [])
    return value


def _same(key, current, desired):
    """Whether the service's ``current`` value of a deploymentConfiguration key is the ``desired`` one: the keys the
    caller gives are compared, what ECS adds (defaults it reports) is not."""
    if key == "alarms":
        current, desired = _alarms(current), _alarms(desired)
        return all(current.get(k) == v for k, v in desired.items())
    if current is None:
        current = copy.deepcopy(ABSENT.get(key))
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(_same(k, current.get(k), v) for k, v in desired.items())
    if isinstance(desired, list):
        return (isinstance(current, list) and len(current) == len(desired)
                and all(_same(key, c, d) for c, d in zip(current, desired)))
    if isinstance(desired, float) or isinstance(current, float):
        return current is not None and float(current) == float(desired)
    return current == desired


def desired_load_balancer(module, current):
    lb = module.params["load_balancer"]
    primary, alternate = lb["target_group_arn"], lb["alternate_target_group_arn"]
    if current:
        # A release makes the other group live: the pair in either order is the same pair (keep the service's order).
        now = current.get("targetGroupArn"), (current.get("advancedConfiguration") or {}).get("alternateTargetGroupArn")
        if set(now) == {primary, alternate}:
            primary, alternate = now
    advanced = {"alternateTargetGroupArn": alternate, "productionListenerRule": lb["production_listener_rule"],
                "roleArn": lb["role_arn"]}
    if lb.get("test_listener_rule"):
        advanced["testListenerRule"] = lb["test_listener_rule"]
    return {"targetGroupArn": primary, "containerName": lb["container_name"], "containerPort": lb["container_port"],
            "advancedConfiguration": advanced}


def describe(module, client):
    params = module.params
    try:
        found = client.describe_services(cluster=params["cluster"], services=[params["name"]], aws_retry=True)
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] == "ClusterNotFoundException" and module.check_mode:
            return None
        module.fail_json_aws(e, msg=f"Couldn't describe service {params['name']}")
    except botocore.exceptions.BotoCoreError as e:
        module.fail_json_aws(e, msg=f"Couldn't describe service {params['name']}")
    services = [s for s in found.get("services") or [] if s.get("status") != "INACTIVE"]
    return services[0] if services else None


def desired_registries(module):
    """The serviceRegistries to converge to (None: not managed)."""
    given = module.params["service_registries"]
    if given is None:
        return None
    keys = {"registry_arn": "registryArn", "port": "port", "container_name": "containerName",
            "container_port": "containerPort"}
    return [{api: item[option] for option, api in keys.items() if item.get(option) is not None} for item in given]


def create_request(module):
    params = module.params
    network = params["network_configuration"]
    request = {
        "cluster": params["cluster"],
        "serviceName": params["name"],
        "taskDefinition": params["task_definition"],
        "desiredCount": params["desired_count"],
        "platformVersion": params["platform_version"],
        "deploymentController": {"type": "ECS"},
        "deploymentConfiguration": params["deployment_configuration"],
        "loadBalancers": [desired_load_balancer(module, None)],
        "healthCheckGracePeriodSeconds": params["health_check_grace_period_seconds"],
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": network["subnets"], "securityGroups": network["security_groups"],
            "assignPublicIp": "ENABLED" if network["assign_public_ip"] else "DISABLED"}},
        "propagateTags": params["propagate_tags"],
    }
    if params["capacity_provider_strategy"]:
        request["capacityProviderStrategy"] = [
            {"capacityProvider": s["capacity_provider"], "weight": int(s.get("weight", 1)), "base": int(s.get("base", 0))}
            for s in params["capacity_provider_strategy"]]
    else:
        request["launchType"] = "FARGATE"
    if desired_registries(module):
        request["serviceRegistries"] = desired_registries(module)
    if params["tags"]:
        request["tags"] = [{"key": k, "value": str(v)} for k, v in params["tags"].items()]
    return request


def update_request(module, service):
    """(action, differences, UpdateService request or None) for an existing service."""
    params = module.params
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if controller == "EXTERNAL":
        module.fail_json(msg=f"Service {params['name']} uses the EXTERNAL deployment controller: it cannot be moved "
                             "to ECS in place; delete it and converge again")
    moving = controller == "CODE_DEPLOY"
    if moving and not params["move_from_codedeploy"]:
        module.fail_json(msg=f"Service {params['name']} uses the CODE_DEPLOY deployment controller and "
                             "move_from_codedeploy is false: nothing was changed")
    differences = ["deploymentController"] if moving else []
    current_config = service.get("deploymentConfiguration") or {}
    desired_config = params["deployment_configuration"]
    differences += [f"deploymentConfiguration.{k}" for k, v in desired_config.items() if not _same(k, current_config.get(k), v)]
    lbs = service.get("loadBalancers") or []
    # Moving: the group CodeDeploy made live is the caller's target_group_arn (the ECS service deployment that the
    # move starts serves from targetGroupArn).
    desired_lb = desired_load_balancer(module, None if moving else (lbs[0] if lbs else None))
    if len(lbs) != 1 or not _same("loadBalancers", lbs[0], desired_lb) or moving:
        differences.append("loadBalancers")
    if service.get("healthCheckGracePeriodSeconds") != params["health_check_grace_period_seconds"]:
        differences.append("healthCheckGracePeriodSeconds")
    registries = desired_registries(module)
    if registries is not None and sorted(r.get("registryArn") for r in service.get("serviceRegistries") or []) != \
            sorted(r["registryArn"] for r in registries):
        differences.append("serviceRegistries")
    if not differences:
        return "none", [], None
    request = {"cluster": params["cluster"], "service": params["name"]}
    if moving:
        request["deploymentController"] = {"type": "ECS"}
    if moving or any(d.startswith("deploymentConfiguration") for d in differences):
        request["deploymentConfiguration"] = desired_config
    if "loadBalancers" in differences:
        request["loadBalancers"] = [desired_lb]
    if "serviceRegistries" in differences:
        request["serviceRegistries"] = registries
    if moving or "healthCheckGracePeriodSeconds" in differences:
        request["healthCheckGracePeriodSeconds"] = params["health_check_grace_period_seconds"]
    return ("move" if moving else "update"), differences, request


def shown(service):
    if not service:
        return {}
    return {"deploymentController": service.get("deploymentController", {"type": "ECS"}),
            "deploymentConfiguration": service.get("deploymentConfiguration") or {},
            "loadBalancers": service.get("loadBalancers") or [],
            "serviceRegistries": service.get("serviceRegistries") or [],
            "healthCheckGracePeriodSeconds": service.get("healthCheckGracePeriodSeconds")}


def main():
    capacity = dict(capacity_provider=dict(type="str", required=True), weight=dict(type="int", default=1),
                    base=dict(type="int", default=0))
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            cluster=dict(type="str", required=True),
            task_definition=dict(type="str", required=True),
            desired_count=dict(type="int", required=True),
            capacity_provider_strategy=dict(type="list", elements="dict", default=[], options=capacity),
            platform_version=dict(type="str", default="LATEST"),
            network_configuration=dict(type="dict", required=True, options=dict(
                subnets=dict(type="list", elements="str", required=True),
                security_groups=dict(type="list", elements="str", required=True),
                assign_public_ip=dict(type="bool", default=False))),
            load_balancer=dict(type="dict", required=True, options=dict(
                container_name=dict(type="str", required=True),
                container_port=dict(type="int", required=True),
                target_group_arn=dict(type="str", required=True),
                alternate_target_group_arn=dict(type="str", required=True),
                production_listener_rule=dict(type="str", required=True),
                test_listener_rule=dict(type="str"),
                role_arn=dict(type="str", required=True))),
            deployment_configuration=dict(type="dict", required=True),
            service_registries=dict(type="list", elements="dict", options=dict(
                registry_arn=dict(type="str", required=True), port=dict(type="int"),
                container_name=dict(type="str"), container_port=dict(type="int"))),
            health_check_grace_period_seconds=dict(type="int", default=60),
            propagate_tags=dict(type="str", choices=["SERVICE", "TASK_DEFINITION", "NONE"], default="SERVICE"),
            tags=dict(type="dict", default={}),
            move_from_codedeploy=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["deployment_configuration"].get("strategy") not in ("BLUE_GREEN", "LINEAR", "CANARY"):
        module.fail_json(msg="deployment_configuration.strategy must be BLUE_GREEN, LINEAR or CANARY")
    client = module.client("ecs", retry_decorator=AWSRetry.jittered_backoff())
    service = describe(module, client)
    if service is None:
        action, differences, request = "create", ["service"], create_request(module)
        after = dict(request, loadBalancers=request["loadBalancers"], status="ACTIVE")
    else:
        action, differences, request = update_request(module, service)
        after = copy.deepcopy(service)
        if request:
            after.update({k: v for k, v in request.items() if k not in ("cluster", "service")})
    if request and not module.check_mode:
        try:
            if action == "create":
                after = client.create_service(aws_retry=True, **request)["service"]
            else:
                after = client.update_service(aws_retry=True, **request)["service"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't {action} service {params['name']} ({', '.join(differences)})")
    module.exit_json(changed=request is not None, action=action, differences=differences,
                     service=camel_dict_to_snake_dict(after, ignore_list=["tags"]),
                     diff={"before": shown(service), "after": shown(after)})


if __name__ == "__main__":
    main()
