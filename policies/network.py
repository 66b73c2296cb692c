"""Network guardrails: private Kubernetes API endpoints, no public IPs on nodes, no administration port (or every
port) open to the internet in any firewall, security group, NACL or LoadBalancer Service, closed default security
groups, VPC flow logs, no auto-accepted TGW attachments."""
from __future__ import annotations

import ipaddress

from pulumi_policy import Severity

from blueprint.spec.access import DOCUMENTATION_RANGES
from policies._capacity import EC2_INSTANCE, GCE_INSTANCE, GCE_TEMPLATES, LAUNCH_CONFIGURATION, SPOT_INSTANCE
from policies._facts import EKS_CLUSTER, GKE_CLUSTER, GKE_NODE_POOL
from policies._framework import as_mapping, at, is_unknown, items, peek, resource_policy, stack_policy, truthy
from policies._refs import AWS, EKS, GCP, GKE
from policies._stack import Stack

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TRANSIT_GATEWAY = "aws:ec2transitgateway/transitGateway:TransitGateway"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
NACL = "aws:ec2/networkAcl:NetworkAcl"
DEFAULT_NACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
GCP_FIREWALL = "gcp:compute/firewall:Firewall"
GCP_POLICY_RULES = ("gcp:compute/firewallPolicyRule:FirewallPolicyRule",
                    "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule",
                    "gcp:compute/regionNetworkFirewallPolicyRule:RegionNetworkFirewallPolicyRule")
GCP_SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
GCP_NETWORK = "gcp:compute/network:Network"
K8S_SERVICES = ("kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch")
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ANYWHERE = ("0.0.0.0/0", "::/0")
ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
ALL_PROTOCOLS = ("-1", "all", "any")
# Subnet purposes that carry no VM traffic and take no flow-log configuration.
NO_FLOW_LOG_PURPOSES = ("REGIONAL_MANAGED_PROXY", "GLOBAL_MANAGED_PROXY", "PRIVATE_SERVICE_CONNECT", "PRIVATE_NAT")
INTERNAL_LB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": ("true",),
    "service.beta.kubernetes.io/aws-load-balancer-scheme": ("internal",),
    "networking.gke.io/load-balancer-type": ("internal",),
    "cloud.google.com/load-balancer-type": ("internal",),
}


@resource_policy(
    "k8s-api-endpoint-private",
    description="EKS/GKE API endpoints follow a documented deploy-path mode (access.deployer): EKS private, or public "
                "beside the private endpoint for a CIDR allow-list; GKE IP endpoints private, reached privately or "
                "through the IAM-gated DNS endpoint. Never 0.0.0.0/0, never a documentation range.",
    types=(EKS_CLUSTER, GKE_CLUSTER), severity=Severity.CRITICAL, concern="network", hard=True,
    remediation="EKS: vpcConfig.endpointPrivateAccess=true, and either endpointPublicAccess=false or publicAccessCidrs "
                "naming the deployer's egress (access.deployer.eksEndpoint). GKE: "
                "privateClusterConfig.enablePrivateEndpoint=true, masterAuthorizedNetworksConfig without 0.0.0.0/0 "
                "or GCP public ranges (access.deployer.gkeEndpoint: dns-endpoint or private).",
    url="https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html",
    checkov=("CKV_AWS_38", "CKV_GCP_18", "CKV_GCP_20"), cis=(*EKS("5.4.1"), *GKE("5.6.3", "5.6.4")))
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
    description="GPU and system nodes, and any instance, get no public IP addresses.",
    types=(LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION, EC2_INSTANCE, SPOT_INSTANCE, GKE_CLUSTER, GKE_NODE_POOL,
           GCE_INSTANCE, *GCE_TEMPLATES),
    severity=Severity.HIGH, concern="network",
    remediation="Do not set associatePublicIpAddress on instances, launch templates or configurations; no "
                "accessConfigs on Compute Engine interfaces; GKE: privateClusterConfig.enablePrivateNodes=true and "
                "no networkConfig.enablePrivateNodes=false.",
    url="https://cloud.google.com/kubernetes-engine/docs/concepts/private-cluster-concept",
    checkov=("CKV_AWS_88", "CKV_AWS_389", "CKV_GCP_40", "CKV_GCP_64"),
    cis=(*EKS("5.4.3"), *GKE("5.6.5"), *GCP("4.9")))
