#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: dynamodb_table_settings
short_description: Set encryption at rest and point-in-time recovery of an existing DynamoDB table
version_added: 0.1.0
description:
  - Reads the table (C(DescribeTable), C(DescribeContinuousBackups)) and calls C(UpdateTable) with
    C(SSESpecification) and C(UpdateContinuousBackups) only for a setting that differs.
  - C(community.aws.dynamodb_table) creates the table (keys, billing mode, tags) but manages neither.
options:
  table:
    description: Name of the table (it must exist).
    type: str
    required: true
  encryption:
    description:
      - Key that encrypts the table at rest. C(aws_owned) is DynamoDB's default (no C(SSEDescription));
        C(aws_managed) is the AWS managed KMS key C(alias/aws/dynamodb) (SSE type KMS), visible to
        CloudTrail and auditable by AWS Config's C(dynamodb-table-encrypted-kms).
    type: str
    choices: [aws_owned, aws_managed]
    required: true
  point_in_time_recovery:
    description: Continuous backups with point-in-time recovery (restore to any second of the last 35 days).
    type: bool
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
- name: Encrypt with the AWS managed key and turn on point-in-time recovery
  seed.fargate.dynamodb_table_settings:
    table: seed-api
    encryption: aws_managed
    point_in_time_recovery: true
"""

RETURN = r"""
settings:
  description: The table's settings after the call (predicted in check mode).
  returned: success
  type: dict
  sample: {"encryption": "aws_managed", "point_in_time_recovery": true}
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def _current(client, table):
    described = client.describe_table(TableName=table, aws_retry=True)["Table"]
    sse = described.get("SSEDescription") or {}
    # ENABLED / UPDATING / ENABLING all mean a KMS key is (being) used
    encryption = "aws_managed" if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING") else "aws_owned"
    backups = client.describe_continuous_backups(TableName=table, aws_retry=True)["ContinuousBackupsDescription"]
    pitr = (backups.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus") in (
        "ENABLED", "ENABLING")
    return {"encryption": encryption, "point_in_time_recovery": pitr}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            table=dict(type="str", required=True),
            encryption=dict(type="str", required=True, choices=["aws_owned", "aws_managed"]),
            point_in_time_recovery=dict(type="bool", required=True),
        ),
        supports_check_mode=True,
    )
    # A table just created may not take a backup or encryption change yet (still CREATING / UPDATING).
    client = module.client("dynamodb", retry_decorator=AWSRetry.jittered_backoff(
        catch_extra_error_codes=["ContinuousBackupsUnavailableException", "ResourceInUseException"]))
    table = module.params["table"]
    try:
        current = _current(client, table)
    except client.exceptions.ResourceNotFoundException:
        module.fail_json(msg=f"DynamoDB table {table} does not exist")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Couldn't read the settings of DynamoDB table {table}")
    desired = {"encryption": module.params["encryption"],
               "point_in_time_recovery": module.params["point_in_time_recovery"]}
    changed = current != desired
    if changed and not module.check_mode:
        try:
            if current["encryption"] != desired["encryption"]:
                spec = {"Enabled": True, "SSEType": "KMS"} if desired["encryption"] == "aws_managed" else {"Enabled": False}
                client.update_table(TableName=table, SSESpecification=spec, aws_retry=True)
            if current["point_in_time_recovery"] != desired["point_in_time_recovery"]:
                client.update_continuous_backups(
                    TableName=table, aws_retry=True,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": desired["point_in_time_recovery"]})
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't update the settings of DynamoDB table {table}")
    module.exit_json(changed=changed, settings=desired, diff={"before": current, "after": desired})


if __name__ == "__main__":
    main()
