"""Benchmark: a full converge and a no-op re-converge of playbooks/site.yml, beside a plain boto3 script
against the same local endpoint: the floor. Not a test.

The floor runs as its own Python process, as a converge does (interpreter start, boto3 import, clients):
for the full converge it makes the stack's create calls; for the no-op it reads every resource the converge
manages once (network, ECR, IAM, ECS, ELB with attributes and tags, logs and metric filters, alarms, SNS,
dashboard, DynamoDB, CodeDeploy, auto scaling, budget). Every figure is measured at 0 ms and at 40 ms per AWS
call (the endpoint's LOCALAWS_LATENCY_MS, a typical in-region round trip): the ratio users feel on AWS is the
latter. The no-op's AWS calls are counted from the endpoint's call log. Then --stacks N (default 4) stacks,
each a host of the inventory's `stacks` group, are converged from empty in one run (mitogen_linear, forks >= N),
against one stack's full converge under the same strategy in the same run. Each converge's CPU time (Ansible's
processes, not the endpoint's) is printed beside it; N stacks need N times one stack's CPU, so on this machine's
cores their run takes at least that much over the cores, printed as the ratio no scheduling can beat (at 0 ms a
converge is CPU-bound: 4 stacks on 2 cores cannot come out under about 2x).

    python bench/converge/run.py [--latency 0,40] [--stacks 4]    (repository root, venv active)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import boto3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from localaws import LocalAWS
from tools import fastpath

REGION = "us-east-1"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}


class Run(NamedTuple):
    wall: float  # seconds
    cpu: float  # CPU seconds of ansible-playbook and its processes (workers, mitogen's), user and system


def converge(env: dict, strategy: str = "linear", inventory: tuple = ()) -> Run:
    """How long ``playbooks/site.yml`` takes under ``strategy`` (``linear``: Ansible's own; ``mitogen_linear``: with
    the botocore cache, as tools/fastpath.py sets it); ``inventory``: more ``-i`` arguments."""
    env = dict(env, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **fastpath.environment(strategy, env))
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    proc = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), *inventory, "playbooks/site.yml"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall, after = time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(proc.stdout[-3000:])
    return Run(wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


def floor(url: str, reads_only: bool) -> float:
    """The stack's writes (what a full converge writes: network, ECR, IAM, ECS, ELB, logs, alarms, SNS, dashboard,
    DynamoDB, CodeDeploy, auto scaling) or, reads_only, one read per resource, in plain boto3."""
    start = time.monotonic()
    s = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    c = {n: s.client(n, endpoint_url=url) for n in ("ec2", "ecr", "iam", "ecs", "elbv2", "logs", "application-autoscaling")}
    ec2, ecr, iam, ecs, elbv2, logs, aas = c.values()
    services = [("api", 8000, ["/api/*"]), ("web", 8080, [])]
    if reads_only:
        more = {n: s.client(n, endpoint_url=url) for n in ("cloudwatch", "sns", "codedeploy", "dynamodb", "budgets", "sts")}
        cw, sns, cd, ddb, budgets, sts = more.values()
        account = sts.get_caller_identity()["Account"]
        vpc = next(v for v in ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["seed"]}])["Vpcs"])["VpcId"]
        in_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
        ec2.describe_availability_zones()
        ec2.describe_subnets(Filters=in_vpc), ec2.describe_security_groups(Filters=in_vpc)
        ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])
        ec2.describe_nat_gateways(Filters=in_vpc), ec2.describe_route_tables(Filters=in_vpc)
        ec2.describe_addresses()
        for repo in ecr.describe_repositories()["repositories"]:
            ecr.get_lifecycle_policy(repositoryName=repo["repositoryName"])
            ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])
        for role in ("seed-task-execution", "seed-codedeploy-ecs", "seed-api-task", "seed-web-task"):
            iam.get_role(RoleName=role), iam.list_attached_role_policies(RoleName=role)
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                iam.get_role_policy(RoleName=role, PolicyName=name)
        cluster = ecs.describe_clusters(clusters=["seed"], include=["SETTINGS", "TAGS"])["clusters"][0]
        ecs.list_tags_for_resource(resourceArn=cluster["clusterArn"])
        ecs.describe_services(cluster="seed", services=["api", "web"])
        for name in ("api", "web"):
            ecs.describe_task_definition(taskDefinition=f"seed-{name}")
        lb = elbv2.describe_load_balancers(Names=["seed"])["LoadBalancers"][0]["LoadBalancerArn"]
        elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb)
        groups = [tg["TargetGroupArn"] for tg in elbv2.describe_target_groups(LoadBalancerArn=lb)["TargetGroups"]]
        for tg in groups:
            elbv2.describe_target_group_attributes(TargetGroupArn=tg)
        elbv2.describe_tags(ResourceArns=[lb, *groups][:20])
        for li in elbv2.describe_listeners(LoadBalancerArn=lb)["Listeners"]:
            elbv2.describe_rules(ListenerArn=li["ListenerArn"])
        for group in logs.describe_log_groups(logGroupNamePrefix="/ecs/seed/")["logGroups"]:
            logs.describe_metric_filters(logGroupName=group["logGroupName"])
            logs.list_tags_log_group(logGroupName=group["logGroupName"])
        cw.describe_alarms(AlarmNamePrefix="seed-"), cw.get_dashboard(DashboardName="seed-local")
        for topic in sns.list_topics()["Topics"]:
            sns.get_topic_attributes(TopicArn=topic["TopicArn"]), sns.list_subscriptions_by_topic(TopicArn=topic["TopicArn"])
        for table in ddb.list_tables()["TableNames"]:
            ddb.describe_table(TableName=table), ddb.describe_continuous_backups(TableName=table)
        cd.get_application(applicationName="seed")
        for name in ("api", "web"):
            cd.get_deployment_group(applicationName="seed", deploymentGroupName=f"seed-{name}")
        cd.list_deployment_configs()
        aas.describe_scalable_targets(ServiceNamespace="ecs"), aas.describe_scaling_policies(ServiceNamespace="ecs")
        budgets.describe_budgets(AccountId=account)
        return time.monotonic() - start
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.50.{i}.0/24", AvailabilityZone=f"{REGION}{'ab'[i % 2]}")
               ["Subnet"]["SubnetId"] for i in range(4)]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=eip)["NatGateway"]["NatGatewayId"]
    public = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for subnet in subnets[:2]:
        ec2.associate_route_table(RouteTableId=public, SubnetId=subnet)
    for subnet in subnets[2:]:
        private = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=private, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
        ec2.associate_route_table(RouteTableId=private, SubnetId=subnet)
    alb_sg = ec2.create_security_group(GroupName="b-alb", Description="alb", VpcId=vpc)["GroupId"]
    task_sg = ec2.create_security_group(GroupName="b-tasks", Description="tasks", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=alb_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=task_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "UserIdGroupPairs": [{"GroupId": alb_sg}]} for _, p, _ in services])
    ec2.revoke_security_group_egress(GroupId=alb_sg, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_egress(GroupId=alb_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "UserIdGroupPairs": [{"GroupId": task_sg}]} for _, p, _ in services])
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
    for tg in tgs.values():
        elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
        elbv2.add_tags(ResourceArns=[tg], Tags=[{"Key": "stack", "Value": "b"}])
    lb = elbv2.create_load_balancer(Name="b", Subnets=subnets[:2], SecurityGroups=[alb_sg])["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
        {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}])
    listeners = []
    for port, col in ((80, "blue"), (9000, "green")):
        li = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": tgs[("web", col)]}])
        listeners.append(li["Listeners"][0]["ListenerArn"])
        elbv2.create_rule(ListenerArn=li["Listeners"][0]["ListenerArn"], Priority=10,
                          Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
                          Actions=[{"Type": "forward", "TargetGroupArn": tgs[("api", col)]}])
    more = {n: s.client(n, endpoint_url=url) for n in ("cloudwatch", "sns", "codedeploy", "dynamodb")}
    cw, sns, cd, ddb = more.values()
    topic = sns.create_topic(Name="b-alarms")["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="b alarms")
    ddb.create_table(TableName="b-api", BillingMode="PAY_PER_REQUEST", AttributeDefinitions=[
        {"AttributeName": "id", "AttributeType": "S"}], KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    ddb.update_continuous_backups(TableName="b-api", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    ddb.update_table(TableName="b-api", SSESpecification={"Enabled": True, "SSEType": "KMS"})
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
        for suffix in ("error-lines", "http-5xx"):
            logs.put_metric_filter(logGroupName=f"/ecs/b/{name}", filterName=f"{name}-{suffix}", filterPattern="{ $.status >= 500 }",
                                   metricTransformations=[{"metricName": f"{name}-{suffix}", "metricNamespace": "b",
                                                           "metricValue": "1"}])
        for i in range(10):  # the role's ten alarms per service
            cw.put_metric_alarm(AlarmName=f"b-{name}-{i}", Namespace="AWS/ECS", MetricName="CPUUtilization",
                                Dimensions=[{"Name": "ServiceName", "Value": name}], Statistic="Average",
                                ComparisonOperator="GreaterThanThreshold", Threshold=80.0, Period=60, EvaluationPeriods=3,
                                AlarmActions=[topic], OKActions=[topic])
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=f"service/b/{name}",
                                     ScalableDimension="ecs:service:DesiredCount", MinCapacity=2, MaxCapacity=6)
        for metric in ("ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"):
            aas.put_scaling_policy(PolicyName=f"b-{name}-{metric}", ServiceNamespace="ecs", ResourceId=f"service/b/{name}",
                                   ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
                                   TargetTrackingScalingPolicyConfiguration={
                                       "TargetValue": 60.0, "PredefinedMetricSpecification": {"PredefinedMetricType": metric}})
    cw.put_dashboard(DashboardName="b", DashboardBody=json.dumps({"widgets": [
        {"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "b"}}]}))
    cd.create_application(applicationName="b", computePlatform="ECS")
    cd.create_deployment_config(deploymentConfigName="b-canary", computePlatform="ECS", trafficRoutingConfig={
        "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 1}})
    codedeploy_role = iam.get_role(RoleName="b-codedeploy")["Role"]["Arn"]
    for name, _, _ in services:
        cd.create_deployment_group(
            applicationName="b", deploymentGroupName=f"b-{name}", serviceRoleArn=codedeploy_role,
            deploymentConfigName="CodeDeployDefault.ECSAllAtOnce", ecsServices=[{"serviceName": name, "clusterName": "b"}],
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            blueGreenDeploymentConfiguration={
                "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
                "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5}},
            loadBalancerInfo={"targetGroupPairInfoList": [{
                "targetGroups": [{"name": f"b-{name}-blue"}, {"name": f"b-{name}-green"}],
                "prodTrafficRoute": {"listenerArns": listeners[:1]}, "testTrafficRoute": {"listenerArns": listeners[1:]}}]},
            autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
            alarmConfiguration={"enabled": True, "alarms": [{"name": f"b-{name}-0"}]})
    return time.monotonic() - start


def stacks_inventory(path: Path, count: int) -> tuple:
    """``-i`` arguments for ``count`` stacks: inventories/local's description, each host its own name and CIDR."""
    hosts = {f"s{i}": {"stack_name": f"seed-s{i}", "stack_vpc_cidr": f"10.{50 + i}.0.0/16"} for i in range(count)}
    group_vars = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    path.write_text(json.dumps({"all": {"children": {"stacks": {"hosts": hosts, "vars": group_vars}}}}))
    return ("-i", "inventories/local", "-i", str(path), "--forks", str(max(5, count)))


