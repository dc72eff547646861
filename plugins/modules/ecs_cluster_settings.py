#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_cluster_settings
short_description: Set the settings (Container Insights), capacity providers and tags of an ECS cluster, or make it
version_added: 0.1.0
description:
  - Reads the cluster's settings and calls C(UpdateCluster) with the new settings only when one differs.
  - C(community.aws.ecs_cluster) manages the cluster and its capacity providers but not its settings.
  - With O(tags), the same C(DescribeClusters) call reads the tags too, and C(TagResource)/C(UntagResource) run only
    for what differs. One call on a no-op for both, where C(community.aws.ecs_tag) would make three more
    (C(DescribeClusters), then C(ListTagsForResource) twice).
  - With O(capacity_providers) and O(default_capacity_provider_strategy), the same call reads those too and
    C(PutClusterCapacityProviders) runs only when they differ; with O(create=true) a missing cluster is made with all
    of it in one C(CreateCluster) call. The seed.fargate.ecs_cluster role's cluster then costs one call on a no-op
    (C(community.aws.ecs_cluster) before this module made a C(DescribeClusters) of its own).
options:
  cluster:
    description: Name or ARN of the cluster (it must exist; in check mode a missing one has all settings still to set).
    type: str
    required: true
  container_insights:
    description: Value of the C(containerInsights) setting.
    type: str
    choices: [enabled, disabled, enhanced]
    required: true
  capacity_providers:
    description: Capacity providers of the cluster (C(FARGATE), C(FARGATE_SPOT), ...); V(null) leaves them as they are.
    type: list
    elements: str
    version_added: 0.1.0
  default_capacity_provider_strategy:
    description: The cluster's default capacity provider strategy; V(null) leaves it as it is.
    type: list
    elements: dict
    version_added: 0.1.0
    suboptions:
      capacity_provider:
        description: One of O(capacity_providers).
        type: str
        required: true
      weight:
        description: Relative share of the tasks.
        type: int
        default: 0
      base:
        description: Tasks run on this provider first.
        type: int
        default: 0
  create:
    description:
      - Make the cluster when it does not exist (C(CreateCluster) with the settings, capacity providers, strategy and
        tags), instead of failing. O(cluster) is then a name.
    type: bool
    default: false
    version_added: 0.1.0
  tags:
    description:
      - Tags of the cluster. Omitted (V(null)), the tags are left as they are.
    type: dict
    aliases: [resource_tags]
    version_added: 0.1.0
  purge_tags:
    description: Remove the tags not in O(tags) (when O(tags) is given).
    type: bool
    default: true
    version_added: 0.1.0
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Turn on Container Insights
  seed.fargate.ecs_cluster_settings:
    cluster: seed
    container_insights: enabled

- name: Container Insights and exactly these tags
  seed.fargate.ecs_cluster_settings:
    cluster: seed
    container_insights: enhanced
    tags:
      stack: seed
      environment: prod
"""

RETURN = r"""
settings:
  description: The cluster's settings after the call.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "containerInsights", "value": "enabled"}]
cluster_arn:
  description: The cluster's ARN; V(null) for a cluster still to be made under check mode.
  returned: success
  type: str
  sample: arn:aws:ecs:us-east-1:123456789012:cluster/seed
capacity_providers:
  description: The capacity providers after the call (when O(capacity_providers) is given).
  returned: when O(capacity_providers) is given
  type: list
  elements: str
