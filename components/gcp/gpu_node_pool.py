"""``aiplatform:gcp:GpuNodePool``: a GKE node pool of GPU machines, from the same ``GpuPool`` spec as on AWS.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import CapacityType, Cloud, GpuPool, PlatformSpec, Region
from components.compute import GpuNodePoolBase



def node_locations(spec: PlatformSpec, pool: GpuPool, region: Region) -> list[str]:
    """The pool's zones, else the zones the region is built in (the system pool's), not every catalog zone."""
    zones = list(pool.zones or spec.zones(region))
    return zones[:1] if pool.uses_compact_placement(Cloud.gcp) else zones


def initial_nodes_per_zone(desired: int, maximum: int, zones: int, *, round_up: bool) -> int:
    """GKE creates ``initial_node_count`` nodes in *each* zone; spread the spec's total, never past its max.

    GPU pools round down (no GPU node beyond the desired size; the autoscaler adds up to ``total_min`` and to
    demand), the system pool rounds up (add-ons need somewhere to run from the start).
    """
    per_zone = -(-desired // zones) if round_up else desired // zones
    return min(per_zone, maximum // zones)


def reservation_affinity(pool: GpuPool) -> dict:
    if pool.capacity_type is CapacityType.reserved:
        return {"consume_reservation_type": "SPECIFIC_RESERVATION",
                "key": "compute.googleapis.com/reservation-name", "values": [pool.reservation_id]}
    return {"consume_reservation_type": "NO_RESERVATION"}


class GpuNodePool(GpuNodePoolBase):
    node_pool: gcp.container.NodePool

    def __init__(self, name: str, spec: PlatformSpec, region: Region, pool: GpuPool, *,
                 cluster: gcp.container.Cluster, service_account_email: pulumi.Input[str],
                 opts: pulumi.ResourceOptions):
        super().__init__("aiplatform:gcp:GpuNodePool", name, pool, Cloud.gcp, opts)
        facts = pool.facts(Cloud.gcp)
        compact = pool.uses_compact_placement(Cloud.gcp)
        zones = node_locations(spec, pool, region)
        self.node_pool = gcp.container.NodePool(
            name, name=pool.name, cluster=cluster.id, location=region.region,
            node_locations=zones,
            # total_* bounds count nodes across zones, so min/max mean what they mean on AWS.
            autoscaling={"total_min_node_count": pool.scaling.min, "total_max_node_count": pool.scaling.max,
                         "location_policy": "ANY" if pool.capacity_type is CapacityType.spot else "BALANCED"},
            initial_node_count=initial_nodes_per_zone(pool.scaling.desired, pool.scaling.max, len(zones),
                                                      round_up=False),
            management={"auto_repair": True, "auto_upgrade": True},
            placement_policy={"type": "COMPACT"} if compact else None,
            upgrade_settings={"strategy": "SURGE", "max_surge": 1, "max_unavailable": 0},
            node_config={
                "machine_type": pool.instance_type,
                "guest_accelerators": [{"type": facts.gke_accelerator, "count": facts.gpus,
                                        "gpu_driver_installation_config": {"gpu_driver_version": "LATEST"}}],
                "spot": pool.capacity_type is CapacityType.spot,
                "reservation_affinity": reservation_affinity(pool),
                "taints": [{"key": pool.taint.key, "value": pool.taint.value,
                            "effect": pool.taint.cloud_effect}],
                "labels": pool.labels,
                "resource_labels": spec.gcp_labels(pool=pool.name),
                "disk_type": facts.boot_disk, "disk_size_gb": pool.disk_size_gb,
                "image_type": "COS_CONTAINERD",
                "gvnic": {"enabled": True},
                "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                "workload_metadata_config": {"mode": "GKE_METADATA"},
                "service_account": service_account_email,
                "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
            },
            opts=pulumi.ResourceOptions(parent=self, provider=opts.provider,
                                        ignore_changes=["initialNodeCount"]))
        self.register_outputs({"nodePoolName": self.node_pool.name})
