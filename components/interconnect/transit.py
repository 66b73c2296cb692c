"""``aiplatform:network:TransitHub``: one AWS region's Transit Gateway, its VPC attachment and two route tables.
Notes: docs/architecture.md, "Interconnect"."""
from __future__ import annotations

import ipaddress

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec
from components.compute import RegionalCompute


class TransitHub(pulumi.ComponentResource):
    tgw: aws.ec2transitgateway.TransitGateway
    attachment: aws.ec2transitgateway.VpcAttachment
    egress: aws.ec2transitgateway.RouteTable
    inbound: aws.ec2transitgateway.RouteTable

    def __init__(self, spec: PlatformSpec, compute: RegionalCompute, opts: pulumi.ResourceOptions | None = None):
        self.name = name = f"{compute.child_name}-tgw"
        super().__init__("aiplatform:network:TransitHub", name, None, opts)
        self.spec, self.compute = spec, compute
        self.provider = compute.cloud_provider
        self.child = child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        tags = spec.aws_tags
        self.tgw = aws.ec2transitgateway.TransitGateway(
            name, description=f"{spec.environment} {compute.region.region}: private paths to the other regions",
            amazon_side_asn=spec.network.aws_asn, auto_accept_shared_attachments="disable",
            default_route_table_association="disable", default_route_table_propagation="disable",
            dns_support="enable", vpn_ecmp_support="enable", tags=tags(Name=name), opts=child)
        self.attachment = aws.ec2transitgateway.VpcAttachment(
            f"{name}-vpc", transit_gateway_id=self.tgw.id, vpc_id=compute.network_id,
            subnet_ids=compute.private_subnet_ids, dns_support="enable",
            transit_gateway_default_route_table_association=False,
            transit_gateway_default_route_table_propagation=False, tags=tags(Name=f"{name}-vpc"), opts=child)
        self.egress = aws.ec2transitgateway.RouteTable(f"{name}-egress", transit_gateway_id=self.tgw.id,
                                                       tags=tags(Name=f"{name}-egress"), opts=child)
        self.inbound = aws.ec2transitgateway.RouteTable(f"{name}-inbound", transit_gateway_id=self.tgw.id,
                                                        tags=tags(Name=f"{name}-inbound"), opts=child)
        aws.ec2transitgateway.RouteTableAssociation(
            f"{name}-vpc-egress", transit_gateway_attachment_id=self.attachment.id,
            transit_gateway_route_table_id=self.egress.id, opts=child)
        aws.ec2transitgateway.RouteTablePropagation(
            f"{name}-vpc-inbound", transit_gateway_attachment_id=self.attachment.id,
            transit_gateway_route_table_id=self.inbound.id, opts=child)
        self.vpc_prefixes: list[str] = []
        self.register_outputs({"transitGatewayId": self.tgw.id, "vpcAttachmentId": self.attachment.id})

    def route_vpc_to_tgw(self, label: str, prefix: str) -> None:
        """A route for ``prefix`` to the TGW in every private route table of the VPC (once per prefix)."""
        prefix = str(ipaddress.ip_network(prefix))
        if prefix in self.vpc_prefixes:
            return
        self.vpc_prefixes.append(prefix)
        opts = pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[self.attachment])
        for i, table_id in enumerate(self.compute.private_route_table_ids):
            aws.ec2.Route(f"{self.name}-{label}-rt{i}", route_table_id=table_id, destination_cidr_block=prefix,
                          transit_gateway_id=self.tgw.id, opts=opts)

    def accept_inbound(self, label: str, attachment_id: pulumi.Input[str], propagate: bool,
                       depends_on: list[pulumi.Resource]) -> None:
        """Associate a remote-facing attachment with ``inbound``; with ``propagate`` (BGP attachments: VPN,
        Direct Connect) its learned routes also go into ``egress``."""
        opts = pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=depends_on)
        aws.ec2transitgateway.RouteTableAssociation(
            f"{self.name}-{label}-inbound", transit_gateway_attachment_id=attachment_id,
            transit_gateway_route_table_id=self.inbound.id, opts=opts)
        if propagate:
            aws.ec2transitgateway.RouteTablePropagation(
                f"{self.name}-{label}-egress", transit_gateway_attachment_id=attachment_id,
                transit_gateway_route_table_id=self.egress.id, opts=opts)


class TransitPeering(pulumi.ComponentResource):
    """``aiplatform:network:TransitPeering``: an inter-region TGW peering, accepted with the peer region's provider,
    and static routes both ways (a peering attachment never propagates routes)."""

    def __init__(self, name: str, requester: TransitHub, accepter: TransitHub, requester_block: str,
                 accepter_block: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplatform:network:TransitPeering", name, None, opts)
        spec = requester.spec
        # Each AWS resource's name carries its own region as "aws-<region>" and the other only as "<region>".
        req_region, acc_region = requester.compute.region.region, accepter.compute.region.region
        peering = aws.ec2transitgateway.PeeringAttachment(
            f"{requester.name}-peer-{acc_region}", transit_gateway_id=requester.tgw.id, peer_transit_gateway_id=accepter.tgw.id,
            peer_region=accepter.compute.region.region, tags=spec.aws_tags(Name=name, Side="requester"),
            opts=pulumi.ResourceOptions(parent=self, provider=requester.provider))
        accept = aws.ec2transitgateway.PeeringAttachmentAccepter(
            f"{accepter.name}-accept-{req_region}", transit_gateway_attachment_id=peering.id, tags=spec.aws_tags(Name=name, Side="accepter"),
            opts=pulumi.ResourceOptions(parent=self, provider=accepter.provider))
        for hub, remote_block, label in ((requester, accepter_block, acc_region), (accepter, requester_block, req_region)):
            hub.accept_inbound(f"peer-{label}", peering.id, propagate=False, depends_on=[accept])
            aws.ec2transitgateway.Route(
                f"{hub.name}-to-{label}", destination_cidr_block=remote_block, transit_gateway_attachment_id=peering.id,
                transit_gateway_route_table_id=hub.egress.id,
                opts=pulumi.ResourceOptions(parent=self, provider=hub.provider, depends_on=[accept]))
            hub.route_vpc_to_tgw(f"to-{label}", remote_block)
        self.attachment_id = peering.id
        self.register_outputs({"peeringAttachmentId": peering.id})
