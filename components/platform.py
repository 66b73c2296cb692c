"""Wire the whole platform from one spec: per region compute and storage, then interconnect and workloads."""
from __future__ import annotations

import pulumi

from blueprint.spec import Cloud, PlatformSpec, address_plan
from components.compute import RegionalCompute
from components.interconnect.interconnect import Interconnect
from components.k8s import deploy_workloads
from components.storage.tiered_storage import TieredStorage


def _compute_class(cloud: Cloud) -> type[RegionalCompute]:
    """One class per cloud behind one interface; imported lazily so an AWS-only stack never loads GCP."""
    if cloud is Cloud.aws:
        from components.aws.region import AwsRegion
        return AwsRegion
    from components.gcp.region import GcpRegion
    return GcpRegion


def build_platform(spec: PlatformSpec) -> dict[str, RegionalCompute]:
    """Declare every resource of the stack. The spec is already validated, so nothing here can half-fail."""
    addresses = address_plan(spec)
    computes: dict[str, RegionalCompute] = {}
    storages: dict[str, TieredStorage] = {}
    for region in spec.regions:
        compute = _compute_class(region.cloud)(spec, region, addresses[region.key])
        computes[region.key] = compute
        if region.storage is not None:
            storages[region.key] = TieredStorage(spec, region, compute)
    if len(spec.regions) > 1:
        Interconnect(spec, addresses, computes)
    # Seam: pass WorkloadIdentities(...) from the storage issue's access.py (IRSA role / GSA per region) here.
    deploy_workloads(spec, computes)
    pulumi.export("environment", spec.environment)
    pulumi.export("regions", {key: {"cloud": c.region.cloud.value, "cidr": str(c.addresses.block),
                                    "gpuPools": sorted(p.name for p in c.region.gpu_pools)}
                              for key, c in computes.items()})
    return computes