def nodes_no_public_ip(args, report, settings):
    p, t = args.props, args.resource_type
    if t in (LAUNCH_CONFIGURATION, EC2_INSTANCE, SPOT_INSTANCE) and truthy(at(p, "associatePublicIpAddress")):
        report("associatePublicIpAddress gives the instance a public IP address")
    if t in (LAUNCH_TEMPLATE, EC2_INSTANCE, SPOT_INSTANCE):
        for i, nic in enumerate(items(at(p, "networkInterfaces", []))):
            if truthy(at(nic, "associatePublicIpAddress")):
                report(f"networkInterfaces[{i}] associates a public IP address")
    elif t in (GCE_INSTANCE, *GCE_TEMPLATES):
        for i, nic in enumerate(items(at(p, "networkInterfaces", []))):
            if items(at(nic, "accessConfigs", [])) or items(at(nic, "ipv6AccessConfigs", [])):
                report(f"networkInterfaces[{i}] has an access config: an external IP address")
    elif t == GKE_CLUSTER:
        if at(p, "privateClusterConfig.enablePrivateNodes") is not True:
            report("privateClusterConfig.enablePrivateNodes is not true: nodes get external IPs")
    elif t == GKE_NODE_POOL and at(p, "networkConfig.enablePrivateNodes") is False:
        report("networkConfig.enablePrivateNodes=false gives this pool's nodes external IPs")


def _number(value, default: int) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def _port_ranges(ports) -> list[tuple[int, int]]:
    """GCP port lists ("22", "1000-2000"); none means every port."""
    out = []
    for spec in [str(x) for x in items(ports)]:
        lo, _, hi = spec.partition("-")
        out.append((_number(lo, 0), _number(hi or lo, 65535)))
    return out or [(0, 65535)]


def exposed(protocol, ranges: list[tuple[int, int]]) -> list[str]:
    """What a rule opens: "all ports", or the administration ports (SSH 22, RDP 3389) inside its port ranges."""
    proto = str(protocol if protocol is not None else "-1").lower()
    if proto.endswith(".0"):
        proto = proto[:-2]
    if proto in ALL_PROTOCOLS:
        return ["all ports"]
    if proto not in ("tcp", "udp", "6", "17", "sctp", "132"):
        return []
    if any(lo <= 0 and hi >= 65535 for lo, hi in ranges):
        return ["all ports"]
    return [f"{ADMIN_PORTS[port]} ({port})" for port in ADMIN_PORTS if any(lo <= port <= hi for lo, hi in ranges)]


def _aws_rule(rule, cidrs_of) -> list[str]:
    cidrs = [c for c in cidrs_of(rule) if c in ANYWHERE]
    if not cidrs:
        return []
    lo, hi = _number(peek(rule, "fromPort"), 0), _number(peek(rule, "toPort"), 65535)
    if lo == -1 or hi == -1:  # ICMP type/code, or every port with protocol -1
        lo, hi = 0, 65535
    proto = peek(rule, "protocol") if peek(rule, "protocol") is not None else peek(rule, "ipProtocol")
    return [f"{what} from {cidrs[0]}" for what in exposed(proto, [(lo, hi)])]


def _sg_cidrs(rule) -> list[str]:
    return [str(c) for key in ("cidrBlocks", "ipv6CidrBlocks") for c in items(peek(rule, key))] + \
        [str(peek(rule, key)) for key in ("cidrIpv4", "cidrIpv6", "cidrBlock", "ipv6CidrBlock") if peek(rule, key)]


