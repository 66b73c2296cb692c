"""Read the deployer's path to every API server out of a plan: planned resources, their inputs and dependencies, and
what the clouds answered for computed values (``applied.py``). Never the spec.

The deployer is where the plan puts it: the subnet tagged ``aiplatform.io/role: deployer-runner`` (its CIDR, route
table, NAT and Elastic IP), else the peer ranges the VPCs route to their Transit Gateway for a Direct Connect
gateway, else a machine on the internet. A cluster is reachable when one of these paths is complete:

* private, same VPC: the EKS private endpoint is on, the VPC resolves it (DNS support and host names), and a TCP 443
  rule on the cluster security group admits the deployer's range;
* private, across the interconnect: the EKS public endpoint is off (public DNS then answers with the private
  addresses), the deployer's route table sends the cluster's block to its Transit Gateway, the TGWs are peered and
  route both ways, the cluster's subnets route the deployer's range back, and a 443 rule admits it;
* public allow-list: the EKS public endpoint's ``publicAccessCidrs`` holds the deployer's egress address (the NAT its
  default route leaves through) and the deployer is outside the cluster's VPC (inside it, the name is private);
* GKE DNS endpoint: ``allowExternalTraffic`` and internet egress for the deployer;
* GKE private endpoint: authorized networks cover the deployer, routes to the control plane's /28 over the VPN (BGP
  propagation into the TGW) or a Cloud Interconnect attachment (peer network), a Cloud Router advertising the /28, and the cluster VPC exports its custom routes to the
  control plane's peering, so the answer finds its way back.

Each kubeconfig must then target the endpoint of that path with the right credentials plugin.
"""
from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field

from blueprint.plan import Plan, PlannedResource
from tests.interconnect import graph as G

EKS, GKE = "aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster"
K8S_PROVIDER = "pulumi:providers:kubernetes"
SUBNET, ASSOC = "aws:ec2/subnet:Subnet", "aws:ec2/routeTableAssociation:RouteTableAssociation"
NAT, EIP = "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip"
SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EXPORT = "gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig"
DX = "aws:directconnect/gatewayAssociation:GatewayAssociation"
INTERCONNECT = "gcp:compute/interconnectAttachment:InterconnectAttachment"
ANYWHERE = ipaddress.ip_network("0.0.0.0/0")
Net = ipaddress.IPv4Network


class NoPath(AssertionError):
    """The deployer cannot reach a cluster's API server, or its kubeconfig points elsewhere."""


def need(ok: object, why: str) -> None:
    if not ok:
        raise NoPath(why)


def net(value: str) -> Net:
    return ipaddress.ip_network(value)  # type: ignore[return-value]


@dataclass
class Deployer:
    kind: str  # runner | peer | internet
    ranges: list[Net] = field(default_factory=list)  # private source ranges
    region: str | None = None
    vpc: str | None = None  # VPC urn
    route_table: str | None = None  # route table urn
    egress: list[Net] = field(default_factory=list)  # public source addresses (/32)
    internet: bool = False


@dataclass
class Path:
    cluster: str  # cluster resource name
    kind: str  # private-same-vpc | private-interconnect | public-allowlist | dns-endpoint | private-ip
    server: str  # the endpoint the kubeconfig must use
    ca: str | None


