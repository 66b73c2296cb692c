"""One AWS region of the platform: its own explicit provider, network, EKS cluster and node pools."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec, Region, RegionAddresses
from components.compute import RegionalCompute


class AwsRegion(RegionalCompute):
    """``aiplatform:aws:Region``: everything compute-related the platform declares in one AWS region."""

    def __init__(self, spec: PlatformSpec, region: Region, addresses: RegionAddresses,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplatform:aws:Region", spec, region, addresses, opts)
        name = self.child_name
        self.cloud_provider = aws.Provider(name, region=region.region, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=self.cloud_provider)
        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=str(addresses.block), enable_dns_hostnames=True,
                               enable_dns_support=True, tags=spec.aws_tags(Name=f"{spec.environment}-{region.region}"),
                               opts=child)
        self.register_outputs({"vpcId": self.vpc.id})
