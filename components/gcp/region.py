"""One GCP region of the platform: its own explicit provider, subnet on the shared VPC, GKE cluster and pools."""
from __future__ import annotations

import pulumi

from blueprint.spec import PlatformSpec, Region, RegionAddresses
from components.access.path import DeployerPath
from components.compute import RegionalCompute
from components.gcp.cluster import GkeCluster
from components.gcp.gpu_node_pool import GpuNodePool
from components.gcp.kms import key_ring, rotating_key
from components.gcp.network import GcpNetwork, GcpRegionalNetwork
from components.gcp.project import GcpProject
from components.gcp.system_pool import SystemNodePool


class GcpRegion(RegionalCompute):
    """``aiplatform:gcp:Region``: everything compute-related the platform declares in one GCP region."""

    def __init__(self, spec: PlatformSpec, region: Region, addresses: RegionAddresses, network: GcpNetwork,
                 project: GcpProject, opts: pulumi.ResourceOptions | None = None):
        """``project``: the stack's project bootstrap (APIs and service agents); every resource here waits for it
        through the region's provider."""
        super().__init__("aiplatform:gcp:Region", spec, region, addresses, opts)
        name = self.child_name
        self.project = project
        self.cloud_provider = project.provider(name, self, region=region.region, default_labels=spec.gcp_labels())
        child = pulumi.ResourceOptions(parent=self, provider=self.cloud_provider)

        self.key_ring = key_ring(f"{name}-keys", spec, region.region, child)
        etcd_key, etcd_grants = rotating_key(f"{name}-gke-etcd", self.key_ring, spec,
                                             [project.agents["container.googleapis.com"]], child)
        self.network = GcpRegionalNetwork(name, spec, region, addresses, network, child)
        self.network_id = network.network.id
        self.network_name = network.network.name  # Filestore takes the bare name (components/storage/gcp_storage.py)
        self.cloud_router = self.network.router

        gke = GkeCluster(f"{name}-gke", spec, region, addresses, network_id=network.network.id,
                         subnet_id=self.network.subnet.id, etcd_key=etcd_key, etcd_key_grants=etcd_grants,
                         deployer_path=lambda cluster: DeployerPath(
                             f"{name}-deployer", spec, region, gke_cluster=cluster,
                             network_name=network.network.name, opts=child),
                         opts=child)
        self.cluster_name = gke.cluster.name
        self.workload_identity_pool = gke.workload_pool
        self.k8s_provider = gke.k8s_provider
        email = gke.node_service_account_email
        self.system_pool = SystemNodePool(f"{name}-system", spec, region, cluster=gke.cluster,
                                          service_account_email=email, opts=child).node_pool
        for pool in region.gpu_pools:
            self.gpu_pools[pool.name] = GpuNodePool(f"{name}-{pool.name}", spec, region, pool, cluster=gke.cluster,
                                                    service_account_email=email, opts=child)
        self.register_outputs({"clusterName": self.cluster_name, "subnetId": self.network.subnet.id})