class Reader:
    def __init__(self, plan: Plan, answers: dict[tuple[str, str], dict]):
        self.plan, self.answers = plan, answers
        self.g = G.build(plan)

    def answer(self, r: PlannedResource) -> dict:
        return self.answers[(r.type, r.name)]

    def by(self, urns: list[str]) -> list[PlannedResource]:
        return [x for x in (self.plan.by_urn(u) for u in urns) if x is not None]

    # ---- the deployer ------------------------------------------------------------------------------------------

    def deployer(self) -> Deployer:
        runners = [s for s in self.plan.of_type(SUBNET)
                   if (s.inputs.get("tags") or {}).get("aiplatform.io/role") == "deployer-runner"]
        need(len(runners) <= 1, "more than one runner subnet")
        if runners:
            return self._runner(runners[0])
        peer = {r.inputs["destinationCidrBlock"] for r in self.plan.of_type(G.VPC_ROUTE)
                if G.dep(r, "transitGatewayId") and self._dx_tgws() & set(G.dep(r, "transitGatewayId"))
                and not any(net(r.inputs["destinationCidrBlock"]).overlaps(b)
                            for blocks in self.g.blocks.values() for b in blocks)
                and r.inputs["destinationCidrBlock"] != "35.199.192.0/19"}
        if peer:
            return Deployer("peer", ranges=sorted(net(p) for p in peer))
        return Deployer("internet", internet=True)

    def _dx_tgws(self) -> set[str]:
        return {u for a in self.plan.of_type(DX) for u in G.dep(a, "associatedGatewayId")}

    def _runner(self, subnet: PlannedResource) -> Deployer:
        (vpc,) = G.dep(subnet, "vpcId")
        tables = [t for a in self.plan.of_type(ASSOC) if subnet.urn in G.dep(a, "subnetId")
                  for t in G.dep(a, "routeTableId")]
        need(len(tables) == 1, "the runner subnet has no route table of its own")
        d = Deployer("runner", ranges=[net(subnet.inputs["cidrBlock"])], region=self.g.region_of[subnet.urn],
                     vpc=vpc, route_table=tables[0])
        for route in self._routes(tables[0]):
            if net(route.inputs["destinationCidrBlock"]) == ANYWHERE:
                for nat in self.by(G.dep(route, "natGatewayId")):
                    public = self.plan.by_urn(G.dep(nat, "subnetId")[0])
                    eips = self.by(G.dep(nat, "allocationId"))
                    if eips and public is not None and nat.inputs.get("connectivityType") == "public":
                        d.internet = True
                        d.egress += [net(self.answer(e)["publicIp"] + "/32") for e in eips]
        return d

    def _routes(self, table: str) -> list[PlannedResource]:
        return [r for r in self.plan.of_type(G.VPC_ROUTE) if table in G.dep(r, "routeTableId")]

    def _routed_to_tgw(self, table: str, dest: Net, tgw: str) -> bool:
        return any(dest.subnet_of(net(r.inputs["destinationCidrBlock"])) and tgw in G.dep(r, "transitGatewayId")
                   for r in self._routes(table))

    # ---- EKS ---------------------------------------------------------------------------------------------------

    def _cluster_subnets(self, cluster: PlannedResource) -> list[PlannedResource]:
        return self.by(G.dep(cluster, "vpcConfig"))

    def _rule_443(self, cluster: PlannedResource, ranges: list[Net]) -> bool:
        rules = [r for r in self.plan.of_type(SG_RULE) if G.dep(r, "securityGroupId") == [cluster.urn]
                 and r.inputs.get("ipProtocol") == "tcp" and int(r.inputs["fromPort"]) <= 443 <= int(r.inputs["toPort"])
                 and "cidrIpv4" in r.inputs]
        return bool(ranges) and all(any(n.subnet_of(net(r.inputs["cidrIpv4"])) for r in rules) for n in ranges)

    def _tgw_tables(self, region: str) -> list[str]:
        return [t.urn for t in self.plan.of_type(G.TGW_ROUTE_TABLE) if self.g.region_of[t.urn] == region]

    def _tgw_routes(self, region: str, dest: Net) -> bool:
        tables = self._tgw_tables(region)
        return any(dest.subnet_of(net(r.inputs["destinationCidrBlock"])) and set(G.dep(r, "transitGatewayRouteTableId"))
                   & set(tables) for r in self.plan.of_type(G.TGW_ROUTE))

    def _tgw_learns(self, region: str, attachment_type: str) -> bool:
        """A route table of the region's TGW gets the routes a BGP attachment (VPN, Direct Connect) propagates."""
        tables = set(self._tgw_tables(region))
        kinds = {r.urn: r.type for r in self.plan}
        return any(set(G.dep(p, "transitGatewayRouteTableId")) & tables
                   and any(kinds.get(a) == attachment_type for a in G.dep(p, "transitGatewayAttachmentId"))
                   for p in self.plan.of_type(G.PROPAGATION))

    def _subnet_tables(self, subnets: list[PlannedResource]) -> list[str]:
        urns = {s.urn for s in subnets}
        return [t for a in self.plan.of_type(ASSOC) if set(G.dep(a, "subnetId")) & urns for t in G.dep(a, "routeTableId")]

    def eks_path(self, cluster: PlannedResource, d: Deployer) -> Path:
        vc, state = cluster.inputs["vpcConfig"], self.answer(cluster)
        private_on, public_on = vc.get("endpointPrivateAccess") is True, vc.get("endpointPublicAccess") is not False
        subnets = self._cluster_subnets(cluster)
        (vpc_urn,) = {u for s in subnets for u in G.dep(s, "vpcId")}
        vpc, region = self.plan.by_urn(vpc_urn), self.g.region_of[cluster.urn]
        block = net(vpc.inputs["cidrBlock"])
        path = Path(cluster.name, "", state["endpoint"], state["certificateAuthority"]["data"])
        if d.vpc == vpc_urn and private_on:
            # EKS associates a private hosted zone with the VPC: inside it the name is the private endpoint
            need(vpc.inputs.get("enableDnsSupport") is True and vpc.inputs.get("enableDnsHostnames") is True,
                 f"{cluster.name}: the VPC cannot resolve the private endpoint (DNS support/host names off)")
            need(self._rule_443(cluster, d.ranges), f"{cluster.name}: no 443 rule admits the runner subnet")
            path.kind = "private-same-vpc"
            return path
        if d.kind in ("runner", "peer") and private_on and not public_on:
            # with the public endpoint off, public DNS answers with the private addresses: route there and back
            need(self._rule_443(cluster, d.ranges), f"{cluster.name}: no 443 rule admits the deployer {d.ranges}")
            tgws = [t.urn for t in self.plan.of_type(G.TGW) if self.g.region_of[t.urn] == region]
            back = self._subnet_tables(subnets)
            need(tgws and back and all(any(self._routed_to_tgw(t, n, tgws[0]) for n in d.ranges) for t in back),
                 f"{cluster.name}: the cluster's subnets do not route the deployer's range to the TGW")
            if d.kind == "runner":
                (mine,) = [t.urn for t in self.plan.of_type(G.TGW) if self.g.region_of[t.urn] == d.region]
                need(self._routed_to_tgw(d.route_table, block, mine),
                     f"{cluster.name}: the runner's route table does not send {block} to its TGW")
                need(self.g.edges.get(frozenset((d.region, region))) == "tgw-peering",
                     f"{cluster.name}: no TGW peering between {d.region} and {region}")
                need(self._tgw_routes(d.region, block) and all(self._tgw_routes(region, n) for n in d.ranges),
                     f"{cluster.name}: the TGWs do not route between {d.region} and {region}")
            else:
                need(self._tgw_learns(region, DX), f"{cluster.name}: the TGW learns no route to the peer network")
            path.kind = "private-interconnect"
            return path
        need(public_on, f"{cluster.name}: the deployer is outside the VPC and only the private endpoint is on")
        need(d.internet and d.egress, f"{cluster.name}: the deployer has no known internet egress address")
        allowed = [net(c) for c in vc.get("publicAccessCidrs") or ["0.0.0.0/0"]]
        need(all(any(e.subnet_of(a) for a in allowed) for e in d.egress),
             f"{cluster.name}: publicAccessCidrs {allowed} do not admit the deployer's egress {d.egress}")
        path.kind = "public-allowlist"
        return path

    # ---- GKE ---------------------------------------------------------------------------------------------------

    def gke_path(self, cluster: PlannedResource, d: Deployer) -> Path:
        i, state = cluster.inputs, self.answer(cluster)
        need(i["privateClusterConfig"].get("enablePrivateEndpoint") is True, f"{cluster.name}: public IP endpoint")
        dns = ((i.get("controlPlaneEndpointsConfig") or {}).get("dnsEndpointConfig") or {})
        if dns.get("allowExternalTraffic") is True and d.internet:
            endpoint = state["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["endpoint"]
            return Path(cluster.name, "dns-endpoint", endpoint, None)
        need(d.kind in ("runner", "peer"), f"{cluster.name}: no DNS endpoint for an outside deployer, no network")
        control = net(i["privateClusterConfig"]["masterIpv4CidrBlock"])
        authorized = [net(b["cidrBlock"]) for b in i["masterAuthorizedNetworksConfig"]["cidrBlocks"]]
        need(all(any(n.subnet_of(a) for a in authorized) for n in d.ranges),
             f"{cluster.name}: the authorized networks {authorized} do not cover the deployer {d.ranges}")
        need(i["privateClusterConfig"].get("masterGlobalAccessConfig", {}).get("enabled") is True,
             f"{cluster.name}: no global access to the private endpoint")
        region = self.g.region_of.get(cluster.urn) or f"gcp/{i['location']}"
        routers = [p for p in self.plan.of_type(G.PEER) if self.g.region_of.get(p.urn) == region]
        need(any(control.subnet_of(net(r["range"])) for p in routers for r in p.inputs.get("advertisedIpRanges", [])),
             f"{cluster.name}: no Cloud Router advertises the control plane range {control}")
        exports = [e for e in self.plan.of_type(EXPORT) if G.dep(e, "peering") == [cluster.urn]
                   and G.dep(e, "network") == G.dep(cluster, "network") and e.inputs.get("exportCustomRoutes") is True]
        need(exports, f"{cluster.name}: the control plane's peering does not get the VPC's custom routes")
        if d.kind == "runner":
            (mine,) = [t.urn for t in self.plan.of_type(G.TGW) if self.g.region_of[t.urn] == d.region]
            need(self._routed_to_tgw(d.route_table, control, mine),
                 f"{cluster.name}: the runner's route table does not send {control} to its TGW")
            need(self.g.edges.get(frozenset((d.region, region))) == "ha-vpn",
                 f"{cluster.name}: no HA VPN between {d.region} and {region}")
            need(self._tgw_learns(d.region, G.VPN), f"{cluster.name}: the runner's TGW learns no GCP routes")
        else:
            routers = {u for a in self.plan.of_type(INTERCONNECT) for u in G.dep(a, "router")}
            need(any(G.dep(self.plan.by_urn(u), "network") == G.dep(cluster, "network") for u in routers),
                 f"{cluster.name}: no Cloud Interconnect attachment on the cluster's network reaches the peer")
        return Path(cluster.name, "private-ip", state["privateClusterConfig"]["privateEndpoint"],
                    state["masterAuth"]["clusterCaCertificate"])


def kubeconfig_targets(r: Reader, provider: PlannedResource, path: Path, cluster: PlannedResource) -> None:
    """The provider's kubeconfig uses the path's endpoint, its CA (none for the DNS endpoint) and the plugin."""
    kc = provider.inputs.get("kubeconfig")
    need(isinstance(kc, str) and kc.startswith("{"), f"{provider.name}: the kubeconfig is not known")
    doc = json.loads(kc)
    ctx = next(c["context"] for c in doc["contexts"] if c["name"] == doc["current-context"])
    server = next(c["cluster"] for c in doc["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in doc["users"] if u["name"] == ctx["user"])["exec"]
    expected = path.server if path.server.startswith("https://") else f"https://{path.server}"
    need(server["server"] == expected, f"{provider.name}: server {server['server']} is not the {path.kind} endpoint "
                                       f"{expected}")
    need(server.get("certificate-authority-data") == path.ca, f"{provider.name}: wrong certificate authority")
    if cluster.type == EKS:
        region = r.g.region_of[cluster.urn].split("/", 1)[1]
        need(user["command"] == "aws" and user["args"][:2] == ["eks", "get-token"]
             and user["args"][user["args"].index("--cluster-name") + 1] == cluster.inputs["name"]
             and user["args"][user["args"].index("--region") + 1] == region,
             f"{provider.name}: not `aws eks get-token` for {cluster.inputs['name']} in {region}")
    else:
        need(user["command"] == "gke-gcloud-auth-plugin", f"{provider.name}: not gke-gcloud-auth-plugin")


def deploy_paths(plan: Plan, answers: dict[tuple[str, str], dict]) -> dict[str, Path]:
    """Provider name -> the path its kubeconfig takes; raises ``NoPath`` at the first broken link."""
    r = Reader(plan, answers)
    d = r.deployer()
    out: dict[str, Path] = {}
    clusters = {c.urn: c for c in plan.of_type(EKS) + plan.of_type(GKE)}
    for provider in plan.of_type(K8S_PROVIDER):
        (target,) = [u for u in G.dep(provider, "kubeconfig") if u in clusters]
        cluster = clusters[target]
        path = r.eks_path(cluster, d) if cluster.type == EKS else r.gke_path(cluster, d)
        kubeconfig_targets(r, provider, path, cluster)
        out[provider.name] = path
    need(len({p.cluster for p in out.values()}) == len(clusters), "a cluster has no kubernetes.Provider")
    return out
