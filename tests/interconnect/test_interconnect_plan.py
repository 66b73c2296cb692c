"""The interconnect in plans of the real program: graph, routes both ways, secret keys, disjoint ranges, options."""
from __future__ import annotations

import ipaddress
from itertools import combinations

import pytest

from blueprint.plan import run_plan
from tests.conftest import platform_config, shipped_plan
from tests.interconnect import graph as G

_plans: dict[str, object] = {}


def plan_of(variant: str):
    """Shipped plans, and a few variants of prod, each planned once."""
    if variant in ("prod", "staging", "dev"):
        return shipped_plan(variant)
    if variant not in _plans:
        cfg = platform_config("prod")
        if variant == "hub-aws":
            cfg["network"].update(topology="hub-and-spoke", hub="aws/us-east-1")
        elif variant == "hub-gcp":
            cfg["network"].update(topology="hub-and-spoke", hub="gcp/us-central1")
            # The AWS spokes do not link, so the runner in us-east-1 reaches us-west-2's public endpoint instead.
            cfg["access"]["deployer"]["eksEndpoint"] = "public-allowlist"
        elif variant == "dedicated":
            cfg["network"]["dedicated"] = {
                "directConnectGatewayId": "5f2a3b4c-1d2e-4f50-8a9b-0c1d2e3f4a5b", "peerAsn": 65010,
                "interconnectAttachmentUrls": [
                    "https://www.googleapis.com/compute/v1/projects/aiplat-prod-ml/global/interconnects/ic-a",
                    "https://www.googleapis.com/compute/v1/projects/aiplat-prod-ml/global/interconnects/ic-b"],
                "bgpAuthKey": {"secure": "v1:AAAAbgpkeyciphertext"}}
        _plans[variant] = run_plan("prod", platform=cfg)
    return _plans[variant]


def regions_of(plan) -> list[str]:
    out = {f"aws/{p.inputs['region']}" for p in plan.of_type("pulumi:providers:aws")}
    out |= {G.build(plan).region_of[s.urn] for s in plan.of_type(G.SUBNETWORK)}
    return sorted(out)


def expected_pairs(variant: str, regions: list[str]) -> set[frozenset]:
    pairs = {frozenset(p) for p in combinations(regions, 2)}
    hub = {"hub-aws": "aws/us-east-1", "hub-gcp": "gcp/us-central1"}.get(variant)
    return pairs if hub is None else {p for p in pairs if hub in p}


@pytest.mark.parametrize("variant", ["prod", "staging", "hub-aws", "hub-gcp"])
def test_peering_graph_follows_the_topology(variant):
    plan = plan_of(variant)
    g = G.build(plan)
    regions = regions_of(plan)
    assert set(g.edges) == expected_pairs(variant, regions)
    for pair, kind in g.edges.items():
        clouds = sorted(k.split("/")[0] for k in pair)
        assert kind == {("aws", "aws"): "tgw-peering", ("aws", "gcp"): "ha-vpn"}[tuple(clouds)]
    # The component's own output says the same, per region, in prefixes.
    (ic,) = plan.of_type("aiplatform:network:Interconnect")
    for region in regions:
        peers = [next(iter(p - {region})) for p in g.edges if region in p]
        reach = [ipaddress.ip_network(n) for n in ic.outputs["reachablePrefixes"][region]]
        for key in [region] + peers:
            assert all(any(net.subnet_of(r) for r in reach) for net in g.blocks[key]), (region, key)
        others = [k for k in regions if k != region and k not in peers]
        assert not any(net.subnet_of(r) for k in others for net in g.blocks[k] for r in reach), region


def test_dev_has_a_single_region_and_no_interconnect():
    assert not shipped_plan("dev").of_type("aiplatform:network:Interconnect")


