"""``aiplatform:network:Interconnect``: private paths between every region of the stack, per ``network.topology``.
Notes: docs/architecture.md, "Interconnect"."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from blueprint.spec import AddressPlan, Cloud, PlatformSpec
from blueprint.spec.topology import HA_VPN, TGW_PEERING, links, outside_supernet, peers, reachable_prefixes
from components.compute import RegionalCompute
from components.interconnect.admission import RemoteAdmission
from components.interconnect.dedicated import DedicatedLinks
from components.interconnect.dns import PrivateDns
from components.interconnect.google_access import PrivateGoogleAccess
from components.interconnect.transit import TransitHub, TransitPeering
from components.interconnect.vpn import GcpVpnEndpoint, HaVpnLink


class Interconnect(pulumi.ComponentResource):
    def __init__(self, spec: PlatformSpec, addresses: AddressPlan, regions: dict[str, RegionalCompute],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplatform:network:Interconnect", f"{spec.environment}-interconnect", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.links = links(spec)
        self.hubs = {}
        if any(r.cloud is Cloud.aws for r in spec.regions):
            # A TGW in every AWS region with a link (a lone AWS region in hub-and-spoke still has one).
            linked_aws = sorted({k for l in self.links if l.kind in (TGW_PEERING, HA_VPN) for k in (l.a, l.b)
                                 if k.startswith("aws/")} | ({r.key for r in spec.regions if r.cloud is Cloud.aws}
                                                             if spec.network.dedicated else set()))
            self.hubs = {k: TransitHub(spec, regions[k], child) for k in linked_aws}
            for link in self.links:
                if link.kind == TGW_PEERING:
                    TransitPeering(link.name, self.hubs[link.a], self.hubs[link.b], str(addresses[link.a].block),
                                   str(addresses[link.b].block), child)
            self._admit_remote_prefixes(spec, addresses, regions, child)
        vpn_links = [l for l in self.links if l.kind == HA_VPN]
        if vpn_links:
            keys = random.Provider(f"{spec.environment}-vpn-keys", opts=child)  # explicit, like every provider
            endpoints = {k: GcpVpnEndpoint(regions[k], child) for k in sorted({l.b for l in vpn_links})}
            for link in vpn_links:
                HaVpnLink(link.name, self.hubs[link.a], endpoints[link.b], addresses, keys, child)
            self._gcp_firewall(spec, addresses, regions, vpn_links, child)
        gcp_regions = [regions[r.key] for r in spec.regions if r.cloud is Cloud.gcp]
        if spec.network.dedicated is not None and (spec.network.dedicated.direct_connect_gateway_id
                                                   or spec.network.dedicated.interconnect_attachment_urls):
            DedicatedLinks(spec, addresses, self.hubs, gcp_regions, child)
            if spec.network.dedicated.direct_connect_gateway_id:
                self._route_deployer_peer(spec)
        if gcp_regions:
            PrivateGoogleAccess(spec, gcp_regions[0], child)
        self.dns = PrivateDns(spec, addresses, regions, self.links, child)
        self.reachable_prefixes = reachable_prefixes(spec, addresses)
        links_out = [{"a": l.a, "b": l.b, "kind": l.kind} for l in self.links]
        pulumi.export("reachablePrefixes", self.reachable_prefixes)
        self.register_outputs({"reachablePrefixes": self.reachable_prefixes, "links": links_out,
                               "transitGatewayIds": {k: h.tgw.id for k, h in self.hubs.items()}})

    def _route_deployer_peer(self, spec: PlatformSpec) -> None:
        """A deployer peer network (``access.deployer.peerCidrs``) is reached over Direct Connect: every VPC routes
        it to its TGW, whose egress table learns it by BGP from the Direct Connect attachment (``dedicated.py``)."""
        for hub in self.hubs.values():
            for i, cidr in enumerate(spec.access.deployer.peer_cidrs):
                hub.route_vpc_to_tgw(f"deployer-peer{i}", cidr)

    def _admit_remote_prefixes(self, spec: PlatformSpec, addresses: AddressPlan,
                               regions: dict[str, RegionalCompute], child: pulumi.ResourceOptions) -> None:
        """Every linked AWS region's cluster security group admits the blocks routed to it (``admission.py``)."""
        self.admissions = {}
        for key in self.hubs:
            remote = [(k, str(addresses[k].block)) for k in peers(spec, key)]
            if remote:
                self.admissions[key] = RemoteAdmission(spec, regions[key], remote, child)

    @staticmethod
    def _gcp_firewall(spec: PlatformSpec, addresses: AddressPlan, regions: dict[str, RegionalCompute],
                      vpn_links: list, child: pulumi.ResourceOptions) -> None:
        """The GCP network admits the supernet already; AWS blocks given outside it need their own rule."""
        extra = outside_supernet(spec, addresses, sorted({l.a for l in vpn_links}))
        if not extra:
            return
        edge = regions[vpn_links[0].b]
        gcp.compute.Firewall(
            f"{spec.environment}-allow-interconnect", network=edge.network_id, direction="INGRESS", priority=1000,
            source_ranges=extra, allows=[{"protocol": "tcp"}, {"protocol": "udp"}, {"protocol": "icmp"}],
            description="AWS regions with explicit CIDRs outside the supernet, over the VPN",
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(provider=edge.cloud_provider)))
