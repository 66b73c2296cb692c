"""One GCP region of the platform: its own explicit provider, subnet, GKE cluster and node pools."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec, Region, RegionAddresses
from components.compute import RegionalCompute


class GcpRegion(RegionalCompute):
    """``aiplatform:gcp:Region``: everything compute-related the platform declares in one GCP region."""

    def __init__(self, spec: PlatformSpec, region: Region, addresses: RegionAddresses,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplatform:gcp:Region", spec, region, addresses, opts)
        name = self.child_name
        self.cloud_provider = gcp.Provider(name, project=spec.gcp_project, region=region.region,
                                           default_labels=spec.gcp_labels(), opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=self.cloud_provider)
        self.network = gcp.compute.Network(f"{name}-vpc", auto_create_subnetworks=False, routing_mode="GLOBAL",
                                           opts=child)
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-nodes", region=region.region, network=self.network.id, ip_cidr_range=str(addresses.nodes),
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="pods", ip_cidr_range=str(addresses.pods)),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="services",
                                                           ip_cidr_range=str(addresses.services)),
            ],
            opts=child)
        self.register_outputs({"networkId": self.network.id, "subnetId": self.subnet.id})
