"""Benchmark: a full converge and a no-op re-converge of playbooks/site.yml, beside
a plain boto3 script making the same create calls (and the same reads for the no-op)
against the same local endpoint: the floor. Not a test.

    python bench/converge/run.py          (repository root, venv active)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from localaws import LocalAWS
from tools import fastpath

REGION = "us-east-1"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}


def converge(env: dict, strategy: str = "linear") -> float:
    """Seconds ``playbooks/site.yml`` takes under ``strategy`` (``linear``: Ansible's own; ``mitogen_linear``: with
    the botocore cache, as tools/fastpath.py sets it)."""
    env = dict(env, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **fastpath.environment(strategy, env))
    start = time.monotonic()
    proc = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "playbooks/site.yml"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(proc.stdout[-3000:])
    return time.monotonic() - start


def floor(url: str, reads_only: bool) -> float:
    """The stack's create calls (or, reads_only, one describe per resource) in plain boto3."""
    start = time.monotonic()
    s = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    c = {n: s.client(n, endpoint_url=url) for n in ("ec2", "ecr", "iam", "ecs", "elbv2", "logs", "application-autoscaling")}
    ec2, ecr, iam, ecs, elbv2, logs, aas = c.values()
    services = [("api", 8000, ["/api/*"]), ("web", 8080, [])]
    if reads_only:
        vpc = next(v for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"])["VpcId"]
        ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
        ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
        ec2.describe_internet_gateways(), ec2.describe_nat_gateways(), ec2.describe_route_tables()
        ecr.describe_repositories()
        for r in ("seed-task-execution", "seed-codedeploy-ecs", "seed-api-task", "seed-web-task"):
            iam.get_role(RoleName=r), iam.list_attached_role_policies(RoleName=r)
        ecs.describe_clusters(clusters=["seed"])
        lb = elbv2.describe_load_balancers(Names=["seed"])["LoadBalancers"][0]
        elbv2.describe_target_groups()
        for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            elbv2.describe_rules(ListenerArn=li["ListenerArn"])
        logs.describe_log_groups(logGroupNamePrefix="/ecs/seed/")
        for name, _, _ in services:
            ecs.describe_task_definition(taskDefinition=f"seed-{name}")
        ecs.describe_services(cluster="seed", services=["api", "web"])
        aas.describe_scalable_targets(ServiceNamespace="ecs"), aas.describe_scaling_policies(ServiceNamespace="ecs")
        return time.monotonic() - start
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.50.{i}.0/24", AvailabilityZone=f"{REGION}{'ab'[i % 2]}")
               ["Subnet"]["SubnetId"] for i in range(4)]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=eip)
    for _ in range(2):
        ec2.create_route_table(VpcId=vpc)
    alb_sg = ec2.create_security_group(GroupName="b-alb", Description="alb", VpcId=vpc)["GroupId"]
    task_sg = ec2.create_security_group(GroupName="b-tasks", Description="tasks", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=alb_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=task_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "UserIdGroupPairs": [{"GroupId": alb_sg}]} for _, p, _ in services])
    for name, _, _ in services:
        ecr.create_repository(repositoryName=f"b/{name}", imageTagMutability="IMMUTABLE",
                              imageScanningConfiguration={"scanOnPush": True})
        ecr.put_lifecycle_policy(repositoryName=f"b/{name}", lifecyclePolicyText=json.dumps({"rules": [
            {"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
             "action": {"type": "expire"}}]}))
    execution = iam.create_role(RoleName="b-exec", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="b-exec", PolicyName="b-exec", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]}))
    iam.create_role(RoleName="b-codedeploy", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName="b-codedeploy", PolicyArn="arn:aws:iam::aws:policy/AWSCodeDeployRoleForECSLimited")
    task_roles = {n: iam.create_role(RoleName=f"b-{n}-task", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
                  for n, _, _ in services}
    iam.put_role_policy(RoleName="b-codedeploy", PolicyName="b-codedeploy-pass-task-roles", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole",
                                                 "Resource": [execution, *task_roles.values()]}]}))
    ecs.create_cluster(clusterName="b", capacityProviders=["FARGATE", "FARGATE_SPOT"],
                       defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
                       settings=[{"name": "containerInsights", "value": "enabled"}])
    tgs = {(n, col): elbv2.create_target_group(Name=f"b-{n}-{col}", Protocol="HTTP", Port=p, VpcId=vpc, TargetType="ip",
                                               HealthCheckPath="/")["TargetGroups"][0]["TargetGroupArn"]
           for n, p, _ in services for col in ("blue", "green")}
    lb = elbv2.create_load_balancer(Name="b", Subnets=subnets[:2], SecurityGroups=[alb_sg])["LoadBalancers"][0]["LoadBalancerArn"]
    for port, col in ((80, "blue"), (9000, "green")):
        li = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": tgs[("web", col)]}])
        elbv2.create_rule(ListenerArn=li["Listeners"][0]["ListenerArn"], Priority=10,
                          Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
                          Actions=[{"Type": "forward", "TargetGroupArn": tgs[("api", col)]}])
    for name, port, _ in services:
        logs.create_log_group(logGroupName=f"/ecs/b/{name}")
        logs.put_retention_policy(logGroupName=f"/ecs/b/{name}", retentionInDays=30)
        td = ecs.register_task_definition(
            family=f"b-{name}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            executionRoleArn=execution, taskRoleArn=task_roles[name],
            containerDefinitions=[{"name": name, "image": f"x/{name}:v1", "portMappings": [{"containerPort": port}]}],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster="b", serviceName=name, taskDefinition=td, desiredCount=2,
                           deploymentController={"type": "CODE_DEPLOY"},
                           loadBalancers=[{"targetGroupArn": tgs[(name, "blue")], "containerName": name, "containerPort": port}],
                           networkConfiguration={"awsvpcConfiguration": {"subnets": subnets[2:], "securityGroups": [task_sg],
                                                                         "assignPublicIp": "DISABLED"}})
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=f"service/b/{name}",
                                     ScalableDimension="ecs:service:DesiredCount", MinCapacity=2, MaxCapacity=6)
        for metric in ("ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"):
            aas.put_scaling_policy(PolicyName=f"b-{name}-{metric}", ServiceNamespace="ecs", ResourceId=f"service/b/{name}",
                                   ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
                                   TargetTrackingScalingPolicyConfiguration={
                                       "TargetValue": 60.0, "PredefinedMetricSpecification": {"PredefinedMetricType": metric}})
    return time.monotonic() - start


def main() -> None:
    times = {}
    with LocalAWS() as aws:
        env = dict(os.environ, **aws.environment(REGION))
        for strategy in ("linear", "mitogen_linear"):
            aws.reset()
            times[strategy] = (converge(env, strategy), converge(env, strategy))
        floor_reads = floor(aws.url, reads_only=True)
        aws.reset()
        floor_creates = floor(aws.url, reads_only=False)
    for strategy, (full, noop) in times.items():
        print(f"[{strategy:<14}] full converge      {full:7.1f}s   boto3 floor {floor_creates:6.2f}s   "
              f"ratio {full / floor_creates:6.1f}x (goal <= 3x)")
        print(f"[{strategy:<14}] no-op re-converge  {noop:7.1f}s   boto3 floor {floor_reads:6.2f}s   "
              f"ratio {noop / floor_reads:6.1f}x (goal <= 2x)")
    (full, noop), (mfull, mnoop) = times["linear"], times["mitogen_linear"]
    print(f"mitogen_linear / linear: full converge {mfull / full:.2f}x, no-op {mnoop / noop:.2f}x")


if __name__ == "__main__":
    main()
