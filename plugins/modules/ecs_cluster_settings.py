#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_cluster_settings
short_description: Set the settings (Container Insights) of an existing ECS cluster
version_added: 0.1.0
description:
  - Reads the cluster's settings and calls C(UpdateCluster) with the new settings only when one differs.
  - C(community.aws.ecs_cluster) manages the cluster and its capacity providers but not its settings.
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
"""

RETURN = r"""
settings:
  description: The cluster's settings after the call.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "containerInsights", "value": "enabled"}]
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            container_insights=dict(type="str", required=True, choices=["enabled", "disabled", "enhanced"]),
        ),
        supports_check_mode=True,
    )
    client = module.client("ecs", retry_decorator=AWSRetry.jittered_backoff())
    cluster = module.params["cluster"]
    try:
        found = client.describe_clusters(clusters=[cluster], include=["SETTINGS"], aws_retry=True)["clusters"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Couldn't describe cluster {cluster}")
    found = [c for c in found if c.get("status") == "ACTIVE"]
    if not found and not module.check_mode:
        module.fail_json(msg=f"Cluster {cluster} does not exist")
    # Under --check the cluster may be one an earlier task would make: its settings are all still to be set.
    current = {s["name"]: s["value"] for s in found[0].get("settings") or []} if found else {}
    desired = dict(current, containerInsights=module.params["container_insights"])
    changed = current != desired
    settings = [{"name": k, "value": v} for k, v in sorted(desired.items())]
    if changed and not module.check_mode:
        try:
            # UpdateCluster takes the settings too (UpdateClusterSettings is equivalent).
            client.update_cluster(cluster=cluster, settings=[{"name": "containerInsights",
                                                              "value": desired["containerInsights"]}],
                                  aws_retry=True)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't update the settings of cluster {cluster}")
    module.exit_json(changed=changed, settings=settings,
                     diff={"before": {"settings": current}, "after": {"settings": desired}})


if __name__ == "__main__":
    main()