def floor_process(url: str, reads_only: bool) -> float:
    """Seconds the floor takes as its own Python process (interpreter start, boto3 import and clients included)."""
    start = time.monotonic()
    subprocess.run([sys.executable, __file__, "--floor", "reads" if reads_only else "creates", "--url", url],
                   check=True, cwd=ROOT)
    return time.monotonic() - start


def set_latency(aws: LocalAWS, ms: float) -> None:
    aws._request("/_localaws/latency", method="POST", body=json.dumps({"ms": ms}).encode())  # pylint: disable=protected-access


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", default="0,40", help="milliseconds per AWS call, comma-separated (default 0,40)")
    parser.add_argument("--stacks", type=int, default=4, help="stacks converged in one run (default 4; 0: skip)")
    parser.add_argument("--floor", choices=["reads", "creates"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor(args.url, reads_only=args.floor == "reads")
        return
    rows = []
    with LocalAWS() as aws:
        env = dict(os.environ, **aws.environment(REGION))
        for ms in (float(m) for m in args.latency.split(",")):
            times = {}
            for strategy in ("linear", "mitogen_linear"):
                aws.reset()
                set_latency(aws, ms)
                full = converge(env, strategy)
                aws.clear_calls()
                noop = converge(env, strategy)
                calls = len(aws.calls())
                times[strategy] = (full, noop, calls)
            aws.clear_calls()
            floor_reads = floor_process(aws.url, reads_only=True)
            read_calls = len(aws.calls())
            aws.reset()
            set_latency(aws, ms)
            floor_creates = floor_process(aws.url, reads_only=False)
            many = None
            if args.stacks:
                aws.reset()
                set_latency(aws, ms)
                with tempfile.TemporaryDirectory() as tmp:
                    many = converge(env, "mitogen_linear", stacks_inventory(Path(tmp) / "stacks.json", args.stacks))
            rows.append((ms, times, floor_reads, read_calls, floor_creates, many))
    cores = len(os.sched_getaffinity(0))
    for ms, times, floor_reads, read_calls, floor_creates, many in rows:
        print(f"--- {ms:.0f} ms per AWS call --- floor: creates {floor_creates:.2f}s, reads {floor_reads:.2f}s "
              f"({read_calls} calls), each as its own process")
        for strategy, (full, noop, calls) in times.items():
            print(f"[{strategy:<14}] full converge      {full.wall:7.1f}s   ratio {full.wall / floor_creates:6.1f}x "
                  f"(goal <= 3x)   CPU {full.cpu:5.1f}s")
            print(f"[{strategy:<14}] no-op re-converge  {noop.wall:7.1f}s   ratio {noop.wall / floor_reads:6.1f}x "
                  f"(goal <= 3x, stretch 2x)   CPU {noop.cpu:5.1f}s   AWS calls {calls} (goal <= 70)")
        (full, noop, _), (mfull, mnoop, _) = times["linear"], times["mitogen_linear"]
        print(f"mitogen_linear / linear: full converge {mfull.wall / full.wall:.2f}x, no-op {mnoop.wall / noop.wall:.2f}x")
        if many is not None:
            # N stacks need N times one stack's CPU; on this machine's cores that alone takes this long
            bound = max(1.0, args.stacks * mfull.cpu / (cores * mfull.wall))
            print(f"[mitogen_linear] {args.stacks} stacks in one run {many.wall:7.1f}s   ratio {many.wall / mfull.wall:6.2f}x "
                  f"one stack's full converge (goal <= 1.5x; {args.stacks} x its CPU on {cores} cores: >= {bound:.2f}x)")


if __name__ == "__main__":
    main()