def _gcp_findings(p, t) -> list[str]:
    if t == GCP_FIREWALL:
        if str(peek(p, "direction") or "INGRESS") != "INGRESS" or truthy(peek(p, "disabled")):
            return []
        sources = [str(s) for s in items(at(p, "sourceRanges", []))]
        unrestricted = not sources and not items(peek(p, "sourceTags")) and not items(peek(p, "sourceServiceAccounts"))
        if unrestricted:
            sources = ["0.0.0.0/0 (no source given)"]
        anywhere = [s for s in sources if s in ANYWHERE or unrestricted]
        if not anywhere:
            return []
        return [f"{what} from {anywhere[0]}" for a in items(at(p, "allows", []))
                for what in exposed(peek(a, "protocol"), _port_ranges(peek(a, "ports")))]
    if str(peek(p, "direction") or "") != "INGRESS" or str(peek(p, "action") or "") != "allow" \
            or truthy(peek(p, "disabled")):
        return []
    sources = [str(s) for s in items(at(p, "match.srcIpRanges", []))]
    if not any(s in ANYWHERE for s in sources):
        return []
    return [f"{what} from 0.0.0.0/0" for c in items(at(p, "match.layer4Configs", []))
            for what in exposed(peek(c, "ipProtocol"), _port_ranges(peek(c, "ports")))]


def _service_findings(p) -> list[str]:
    spec = as_mapping(at(p, "spec", {}))
    if peek(spec, "type") != "LoadBalancer":
        return []
    annotations = dict(as_mapping(at(p, "metadata.annotations", {})))
    if any(str(annotations.get(k, "")).lower() in values for k, values in INTERNAL_LB_ANNOTATIONS.items()):
        return []
    ranges = [str(r) for r in items(peek(spec, "loadBalancerSourceRanges"))]
    if ranges and not any(r in ANYWHERE for r in ranges):
        return []
    return [f"{what} on an internet-facing LoadBalancer" for port in items(peek(spec, "ports"))
            for what in exposed(peek(port, "protocol") or "TCP", [(_number(peek(port, "port"), -1),) * 2])]


@resource_policy(
    "network-no-public-admin-ports",
    description="Nothing opens SSH (22), RDP (3389) or every port to the internet (0.0.0.0/0, ::/0): security "
                "groups and their rules (default group included), network ACLs, GCP firewalls and firewall-policy "
                "rules, LoadBalancer Services, EKS node group remote access without source security groups.",
    types=(SECURITY_GROUP, DEFAULT_SG, SG_RULE, SG_INGRESS, NACL, DEFAULT_NACL, NACL_RULE, GCP_FIREWALL,
           *GCP_POLICY_RULES, *K8S_SERVICES, EKS_NODE_GROUP),
    severity=Severity.CRITICAL, concern="network", hard=True,
    remediation="Reach nodes through SSM Session Manager / IAP TCP forwarding or from the private ranges only; open "
                "public ingress port by port (443 to a load balancer), never all ports; internal LoadBalancer or "
                "loadBalancerSourceRanges for anything else.",
    url="https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-best-practices.html",
    checkov=("CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_277", "CKV_AWS_231", "CKV_AWS_232", "CKV_AWS_352", "CKV_AWS_100",
             "CKV_GCP_2", "CKV_GCP_3", "CKV2_GCP_12"),
    cis=(*AWS("5.2", "5.3", "5.4"), *GCP("3.6", "3.7")))
def network_no_public_admin_ports(args, report, settings):
    p, t = args.props, args.resource_type
    findings: list[str] = []
    if t in (SECURITY_GROUP, DEFAULT_SG):
        findings = [f for rule in items(at(p, "ingress", [])) for f in _aws_rule(rule, _sg_cidrs)]
    elif t == SG_RULE:
        findings = _aws_rule(p, _sg_cidrs) if at(p, "type") == "ingress" else []
    elif t == SG_INGRESS:
        findings = _aws_rule(p, _sg_cidrs)
    elif t in (NACL, DEFAULT_NACL):
        findings = [f for rule in items(at(p, "ingress", [])) if str(peek(rule, "action")).lower() == "allow"
                    for f in _aws_rule(rule, _sg_cidrs)]
    elif t == NACL_RULE:
        allow = str(at(p, "ruleAction", "")).lower() == "allow" and not truthy(at(p, "egress"))
        findings = _aws_rule(p, _sg_cidrs) if allow else []
    elif t in K8S_SERVICES:
        findings = _service_findings(p)
    elif t == EKS_NODE_GROUP:
        # remoteAccess with a key and no source security groups opens SSH on every node to 0.0.0.0/0
        if peek(at(p, "remoteAccess", {}), "ec2SshKey") and not items(at(p, "remoteAccess.sourceSecurityGroupIds", [])):
            findings = ["SSH (22) from 0.0.0.0/0 (remoteAccess without sourceSecurityGroupIds)"]
    else:
        findings = _gcp_findings(p, t)
    for finding in dict.fromkeys(findings):
        report(f"ingress opens {finding}")


