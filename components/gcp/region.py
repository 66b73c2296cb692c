"""One GCP region of the platform: its own explicit provider, subnet on the shared VPC, GKE cluster and pools."""
from __future__ import annotations

from typing import Any

import pulumi

from blueprint.spec import Cloud, PlatformSpec, Region, RegionAddresses
from blueprint.spec.names import GCLB_RANGES, GKE_WI_ANNOTATION
from components.access.path import DeployerPath
from components.compute import RegionalCompute
from components.gcp.cluster import GkeCluster
from components.gcp.gpu_node_pool import GpuNodePool
from components.gcp.kms import key_ring, rotating_key
from components.gcp.network import GcpNetwork, GcpRegionalNetwork
from components.gcp.project import GcpProject
from components.gcp.system_pool import SystemNodePool
from components.k8s.gateway import GKE_GATEWAY_CLASS
from components.k8s.global_routing import NEAREST_AWS_REGION
from components.k8s.serving import WAIT_FOR_NEGS, gke_health_check, neg_name
from workloads.contract import SERVE_PORT

# GKE's metadata server, which hands out Workload Identity tokens: 169.254.169.252:988 since GKE 1.21, and
# 169.254.169.254:80 on Dataplane V2 (the clusters' datapath, components/gcp/cluster.py).
GKE_METADATA_EGRESS = (("169.254.169.252/32", 988), ("169.254.169.254/32", 80))
GLOBAL_LB = "gcp-global-lb"  # the global routing mode whose load balancer reads the serving NEGs directly


class GcpRegion(RegionalCompute):
    """``aiplatform:gcp:Region``: everything compute-related the platform declares in one GCP region."""

    cloud = Cloud.gcp
    # The Workload Identity pool, "<project>.svc.id.goog", available once the cluster exists.
    workload_identity_pool: pulumi.Output[str]
    # The region's Cloud Router (BGP ASN network.gcpAsn), which the interconnect's VPN/Interconnect peers use.
    cloud_router: pulumi.CustomResource
    network_name: pulumi.Output[str]

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

    def identity_annotations(self, identity: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        return {GKE_WI_ANNOTATION: identity}

    def identity_egress(self) -> list[dict[str, Any]]:
        return [{"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"protocol": "TCP", "port": port}]}
                for cidr, port in GKE_METADATA_EGRESS]

    @property
    def gateway_class(self) -> str:
        return GKE_GATEWAY_CLASS

    def gateway_peers(self) -> list[dict[str, Any]]:
        return [{"ipBlock": {"cidr": c}} for c in GCLB_RANGES]

    def fronted_by_gateway(self, global_routing: str) -> bool:
        return global_routing != GLOBAL_LB

    def answers_global_name(self, global_routing: str) -> bool:
        return global_routing in ("route53-latency", GLOBAL_LB)

    def serving_backend(self, spec: PlatformSpec, track: str, service: str, gateway: bool, resource_name: str,
                        opts: pulumi.ResourceOptions) -> dict[str, str] | None:
        """Under the global load balancer the Service is created once GKE's NEG controller has created its NEGs
        (it then writes neg-status), which the load balancer's backends name (components/k8s/global_routing.py);
        behind a Gateway, its load balancer's health check."""
        if gateway:
            gke_health_check(resource_name, service, opts)
        serve = spec.workloads.serving
        if serve is None or serve.global_routing != GLOBAL_LB:
            return None
        return {"cloud.google.com/neg": f'{{"exposed_ports": {{"{SERVE_PORT}": {{"name": "{neg_name(spec, track)}"}}}}}}',
                "pulumi.com/waitFor": WAIT_FOR_NEGS}

    @property
    def latency_region(self) -> str:
        return NEAREST_AWS_REGION.get(self.region.region, "us-east-1")

    @property
    def monitors_gpu_exporter(self) -> bool:
        return False  # GKE's managed DCGM metrics (monitoring_config, components/gcp/cluster.py)
