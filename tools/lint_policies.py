"""Every IAM policy the collection writes, checked by a policy linter (parliament, from PyPI): ``make lint``.

The roles render their policies from the stack description at converge time (ARNs of the account, the
stack's tables, secrets, task roles), so they are linted as written: this converges ``playbooks/site.yml``
and ``playbooks/pipeline.yml`` on a throwaway local endpoint (control plane only), with the local
inventory's stack description plus a Secrets Manager secret (with a KMS key), an SSM parameter, X-Ray tracing and
the second service on the ECS release controller (its infrastructure role) so that every policy the roles can write
exists, then runs parliament over each role's inline policies and trust
policy. Exit 1 on any finding, naming the role, the policy and the finding.

    python tools/lint_policies.py

The integration tests use :func:`inline_policies` and :func:`findings` on the stacks they converge.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
SECRETS = {
    "DB_PASSWORD": {"arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:seed/db-AbCdEf", "json_key": "password",
                    "kms_key_arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0b4c7d3e-8a4f-4e42-9c1d-1d6f0a2b3c4d"},
    "API_TOKEN": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/seed/api/token",
}


def inline_policies(iam) -> dict[str, dict]:
    """``<role>/<policy>`` -> document, for every inline policy of every role in the account."""
    out = {}
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
                doc = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
                out[f"{role['RoleName']}/{name}"] = json.loads(doc) if isinstance(doc, str) else doc
    return out


def trust_policies(iam) -> dict[str, dict]:
    """``<role>/trust`` -> the role's trust (assume-role) policy, for every role in the account, each statement with
    the role's ARN as its ``Resource``: parliament reads identity policies only, and a trust policy's resource is the
    role itself.
    Its actions, condition keys and operators are checked as in any policy."""
    out = {}
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            doc = role["AssumeRolePolicyDocument"]
            doc = json.loads(doc) if isinstance(doc, str) else doc
            statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
            out[f"{role['RoleName']}/trust"] = dict(doc, Statement=[dict(s, Resource=role["Arn"]) for s in statements])
    return out


def findings(document: dict) -> list[str]:
    """parliament's findings on one policy document (empty when it has none)."""
    import parliament  # pylint: disable=import-outside-toplevel

    policy = parliament.analyze_policy_string(json.dumps(document))
    return [f"{f.issue}: {f.detail}" for f in policy.findings]


def _stack_vars(path: Path) -> None:
    stack = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())
    first, *others = stack["stack_services"]
    # The other services released by ECS itself (deployment_controller: ecs): the ECS infrastructure role, whose trust
    # policy and managed policy exist only then, is linted too; they need no CodeDeploy traffic-shifting config.
    services = [dict(first, secrets=SECRETS)] + [dict(s, deployment_controller="ecs") for s in others]
    configs = {name: config for name, config in (stack.get("stack_service_deployment_configs") or {}).items()
               if name == first["name"]}
    # X-Ray tracing on for the first service: its task role gets the daemon's writes, linted too
    path.write_text(yaml.safe_dump({"stack_services": services, "stack_service_deployment_configs": configs,
                                    "stack_tracing": {"enabled": True, "services": [first["name"]]}}))


def main() -> int:
    sys.path.insert(0, str(ROOT))
    import boto3  # pylint: disable=import-outside-toplevel

    from localaws.launcher import LocalAWS  # pylint: disable=import-outside-toplevel
    from tools import fastpath  # pylint: disable=import-outside-toplevel

    with tempfile.TemporaryDirectory(prefix="lint-policies-") as tmp, \
            LocalAWS(log_path=Path(tmp) / "server.log", env={"LOCALAWS_DATAPLANE": "0"}) as endpoint:
        extra = Path(tmp) / "stack.yml"
        _stack_vars(extra)
        env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **endpoint.environment("us-east-1"))
        env.update(fastpath.environment("mitogen_linear", env))
        for playbook in ("playbooks/site.yml", "playbooks/pipeline.yml"):
            run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), playbook, "-e", f"@{extra}"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, check=False)
            if run.returncode != 0:
                print(run.stdout[-4000:], run.stderr[-2000:], sep="\n")
                print(f"lint_policies: {playbook} failed on the local endpoint (rc={run.returncode})")
                return 1
        iam = boto3.client("iam", endpoint_url=endpoint.url, region_name="us-east-1", aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        policies = inline_policies(iam) | trust_policies(iam)
    problems = {name: findings(doc) for name, doc in sorted(policies.items())}
    for name, found in problems.items():
        for finding in found:
            print(f"{name}: {finding}")
    bad = sum(1 for found in problems.values() if found)
    print(f"lint_policies: {len(policies)} policies of {len({n.split('/')[0] for n in policies})} roles, "
          f"{bad} with findings")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
