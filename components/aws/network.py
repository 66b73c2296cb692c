"""``aiplatform:aws:Network``: one region's VPC, laid out by the address planner.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from blueprint.spec.quotas import nat_gateway_zones
from blueprint.spec import PlatformSpec, Region, RegionAddresses
from blueprint.spec.names import cluster_subnet_tag
from components.compute import after

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "eks", "logs", "ec2")


class AwsNetwork(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    private_subnets: list[aws.ec2.Subnet]
    public_subnets: list[aws.ec2.Subnet]
    private_route_tables: list[aws.ec2.RouteTable]
    zones: list[str]

    def __init__(self, name: str, spec: PlatformSpec, region: Region, addresses: RegionAddresses,
                 log_key: aws.kms.Key, opts: pulumi.ResourceOptions):
        super().__init__("aiplatform:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=opts.provider)
        tags = spec.aws_tags
        self.zones = list(region.facts.zones[: spec.zone_count(region)])
        cluster_tag = cluster_subnet_tag(spec, region)

        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=str(addresses.block), enable_dns_hostnames=True,
                               enable_dns_support=True, tags=tags(Name=f"{spec.environment}-{region.region}"),
                               opts=child)
        # The VPC's default security group, adopted with no rules: nothing may use it (policy vpc-default-sg-closed)
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=self.vpc.id,
                                     tags=tags(Name=f"{name}-default-unused"), opts=child)
        self.igw = igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags=tags(), opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public", vpc_id=self.vpc.id,
                                       routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
                                       tags=tags(Name=f"{name}-public"), opts=child)

        public_subnets = []
        for i, zone in enumerate(self.zones):
            subnet = aws.ec2.Subnet(f"{name}-public-{zone}", vpc_id=self.vpc.id, availability_zone=zone,
                                    cidr_block=str(addresses.public_subnets[i]), map_public_ip_on_launch=False,
                                    tags=tags(Name=f"{name}-public-{zone}", **{"kubernetes.io/role/elb": "1",
                                                                              cluster_tag: "shared"}),
                                    opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=subnet.id, route_table_id=public_rt.id,
                                          opts=child)
            public_subnets.append(subnet)
        self.public_subnets = public_subnets

        nat_zones = list(nat_gateway_zones(spec, region))  # per zone in production, one otherwise
        nats = []
        for i, zone in enumerate(nat_zones):
            eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags=tags(Name=f"{name}-nat-{zone}"), opts=child)
            nats.append(aws.ec2.NatGateway(f"{name}-nat-{zone}", allocation_id=eip.id, subnet_id=public_subnets[i].id,
                                           connectivity_type="public", tags=tags(Name=f"{name}-nat-{zone}"),
                                           opts=pulumi.ResourceOptions(parent=self, provider=opts.provider,
                                                                       depends_on=[igw])))

        self.private_subnets, self.private_route_tables = [], []
        for i, zone in enumerate(self.zones):
            nat = nats[i] if i < len(nats) else nats[0]
            # Standalone routes only (no inline `routes`): the interconnect adds TGW routes to these tables, and
            # an inline route list would delete them on the next update.
            rt = aws.ec2.RouteTable(f"{name}-private-{zone}", vpc_id=self.vpc.id,
                                    tags=tags(Name=f"{name}-private-{zone}"), opts=child)
            aws.ec2.Route(f"{name}-private-{zone}-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                          nat_gateway_id=nat.id, opts=child)
            subnet = aws.ec2.Subnet(f"{name}-private-{zone}", vpc_id=self.vpc.id, availability_zone=zone,
                                    cidr_block=str(addresses.private_subnets[i]), map_public_ip_on_launch=False,
                                    tags=tags(Name=f"{name}-private-{zone}",
                                              **{"kubernetes.io/role/internal-elb": "1", cluster_tag: "shared"}),
                                    opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=subnet.id, route_table_id=rt.id,
                                          opts=child)
            self.private_subnets.append(subnet)
            self.private_route_tables.append(rt)

        self._endpoints(name, spec, region, addresses, child)
        self._flow_logs(name, spec, log_key, child)
        self.register_outputs({"vpcId": self.vpc.id, "privateSubnetIds": [s.id for s in self.private_subnets]})

    def _endpoints(self, name: str, spec: PlatformSpec, region: Region, addresses: RegionAddresses,
                   child: pulumi.ResourceOptions) -> None:
        aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=self.vpc.id, service_name=f"com.amazonaws.{region.region}.s3",
                            vpc_endpoint_type="Gateway", route_table_ids=[rt.id for rt in self.private_route_tables],
                            tags=spec.aws_tags(Name=f"{name}-s3"), opts=child)
        sg = aws.ec2.SecurityGroup(f"{name}-endpoints", vpc_id=self.vpc.id,
                                   description="HTTPS from inside the VPC to interface endpoints",
                                   ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443,
                                             "cidr_blocks": [str(addresses.block)]}],
                                   tags=spec.aws_tags(Name=f"{name}-endpoints"), opts=child)
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(f"{name}-{service.replace('.', '-')}", vpc_id=self.vpc.id,
                                service_name=f"com.amazonaws.{region.region}.{service}",
                                vpc_endpoint_type="Interface", private_dns_enabled=True,
                                subnet_ids=[s.id for s in self.private_subnets], security_group_ids=[sg.id],
                                tags=spec.aws_tags(Name=f"{name}-{service}"), opts=child)

    def _flow_logs(self, name: str, spec: PlatformSpec, log_key: aws.kms.Key, child: pulumi.ResourceOptions) -> None:
        group = aws.cloudwatch.LogGroup(f"{name}-flow-logs", retention_in_days=90 if spec.is_production else 14,
                                        kms_key_id=log_key.arn, tags=spec.aws_tags(), opts=child)
        role = aws.iam.Role(f"{name}-flow-logs", assume_role_policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                           "Action": "sts:AssumeRole"}]}), tags=spec.aws_tags(), opts=child)
        policy = aws.iam.RolePolicy(f"{name}-flow-logs", role=role.id, policy=group.arn.apply(lambda arn: json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow",
                           "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                           "Resource": [arn, f"{arn}:*"]}]})), opts=child)
        # the flow log delivers as the role from its first minute: only once the role may write the group
        aws.ec2.FlowLog(f"{name}-flow-logs", vpc_id=self.vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                        log_destination=group.arn, iam_role_arn=after(role.arn, [policy]), max_aggregation_interval=60,
                        tags=spec.aws_tags(), opts=child)
