"""What exists in the endpoint, per resource type, for the platform tests.

``snapshot(boto)`` lists every resource type the stack makes (and a few it should
not), as sets of stable identifiers, so that a destroyed stack can be compared
with a fresh endpoint's baseline (moto has a default VPC, subnets, ...).
"""

from __future__ import annotations


def _tags(tags: list | None) -> dict:
    return {t["Key"]: t["Value"] for t in tags or []}


def snapshot(boto) -> dict[str, set]:
    ec2, elbv2, ecs, ecr, iam = boto("ec2"), boto("elbv2"), boto("ecs"), boto("ecr"), boto("iam")
    logs, aas = boto("logs"), boto("application-autoscaling")
    out: dict[str, set] = {}
    out["vpcs"] = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    out["subnets"] = {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
    out["security_groups"] = {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    out["internet_gateways"] = {g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]}
    out["nat_gateways"] = {g["NatGatewayId"] for g in ec2.describe_nat_gateways()["NatGateways"]
                           if g["State"] not in ("deleted", "deleting")}
    out["route_tables"] = {r["RouteTableId"] for r in ec2.describe_route_tables()["RouteTables"]}
    out["elastic_ips"] = {a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]}
    out["vpc_endpoints"] = {e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
                            if e["State"].lower() not in ("deleted", "deleting")}
    out["network_interfaces"] = {n["NetworkInterfaceId"] for n in ec2.describe_network_interfaces()["NetworkInterfaces"]}
    out["load_balancers"] = {lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]}
    out["target_groups"] = {tg["TargetGroupName"] for tg in elbv2.describe_target_groups()["TargetGroups"]}
    clusters = ecs.list_clusters()["clusterArns"]
    active = [c for c in ecs.describe_clusters(clusters=clusters)["clusters"] if c["status"] == "ACTIVE"] if clusters else []
    out["ecs_clusters"] = {c["clusterName"] for c in active}
    out["ecs_services"] = {s for c in active for s in ecs.list_services(cluster=c["clusterArn"])["serviceArns"]}
    out["task_definitions"] = set(ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"])
    out["ecr_repositories"] = {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}
    out["iam_roles"] = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    out["iam_local_policies"] = {p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]}
    out["log_groups"] = {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]}
    out["scalable_targets"] = {t["ResourceId"] for t in aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]}
    out["scaling_policies"] = {p["PolicyName"] for p in aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]}
    return out


def diff(before: dict[str, set], after: dict[str, set]) -> dict[str, set]:
    """Resources in ``after`` that were not in ``before``, per type (empty types left out)."""
    return {k: after[k] - before.get(k, set()) for k in after if after[k] - before.get(k, set())}
