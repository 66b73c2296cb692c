"""Routed traffic is also admitted: each end of every private link lets the other's planned ranges in, on the
security group / firewall its nodes actually carry, and nothing admits the internet."""
from __future__ import annotations

import ipaddress

import pytest

from blueprint.plan import run_plan
from tests.conftest import platform_config
from tests.interconnect import graph as G
from tests.interconnect.test_interconnect_plan import expected_pairs, plan_of, regions_of

SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EKS = "aws:eks/cluster:Cluster"
NODE_GROUP, LAUNCH_TEMPLATE = "aws:eks/nodeGroup:NodeGroup", "aws:ec2/launchTemplate:LaunchTemplate"
FIREWALL = "gcp:compute/firewall:Firewall"
ANYWHERE = {"0.0.0.0/0", "::/0"}
NODEPORTS, SERVING, PMTU = ("tcp", 30000, 32767), ("tcp", 8080, 8080), ("icmp", 3, 4)


def _cluster(plan, g, region):
    (found,) = [c for c in plan.of_type(EKS) if g.region_of[c.urn] == region]
    return found


def aws_admits(plan, g, region) -> dict[tuple, list[ipaddress.IPv4Network]]:
    """(protocol, from, to) -> source ranges, of the rules on ``region``'s EKS cluster security group."""
    cluster = _cluster(plan, g, region).urn
    out: dict[tuple, list] = {}
    for r in plan.of_type(SG_RULE):
        # a rule naming a source group (the serving NLB's, components/aws/ingress.py) admits no address range
        # the deployer's own 443 rule (components/access/path.py) is checked by tests/access
        if G.dep(r, "securityGroupId") == [cluster] and "cidrIpv4" in r.inputs and "access:DeployerPath$" not in r.urn:
            assert g.region_of[r.urn] == region  # declared with the region's own provider
            key = (r.inputs["ipProtocol"], int(r.inputs["fromPort"]), int(r.inputs["toPort"]))
            out.setdefault(key, []).append(ipaddress.ip_network(r.inputs["cidrIpv4"]))
    return out


def gcp_admits(plan, net) -> bool:
    """An INGRESS allow rule for tcp and icmp from ``net`` on the stack's network, ahead of every deny covering it."""
    (network,) = plan.of_type("gcp:compute/network:Network")
    rules = [f for f in plan.of_type(FIREWALL) if G.dep(f, "network") == [network.urn]
             and f.inputs["direction"] == "INGRESS" and not f.inputs.get("targetTags")
             and any(net.subnet_of(ipaddress.ip_network(s)) for s in f.inputs.get("sourceRanges", []))]
    allows = [f for f in rules if {a["protocol"] for a in f.inputs.get("allows", []) if not a.get("ports")}
              >= {"tcp", "icmp"}]
    denies = [f for f in rules if f.inputs.get("denies")]
    return bool(allows) and min(f.inputs["priority"] for f in allows) < min(
        [f.inputs["priority"] for f in denies] + [65536])


@pytest.mark.parametrize("variant", ["prod", "staging", "hub-aws", "hub-gcp"])
def test_each_end_of_every_link_admits_the_others_ranges(variant):
    plan = plan_of(variant)
    g = G.build(plan)
    assert set(g.edges) == expected_pairs(variant, regions_of(plan))
    for pair in g.edges:
        for here, there in (sorted(pair), sorted(pair)[::-1]):
            if here.startswith("aws/"):
                admits = aws_admits(plan, g, here)
                for port in (NODEPORTS, SERVING, PMTU):
                    for net in g.blocks[there]:  # nodes, pods and services of the far end
                        assert any(net.subnet_of(s) for s in admits.get(port, [])), (here, there, port, net)
            elif there.startswith("aws/"):
                for net in g.blocks[there]:
                    assert gcp_admits(plan, net), (here, there, net)


