#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_service_teardown
short_description: Delete ECS services, all of a list in one call, and wait until they are inactive
version_added: 0.1.0
description:
  - Reads the named services of a cluster once, deletes each one that is not already C(INACTIVE)
    (C(DeleteService) with C(force), so running tasks are stopped without scaling to zero first)
    and waits with botocore's C(services_inactive) waiter.
  - A cluster that does not exist has no services to remove; that is not an error.
  - Written because C(community.aws.ecs_service) with O(ignore:state=absent) returns the deleted
    service as C(ansible_facts), which sets its keys (C(tags), C(serviceName), ...) as host facts,
    and deletes one service per module run.
options:
  cluster:
    description: Name or ARN of the cluster.
    type: str
    required: true
  names:
    description: Names of the services to delete. Services that do not exist are left alone.
    type: list
    elements: str
    required: true
  wait:
    description: Wait until every deleted service is C(INACTIVE).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait at most.
    type: int
    default: 600
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Delete the stack's services
  seed.fargate.ecs_service_teardown:
    cluster: seed
    names: [api, web]
"""

RETURN = r"""
deleted:
  description: Names of the services this run deleted (would delete, under check mode).
  returned: always
  type: list
  elements: str
  sample: [api, web]
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

DESCRIBE_BATCH = 10  # DescribeServices takes at most 10 services


def live_services(client, cluster, names):
    found = []
    for start in range(0, len(names), DESCRIBE_BATCH):
        batch = names[start:start + DESCRIBE_BATCH]
        found += client.describe_services(cluster=cluster, services=batch, aws_retry=True)["services"]
    return [s["serviceName"] for s in found if s.get("status") != "INACTIVE"]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            names=dict(type="list", elements="str", required=True),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    client = module.client("ecs", retry_decorator=AWSRetry.jittered_backoff())
    cluster = module.params["cluster"]
    names = list(dict.fromkeys(module.params["names"]))
    try:
        doomed = live_services(client, cluster, names) if names else []
    except is_boto3_error_code("ClusterNotFoundException"):
        doomed = []
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't describe the services of cluster {cluster}")

    diff = {"before": {"services": doomed}, "after": {"services": []}}
    if doomed and not module.check_mode:
        for name in doomed:
            try:
                client.delete_service(cluster=cluster, service=name, force=True, aws_retry=True)
            except is_boto3_error_code("ServiceNotFoundException"):
                pass  # gone meanwhile
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
                module.fail_json_aws(e, msg=f"Couldn't delete service {name} of cluster {cluster}")
        if module.params["wait"]:
            delay = 5
            try:
                client.get_waiter("services_inactive").wait(
                    cluster=cluster, services=doomed,
                    WaiterConfig={"Delay": delay, "MaxAttempts": max(1, module.params["wait_timeout"] // delay)})
            except botocore.exceptions.WaiterError as e:
                module.fail_json_aws(e, msg=f"Services {', '.join(doomed)} did not become inactive within "
                                            f"{module.params['wait_timeout']}s; raise wait_timeout or look at their events")
    module.exit_json(changed=bool(doomed), deleted=doomed, diff=diff)


if __name__ == "__main__":
    main()
