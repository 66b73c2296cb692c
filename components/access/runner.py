"""``aiplatform:access:DeployerRunner``: the subnet self-hosted CI runners run `pulumi up` from, in one AWS VPC, with
its own route table (the interconnect adds routes to the other regions) and its own NAT gateway, whose Elastic IP is
the deployer's only internet address (what public-allowlist EKS endpoints admit)."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec, Region, RegionAddresses
from blueprint.spec.names import ROLE_TAG

ROLE = "deployer-runner"


class DeployerRunner(pulumi.ComponentResource):
    subnet: aws.ec2.Subnet
    route_table: aws.ec2.RouteTable
    egress_cidrs: list[pulumi.Output[str]]

    def __init__(self, name: str, spec: PlatformSpec, region: Region, addresses: RegionAddresses, *,
                 vpc_id: pulumi.Input[str], public_subnet_id: pulumi.Input[str], zone: str,
                 internet_gateway: pulumi.Resource, opts: pulumi.ResourceOptions):
        super().__init__("aiplatform:access:DeployerRunner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=opts.provider)
        tags = spec.aws_tags
        self.cidr = str(addresses.runner)
        self.subnet = aws.ec2.Subnet(f"{name}-subnet", vpc_id=vpc_id, availability_zone=zone, cidr_block=self.cidr,
                                     map_public_ip_on_launch=False,
                                     tags=tags(Name=f"{name}-subnet", **{ROLE_TAG: ROLE}), opts=child)
        eip = aws.ec2.Eip(f"{name}-nat", domain="vpc", tags=tags(Name=f"{name}-nat", **{ROLE_TAG: ROLE}), opts=child)
        nat = aws.ec2.NatGateway(f"{name}-nat", allocation_id=eip.id, subnet_id=public_subnet_id,
                                 connectivity_type="public", tags=tags(Name=f"{name}-nat", **{ROLE_TAG: ROLE}),
                                 opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                                     depends_on=[internet_gateway])))
        # Standalone routes only: the interconnect adds TGW routes to this table too (see components/aws/network.py).
        self.route_table = aws.ec2.RouteTable(f"{name}-routes", vpc_id=vpc_id,
                                              tags=tags(Name=f"{name}-routes", **{ROLE_TAG: ROLE}), opts=child)
        aws.ec2.Route(f"{name}-default", route_table_id=self.route_table.id, destination_cidr_block="0.0.0.0/0",
                      nat_gateway_id=nat.id, opts=child)
        aws.ec2.RouteTableAssociation(f"{name}-subnet", subnet_id=self.subnet.id, route_table_id=self.route_table.id,
                                      opts=child)
        self.egress_cidrs = [eip.public_ip.apply(lambda ip: f"{ip}/32")]
        self.register_outputs({"subnetId": self.subnet.id, "cidr": self.cidr, "egressIp": eip.public_ip})
