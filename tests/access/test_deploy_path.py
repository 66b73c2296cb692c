"""`pulumi up` reaches every cluster's API server: for each ``kubernetes.Provider`` of every shipped stack (and the
other documented modes), the deployer's path is read out of the plan (``deploy_path.py``) and the provider's
kubeconfig must target that path's endpoint. Breaking any link of a path (a rule, a route, the route export, an
allow-listed address, the kubeconfig itself) must leave a cluster unreachable."""
from __future__ import annotations

import copy
import ipaddress
import json
from typing import Callable

import pytest

from blueprint.plan import Plan
from tests.access import deploy_path as D
from tests.access.applied import applied_plan
from tests.conftest import DEPLOYER_ROLE, STACKS, platform_config
from tests.interconnect import graph as G

DX_ID = "5f2a3b4c-1d2e-4f50-8a9b-0c1d2e3f4a5b"
IC = "https://www.googleapis.com/compute/v1/projects/aiplat-prod-ml/global/interconnects/ic-a"


def _variant(name: str) -> tuple[str, dict | None]:
    if name in STACKS:
        return name, None
    stack, cfg = name.split("-", 1)[0], platform_config(name.split("-", 1)[0])
    deployer = cfg["access"]["deployer"]
    if name == "staging-public":  # us-west-2 through its public endpoint, allow-listed to the runner's NAT
        deployer["eksEndpoint"] = "public-allowlist"
    elif name == "prod-gkeprivate":  # GKE through its private endpoint, over the HA VPN
        deployer["gkeEndpoint"] = "private"
    elif name == "prod-peer":  # a deployer network behind Direct Connect / Cloud Interconnect
        cfg["access"]["deployer"] = {"awsRoleArn": DEPLOYER_ROLE, "peerCidrs": ["172.20.0.0/24"], "gkeEndpoint": "private"}
        cfg["network"]["dedicated"] = {"directConnectGatewayId": DX_ID, "peerAsn": 65010,
                                       "interconnectAttachmentUrls": [IC]}
    return stack, cfg


_cache: dict[str, tuple[Plan, dict]] = {}


def planned(name: str) -> tuple[Plan, dict]:
    if name not in _cache:
        stack, cfg = _variant(name)
        _cache[name] = applied_plan(stack, cfg)
    return _cache[name]


