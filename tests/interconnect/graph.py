"""Read the private-path graph back out of a plan: only planned resources and their dependencies, never the spec.

An edge between two regions exists when the resources of a working link are all planned and wired to each other:

* AWS-AWS: a TGW peering attachment from one region's TGW to the other's, and an accepter for it planned with the
  peer region's provider;
* AWS-GCP: two VPN connections on the AWS TGW whose customer gateways take their addresses from one GCP HA VPN
  gateway, and four GCP tunnels on that gateway to an external gateway built from those connections, each with a
  Cloud Router interface and BGP peer;
* GCP-GCP: subnets of both regions on the same VPC network.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from blueprint.plan import Plan, PlannedResource

T = "aws:ec2transitgateway/"
TGW, PEERING, ACCEPTER = (f"{T}transitGateway:TransitGateway", f"{T}peeringAttachment:PeeringAttachment",
                          f"{T}peeringAttachmentAccepter:PeeringAttachmentAccepter")
VPC_ATTACHMENT, TGW_ROUTE_TABLE = f"{T}vpcAttachment:VpcAttachment", f"{T}routeTable:RouteTable"
ASSOCIATION, PROPAGATION = (f"{T}routeTableAssociation:RouteTableAssociation",
                            f"{T}routeTablePropagation:RouteTablePropagation")
TGW_ROUTE = f"{T}route:Route"
VPC, VPC_ROUTE, VPC_ROUTE_TABLE = "aws:ec2/vpc:Vpc", "aws:ec2/route:Route", "aws:ec2/routeTable:RouteTable"
CGW, VPN = "aws:ec2/customerGateway:CustomerGateway", "aws:ec2/vpnConnection:VpnConnection"
HA_GW, EXT_GW = "gcp:compute/haVpnGateway:HaVpnGateway", "gcp:compute/externalVpnGateway:ExternalVpnGateway"
TUNNEL, IFACE, PEER = ("gcp:compute/vPNTunnel:VPNTunnel", "gcp:compute/routerInterface:RouterInterface",
                       "gcp:compute/routerPeer:RouterPeer")
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"


def dep(r: PlannedResource, prop: str) -> list[str]:
    return r.property_dependencies.get(prop, [])


@dataclass
class Graph:
    plan: Plan
    edges: dict[frozenset, str] = field(default_factory=dict)  # {a, b} -> kind
    region_of: dict[str, str] = field(default_factory=dict)  # resource urn -> region key
    blocks: dict[str, list[ipaddress.IPv4Network]] = field(default_factory=dict)  # region -> planned ranges

    def linked(self, a: str, b: str) -> bool:
        return frozenset((a, b)) in self.edges

    def tgw(self, region: str) -> PlannedResource:
        (found,) = [r for r in self.plan.of_type(TGW) if self.region_of[r.urn] == region]
        return found


def aws_regions_by_provider(plan: Plan) -> dict[str, str]:
    return {p.urn: f"aws/{p.inputs['region']}" for p in plan.of_type("pulumi:providers:aws")}


def build(plan: Plan) -> Graph:
    g = Graph(plan)
    aws_region = aws_regions_by_provider(plan)
    for r in plan:
        if r.type.startswith("aws:") and r.provider_urn in aws_region:
            g.region_of[r.urn] = aws_region[r.provider_urn]
        elif r.type.startswith("gcp:") and isinstance(r.inputs.get("region"), str):
            g.region_of[r.urn] = f"gcp/{r.inputs['region']}"
    for vpc in plan.of_type(VPC):
        g.blocks.setdefault(g.region_of[vpc.urn], []).append(ipaddress.ip_network(vpc.inputs["cidrBlock"]))
    for sn in plan.of_type(SUBNETWORK):
        nets = [sn.inputs["ipCidrRange"]] + [s["ipCidrRange"] for s in sn.inputs.get("secondaryIpRanges", [])]
        g.blocks.setdefault(g.region_of[sn.urn], []).extend(ipaddress.ip_network(n) for n in nets)

    accepted = {}
    for acc in plan.of_type(ACCEPTER):
        for urn in dep(acc, "transitGatewayAttachmentId"):
            accepted[urn] = g.region_of[acc.urn]
    for p in plan.of_type(PEERING):
        (mine,), (theirs,) = dep(p, "transitGatewayId"), dep(p, "peerTransitGatewayId")
        a, b = g.region_of[mine], g.region_of[theirs]
        if a == g.region_of[p.urn] and accepted.get(p.urn) == b == f"aws/{p.inputs['peerRegion']}":
            g.edges[frozenset((a, b))] = "tgw-peering"

    for gw in plan.of_type(HA_GW):
        gcp = g.region_of[gw.urn]
        cgws = {c.urn for c in plan.of_type(CGW) if gw.urn in dep(c, "ipAddress")}
        conns = [v for v in plan.of_type(VPN) if set(dep(v, "customerGatewayId")) & cgws]
        for tgw in plan.of_type(TGW):
            on_tgw = [v for v in conns if tgw.urn in dep(v, "transitGatewayId")]
            if len({c for v in on_tgw for c in dep(v, "customerGatewayId")}) != 2:
                continue
            ext = [e for e in plan.of_type(EXT_GW) if {v.urn for v in on_tgw} <= set(dep(e, "interfaces"))]
            tunnels = [t for t in plan.of_type(TUNNEL) if gw.urn in dep(t, "vpnGateway")
                       and ext and ext[0].urn in dep(t, "peerExternalGateway")]
            ifaces = [i for i in plan.of_type(IFACE) if {t.urn for t in tunnels} & set(dep(i, "vpnTunnel"))]
            peers = [p for p in plan.of_type(PEER) if {i.urn for i in ifaces} & set(dep(p, "interface"))]
            if len(tunnels) == len(ifaces) == len(peers) == 4:
                g.edges[frozenset((g.region_of[tgw.urn], gcp))] = "ha-vpn"

    by_network: dict[str, set[str]] = {}
    for sn in plan.of_type(SUBNETWORK):
        for net in dep(sn, "network"):
            by_network.setdefault(net, set()).add(g.region_of[sn.urn])
    for regions in by_network.values():
        for a in regions:
            for b in regions - {a}:
                g.edges[frozenset((a, b))] = "shared-vpc"
    return g
