"""Wire the whole platform from one spec: per region compute and storage, then interconnect and workloads."""
from __future__ import annotations

import pulumi

from blueprint.spec import Cloud, PlatformSpec, address_plan
from components.compute import RegionalCompute
from components.interconnect.interconnect import Interconnect
from components.storage.tiered_storage import TieredStorage


def _regions(spec: PlatformSpec) -> dict[str, RegionalCompute]:
    """One class per cloud behind one interface; each cloud is imported only when the stack uses it."""
    addresses = address_plan(spec)
    computes: dict[str, RegionalCompute] = {}
    gcp_network = None
    for region in spec.regions:
        if region.cloud is Cloud.aws:
            from components.aws.region import AwsRegion
            computes[region.key] = AwsRegion(spec, region, addresses[region.key])
        else:
            from components.gcp.network import GcpNetwork
            from components.gcp.region import GcpRegion
            gcp_network = gcp_network or GcpNetwork(spec)  # one global VPC shared by every GCP region
            computes[region.key] = GcpRegion(spec, region, addresses[region.key], gcp_network)
    return computes


def build_platform(spec: PlatformSpec) -> dict[str, RegionalCompute]:
    """Declare every resource of the stack. The spec is already validated, so nothing here can half-fail."""
    computes = _regions(spec)
    storages: dict[str, TieredStorage] = {}
    for region in spec.regions:
        if region.storage is not None:
            storages[region.key] = TieredStorage(spec, region, computes[region.key])
    if len(spec.regions) > 1:
        Interconnect(spec, address_plan(spec), computes)
    pulumi.export("environment", spec.environment)
    pulumi.export("regions", {key: {"cloud": c.region.cloud.value, "cidr": str(c.addresses.block),
                                    "gpuPools": sorted(p.name for p in c.region.gpu_pools)}
                              for key, c in computes.items()})
    return computes
