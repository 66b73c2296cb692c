"""``aiplatform:gcp:SystemNodePool``: on-demand CPU nodes for add-ons, with the same hardening as GPU pools."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec, Region
from blueprint.spec.names import SYSTEM_POOL, system_nodes
from components.gcp.gpu_node_pool import initial_nodes_per_zone


class SystemNodePool(pulumi.ComponentResource):
    node_pool: gcp.container.NodePool

    def __init__(self, name: str, spec: PlatformSpec, region: Region, *, cluster: gcp.container.Cluster,
                 service_account_email: pulumi.Input[str], opts: pulumi.ResourceOptions):
        super().__init__("aiplatform:gcp:SystemNodePool", name, None, opts)
        pool = region.system_pool
        zones = list(spec.zones(region))
        self.node_pool = gcp.container.NodePool(
            name, name=SYSTEM_POOL, cluster=cluster.id, location=region.region, node_locations=zones,
            autoscaling={"total_min_node_count": pool.scaling.min, "total_max_node_count": pool.scaling.max},
            initial_node_count=initial_nodes_per_zone(pool.scaling.desired, pool.scaling.max, len(zones),
                                                      round_up=True),
            management={"auto_repair": True, "auto_upgrade": True},
            node_config={
                "machine_type": pool.instance_type, "disk_type": "pd-balanced", "disk_size_gb": 50,
                "image_type": "COS_CONTAINERD", "labels": system_nodes(),
                "resource_labels": spec.gcp_labels(pool=SYSTEM_POOL),
                "gvnic": {"enabled": True},
                "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                "workload_metadata_config": {"mode": "GKE_METADATA"},
                "service_account": service_account_email,
                "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
            },
            opts=pulumi.ResourceOptions(parent=self, provider=opts.provider, ignore_changes=["initialNodeCount"]))
        self.register_outputs({"nodePoolName": self.node_pool.name})
