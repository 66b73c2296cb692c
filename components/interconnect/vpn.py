"""HA VPN between a GCP region and an AWS region's Transit Gateway: 99.99% SLA with four tunnels and BGP.
Notes: docs/architecture.md, "Interconnect"."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_random as random

from blueprint.spec import AddressPlan
from components.interconnect.transit import TransitHub

if TYPE_CHECKING:  # the type only: no runtime edge to the region's module
    from components.gcp.region import GcpRegion

CLOUD_DNS_FORWARDING_RANGE = "35.199.192.0/19"
PSK_LENGTH = 48  # AWS: 8-64 characters


class GcpVpnEndpoint(pulumi.ComponentResource):
    """``aiplatform:network:GcpVpnEndpoint``: one GCP region's HA VPN gateway, shared by all its AWS links."""

    def __init__(self, compute: GcpRegion, opts: pulumi.ResourceOptions | None = None):
        name = f"{compute.child_name}-havpn"
        super().__init__("aiplatform:network:GcpVpnEndpoint", name, None, opts)
        self.compute = compute
        self.router = compute.cloud_router
        self.gateway = gcp.compute.HaVpnGateway(
            name, name=f"{compute.spec.prefix}-{compute.region.region}", region=compute.region.region,
            network=compute.network_id, stack_type="IPV4_ONLY",
            opts=pulumi.ResourceOptions(parent=self, provider=compute.cloud_provider))
        self.register_outputs({"haVpnGatewayId": self.gateway.id})


def _psk(name: str, parent: pulumi.Resource, provider: pulumi.ProviderResource) -> pulumi.Output[str]:
    """A tunnel key AWS accepts: letters, digits, '.', '_'; not starting with '0'."""
    pw = random.RandomPassword(name, length=PSK_LENGTH, special=True, override_special="._", min_numeric=1,
                               min_upper=1, min_lower=1, opts=pulumi.ResourceOptions(parent=parent, provider=provider))
    return pulumi.Output.secret(pw.result.apply(lambda s: "k" + s[1:] if s.startswith("0") else s))


class HaVpnLink(pulumi.ComponentResource):
    """``aiplatform:network:HaVpnLink``: four BGP tunnels between one AWS TGW and one GCP HA VPN gateway."""

    def __init__(self, name: str, hub: TransitHub, endpoint: GcpVpnEndpoint, addresses: AddressPlan,
                 random_provider: pulumi.ProviderResource, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplatform:network:HaVpnLink", name, None, opts)
        spec, aws_c, gcp_c = hub.spec, hub.compute, endpoint.compute
        aws_opts = pulumi.ResourceOptions(parent=self, provider=hub.provider)
        gcp_opts = pulumi.ResourceOptions(parent=self, provider=gcp_c.cloud_provider)
        inside = addresses.vpn_inside_cidrs(aws_c.region.key, gcp_c.region.key)
        keys = [_psk(f"{name}-psk{k}", self, random_provider) for k in range(4)]
        connections = []
        for i in range(2):  # one customer gateway + VPN connection per HA VPN interface
            cgw = aws.ec2.CustomerGateway(
                f"{name}-cgw{i}", type="ipsec.1", bgp_asn=str(spec.network.gcp_asn),
                ip_address=endpoint.gateway.vpn_interfaces.apply(lambda ifs, i=i: ifs[i].ip_address if ifs else None),
                tags=spec.aws_tags(Name=f"{name}-cgw{i}"), opts=aws_opts)
            connections.append(aws.ec2.VpnConnection(
                f"{name}-vpn{i}", type="ipsec.1", customer_gateway_id=cgw.id, transit_gateway_id=hub.tgw.id,
                static_routes_only=False,
                tunnel1_inside_cidr=str(inside[2 * i]), tunnel2_inside_cidr=str(inside[2 * i + 1]),
                tunnel1_preshared_key=keys[2 * i], tunnel2_preshared_key=keys[2 * i + 1],
                tunnel1_ike_versions=["ikev2"], tunnel2_ike_versions=["ikev2"],
                tags=spec.aws_tags(Name=f"{name}-vpn{i}"), opts=aws_opts))
        for i, conn in enumerate(connections):
            hub.accept_inbound(f"vpn-{gcp_c.child_name}-{i}", conn.transit_gateway_attachment_id, propagate=True,
                               depends_on=[conn])
        hub.route_vpc_to_tgw(f"to-{gcp_c.child_name}", str(addresses[gcp_c.region.key].block))
        hub.route_vpc_to_tgw("to-cloud-dns", CLOUD_DNS_FORWARDING_RANGE)

        outside = [conn.tunnel1_address if t == 0 else conn.tunnel2_address for conn in connections for t in (0, 1)]
        peer_gw = gcp.compute.ExternalVpnGateway(
            f"{name}-aws", name=f"{spec.prefix}-{name}"[:63], redundancy_type="FOUR_IPS_REDUNDANCY",
            description=f"AWS {aws_c.region.region} TGW tunnels",
            interfaces=[{"id": k, "ip_address": ip} for k, ip in enumerate(outside)], opts=gcp_opts)
        router = endpoint.router
        advertised = [{"range": str(addresses[gcp_c.region.key].block), "description": gcp_c.region.key},
                      {"range": CLOUD_DNS_FORWARDING_RANGE, "description": "Cloud DNS forwarding source"}]
        self.tunnels = []
        for k in range(4):
            tunnel = gcp.compute.VPNTunnel(
                f"{name}-t{k}", name=f"{spec.prefix}-{name}-t{k}"[:63], region=gcp_c.region.region,
                vpn_gateway=endpoint.gateway.id, vpn_gateway_interface=k // 2, peer_external_gateway=peer_gw.id,
                peer_external_gateway_interface=k, shared_secret=keys[k], ike_version=2, router=router.id,
                opts=gcp_opts)
            cidr = inside[k]
            aws_ip, gcp_ip = str(cidr[1]), str(cidr[2])
            iface = gcp.compute.RouterInterface(
                f"{name}-if{k}", name=f"{name}-if{k}"[:63], router=router.name, region=gcp_c.region.region,
                ip_range=f"{gcp_ip}/30", vpn_tunnel=tunnel.name, opts=gcp_opts)
            gcp.compute.RouterPeer(
                f"{name}-bgp{k}", name=f"{name}-bgp{k}"[:63], router=router.name, region=gcp_c.region.region,
                interface=iface.name, peer_asn=spec.network.aws_asn, peer_ip_address=aws_ip, ip_address=gcp_ip,
                advertise_mode="CUSTOM", advertised_ip_ranges=advertised, advertised_route_priority=100,
                opts=gcp_opts)
            self.tunnels.append(tunnel)
        self.connections = connections
        self.register_outputs({"vpnConnectionIds": [c.id for c in connections],
                               "tunnelInsideCidrs": [str(c) for c in inside]})