tags:
  description: The cluster's tags after the call (when O(tags) is given).
  returned: when O(tags) is given
  type: dict
  sample: {"stack": "seed"}
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            container_insights=dict(type="str", required=True, choices=["enabled", "disabled", "enhanced"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
            capacity_providers=dict(type="list", elements="str"),
            default_capacity_provider_strategy=dict(type="list", elements="dict", options=dict(
                capacity_provider=dict(type="str", required=True),
                weight=dict(type="int", default=0),
                base=dict(type="int", default=0),
            )),
            create=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    client = module.client("ecs", retry_decorator=AWSRetry.jittered_backoff())
    cluster = module.params["cluster"]
    try:
        found = client.describe_clusters(clusters=[cluster], include=["SETTINGS", "TAGS"], aws_retry=True)["clusters"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Couldn't describe cluster {cluster}")
    found = [c for c in found if c.get("status") == "ACTIVE"]
    if not found and module.params["create"]:
        create(module, client)
    if not found and not module.check_mode:
        module.fail_json(msg=f"Cluster {cluster} does not exist")
    # Under --check the cluster may be one an earlier task would make: its settings are all still to be set.
    current = {s["name"]: s["value"] for s in found[0].get("settings") or []} if found else {}
    desired = dict(current, containerInsights=module.params["container_insights"])
    changed = current != desired
    settings = [{"name": k, "value": v} for k, v in sorted(desired.items())]
    before, after = {"settings": current}, {"settings": desired}
    result = {}
    if module.params["tags"] is not None:
        tags_changed, result["tags"] = converge_tags(module, client, found[0] if found else None, before, after)
        changed = changed or tags_changed
    if module.params["capacity_providers"] is not None or module.params["default_capacity_provider_strategy"] is not None:
        providers_changed, result["capacity_providers"] = converge_providers(module, client, found[0] if found else None,
                                                                             before, after)
        changed = changed or providers_changed
    result["cluster_arn"] = found[0]["clusterArn"] if found else None
    if current != desired and not module.check_mode:
        try:
            # UpdateCluster takes the settings too (UpdateClusterSettings is equivalent).
            client.update_cluster(cluster=cluster, settings=[{"name": "containerInsights",
                                                              "value": desired["containerInsights"]}],
                                  aws_retry=True)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't update the settings of cluster {cluster}")
    module.exit_json(changed=changed, settings=settings, diff={"before": before, "after": after}, **result)


def strategy_of(items):
    """A capacity provider strategy in the API's shape, in a stable order (to compare)."""
    return sorted(({"capacityProvider": i.get("capacity_provider", i.get("capacityProvider")),
                    "weight": int(i.get("weight") or 0), "base": int(i.get("base") or 0)} for i in items),
                  key=lambda i: i["capacityProvider"])


def create(module, client):
    """Make the missing cluster with everything asked for in one call, then answer as a converged one would."""
    params = module.params
    request = {"clusterName": params["cluster"],
               "settings": [{"name": "containerInsights", "value": params["container_insights"]}]}
    if params["capacity_providers"] is not None:
        request["capacityProviders"] = params["capacity_providers"]
    if params["default_capacity_provider_strategy"] is not None:
        request["defaultCapacityProviderStrategy"] = strategy_of(params["default_capacity_provider_strategy"])
    if params["tags"]:
        request["tags"] = [{"key": k, "value": str(v)} for k, v in params["tags"].items()]
    made = None
    if not module.check_mode:
        try:
            made = client.create_cluster(aws_retry=True, **request)["cluster"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't create cluster {params['cluster']}")
    after = {"settings": {"containerInsights": params["container_insights"]}}
    result = {"cluster_arn": made["clusterArn"] if made else None,
              "settings": request["settings"]}
    if params["tags"] is not None:
        after["tags"] = result["tags"] = {k: str(v) for k, v in params["tags"].items()}
    if params["capacity_providers"] is not None:
        after["capacity_providers"] = result["capacity_providers"] = params["capacity_providers"]
    if params["default_capacity_provider_strategy"] is not None:
        after["default_capacity_provider_strategy"] = request["defaultCapacityProviderStrategy"]
    module.exit_json(changed=True, diff={"before": {}, "after": after}, **result)


def converge_providers(module, client, cluster, before, after):
    """PutClusterCapacityProviders where the providers or the default strategy differ; (changed, providers after)."""
    cluster = cluster or {}
    current = {"capacity_providers": sorted(cluster.get("capacityProviders") or []),
               "default_capacity_provider_strategy": strategy_of(cluster.get("defaultCapacityProviderStrategy") or [])}
    desired = dict(current)
    if module.params["capacity_providers"] is not None:
        desired["capacity_providers"] = sorted(module.params["capacity_providers"])
    if module.params["default_capacity_provider_strategy"] is not None:
        desired["default_capacity_provider_strategy"] = strategy_of(module.params["default_capacity_provider_strategy"])
    before.update(current)
    after.update(desired)
    if current != desired and cluster and not module.check_mode:
        try:
            client.put_cluster_capacity_providers(
                cluster=module.params["cluster"], capacityProviders=desired["capacity_providers"],
                defaultCapacityProviderStrategy=desired["default_capacity_provider_strategy"], aws_retry=True)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't set the capacity providers of cluster {module.params['cluster']}")
    return current != desired, desired["capacity_providers"]


def converge_tags(module, client, cluster, before, after):
    """Tag and untag ``cluster`` (its description, or None for one still to be made under --check) to O(tags);
    fills the diff's ``tags`` and returns (changed, tags after)."""
    current = {t["key"]: t["value"] for t in (cluster or {}).get("tags") or []}
    desired = {k: str(v) for k, v in module.params["tags"].items()}
    to_set, to_remove = compare_aws_tags(current, desired, purge_tags=module.params["purge_tags"])
    tags = {k: v for k, v in current.items() if k not in to_remove}
    tags.update(to_set)
    before["tags"], after["tags"] = current, tags
    if cluster and not module.check_mode:
        arn = cluster["clusterArn"]
        try:
            if to_remove:
                client.untag_resource(resourceArn=arn, tagKeys=to_remove, aws_retry=True)
            if to_set:
                client.tag_resource(resourceArn=arn, tags=[{"key": k, "value": v} for k, v in to_set.items()],
                                    aws_retry=True)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't tag cluster {module.params['cluster']}")
    return bool(to_set or to_remove), tags


if __name__ == "__main__":
    main()
