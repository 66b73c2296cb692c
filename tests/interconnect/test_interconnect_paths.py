"""Paths the interconnect must and must not create: Direct Connect wired through the association's own
attachment output, and hub-and-spoke spokes kept apart."""
from __future__ import annotations

import ipaddress
from itertools import permutations

import pytest

from tests.interconnect import graph as G
from tests.interconnect.test_interconnect_plan import _tables, _vpc_attachment, plan_of, regions_of

DX_ASSOCIATION = "aws:directconnect/gatewayAssociation:GatewayAssociation"


def test_direct_connect_attachment_comes_from_the_association_and_joins_both_tables():
    """The TGW's Direct Connect attachment is the association's transit_gateway_attachment_id (the SDK warns that
    get_direct_connect_gateway_attachment feeding route tables re-creates them): associated with ``inbound``,
    propagated into ``egress``, each a dependency on the association in the plan."""
    plan = plan_of("dedicated")
    g = G.build(plan)
    for assoc in plan.of_type(DX_ASSOCIATION):
        region = g.region_of[assoc.urn]
        vpc_att = _vpc_attachment(plan, g, region)
        (egress,) = _tables(plan, G.ASSOCIATION, vpc_att.urn)
        (inbound,) = _tables(plan, G.PROPAGATION, vpc_att.urn)
        on_dx = {kind: [r for r in plan.of_type(kind) if g.region_of[r.urn] == region
                        and assoc.urn in G.dep(r, "transitGatewayAttachmentId")]
                 for kind in (G.ASSOCIATION, G.PROPAGATION)}
        (associated,), (propagated,) = on_dx[G.ASSOCIATION], on_dx[G.PROPAGATION]
        assert G.dep(associated, "transitGatewayRouteTableId") == [inbound]
        assert G.dep(propagated, "transitGatewayRouteTableId") == [egress]
        assert assoc.urn in associated.dependencies and assoc.urn in propagated.dependencies


@pytest.mark.parametrize("variant,hub", [("hub-aws", "aws/us-east-1"), ("hub-gcp", "gcp/us-central1")])
def test_hub_and_spoke_spokes_have_no_routes_to_each_other(variant, hub):
    """Spokes reach the hub only: no VPC or TGW route between them, and nothing the hub hands a spoke (the
    tables its remote attachments use on AWS, the BGP advertisements on GCP) covers another spoke."""
    plan = plan_of(variant)
    g = G.build(plan)
    spokes = [r for r in regions_of(plan) if r != hub]
    assert len(spokes) == 2

    def reaches(dest: str, region: str) -> bool:
        net = ipaddress.ip_network(dest)
        return any(net.overlaps(b) for b in g.blocks[region])

    for here, there in permutations(spokes, 2):
        assert not g.linked(here, there)
        if not here.startswith("aws/"):
            continue
        vpc_routes = [r for r in plan.of_type(G.VPC_ROUTE) if g.region_of[r.urn] == here
                      and G.dep(r, "transitGatewayId") and reaches(r.inputs["destinationCidrBlock"], there)]
        tgw_routes = [r for r in plan.of_type(G.TGW_ROUTE) if g.region_of[r.urn] == here
                      and reaches(r.inputs["destinationCidrBlock"], there)]
        assert not vpc_routes and not tgw_routes, (here, there)
    if hub.startswith("aws/"):
        # Remote attachments on the hub (peerings, VPNs) are associated with tables where only the hub's VPC
        # propagates and no static route leads to a spoke: a spoke's traffic can reach the hub's VPC, nothing else.
        vpc_att = _vpc_attachment(plan, g, hub)
        remote = [a for a in plan.of_type(G.ASSOCIATION) if g.region_of[a.urn] == hub
                  and vpc_att.urn not in G.dep(a, "transitGatewayAttachmentId")]
        assert remote
        for table in {t for a in remote for t in G.dep(a, "transitGatewayRouteTableId")}:
            sources = {s for p in plan.of_type(G.PROPAGATION) if table in G.dep(p, "transitGatewayRouteTableId")
                       for s in G.dep(p, "transitGatewayAttachmentId")}
            assert sources == {vpc_att.urn}
            assert not [r for r in plan.of_type(G.TGW_ROUTE) if table in G.dep(r, "transitGatewayRouteTableId")]
    else:
        peers = [p for p in plan.of_type(G.PEER) if g.region_of.get(p.urn) == hub]
        assert peers
        for p in peers:
            assert p.inputs["advertiseMode"] == "CUSTOM"
            for r in p.inputs["advertisedIpRanges"]:
                assert not any(reaches(r["range"], s) for s in spokes if s.startswith("aws/")), (p.name, r)
