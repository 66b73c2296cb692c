"""``aiplatform:network:DedicatedLinks``: Direct Connect and Cloud Interconnect, only when the spec names them.
Notes: docs/architecture.md, "Interconnect"."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from blueprint.spec import AddressPlan, PlatformSpec
from components.interconnect.transit import TransitHub

if TYPE_CHECKING:  # the type only: no runtime edge to the region's module
    from components.gcp.region import GcpRegion


class DedicatedLinks(pulumi.ComponentResource):
    def __init__(self, spec: PlatformSpec, addresses: AddressPlan, hubs: dict[str, TransitHub],
                 gcp_regions: list[GcpRegion], opts: pulumi.ResourceOptions | None = None):
        name = f"{spec.environment}-dedicated"
        super().__init__("aiplatform:network:DedicatedLinks", name, None, opts)
        links = spec.network.dedicated
        assert links is not None
        self.dx_associations: list[aws.directconnect.GatewayAssociation] = []
        if links.direct_connect_gateway_id:
            for key, hub in hubs.items():
                self._direct_connect(hub, links.direct_connect_gateway_id, str(addresses[key].block))
        self.attachments = []
        if links.interconnect_attachment_urls and gcp_regions:
            edge = next((c for c in gcp_regions if c.region.region == links.interconnect_region), gcp_regions[0])
            self._interconnect(spec, addresses, edge, gcp_regions)
        self.register_outputs({"directConnectAssociations": [a.id for a in self.dx_associations],
                               "interconnectAttachments": [a.self_link for a in self.attachments]})

    def _direct_connect(self, hub: TransitHub, dx_gateway_id: str, block: str) -> None:
        label = f"{hub.compute.child_name}-dx"
        assoc = aws.directconnect.GatewayAssociation(
            label, dx_gateway_id=dx_gateway_id, associated_gateway_id=hub.tgw.id, allowed_prefixes=[block],
            opts=pulumi.ResourceOptions(parent=self, provider=hub.provider))
        # The association's own output, not get_direct_connect_gateway_attachment: the SDK warns that feeding the
        # lookup into route-table associations/propagations re-creates them (and drops traffic) on later updates.
        hub.accept_inbound("dx", assoc.transit_gateway_attachment_id, propagate=True, depends_on=[assoc])
        self.dx_associations.append(assoc)

    def _interconnect(self, spec: PlatformSpec, addresses: AddressPlan, edge: GcpRegion,
                      gcp_regions: list[GcpRegion]) -> None:
        links = spec.network.dedicated
        assert links is not None and links.peer_asn is not None
        opts = pulumi.ResourceOptions(parent=self, provider=edge.cloud_provider)
        router, region = edge.cloud_router, edge.region.region
        advertised = [{"range": str(addresses[c.region.key].block), "description": c.region.key} for c in gcp_regions]
        md5 = (pulumi.Output.secret(links.bgp_auth_key.get_secret_value()) if links.bgp_auth_key else None)
        for i, url in enumerate(links.interconnect_attachment_urls):
            label = f"{edge.child_name}-ic{i}"
            attachment = gcp.compute.InterconnectAttachment(
                label, name=f"{spec.prefix}-ic{i}", region=region, router=router.id, interconnect=url,
                type="DEDICATED", admin_enabled=True, mtu="1500", description=f"{spec.environment} dedicated link {i}",
                opts=opts)
            iface = gcp.compute.RouterInterface(
                f"{label}-if", name=f"{label}-if", router=router.name, region=region,
                ip_range=attachment.cloud_router_ip_address, interconnect_attachment=attachment.name, opts=opts)
            gcp.compute.RouterPeer(
                f"{label}-bgp", name=f"{label}-bgp", router=router.name, region=region, interface=iface.name,
                peer_asn=links.peer_asn,
                peer_ip_address=attachment.customer_router_ip_address.apply(lambda ip: ip.split("/")[0] if ip else ip),
                advertise_mode="CUSTOM", advertised_ip_ranges=advertised, advertised_route_priority=50,
                md5_authentication_key={"name": f"{label}-md5", "key": md5} if md5 is not None else None,
                opts=opts)
            self.attachments.append(attachment)