@resource_policy(
    "tgw-auto-accept-off",
    description="Transit Gateways do not auto-accept shared attachments.",
    types=(TRANSIT_GATEWAY,), severity=Severity.HIGH, concern="network",
    remediation="Leave autoAcceptSharedAttachments='disable' (the default); accept attachments explicitly.",
    url="https://docs.aws.amazon.com/vpc/latest/tgw/tgw-transit-gateways.html", checkov=("CKV_AWS_331",))
def tgw_auto_accept_off(args, report, settings):
    if at(args.props, "autoAcceptSharedAttachments", "disable") != "disable":
        report("autoAcceptSharedAttachments is enabled: any account the gateway is shared with can attach a VPC")


@stack_policy(
    "vpc-default-sg-closed",
    description="Every VPC manages its default security group with no rules (an unmanaged one admits all traffic "
                "between its members and all egress), and no rule is added to it.",
    severity=Severity.HIGH, concern="network",
    remediation="Declare aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id) without ingress or egress; put rules on "
                "dedicated security groups.",
    url="https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html",
    checkov=("CKV2_AWS_12",), cis=AWS("5.5"))
def vpc_default_sg_closed(args, report, settings):
    stack = Stack(args.resources)
    for sg in stack.of(DEFAULT_SG):
        rules = [k for k in ("ingress", "egress") if items(peek(sg.props, k))]
        if rules:
            report(f"default security group {sg.name} has {' and '.join(rules)} rules", sg.urn)
        for rule in stack.dependents(sg, "securityGroupId", SG_RULE, SG_INGRESS, SG_EGRESS):
            report(f"{rule.name} adds a rule to the default security group {sg.name}", rule.urn)
    for vpc in stack.of(VPC):
        if not stack.dependents(vpc, "vpcId", DEFAULT_SG):
            report(f"VPC {vpc.name} leaves its default security group unmanaged (it allows all traffic between its "
                   "members and all egress)", vpc.urn)


@stack_policy(
    "vpc-flow-logs",
    description="Every VPC records flow logs: an AWS VPC has a FlowLog; every GCP subnet has a logConfig and no "
                "network creates subnets automatically.",
    severity=Severity.MEDIUM, concern="network",
    remediation="Declare aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type='ALL'); set logConfig on each "
                "gcp.compute.Subnetwork and autoCreateSubnetworks=false on networks.",
    url="https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html",
    checkov=("CKV2_AWS_11", "CKV_GCP_26"), cis=(*AWS("3.7"), *GCP("3.8"), *GKE("5.6.1")))
def vpc_flow_logs(args, report, settings):
    stack = Stack(args.resources)
    for vpc in stack.of(VPC):
        if not stack.dependents(vpc, "vpcId", FLOW_LOG):
            report(f"VPC {vpc.name} has no flow log: no record of who talked to what", vpc.urn)
    for subnet in stack.of(GCP_SUBNETWORK):
        if peek(subnet.props, "purpose") not in NO_FLOW_LOG_PURPOSES and peek(subnet.props, "logConfig") is None:
            report(f"subnet {subnet.name} has no logConfig: VPC flow logs are off", subnet.urn)
    for network in stack.of(GCP_NETWORK):
        if peek(network.props, "autoCreateSubnetworks") is not False:
            report(f"network {network.name} creates subnets automatically, without flow logs", network.urn)


POLICIES = [k8s_api_endpoint_private, nodes_no_public_ip, network_no_public_admin_ports, tgw_auto_accept_off,
            vpc_default_sg_closed, vpc_flow_logs]
