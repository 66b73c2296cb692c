"""The planned Transit Gateways, attachments, peerings, TGW route tables and VPC routes, created through boto3 on a
real moto server, must reach ``available`` / ``active``.

Every value comes from the plan (inputs and dependencies), not retyped here. What moto does not model, and so this
does not prove: it accepts a peering without checking the accepter's account/region against the request, it
creates a default route table even when default association/propagation are disabled, it records no attachment on
static TGW routes, and it has no Site-to-Site VPN on a TGW, no BGP and no data plane. The VPN and route wiring are
checked on the plan instead (``test_interconnect_plan.py``).
"""
from __future__ import annotations

from tests.conftest import shipped_plan
from tests.interconnect import graph as G
from tests.support.moto_server import client, moto_server, to_api

OPTION_KEYS = ("amazonSideAsn", "autoAcceptSharedAttachments", "defaultRouteTableAssociation",
               "defaultRouteTablePropagation", "dnsSupport", "vpnEcmpSupport")


def _tags(r) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in (r.inputs.get("tags") or {}).items()]


def test_planned_transit_gateways_and_peerings_become_available(monkeypatch):
    plan = shipped_plan("prod")
    g = G.build(plan)
    region = {urn: key.split("/", 1)[1] for urn, key in g.region_of.items() if key.startswith("aws/")}
    ids: dict[str, str] = {}
    with moto_server(monkeypatch) as endpoint:
        ec2 = {r: client("ec2", endpoint, r) for r in sorted(set(region.values()))}
        account = client("sts", endpoint, "us-east-1").get_caller_identity()["Account"]

        for tgw in plan.of_type(G.TGW):
            options = to_api({k: tgw.inputs[k] for k in OPTION_KEYS})
            made = ec2[region[tgw.urn]].create_transit_gateway(
                Description=tgw.inputs["description"], Options=options,
                TagSpecifications=[{"ResourceType": "transit-gateway", "Tags": _tags(tgw)}])["TransitGateway"]
            ids[tgw.urn] = made["TransitGatewayId"]
            got = ec2[region[tgw.urn]].describe_transit_gateways(TransitGatewayIds=[made["TransitGatewayId"]])
            (state,) = got["TransitGateways"]
            assert state["State"] == "available"
            assert {k: state["Options"][k] for k in options} == options

        for vpc in plan.of_type(G.VPC):
            ids[vpc.urn] = ec2[region[vpc.urn]].create_vpc(CidrBlock=vpc.inputs["cidrBlock"])["Vpc"]["VpcId"]
        for sn in plan.of_type("aws:ec2/subnet:Subnet"):
            (vpc_urn,) = G.dep(sn, "vpcId")
            ids[sn.urn] = ec2[region[sn.urn]].create_subnet(
                VpcId=ids[vpc_urn], CidrBlock=sn.inputs["cidrBlock"],
                AvailabilityZone=sn.inputs["availabilityZone"])["Subnet"]["SubnetId"]
        for rt in plan.of_type(G.VPC_ROUTE_TABLE):
            (vpc_urn,) = G.dep(rt, "vpcId")
            ids[rt.urn] = ec2[region[rt.urn]].create_route_table(VpcId=ids[vpc_urn])["RouteTable"]["RouteTableId"]

        for att in plan.of_type(G.VPC_ATTACHMENT):
            api = ec2[region[att.urn]]
            (tgw_urn,), (vpc_urn,) = G.dep(att, "transitGatewayId"), G.dep(att, "vpcId")
            made = api.create_transit_gateway_vpc_attachment(
                TransitGatewayId=ids[tgw_urn], VpcId=ids[vpc_urn], SubnetIds=[ids[u] for u in G.dep(att, "subnetIds")],
                Options={"DnsSupport": att.inputs["dnsSupport"]})["TransitGatewayVpcAttachment"]
            ids[att.urn] = made["TransitGatewayAttachmentId"]
            assert made["State"] == "available" and len(made["SubnetIds"]) == len(att.inputs["subnetIds"])

        for rt in plan.of_type(G.TGW_ROUTE_TABLE):
            (tgw_urn,) = G.dep(rt, "transitGatewayId")
            made = ec2[region[rt.urn]].create_transit_gateway_route_table(TransitGatewayId=ids[tgw_urn])
            ids[rt.urn] = made["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]
            assert made["TransitGatewayRouteTable"]["State"] == "available"

        peerings = plan.of_type(G.PEERING)
        assert peerings
        for p in peerings:
            (mine,), (theirs,) = G.dep(p, "transitGatewayId"), G.dep(p, "peerTransitGatewayId")
            made = ec2[region[p.urn]].create_transit_gateway_peering_attachment(
                TransitGatewayId=ids[mine], PeerTransitGatewayId=ids[theirs], PeerAccountId=account,
                PeerRegion=p.inputs["peerRegion"])["TransitGatewayPeeringAttachment"]
            ids[p.urn] = made["TransitGatewayAttachmentId"]
            assert made["State"] == "pendingAcceptance"
        for acc in plan.of_type(G.ACCEPTER):
            (peering_urn,) = G.dep(acc, "transitGatewayAttachmentId")
            peering = plan.by_urn(peering_urn)
            assert region[acc.urn] == peering.inputs["peerRegion"] != region[peering.urn]
            ec2[region[acc.urn]].accept_transit_gateway_peering_attachment(TransitGatewayAttachmentId=ids[peering_urn])
        for p in peerings:
            for side in (region[p.urn], p.inputs["peerRegion"]):
                (seen,) = ec2[side].describe_transit_gateway_peering_attachments(
                    TransitGatewayAttachmentIds=[ids[p.urn]])["TransitGatewayPeeringAttachments"]
                assert seen["State"] == "available", side

        # Associations, propagations and static routes between the attachments moto models (VPC and peering).
        modelled = {a.urn for a in plan.of_type(G.VPC_ATTACHMENT)} | {p.urn for p in peerings}
        expected_assoc: dict[str, set] = {}
        for assoc in plan.of_type(G.ASSOCIATION):
            (att_urn,), (rt_urn,) = G.dep(assoc, "transitGatewayAttachmentId"), G.dep(assoc, "transitGatewayRouteTableId")
            if att_urn in modelled:
                ec2[region[assoc.urn]].associate_transit_gateway_route_table(
                    TransitGatewayRouteTableId=ids[rt_urn], TransitGatewayAttachmentId=ids[att_urn])
                expected_assoc.setdefault(rt_urn, set()).add(ids[att_urn])
        for prop in plan.of_type(G.PROPAGATION):
            (att_urn,), (rt_urn,) = G.dep(prop, "transitGatewayAttachmentId"), G.dep(prop, "transitGatewayRouteTableId")
            if att_urn in modelled:
                ec2[region[prop.urn]].enable_transit_gateway_route_table_propagation(
                    TransitGatewayRouteTableId=ids[rt_urn], TransitGatewayAttachmentId=ids[att_urn])
        statics = plan.of_type(G.TGW_ROUTE)
        for route in statics:
            (att_urn,), (rt_urn,) = G.dep(route, "transitGatewayAttachmentId"), G.dep(route, "transitGatewayRouteTableId")
            made = ec2[region[route.urn]].create_transit_gateway_route(
                DestinationCidrBlock=route.inputs["destinationCidrBlock"], TransitGatewayRouteTableId=ids[rt_urn],
                TransitGatewayAttachmentId=ids[att_urn])["Route"]
            assert made["State"] == "active" and made["Type"] == "static"
        for rt_urn, attachments in expected_assoc.items():
            got = ec2[region[rt_urn]].get_transit_gateway_route_table_associations(
                TransitGatewayRouteTableId=ids[rt_urn])["Associations"]
            assert {a["TransitGatewayAttachmentId"] for a in got} == attachments
            assert all(a["State"] == "associated" for a in got)
        assert len(statics) == 2 * len(peerings)

        # VPC routes to the TGW, in every private route table.
        to_tgw = [r for r in plan.of_type(G.VPC_ROUTE) if G.dep(r, "transitGatewayId")]
        for route in to_tgw:
            (rt_urn,), (tgw_urn,) = G.dep(route, "routeTableId"), G.dep(route, "transitGatewayId")
            ec2[region[route.urn]].create_route(RouteTableId=ids[rt_urn], TransitGatewayId=ids[tgw_urn],
                                                DestinationCidrBlock=route.inputs["destinationCidrBlock"])
        for rt in plan.of_type(G.VPC_ROUTE_TABLE):
            want = {(r.inputs["destinationCidrBlock"], ids[G.dep(r, "transitGatewayId")[0]])
                    for r in to_tgw if rt.urn in G.dep(r, "routeTableId")}
            (table,) = ec2[region[rt.urn]].describe_route_tables(RouteTableIds=[ids[rt.urn]])["RouteTables"]
            have = {(r["DestinationCidrBlock"], r["TransitGatewayId"]) for r in table["Routes"] if "TransitGatewayId" in r}
            assert have == want
            assert all(r["State"] == "active" for r in table["Routes"] if "TransitGatewayId" in r)
        assert len(to_tgw) >= 2 * len(peerings) * 2