EXPECTED = {
    "dev": {"aws-us-east-1-eks-k8s": "private-same-vpc"},
    "staging": {"aws-us-east-1-eks-k8s": "private-same-vpc", "aws-us-west-2-eks-k8s": "private-interconnect"},
    "prod": {"aws-us-east-1-eks-k8s": "private-same-vpc", "aws-us-west-2-eks-k8s": "private-interconnect",
             "gcp-us-central1-gke-k8s": "dns-endpoint"},
    "staging-public": {"aws-us-east-1-eks-k8s": "private-same-vpc", "aws-us-west-2-eks-k8s": "public-allowlist"},
    "prod-gkeprivate": {"aws-us-east-1-eks-k8s": "private-same-vpc", "aws-us-west-2-eks-k8s": "private-interconnect",
                        "gcp-us-central1-gke-k8s": "private-ip"},
    "prod-peer": {"aws-us-east-1-eks-k8s": "private-interconnect", "aws-us-west-2-eks-k8s": "private-interconnect",
                  "gcp-us-central1-gke-k8s": "private-ip"},
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_kubernetes_provider_uses_the_endpoint_the_deployer_reaches(name):
    plan, answers = planned(name)
    paths = D.deploy_paths(plan, answers)
    assert {p: path.kind for p, path in paths.items()} == EXPECTED[name]


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_deploy_from_their_runner_subnet_and_open_443_to_it_only(stack):
    plan, answers = planned(stack)
    reader = D.Reader(plan, answers)
    deployer = reader.deployer()
    assert deployer.kind == "runner" and deployer.region == "aws/us-east-1" and deployer.internet
    clusters = {c.urn for c in plan.of_type(D.EKS)}
    api_rules = [r for r in plan.of_type(D.SG_RULE) if set(G.dep(r, "securityGroupId")) & clusters
                 and int(r.inputs["fromPort"]) <= 443 <= int(r.inputs["toPort"])]
    assert api_rules and {ipaddress.ip_network(r.inputs["cidrIpv4"]) for r in api_rules} == set(deployer.ranges)


# ---- breaking one link at a time --------------------------------------------------------------------------------

Mutation = Callable[[Plan, dict], None]


def _drop(plan: Plan, pred) -> None:
    before = len(plan.resources)
    plan.resources = [r for r in plan.resources if not pred(r)]
    assert len(plan.resources) < before, "the mutation found nothing to drop"


def _one(plan: Plan, type_: str, pred=lambda r: True):
    (found,) = [r for r in plan.of_type(type_) if pred(r)]
    return found


def _runner(plan: Plan, answers: dict) -> D.Deployer:
    return D.Reader(plan, answers).deployer()


def _region(plan: Plan, r) -> str:
    return G.build(plan).region_of.get(r.urn, "")


def _block(plan: Plan, region: str) -> ipaddress.IPv4Network:
    """An AWS region's VPC block; a GCP region's control plane range."""
    if region.startswith("gcp/"):
        return ipaddress.ip_network(_one(plan, D.GKE).inputs["privateClusterConfig"]["masterIpv4CidrBlock"])
    (vpc,) = [v for v in plan.of_type(G.VPC) if _region(plan, v) == region]
    return ipaddress.ip_network(vpc.inputs["cidrBlock"])


def drop_api_rule(region: str) -> Mutation:
    def m(plan, answers):
        cluster = _one(plan, D.EKS, lambda c: _region(plan, c) == region)
        _drop(plan, lambda r: r.type == D.SG_RULE and G.dep(r, "securityGroupId") == [cluster.urn]
              and int(r.inputs["fromPort"]) == 443)
    return m


def vpc_without_dns_hostnames(plan, answers):
    for vpc in plan.of_type(G.VPC):
        vpc.inputs["enableDnsHostnames"] = False


def drop_runner_route_to(region: str) -> Mutation:
    def m(plan, answers):
        table, block = _runner(plan, answers).route_table, _block(plan, region)
        _drop(plan, lambda r: r.type == G.VPC_ROUTE and table in G.dep(r, "routeTableId")
              and block.subnet_of(ipaddress.ip_network(r.inputs["destinationCidrBlock"])))
    return m


def drop_tgw_route_back(region: str) -> Mutation:
    def m(plan, answers):
        runner = _runner(plan, answers).ranges[0]
        _drop(plan, lambda r: r.type == G.TGW_ROUTE and _region(plan, r) == region
              and runner.subnet_of(ipaddress.ip_network(r.inputs["destinationCidrBlock"])))
    return m


def drop_vpc_routes_back(region: str, to: str) -> Mutation:
    def m(plan, answers):
        source = _runner(plan, answers).ranges[0] if to == "runner" else ipaddress.ip_network(to)
        _drop(plan, lambda r: r.type == G.VPC_ROUTE and _region(plan, r) == region and G.dep(r, "transitGatewayId")
              and source.subnet_of(ipaddress.ip_network(r.inputs["destinationCidrBlock"])))
    return m


def public_endpoint_for(region: str, cidrs: list[str]) -> Mutation:
    """Turn the public endpoint on for ``cidrs``: outside the VPC the name then resolves to public addresses."""
    def m(plan, answers):
        cluster = _one(plan, D.EKS, lambda c: _region(plan, c) == region)
        cluster.inputs["vpcConfig"].update(endpointPublicAccess=True, publicAccessCidrs=cidrs)
    return m


def drop_runner_default_route(plan, answers):
    table = _runner(plan, answers).route_table
    _drop(plan, lambda r: r.type == G.VPC_ROUTE and table in G.dep(r, "routeTableId")
          and r.inputs["destinationCidrBlock"] == "0.0.0.0/0")


def gke_dns_closed(plan, answers):
    _one(plan, D.GKE).inputs["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] = False


def drop_route_export(plan, answers):
    _drop(plan, lambda r: r.type == D.EXPORT)


def route_export_off(plan, answers):
    _one(plan, D.EXPORT).inputs["exportCustomRoutes"] = False


def authorized_networks(cidrs: list[str]) -> Mutation:
    def m(plan, answers):
        _one(plan, D.GKE).inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"] = [{"cidrBlock": c} for c in cidrs]
    return m


def routers_hide_the_control_plane(plan, answers):
    control = ipaddress.ip_network(_one(plan, D.GKE).inputs["privateClusterConfig"]["masterIpv4CidrBlock"])
    for peer in plan.of_type(G.PEER):
        peer.inputs["advertisedIpRanges"] = [r for r in peer.inputs.get("advertisedIpRanges", [])
                                             if not control.subnet_of(ipaddress.ip_network(r["range"]))]


def kubeconfig(provider: str, edit: Callable[[dict], None]) -> Mutation:
    def m(plan, answers):
        p = _one(plan, D.K8S_PROVIDER, lambda r: r.name == provider)
        doc = json.loads(p.inputs["kubeconfig"])
        edit(doc)
        p.inputs["kubeconfig"] = json.dumps(doc)
    return m


def _server(value: str):
    return lambda doc: doc["clusters"][0]["cluster"].update(server=value)


def _pin_ca(doc):
    doc["clusters"][0]["cluster"]["certificate-authority-data"] = "LS0tLS1CRUdJTg=="


def _exec(**kw):
    return lambda doc: doc["users"][0]["user"]["exec"].update(kw)


GKE_PRIVATE_IP = "https://10.96.96.2"  # the private endpoint's address in prod (control plane /28 + 2)

BROKEN = {
    "dev": {
        "no 443 rule for the runner": (drop_api_rule("aws/us-east-1"), "no 443 rule"),
        "VPC without DNS host names": (vpc_without_dns_hostnames, "cannot resolve the private endpoint"),
        "kubeconfig on another host": (kubeconfig("aws-us-east-1-eks-k8s", _server("https://example.internal")),
                                       "is not the private-same-vpc endpoint"),
        "kubeconfig without aws eks get-token": (
            kubeconfig("aws-us-east-1-eks-k8s", _exec(command="kubectl-oidc")), "not `aws eks get-token`"),
    },
    "staging": {
        "no 443 rule in us-west-2": (drop_api_rule("aws/us-west-2"), "no 443 rule"),
        "runner does not route to us-west-2": (drop_runner_route_to("aws/us-west-2"), "does not send"),
        "us-west-2's TGW does not route back": (drop_tgw_route_back("aws/us-west-2"), "do not route between"),
        "us-west-2's subnets do not route back": (drop_vpc_routes_back("aws/us-west-2", "runner"),
                                                  "do not route the deployer's range"),
        "public endpoint on, runner not allow-listed": (public_endpoint_for("aws/us-west-2", ["52.94.0.0/24"]),
                                                        "do not admit the deployer's egress"),
    },
    "staging-public": {
        "runner's NAT address not allow-listed": (public_endpoint_for("aws/us-west-2", ["52.94.0.0/24"]),
                                                  "do not admit the deployer's egress"),
        "runner without internet egress": (drop_runner_default_route, "no known internet egress"),
    },
    "prod": {
        "DNS endpoint closed": (gke_dns_closed, "does not get the VPC's custom routes"),
        "runner without internet egress": (drop_runner_default_route, "does not get the VPC's custom routes"),
        "kubeconfig on the private IP": (kubeconfig("gcp-us-central1-gke-k8s", _server(GKE_PRIVATE_IP)),
                                         "is not the dns-endpoint endpoint"),
        "kubeconfig pins the cluster CA on the DNS endpoint": (kubeconfig("gcp-us-central1-gke-k8s", _pin_ca),
                                                               "wrong certificate authority"),
        "kubeconfig without gke-gcloud-auth-plugin": (kubeconfig("gcp-us-central1-gke-k8s", _exec(command="gcloud")),
                                                      "not gke-gcloud-auth-plugin"),
        "no 443 rule in us-west-2": (drop_api_rule("aws/us-west-2"), "no 443 rule"),
    },
    "prod-gkeprivate": {
        "no route export": (drop_route_export, "does not get the VPC's custom routes"),
        "route export turned off": (route_export_off, "does not get the VPC's custom routes"),
        "authorized networks miss the runner": (authorized_networks(["10.96.0.0/16"]), "do not cover the deployer"),
        "Cloud Router hides the control plane": (routers_hide_the_control_plane, "advertises the control plane"),
        "runner does not route to GCP": (drop_runner_route_to("gcp/us-central1"), "does not send"),
        "kubeconfig on the DNS endpoint": (
            kubeconfig("gcp-us-central1-gke-k8s", _server("https://gke-0-123456789012.us-central1.gke.goog")),
            "is not the private-ip endpoint"),
    },
    "prod-peer": {
        "us-west-2 does not route to the peer": (drop_vpc_routes_back("aws/us-west-2", "172.20.0.0/24"),
                                                 "do not route the deployer's range"),
        "no 443 rule for the peer in us-east-1": (drop_api_rule("aws/us-east-1"), "no 443 rule"),
        "no route export": (drop_route_export, "does not get the VPC's custom routes"),
    },
}


@pytest.mark.parametrize("name, label", [(n, k) for n, cases in BROKEN.items() for k in cases])
def test_breaking_a_link_leaves_a_cluster_unreachable(name, label):
    plan, answers = planned(name)
    D.deploy_paths(plan, answers)  # the intact plan has a path to every cluster
    broken = copy.deepcopy(plan)
    mutate, words = BROKEN[name][label]
    mutate(broken, answers)
    with pytest.raises(D.NoPath) as info:
        D.deploy_paths(broken, answers)
    assert words in str(info.value), str(info.value)