@pytest.mark.parametrize("variant", ["prod", "hub-aws", "hub-gcp"])
def test_only_linked_regions_are_admitted_and_only_on_the_service_ports(variant):
    plan = plan_of(variant)
    g = G.build(plan)
    regions = regions_of(plan)
    for region in (r for r in regions if r.startswith("aws/")):
        admits = aws_admits(plan, g, region)
        linked = [k for k in regions if frozenset((region, k)) in g.edges]
        allowed = [n for k in linked for n in g.blocks[k]]
        sources = {s for nets in admits.values() for s in nets}
        assert all(any(n.subnet_of(s) for s in sources) for n in allowed)
        assert all(any(n.subnet_of(s) for n in allowed) for s in sources), (region, sources)
        assert not any(n.subnet_of(s) for k in regions if k != region and k not in linked
                       for n in g.blocks[k] for s in sources), region  # hub-and-spoke: spokes stay apart
        assert set(admits) == {NODEPORTS, SERVING, PMTU, ("icmp", 8, -1)}  # not 443 (the API server), not -1


def test_the_admitting_security_group_is_the_one_every_node_carries():
    """Managed node groups get the EKS cluster security group unless their launch template names others; the
    ones that name interfaces (EFA) must name the cluster's group."""
    plan = plan_of("prod")
    g = G.build(plan)
    templates = {t.urn: t for t in plan.of_type(LAUNCH_TEMPLATE)}
    groups = plan.of_type(NODE_GROUP)
    assert groups
    efa = 0
    for ng in groups:
        cluster = _cluster(plan, g, g.region_of[ng.urn]).urn
        assert G.dep(ng, "clusterName") == [cluster]
        (lt,) = [templates[u] for u in G.dep(ng, "launchTemplate")]
        assert not lt.inputs.get("vpcSecurityGroupIds") and not lt.inputs.get("securityGroupNames")
        if lt.inputs.get("networkInterfaces"):
            efa += 1
            assert G.dep(lt, "networkInterfaces") == [cluster]
    assert efa >= 1


@pytest.mark.parametrize("variant", ["prod", "staging", "hub-gcp", "dedicated"])
def test_nothing_admits_the_internet(variant):
    plan = plan_of(variant)
    # The one group that does admit the internet is the serving NLB's own (components/aws/ingress.py): an
    # internet-facing load balancer's listener is the public entry point by design, and that group is on the NLB
    # only, never on a node; nodes admit it by group reference, on Envoy's NodePort. Every other group is checked.
    nlb_groups = {u for lb in plan.of_type("aws:lb/loadBalancer:LoadBalancer") for u in G.dep(lb, "securityGroups")}
    public = [r for r in plan.of_type(SG_RULE) if set(G.dep(r, "securityGroupId")) & nlb_groups]
    assert all((r.inputs.get("fromPort"), r.inputs.get("toPort")) in ((443, 443), (80, 80)) for r in public)
    rules = [r for r in plan.of_type(SG_RULE) if r not in public]
    assert rules
    assert not {r.inputs.get("cidrIpv4") for r in rules} & ANYWHERE
    assert not {r.inputs.get("cidrIpv6") for r in rules} & ANYWHERE
    for sg in plan.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert sg.urn not in nlb_groups or not sg.inputs.get("ingress"), "the NLB's group admits only by its rules"
        for rule in sg.inputs.get("ingress", []):
            assert not set(rule.get("cidrBlocks", []) + rule.get("ipv6CidrBlocks", [])) & ANYWHERE, sg.name
    for rule in plan.of_type("aws:ec2/securityGroupRule:SecurityGroupRule"):
        if rule.inputs.get("type") == "ingress":
            assert not set(rule.inputs.get("cidrBlocks", [])) & ANYWHERE, rule.name
    for fw in plan.of_type(FIREWALL):
        if fw.inputs.get("allows") and fw.inputs["direction"] == "INGRESS":
            assert not set(fw.inputs.get("sourceRanges", [])) & ANYWHERE, fw.name


def test_an_aws_region_outside_the_supernet_is_admitted_on_both_clouds():
    cfg = platform_config("prod")
    cfg["regions"][1]["cidr"] = "172.20.0.0/16"  # aws/us-west-2, outside 10.64.0.0/10
    plan = run_plan("prod", platform=cfg)
    g = G.build(plan)
    west = ipaddress.ip_network("172.20.0.0/16")
    assert west in aws_admits(plan, g, "aws/us-east-1")[NODEPORTS]
    assert gcp_admits(plan, west)
    serving = aws_admits(plan, g, "aws/us-west-2")[SERVING]
    assert all(any(n.subnet_of(s) for s in serving) for n in g.blocks["gcp/us-central1"] + g.blocks["aws/us-east-1"])
