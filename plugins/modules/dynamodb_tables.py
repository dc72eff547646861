#!/usr/bin/python
# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: dynamodb_tables
short_description: Converge several on-demand DynamoDB tables (keys, tags, encryption, point-in-time recovery) in one call
version_added: 0.1.0
description:
  - Makes each table of O(tables) what it describes, or with O(state=absent) deletes them (their items with them).
  - A table is read with one C(DescribeTable), one C(DescribeContinuousBackups) and, with O(tables[].tags), one
    C(ListTagsOfResource); writes follow only for what differs. A converged table costs 3 calls, where
    C(community.aws.dynamodb_table) (6 calls, describing the table four times) followed by
    seed.fargate.dynamodb_table_settings (2 more) made 8, which the seed.fargate.data role's no-op re-converge measured
    as its whole cost.
  - A table still to be made is created in one C(CreateTable) call with its keys, on-demand billing, encryption and
    tags, then point-in-time recovery is turned on once it is C(ACTIVE).
  - Tables are on-demand (C(PAY_PER_REQUEST)); a table found in provisioned mode is switched to on-demand. The key
    schema of a table cannot change, so a table whose keys differ fails the module before any write.
  - Under check mode nothing is written; a table still to be made is returned with RV(tables[].table_arn) V(null).
options:
  tables:
    description: The tables.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Table name (3-255 of C([A-Za-z0-9_.-])).
        type: str
        required: true
      hash_key:
        description: Partition key, C({name, type}) with type C(STRING), C(NUMBER) or C(BINARY). Required to make the table.
        type: dict
      range_key:
        description: Sort key, as O(tables[].hash_key); omitted, the table has none.
        type: dict
      encryption:
        description:
          - Key that encrypts the table at rest. C(aws_owned) is DynamoDB's default (no C(SSEDescription));
            C(aws_managed) is the AWS managed KMS key C(alias/aws/dynamodb) (SSE type KMS).
        type: str
        choices: [aws_owned, aws_managed]
        default: aws_owned
      point_in_time_recovery:
        description: Continuous backups with point-in-time recovery.
        type: bool
        default: false
      tags:
        description: Tags of the table; V(null) leaves them as they are.
        type: dict
      purge_tags:
        description: Remove the tags not in O(tables[].tags) (when that is given).
        type: bool
        default: true
  state:
    description: C(present) converges the tables; C(absent) deletes those that exist, with their items.
    type: str
    choices: [present, absent]
    default: present
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: One on-demand table, KMS encrypted with the AWS managed key, point-in-time recovery on
  seed.fargate.dynamodb_tables:
    tables:
      - name: shop-api
        hash_key: {name: pk, type: STRING}
        range_key: {name: id, type: NUMBER}
        encryption: aws_managed
        point_in_time_recovery: true
        tags:
          stack: shop
  register: tables

- name: Remove it with its items
  seed.fargate.dynamodb_tables:
    tables: [{name: shop-api}]
    state: absent
