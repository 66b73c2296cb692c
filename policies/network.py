"""Network guardrails: private Kubernetes API endpoints, no public IPs on nodes, no auto-accepted TGW attachments."""
from __future__ import annotations

import ipaddress

from pulumi_policy import Severity

from blueprint.spec.access import DOCUMENTATION_RANGES
from policies._facts import EKS_CLUSTER, GKE_CLUSTER, GKE_NODE_POOL
from policies._framework import at, is_unknown, items, peek, resource_policy, truthy

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TRANSIT_GATEWAY = "aws:ec2transitgateway/transitGateway:TransitGateway"
ANYWHERE = ("0.0.0.0/0", "::/0")


@resource_policy(
    "k8s-api-endpoint-private",
    description="EKS/GKE API endpoints follow a documented deploy-path mode (access.deployer): EKS private, or public "
                "beside the private endpoint for a CIDR allow-list; GKE IP endpoints private, reached privately or "
                "through the IAM-gated DNS endpoint. Never 0.0.0.0/0, never a documentation range.",
    types=(EKS_CLUSTER, GKE_CLUSTER), severity=Severity.CRITICAL, concern="network",
    remediation="EKS: vpcConfig.endpointPrivateAccess=true, and either endpointPublicAccess=false or publicAccessCidrs "
                "naming the deployer's egress (access.deployer.eksEndpoint). GKE: "
                "privateClusterConfig.enablePrivateEndpoint=true, masterAuthorizedNetworksConfig without 0.0.0.0/0 "
                "or GCP public ranges (access.deployer.gkeEndpoint: dns-endpoint or private).",
    url="https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html")
def k8s_api_endpoint_private(args, report, settings):
    p = args.props
    if args.resource_type == EKS_CLUSTER:
        public = at(p, "vpcConfig.endpointPublicAccess")
        public = True if public is None else truthy(public)  # the EKS default is a public endpoint
        if not public:
            return
        if not truthy(at(p, "vpcConfig.endpointPrivateAccess")):
            report("a public endpoint without the private one: nodes and in-VPC clients reach the API over the "
                   "internet; the public-allowlist mode keeps endpointPrivateAccess=true")
        # Allow-list entries computed at apply (the runner subnet's NAT address) are single addresses; judge the
        # ones that are known.
        raw = _without_unknown_check(peek(at(p, "vpcConfig", {}), "publicAccessCidrs"))
        cidrs = [str(c) for c in raw if not is_unknown(c)]
        if not raw or any(c in ANYWHERE for c in cidrs):
            report("the public API endpoint is open to 0.0.0.0/0 (publicAccessCidrs unset or 0.0.0.0/0)")
        for c in cidrs:
            if _documentation(c):
                report(f"publicAccessCidrs has {c}, a documentation range (RFC 5737) no real deployer is in")
        return
    dns_open = at(p, "controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic") is True
    ip_enabled = at(p, "controlPlaneEndpointsConfig.ipEndpointsConfig.enabled") is not False
    private = at(p, "privateClusterConfig.enablePrivateEndpoint") is True
    if ip_enabled and not private:
        report("privateClusterConfig.enablePrivateEndpoint is not true: the control plane has a public IP endpoint "
               f"(documented modes: the IAM-gated DNS endpoint{' (enabled here)' if dns_open else ''} or the private "
               "endpoint)")
    blocks = [str(at(b, "cidrBlock", "")) for b in items(at(p, "masterAuthorizedNetworksConfig.cidrBlocks", []))]
    if any(b in ANYWHERE for b in blocks) or (ip_enabled and not private and not blocks):
        report("the control plane accepts connections from 0.0.0.0/0 (masterAuthorizedNetworksConfig)")
    if at(p, "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled") is True:
        report("masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled lets any GCP IP reach the control plane")


def _without_unknown_check(value) -> list:
    """A list's elements as they are, unknown ones included (the proxy would raise on them)."""
    try:
        return list(value["__target"])  # the SDK's list proxy hands out its target under this key
    except (TypeError, KeyError, IndexError):
        return items(value)


def _documentation(cidr: str) -> bool:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return any(net.overlaps(d) for d in DOCUMENTATION_RANGES)


@resource_policy(
    "nodes-no-public-ip",
    description="GPU and system nodes get no public IP addresses.",
    types=(LAUNCH_TEMPLATE, GKE_CLUSTER, GKE_NODE_POOL), severity=Severity.HIGH, concern="network",
    remediation="Do not set associatePublicIpAddress on launch template interfaces; GKE: "
                "privateClusterConfig.enablePrivateNodes=true and no networkConfig.enablePrivateNodes=false.",
    url="https://cloud.google.com/kubernetes-engine/docs/concepts/private-cluster-concept")
def nodes_no_public_ip(args, report, settings):
    p = args.props
    if args.resource_type == LAUNCH_TEMPLATE:
        for i, nic in enumerate(items(at(p, "networkInterfaces", []))):
            if truthy(at(nic, "associatePublicIpAddress")):
                report(f"networkInterfaces[{i}] associates a public IP address")
    elif args.resource_type == GKE_CLUSTER:
        if at(p, "privateClusterConfig.enablePrivateNodes") is not True:
            report("privateClusterConfig.enablePrivateNodes is not true: nodes get external IPs")
    elif at(p, "networkConfig.enablePrivateNodes") is False:
        report("networkConfig.enablePrivateNodes=false gives this pool's nodes external IPs")


@resource_policy(
    "tgw-auto-accept-off",
    description="Transit Gateways do not auto-accept shared attachments.",
    types=(TRANSIT_GATEWAY,), severity=Severity.HIGH, concern="network",
    remediation="Leave autoAcceptSharedAttachments='disable' (the default); accept attachments explicitly.",
    url="https://docs.aws.amazon.com/vpc/latest/tgw/tgw-transit-gateways.html")
def tgw_auto_accept_off(args, report, settings):
    if at(args.props, "autoAcceptSharedAttachments", "disable") != "disable":
        report("autoAcceptSharedAttachments is enabled: any account the gateway is shared with can attach a VPC")


POLICIES = [k8s_api_endpoint_private, nodes_no_public_ip, tgw_auto_accept_off]