def _private_tables(plan, g, region) -> set[str]:
    return {t for r in plan.of_type(G.VPC_ROUTE) if g.region_of[r.urn] == region
            and r.inputs.get("destinationCidrBlock") == "0.0.0.0/0" and G.dep(r, "natGatewayId")
            for t in G.dep(r, "routeTableId")}


def _vpc_routes_cover(plan, g, region, net) -> set[str]:
    """Private route tables of ``region`` with a route covering ``net`` to the region's own TGW."""
    tgw = g.tgw(region).urn
    return {t for r in plan.of_type(G.VPC_ROUTE) if g.region_of[r.urn] == region and tgw in G.dep(r, "transitGatewayId")
            and net.subnet_of(ipaddress.ip_network(r.inputs["destinationCidrBlock"])) for t in G.dep(r, "routeTableId")}


def _tables(plan, kind, attachment_urn) -> set[str]:
    return {t for r in plan.of_type(kind) if attachment_urn in G.dep(r, "transitGatewayAttachmentId")
            for t in G.dep(r, "transitGatewayRouteTableId")}


def _vpc_attachment(plan, g, region):
    (att,) = [a for a in plan.of_type(G.VPC_ATTACHMENT) if g.region_of[a.urn] == region]
    return att


@pytest.mark.parametrize("variant", ["prod", "staging", "hub-aws", "hub-gcp"])
def test_routes_exist_both_ways(variant):
    plan = plan_of(variant)
    g = G.build(plan)
    assert g.edges
    for pair, kind in g.edges.items():
        for here, there in (sorted(pair), sorted(pair)[::-1]):
            if not here.startswith("aws/"):
                continue
            private = _private_tables(plan, g, here)
            assert len(private) >= 2
            for net in g.blocks[there]:  # every private table of `here` sends `there` to the TGW
                assert _vpc_routes_cover(plan, g, here, net) == private, (here, there, net)
            vpc_att = _vpc_attachment(plan, g, here)
            (egress,) = _tables(plan, G.ASSOCIATION, vpc_att.urn)
            inbound = _tables(plan, G.PROPAGATION, vpc_att.urn)  # where the local VPC is announced
            if kind == "tgw-peering":
                (peering,) = [p for p in plan.of_type(G.PEERING)
                              if {g.region_of[t] for t in G.dep(p, "transitGatewayId") + G.dep(p, "peerTransitGatewayId")}
                              == set(pair)]
                statics = [r for r in plan.of_type(G.TGW_ROUTE) if g.region_of[r.urn] == here
                           and peering.urn in G.dep(r, "transitGatewayAttachmentId")]
                assert [ipaddress.ip_network(r.inputs["destinationCidrBlock"]) for r in statics] == g.blocks[there]
                assert {t for r in statics for t in G.dep(r, "transitGatewayRouteTableId")} == {egress}
                assoc = [a for a in plan.of_type(G.ASSOCIATION) if g.region_of[a.urn] == here
                         and peering.urn in G.dep(a, "transitGatewayAttachmentId")]
                assert len(assoc) == 1 and set(G.dep(assoc[0], "transitGatewayRouteTableId")) <= inbound
            else:
                gcp = there
                conns = [v for v in plan.of_type(G.VPN) if g.tgw(here).urn in G.dep(v, "transitGatewayId")
                         and g.region_of[v.urn] == here and _vpn_goes_to(plan, v, gcp, g)]
                assert len(conns) == 2
                for v in conns:  # GCP routes learned by BGP land in the VPC's table; VPN traffic sees only the VPC
                    assert _tables(plan, G.PROPAGATION, v.urn) == {egress}
                    assert _tables(plan, G.ASSOCIATION, v.urn) <= inbound and _tables(plan, G.ASSOCIATION, v.urn)
                    assert v.inputs["staticRoutesOnly"] is False
                _assert_gcp_side(plan, g, here, gcp, conns)


def _vpn_goes_to(plan, conn, gcp, g) -> bool:
    cgws = [plan.by_urn(u) for u in G.dep(conn, "customerGatewayId")]
    return any(g.region_of.get(u) == gcp for c in cgws for u in G.dep(c, "ipAddress"))


