"""Network guardrails: private Kubernetes API endpoints, no public IPs on nodes, no auto-accepted TGW attachments."""
from __future__ import annotations

from pulumi_policy import Severity

from policies._facts import EKS_CLUSTER, GKE_CLUSTER, GKE_NODE_POOL
from policies._framework import at, items, resource_policy, truthy

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TRANSIT_GATEWAY = "aws:ec2transitgateway/transitGateway:TransitGateway"
ANYWHERE = ("0.0.0.0/0", "::/0")


@resource_policy(
    "k8s-api-endpoint-private",
    description="EKS/GKE API endpoints are private outside development and never open to 0.0.0.0/0.",
    types=(EKS_CLUSTER, GKE_CLUSTER), severity=Severity.CRITICAL, concern="network",
    remediation="EKS: vpcConfig.endpointPublicAccess=false (dev: publicAccessCidrs from region.apiAuthorizedCidrs). "
                "GKE: privateClusterConfig.enablePrivateEndpoint=true and masterAuthorizedNetworksConfig without "
                "0.0.0.0/0.",
    url="https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html")
def k8s_api_endpoint_private(args, report, settings):
    p = args.props
    if args.resource_type == EKS_CLUSTER:
        public = at(p, "vpcConfig.endpointPublicAccess")
        public = True if public is None else truthy(public)  # the EKS default is a public endpoint
        if not public:
            return
        if not settings.development:
            report(f"the API endpoint is public in a {settings.tier.value} stack")
        cidrs = [str(c) for c in items(at(p, "vpcConfig.publicAccessCidrs", []))]
        if not cidrs or any(c in ANYWHERE for c in cidrs):
            report("the public API endpoint is open to 0.0.0.0/0 (publicAccessCidrs unset or 0.0.0.0/0)")
        return
    private = at(p, "privateClusterConfig.enablePrivateEndpoint") is True
    if not private and not settings.development:
        report(f"privateClusterConfig.enablePrivateEndpoint is not true in a {settings.tier.value} stack")
    blocks = [str(at(b, "cidrBlock", "")) for b in items(at(p, "masterAuthorizedNetworksConfig.cidrBlocks", []))]
    if any(b in ANYWHERE for b in blocks) or (not private and not blocks):
        report("the control plane accepts connections from 0.0.0.0/0 (masterAuthorizedNetworksConfig)")
    if at(p, "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled") is True:
        report("masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled lets any GCP IP reach the control plane")


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