"""

RETURN = r"""
tables:
  description: Each table of O(tables), in their order, as it is after the call (or would be, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Table name.
      type: str
    exists:
      description: Whether it exists after the call (in check mode, whether it would).
      type: bool
    table_arn:
      description: ARN; V(null) for a table still to be made in check mode, or deleted.
      type: str
    hash_key:
      description: Partition key (C({name, type})).
      type: dict
    range_key:
      description: Sort key, or V(null).
      type: dict
    encryption:
      description: C(aws_owned) or C(aws_managed).
      type: str
    point_in_time_recovery:
      description: Whether point-in-time recovery is on.
      type: bool
    tags:
      description: The tags, when they were given.
      type: dict
"""

import copy
import re

try:
    import botocore.exceptions

    ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
except ImportError:
    ERRORS = ()  # AnsibleAWSModule fails for the missing botocore first

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html (TableName)
NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
TYPES = {"STRING": "S", "NUMBER": "N", "BINARY": "B"}
NAMES_OF_TYPES = {v: k for k, v in TYPES.items()}


def check_input(module):
    """Every problem of the input, before any call."""
    problems, seen = [], set()
    for i, table in enumerate(module.params["tables"]):
        name = table["name"]
        if not NAME.match(name):
            problems.append(f"tables[{i}].name: {name!r} is not a table name (3-255 of [A-Za-z0-9_.-])")
        if name in seen:
            problems.append(f"tables[{i}].name: {name!r} is given twice")
        seen.add(name)
        if module.params["state"] == "present" and not table["hash_key"]:
            problems.append(f"tables[{i}].hash_key: required with state=present ({name})")
        for key in ("hash_key", "range_key"):
            value = table[key]
            if value is not None and (not value.get("name") or value.get("type") not in TYPES):
                problems.append(f"tables[{i}].{key}: a name and a type of {', '.join(TYPES)} ({name})")
    if problems:
        module.fail_json(msg="; ".join(problems))


def keys_of(description):
    """(hash key, range key) of a DescribeTable answer, as {name, type}."""
    types = {a["AttributeName"]: NAMES_OF_TYPES.get(a["AttributeType"]) for a in description.get("AttributeDefinitions", [])}
    keys = {k["KeyType"]: {"name": k["AttributeName"], "type": types.get(k["AttributeName"])}
            for k in description.get("KeySchema", [])}
    return keys.get("HASH"), keys.get("RANGE")


def desired_key(key):
    return {"name": key["name"], "type": key["type"]} if key else None


class Converger:
    def __init__(self, module, client):
        self.module, self.client = module, client

    def call(self, method, name, **kwargs):
        try:
            return getattr(self.client, method)(aws_retry=True, **kwargs)
        except ERRORS as e:
            self.module.fail_json_aws(e, msg=f"Couldn't {method} for table {name}")

    def write(self, method, name, **kwargs):
        """One write (none in check mode)."""
        return {} if self.module.check_mode else self.call(method, name, **kwargs)

    def describe(self, name):
        try:
            return self.client.describe_table(TableName=name, aws_retry=True)["Table"]
        except is_boto3_error_code("ResourceNotFoundException"):
            return None
        except ERRORS as e:  # pylint: disable=duplicate-except
            self.module.fail_json_aws(e, msg=f"Couldn't describe table {name}")

    def read(self, table, found):
        """The table's view: what the module returns and diffs."""
        hash_key, range_key = keys_of(found)
        sse = found.get("SSEDescription") or {}
        backups = self.call("describe_continuous_backups", table["name"], TableName=table["name"])
        pitr = (backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription") or {}).get(
            "PointInTimeRecoveryStatus") in ("ENABLED", "ENABLING")
        out = {"name": table["name"], "exists": True, "table_arn": found["TableArn"], "hash_key": hash_key,
               "range_key": range_key,
               "billing_mode": (found.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
               # ENABLED / UPDATING / ENABLING all mean a KMS key is (being) used
               "encryption": "aws_managed" if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING") else "aws_owned",
               "point_in_time_recovery": pitr}
        if table["tags"] is not None:
            answer = self.call("list_tags_of_resource", table["name"], ResourceArn=found["TableArn"])
            out["tags"] = {t["Key"]: t["Value"] for t in answer.get("Tags", [])}
        return out

    def create(self, table):
        name, tags = table["name"], {k: str(v) for k, v in (table["tags"] or {}).items()}
        keys = [("HASH", table["hash_key"])] + ([("RANGE", table["range_key"])] if table["range_key"] else [])
        request = {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
                   "KeySchema": [{"AttributeName": k["name"], "KeyType": kind} for kind, k in keys],
                   "AttributeDefinitions": [{"AttributeName": k["name"], "AttributeType": TYPES[k["type"]]}
                                            for _kind, k in keys]}
        if table["encryption"] == "aws_managed":
            request["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
        if tags:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        made = self.write("create_table", name, **request).get("TableDescription")
        if table["point_in_time_recovery"] and not self.module.check_mode:
            try:  # UpdateContinuousBackups needs the table ACTIVE
                self.client.get_waiter("table_exists").wait(TableName=name)
            except botocore.exceptions.WaiterError as e:
                self.module.fail_json_aws(e, msg=f"Table {name} did not become active")
            self.write("update_continuous_backups", name, TableName=name,
                       PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        after = {"name": name, "exists": True, "table_arn": made["TableArn"] if made else None,
                 "hash_key": desired_key(table["hash_key"]), "range_key": desired_key(table["range_key"]),
                 "billing_mode": "PAY_PER_REQUEST", "encryption": table["encryption"],
                 "point_in_time_recovery": table["point_in_time_recovery"]}
        if table["tags"] is not None:
            after["tags"] = tags
        return True, None, after

    def present(self, table, found):
        """(changed, before, after) of one table."""
        if found is None:
            return self.create(table)
        name = table["name"]
        before = self.read(table, found)
        if (before["hash_key"], before["range_key"]) != (desired_key(table["hash_key"]), desired_key(table["range_key"])):
            self.module.fail_json(msg=f"table {name} has the keys {before['hash_key']} / {before['range_key']}, not "
                                      f"{desired_key(table['hash_key'])} / {desired_key(table['range_key'])}: "
                                      "DynamoDB cannot change the keys of a table")
        after = copy.deepcopy(before)
        update = {}
        if before["billing_mode"] != "PAY_PER_REQUEST":
            update["BillingMode"] = after["billing_mode"] = "PAY_PER_REQUEST"
        if before["encryption"] != table["encryption"]:
            update["SSESpecification"] = ({"Enabled": True, "SSEType": "KMS"} if table["encryption"] == "aws_managed"
                                          else {"Enabled": False})
            after["encryption"] = table["encryption"]
        if update:
            self.write("update_table", name, TableName=name, **update)
        if before["point_in_time_recovery"] != table["point_in_time_recovery"]:
            self.write("update_continuous_backups", name, TableName=name,
                       PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": table["point_in_time_recovery"]})
            after["point_in_time_recovery"] = table["point_in_time_recovery"]
        if table["tags"] is not None:
            desired = {k: str(v) for k, v in table["tags"].items()}
            to_set, to_remove = compare_aws_tags(before["tags"], desired, purge_tags=table["purge_tags"])
            if to_remove:
                self.write("untag_resource", name, ResourceArn=found["TableArn"], TagKeys=to_remove)
            if to_set:
                self.write("tag_resource", name, ResourceArn=found["TableArn"],
                           Tags=[{"Key": k, "Value": v} for k, v in to_set.items()])
            after["tags"] = {k: v for k, v in before["tags"].items() if k not in to_remove} | to_set
        return before != after, before, after

    def absent(self, table, found):
        if found is None:
            return False, None, None
        self.write("delete_table", table["name"], TableName=table["name"])
        hash_key, range_key = keys_of(found)
        return True, {"name": table["name"], "exists": True, "table_arn": found["TableArn"], "hash_key": hash_key,
                      "range_key": range_key}, None


def main():
    table = dict(
        name=dict(type="str", required=True),
        hash_key=dict(type="dict", no_log=False),
        range_key=dict(type="dict", no_log=False),
        encryption=dict(type="str", choices=["aws_owned", "aws_managed"], default="aws_owned"),
        point_in_time_recovery=dict(type="bool", default=False),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            tables=dict(type="list", elements="dict", required=True, options=table),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    check_input(module)
    # A table just created or updated may not take a backup or encryption change yet (still CREATING / UPDATING).
    client = module.client("dynamodb", retry_decorator=AWSRetry.jittered_backoff(
        catch_extra_error_codes=["ContinuousBackupsUnavailableException", "ResourceInUseException"]))
    converger = Converger(module, client)
    step = converger.present if module.params["state"] == "present" else converger.absent

    changed, results, before, after = False, [], {}, {}
    for table in module.params["tables"]:
        table_changed, table_before, table_after = step(table, converger.describe(table["name"]))
        changed = changed or table_changed
        before[table["name"]], after[table["name"]] = table_before, table_after
        results.append(table_after or {"name": table["name"], "exists": False, "table_arn": None})
    module.exit_json(changed=changed, tables=results, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