def _assert_gcp_side(plan, g, aws, gcp, conns):
    """GCP advertises all its planned ranges to the TGW's ASN; each BGP session sits in its tunnel's inside /30."""
    ext = [e for e in plan.of_type(G.EXT_GW) if {c.urn for c in conns} <= set(G.dep(e, "interfaces"))]
    assert len(ext) == 1 and ext[0].inputs["redundancyType"] == "FOUR_IPS_REDUNDANCY"
    assert len(ext[0].inputs["interfaces"]) == 4
    tunnels = [t for t in plan.of_type(G.TUNNEL) if ext[0].urn in G.dep(t, "peerExternalGateway")]
    assert sorted(t.inputs["peerExternalGatewayInterface"] for t in tunnels) == [0, 1, 2, 3]
    per_conn = [frozenset(ipaddress.ip_network(c.inputs[f"tunnel{n}InsideCidr"]) for n in (1, 2)) for c in conns]
    asn = g.tgw(aws).inputs["amazonSideAsn"]
    by_gcp_interface: dict[int, set] = {0: set(), 1: set()}
    for t in tunnels:
        (iface,) = [i for i in plan.of_type(G.IFACE) if t.urn in G.dep(i, "vpnTunnel")]
        (peer,) = [p for p in plan.of_type(G.PEER) if iface.urn in G.dep(p, "interface")]
        cidr = ipaddress.ip_interface(iface.inputs["ipRange"]).network
        assert t.inputs["vpnGatewayInterface"] == t.inputs["peerExternalGatewayInterface"] // 2
        by_gcp_interface[int(t.inputs["vpnGatewayInterface"])].add(cidr)
        assert ipaddress.ip_address(peer.inputs["peerIpAddress"]) in cidr
        assert peer.inputs["peerIpAddress"] != peer.inputs["ipAddress"]
        assert peer.inputs["peerAsn"] == asn and peer.inputs["advertiseMode"] == "CUSTOM"
        advertised = [ipaddress.ip_network(a["range"]) for a in peer.inputs["advertisedIpRanges"]]
        assert all(any(n.subnet_of(a) for a in advertised) for n in g.blocks[gcp])
        assert not any(n.subnet_of(a) for a in advertised for n in g.blocks[aws])
    # Both tunnels of one AWS connection start on the same GCP interface, and use that connection's inside /30s.
    assert sorted(map(sorted, by_gcp_interface.values())) == sorted(map(sorted, per_conn))


@pytest.mark.parametrize("variant", ["prod", "hub-gcp"])
def test_vpn_keys_are_random_secrets_shared_by_both_ends_of_each_tunnel(variant):
    plan = plan_of(variant)
    passwords = {p.urn: p for p in plan.of_type("random:index/randomPassword:RandomPassword")}
    assert passwords
    for p in passwords.values():
        assert 8 <= p.inputs["length"] <= 64 and p.inputs["overrideSpecial"] == "._"
    used: dict[str, list[str]] = {}
    for v in plan.of_type(G.VPN):
        for n in (1, 2):
            key = f"tunnel{n}PresharedKey"
            assert key in v.secret_paths and v.inputs[key] == "[secret]"
            (src,) = G.dep(v, key)
            used.setdefault(src, []).append("aws")
    for t in plan.of_type(G.TUNNEL):
        assert "sharedSecret" in t.secret_paths and t.inputs["sharedSecret"] == "[secret]"
        (src,) = G.dep(t, "sharedSecret")
        used.setdefault(src, []).append("gcp")
    assert set(used) == set(passwords) and all(sorted(v) == ["aws", "gcp"] for v in used.values())
    assert "[secret]" not in {str(p.inputs) for p in passwords.values()}  # the generator itself holds no value


