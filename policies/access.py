"""The deploy path as a stack guardrail: a cluster whose API server has no public way in must have a private one."""
from __future__ import annotations

from pulumi_policy import Severity

from policies._facts import EKS_CLUSTER, GKE_CLUSTER
from policies._framework import at, peek, stack_policy, truthy

SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ROUTE_EXPORT = "gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig"


def _admits_https(rule) -> bool:
    p = rule.props
    if peek(p, "ipProtocol") not in ("tcp", "6", "-1"):
        return False
    if peek(p, "ipProtocol") == "-1":
        return True
    low, high = peek(p, "fromPort"), peek(p, "toPort")
    return isinstance(low, (int, float)) and isinstance(high, (int, float)) and low <= 443 <= high


@stack_policy(
    "k8s-api-deploy-path",
    description="A cluster reached only privately has a private way in for the deployer: an EKS private-only "
                "endpoint admits TCP 443 on its cluster security group, and a GKE control plane without the DNS "
                "endpoint gets the VPC's custom routes on its peering (else `pulumi up` cannot reach it).",
    severity=Severity.HIGH, concern="network",
    remediation="Declare access.deployer (runnerSubnet or peerCidrs): components/access/path.py adds the 443 rule and "
                "the route export; or use the EKS public-allowlist / GKE dns-endpoint mode.",
    url="https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html")
def k8s_api_deploy_path(args, report, settings):
    resources = list(args.resources)
    rules = [r for r in resources if r.resource_type == SG_INGRESS]
    exports = [r for r in resources if r.resource_type == ROUTE_EXPORT]
    for cluster in resources:
        if cluster.resource_type == EKS_CLUSTER:
            public = peek(at(cluster.props, "vpcConfig", {}), "endpointPublicAccess")
            if public is None or truthy(public):
                continue  # the public endpoint's allow-list is k8s-api-endpoint-private's concern
            if not any(cluster in r.property_dependencies.get("securityGroupId", []) and _admits_https(r)
                       for r in rules):
                report("the API endpoint is private only and no rule on the cluster security group admits TCP 443: "
                       "no deployer can reach it (access.deployer)", cluster.urn)
        elif cluster.resource_type == GKE_CLUSTER:
            dns = at(cluster.props, "controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic")
            if dns is True:
                continue
            if not any(cluster in e.property_dependencies.get("peering", [])
                       and peek(e.props, "exportCustomRoutes") is True for e in exports):
                report("the DNS endpoint is closed and the control plane's peering gets no custom routes: a deployer "
                       "across the VPN or a dedicated link is never answered (access.deployer.gkeEndpoint)",
                       cluster.urn)


POLICIES = [k8s_api_deploy_path]
