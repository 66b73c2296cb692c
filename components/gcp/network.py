"""GCP networking: one global VPC for the stack, and per region a subnet, Cloud Router + NAT and firewall rules.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec, Region, RegionAddresses
from blueprint.spec.names import GCLB_RANGES
from components.gcp.project import GcpProject

CONTROL_PLANE_PORTS = ["443", "10250", "8443", "9443", "15017"]  # API, kubelet, admission webhooks


class GcpNetwork(pulumi.ComponentResource):
    """``aiplatform:gcp:Network``: the stack's global VPC, with its own project-scoped provider."""

    network: gcp.compute.Network
    provider: gcp.Provider

    def __init__(self, spec: PlatformSpec, project: GcpProject, opts: pulumi.ResourceOptions | None = None):
        name = f"gcp-{spec.environment}"
        super().__init__("aiplatform:gcp:Network", name, None, opts)
        self.provider = project.provider(f"{name}-global", self, default_labels=spec.gcp_labels())
        child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.network = gcp.compute.Network(f"{name}-vpc", name=f"{spec.prefix}",
                                           auto_create_subnetworks=False, routing_mode="GLOBAL",
                                           delete_default_routes_on_create=False, opts=child)
        gcp.compute.Firewall(f"{name}-allow-private", network=self.network.id, direction="INGRESS", priority=1000,
                             source_ranges=[spec.network.supernet],
                             allows=[{"protocol": "tcp"}, {"protocol": "udp"}, {"protocol": "icmp"}],
                             description="Private traffic between the platform's regions and clouds", opts=child)
        gcp.compute.Firewall(f"{name}-allow-health-checks", network=self.network.id, direction="INGRESS",
                             priority=1000, source_ranges=list(GCLB_RANGES), allows=[{"protocol": "tcp"}],
                             description="Google Cloud load balancer health checks", opts=child)
        gcp.compute.Firewall(f"{name}-deny-all-ingress", network=self.network.id, direction="INGRESS",
                             priority=65534, source_ranges=["0.0.0.0/0"], denies=[{"protocol": "all"}],
                             log_config={"metadata": "INCLUDE_ALL_METADATA"},
                             description="Everything not allowed above is dropped and logged", opts=child)
        self.register_outputs({"networkId": self.network.id})


class GcpRegionalNetwork(pulumi.ComponentResource):
    """``aiplatform:gcp:RegionalNetwork``: a region's subnet (pods/services ranges), router, NAT, control-plane rule."""

    subnet: gcp.compute.Subnetwork

    def __init__(self, name: str, spec: PlatformSpec, region: Region, addresses: RegionAddresses,
                 network: GcpNetwork, opts: pulumi.ResourceOptions):
        super().__init__("aiplatform:gcp:RegionalNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=opts.provider)
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-nodes", name=f"{spec.environment}-{region.region}-nodes", region=region.region,
            network=network.network.id, ip_cidr_range=str(addresses.nodes), private_ip_google_access=True,
            secondary_ip_ranges=[{"range_name": "pods", "ip_cidr_range": str(addresses.pods)},
                                 {"range_name": "services", "ip_cidr_range": str(addresses.services)}],
            log_config={"aggregation_interval": "INTERVAL_1_MIN", "flow_sampling": 0.5,
                        "metadata": "INCLUDE_ALL_METADATA"},
            opts=child)
        router = gcp.compute.Router(f"{name}-router", region=region.region, network=network.network.id,
                                    bgp={"asn": spec.network.gcp_asn}, opts=child)
        gcp.compute.RouterNat(f"{name}-nat", router=router.name, region=region.region,
                              nat_ip_allocate_option="AUTO_ONLY",
                              source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
                              subnetworks=[{"name": self.subnet.id, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
                              log_config={"enable": True, "filter": "ERRORS_ONLY"}, opts=child)
        gcp.compute.Firewall(f"{name}-allow-control-plane", network=network.network.id, direction="INGRESS",
                             priority=1000, source_ranges=[str(addresses.control_plane)],
                             allows=[{"protocol": "tcp", "ports": CONTROL_PLANE_PORTS}],
                             description=f"GKE control plane of {region.region} to its nodes", opts=child)
        self.router = router
        self.register_outputs({"subnetId": self.subnet.id})