def _all_planned_ranges(plan) -> list[tuple[str, ipaddress.IPv4Network]]:
    out = []
    for vpc in plan.of_type(G.VPC):
        out.append((vpc.urn, ipaddress.ip_network(vpc.inputs["cidrBlock"])))
    for sn in plan.of_type(G.SUBNETWORK):
        out.append((sn.urn, ipaddress.ip_network(sn.inputs["ipCidrRange"])))
        out += [(f"{sn.urn}#{s['rangeName']}", ipaddress.ip_network(s["ipCidrRange"]))
                for s in sn.inputs.get("secondaryIpRanges", [])]
    for c in plan.of_type("gcp:container/cluster:Cluster"):
        out.append((c.urn, ipaddress.ip_network(c.inputs["privateClusterConfig"]["masterIpv4CidrBlock"])))
    for v in plan.of_type(G.VPN):
        out += [(f"{v.urn}#{n}", ipaddress.ip_network(v.inputs[f"tunnel{n}InsideCidr"])) for n in (1, 2)]
    return out


@pytest.mark.parametrize("variant", ["prod", "staging", "hub-gcp", "dedicated"])
def test_no_cidr_overlaps_across_everything_planned(variant):
    plan = plan_of(variant)
    ranges = _all_planned_ranges(plan)
    assert len(ranges) >= 2
    for (a, na), (b, nb) in combinations(ranges, 2):
        assert not na.overlaps(nb), f"{a} {na} overlaps {b} {nb}"
    aws_subnets = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in plan.of_type("aws:ec2/subnet:Subnet")]
    assert len(aws_subnets) >= 4
    for na, nb in combinations(aws_subnets, 2):
        assert not na.overlaps(nb)
    vpcs = [n for _, n in ranges if n.prefixlen == 16]
    assert all(any(s.subnet_of(v) for v in vpcs) for s in aws_subnets)


@pytest.mark.parametrize("variant", ["prod", "staging", "hub-aws"])
def test_transit_gateways_accept_nothing_automatically_and_use_no_default_tables(variant):
    plan = plan_of(variant)
    tgws = plan.of_type(G.TGW)
    regional = [p for p in plan.of_type("pulumi:providers:aws") if "aiplatform:aws:Account" not in p.urn]
    assert len(tgws) == len(regional)  # one per region (the account-wide IAM provider has none)
    for t in tgws:
        assert t.inputs["autoAcceptSharedAttachments"] == "disable"
        assert t.inputs["defaultRouteTableAssociation"] == "disable"
        assert t.inputs["defaultRouteTablePropagation"] == "disable"
        assert t.inputs["amazonSideAsn"] == 64512
    for a in plan.of_type(G.VPC_ATTACHMENT):
        assert a.inputs["transitGatewayDefaultRouteTableAssociation"] is False
        assert len(a.inputs["subnetIds"]) >= 2  # one per zone


def test_dedicated_links_appear_only_when_the_spec_names_them():
    for variant in ("prod", "staging", "hub-aws"):
        plan = plan_of(variant)
        assert not plan.of_type("aws:directconnect/gatewayAssociation:GatewayAssociation")
        assert not plan.of_type("gcp:compute/interconnectAttachment:InterconnectAttachment")
        assert not plan.of_type("aiplatform:network:DedicatedLinks")
    plan = plan_of("dedicated")
    g = G.build(plan)
    assocs = plan.of_type("aws:directconnect/gatewayAssociation:GatewayAssociation")
    assert sorted(g.region_of[a.urn] for a in assocs) == ["aws/us-east-1", "aws/us-west-2"]
    for a in assocs:
        region = g.region_of[a.urn]
        assert a.inputs["dxGatewayId"] == "5f2a3b4c-1d2e-4f50-8a9b-0c1d2e3f4a5b"
        assert G.dep(a, "associatedGatewayId") == [g.tgw(region).urn]
        assert [ipaddress.ip_network(p) for p in a.inputs["allowedPrefixes"]] == g.blocks[region]
    attachments = plan.of_type("gcp:compute/interconnectAttachment:InterconnectAttachment")
    assert sorted(a.inputs["interconnect"].rsplit("/", 1)[-1] for a in attachments) == ["ic-a", "ic-b"]
    for a in attachments:
        assert a.inputs["type"] == "DEDICATED" and a.inputs["region"] == "us-central1"
        (iface,) = [i for i in plan.of_type(G.IFACE) if a.urn in G.dep(i, "interconnectAttachment")]
        (peer,) = [p for p in plan.of_type(G.PEER) if iface.urn in G.dep(p, "interface")]
        assert peer.inputs["peerAsn"] == 65010
        assert any(p.startswith("md5AuthenticationKey") for p in peer.secret_paths)
        assert "[secret]" in str(peer.inputs["md5AuthenticationKey"])
    # The VPN stays as the backup path.
    assert set(G.build(plan).edges) == expected_pairs("prod", regions_of(plan))


def test_private_dns_resolves_across_regions_and_clouds():
    plan = plan_of("prod")
    g = G.build(plan)
    (zone,) = [
        z for z in plan.of_type("aws:route53/zone:Zone") if z.inputs["name"].endswith(".internal")]
    assocs = plan.of_type("aws:route53/zoneAssociation:ZoneAssociation")
    vpcs = {v.urn for v in plan.of_type(G.VPC)}
    joined = set(G.dep(zone, "vpcs")) | {u for a in assocs if zone.urn in G.dep(a, "zoneId") for u in G.dep(a, "vpcId")}
    assert joined == vpcs  # every AWS VPC, in every region, sees the AWS zone
    zones = {z.inputs["dnsName"]: z for z in plan.of_type("gcp:dns/managedZone:ManagedZone")
             if z.inputs["dnsName"].endswith(".internal.")}
    assert set(zones) == {"gcp.aiplat-prod.internal.", "aws.aiplat-prod.internal."}
    assert zone.inputs["name"] + "." in zones
    assert all(z.inputs["visibility"] == "private" for z in zones.values())
    forward = zones["aws.aiplat-prod.internal."]
    inbound = [e for e in plan.of_type("aws:route53/resolverEndpoint:ResolverEndpoint") if e.inputs["direction"] == "INBOUND"]
    assert set(G.dep(forward, "forwardingConfig")) >= {e.urn for e in inbound}
    assert {g.region_of[e.urn] for e in inbound} == {"aws/us-east-1", "aws/us-west-2"}
    (policy,) = plan.of_type("gcp:dns/policy:Policy")
    assert policy.inputs["enableInboundForwarding"] is True
    for rule in plan.of_type("aws:route53/resolverRule:ResolverRule"):
        assert rule.inputs["domainName"] == "gcp.aiplat-prod.internal" and rule.inputs["ruleType"] == "FORWARD"
        assert policy.urn in rule.dependencies  # forwarder addresses read once the policy exists
    # Cloud DNS forwards from 35.199.192.0/19: advertised over BGP, routed to the TGW, admitted by the endpoint.
    for peer in plan.of_type(G.PEER):
        assert "35.199.192.0/19" in [a["range"] for a in peer.inputs["advertisedIpRanges"]]
    for region in ("aws/us-east-1", "aws/us-west-2"):
        dns_range = ipaddress.ip_network("35.199.192.0/19")
        assert _vpc_routes_cover(plan, g, region, dns_range) == _private_tables(plan, g, region)


def test_google_apis_resolve_to_the_private_vips_routed_inside_google():
    plan = plan_of("prod")
    zones = {z.inputs["dnsName"]: z for z in plan.of_type("gcp:dns/managedZone:ManagedZone")}
    (route,) = [r for r in plan.of_type("gcp:compute/route:Route") if r.inputs["destRange"] == "199.36.153.8/30"]
    assert route.inputs["nextHopGateway"] == "default-internet-gateway"
    (network,) = plan.of_type("gcp:compute/network:Network")
    assert G.dep(route, "network") == [network.urn]
    vips = {str(ip) for ip in ipaddress.ip_network("199.36.153.8/30")}
    records = plan.of_type("gcp:dns/recordSet:RecordSet")
    for domain in ("googleapis.com.", "gcr.io.", "pkg.dev."):
        zone = zones[domain]
        assert zone.inputs["visibility"] == "private" and network.urn in G.dep(zone, "privateVisibilityConfig")
        mine = {r.inputs["name"]: r for r in records if zone.urn in G.dep(r, "managedZone")}
        (a_record,) = [r for r in mine.values() if r.inputs["type"] == "A"]
        assert set(a_record.inputs["rrdatas"]) == vips
        assert mine[f"*.{domain}"].inputs["rrdatas"] == [a_record.inputs["name"]]
    for sn in plan.of_type(G.SUBNETWORK):
        assert sn.inputs["privateIpGoogleAccess"] is True


def test_an_aws_region_outside_the_supernet_is_routed_and_admitted_on_gcp():
    cfg = platform_config("prod")
    cfg["regions"][1]["cidr"] = "172.20.0.0/16"  # aws/us-west-2, outside 10.64.0.0/10
    plan = run_plan("prod", platform=cfg)
    g = G.build(plan)
    assert g.blocks["aws/us-west-2"] == [ipaddress.ip_network("172.20.0.0/16")]
    assert set(g.edges) == expected_pairs("prod", regions_of(plan))
    west = ipaddress.ip_network("172.20.0.0/16")
    assert _vpc_routes_cover(plan, g, "aws/us-east-1", west) == _private_tables(plan, g, "aws/us-east-1")
    rules = [f for f in plan.of_type("gcp:compute/firewall:Firewall") if "172.20.0.0/16" in f.inputs.get("sourceRanges", [])]
    assert len(rules) == 1 and rules[0].inputs["direction"] == "INGRESS"


def test_interconnect_attachments_land_in_the_region_the_spec_names():
    """A connection takes attachments only in the regions its metro serves: not always the first GCP region."""
    cfg = platform_config("prod")
    gcp = next(r for r in cfg["regions"] if r["cloud"] == "gcp")
    cfg["regions"].append({"cloud": "gcp", "region": "us-east4", "systemPool": gcp["systemPool"]})
    cfg["network"]["dedicated"] = {
        "peerAsn": 65010, "interconnectRegion": "us-east4",
        "interconnectAttachmentUrls": ["https://www.googleapis.com/compute/v1/projects/aiplat-prod-ml/global/"
                                       "interconnects/ic-ashburn"]}
    plan = run_plan("prod", platform=cfg)
    (attachment,) = plan.of_type("gcp:compute/interconnectAttachment:InterconnectAttachment")
    assert attachment.inputs["region"] == "us-east4"
    routers = {r.urn: r for r in plan.of_type("gcp:compute/router:Router")}
    assert [routers[u].inputs["region"] for u in G.dep(attachment, "router")] == ["us-east4"]
    (iface,) = [i for i in plan.of_type(G.IFACE) if attachment.urn in G.dep(i, "interconnectAttachment")]
    assert iface.inputs["region"] == "us-east4"
    (peer,) = [p for p in plan.of_type(G.PEER) if iface.urn in G.dep(p, "interface")]
    advertised = {a["range"] for a in peer.inputs["advertisedIpRanges"]}
    subnets = {s.inputs["region"]: s for s in plan.of_type(G.SUBNETWORK)}
    assert set(subnets) == {"us-central1", "us-east4"}  # both GCP regions reachable over the one attachment
    assert all(any(ipaddress.ip_network(s.inputs["ipCidrRange"]).subnet_of(ipaddress.ip_network(a))
                   for a in advertised) for s in subnets.values())
