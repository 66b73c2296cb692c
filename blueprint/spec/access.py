"""Checks of ``access.deployer``: a deploy path that cannot work is an error before any resource is declared.

Rationale and the modes per tier: docs/operations.md ("First deployment").
"""
from __future__ import annotations

import ipaddress
import re

from blueprint import catalog
from blueprint.spec.addressing import address_requests, plan_addresses
from blueprint.spec.issues import SpecIssue
from blueprint.spec.model import Cloud, EksEndpoint, GkeEndpoint, PlatformSpec, Region, Tier
from blueprint.spec.placeholders import DOC_NETWORKS
from blueprint.spec.topology import links

# RFC 5737: the IPv4 ranges for documentation and examples (their one home: placeholders.DOC_NETWORKS); no real
# client has an address in them.
DOCUMENTATION_RANGES = tuple(n for n in map(ipaddress.ip_network, DOC_NETWORKS) if n.version == 4)
AT = "access.deployer"
# An IAM role ARN (the deployer's and spec.iam.clusterAdminRoleArns): its one home, read by validate.py too.
ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+$")


def _issue(path: str, message: str, allowed: tuple[str, ...] = ()) -> SpecIssue:
    return SpecIssue(path, message, allowed)


def cidr_problem(value: str, *, public: bool, development: bool) -> str | None:
    """Why ``value`` cannot be a deployer or allow-list CIDR (None when it can). ``public``: an internet source
    (EKS refuses reserved ranges in publicAccessCidrs); else a private range of a peer network."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return f"'{value}' is not a CIDR block ({exc}); expected a network address such as 10.200.0.0/24"
    if net.version != 4:
        return f"'{value}' is IPv6; the clusters' endpoints take IPv4 CIDR blocks"
    if net.prefixlen == 0:
        if public and development:
            return None
        return ("0.0.0.0/0 opens the API endpoint to the whole internet; only a development stack may do that"
                if public else "0.0.0.0/0 is no peer network")
    doc = next((d for d in DOCUMENTATION_RANGES if net.overlaps(d)), None)
    if doc is not None:
        where = "is in" if net.subnet_of(doc) else "overlaps"
        return (f"'{value}' {where} {doc}, a documentation range (RFC 5737) no real address is in; give the "
                "deployer's real addresses")
    if not public:
        return None if net.is_private else f"'{value}' is not a private range; a peer network is reached privately"
    if not net.is_global:
        return (f"'{value}' is not a public range; a public endpoint sees public source addresses (private "
                "clients reach the private endpoint)")
    return None


def _cidr_issues(spec: PlatformSpec) -> list[SpecIssue]:
    dev = spec.tier is Tier.development
    d, out = spec.access.deployer, []
    for key, values, public in (("egressCidrs", d.egress_cidrs, True), ("peerCidrs", d.peer_cidrs, False)):
        for i, value in enumerate(values):
            problem = cidr_problem(value, public=public, development=dev)
            if problem:
                out.append(_issue(f"{AT}.{key}[{i}]", problem))
    for ri, region in enumerate(spec.regions):
        at = f"regions[{ri}].apiAuthorizedCidrs"
        for ci, value in enumerate(region.api_authorized_cidrs):
            problem = cidr_problem(value, public=True, development=dev)
            if problem:
                out.append(_issue(f"{at}[{ci}]", problem))
        if region.api_authorized_cidrs and region.cloud is Cloud.gcp:
            out.append(_issue(at, "a GKE control plane takes no public allow-list here: its IP endpoints stay "
                                  "private and people reach it through the DNS endpoint with IAM; remove the list"))
        elif region.api_authorized_cidrs and spec.eks_endpoint is not EksEndpoint.public_allowlist:
            out.append(_issue(at, f"the EKS endpoint is {spec.eks_endpoint.value}: there is no public endpoint to "
                                  "allow-list; set access.deployer.eksEndpoint or remove the list",
                              ("public-allowlist",)))
    return out


def linked(spec: PlatformSpec, a: str, b: str) -> bool:
    """Whether the stack's interconnect routes between regions ``a`` and ``b`` (or they are the same)."""
    return a == b or any({a, b} == {link.a, link.b} for link in links(spec))


def privately_reached(spec: PlatformSpec) -> list[Region]:
    """Regions whose API server the deployer must reach over private addresses, whatever its location: EKS in
    private mode and GKE in private mode (the runner's own VPC is private in either EKS mode, see below)."""
    return [r for r in spec.regions if (r.cloud is Cloud.aws and spec.eks_endpoint is EksEndpoint.private)
            or (r.cloud is Cloud.gcp and spec.gke_endpoint is GkeEndpoint.private)]


def private_sources(spec: PlatformSpec, region: Region) -> list[tuple[str, str]]:
    """(label, CIDR) of the deployer ranges that reach ``region``'s API server over private addresses: the runner
    subnet in its own VPC whatever the mode (inside the VPC the EKS name resolves to the private endpoint), and the
    runner or peer network wherever the region's mode is private. For a validated spec."""
    runner, out = spec.runner_region(), []
    private = region in privately_reached(spec)
    if runner is not None and (runner.key == region.key or private):
        net = spec.network
        plan = plan_addresses(net.supernet, net.region_prefix_length, address_requests(spec))
        out.append(("runner", str(plan[runner.key].runner)))
    if private:
        out += [(f"peer{i}", str(ipaddress.ip_network(c))) for i, c in enumerate(spec.access.deployer.peer_cidrs)]
    return out


def _location_issues(spec: PlatformSpec) -> list[SpecIssue]:
    d, out = spec.access.deployer, []
    aws_keys = tuple(r.key for r in spec.regions if r.cloud is Cloud.aws)
    if d.runner_subnet is not None and d.peer_cidrs:
        out.append(_issue(f"{AT}.peerCidrs", "the deployer runs in one place: a runner subnet the blueprint "
                                             "declares, or a peer network; remove one"))
    runner = spec.runner_region()
    if d.runner_subnet is not None and (runner is None or runner.cloud is not Cloud.aws):
        given = d.runner_subnet.region
        what = f"'{given}' is not an AWS region of this stack" if given else "this stack has no AWS region"
        out.append(_issue(f"{AT}.runnerSubnet.region", f"{what}; the runner subnet lives in an AWS region's VPC",
                          aws_keys))
        runner = None
    in_network = d.runner_subnet is not None or bool(d.peer_cidrs)  # a misplaced runner is reported once, above
    has = {c: any(r.cloud is c for r in spec.regions) for c in Cloud}
    if has[Cloud.aws] and spec.eks_endpoint is EksEndpoint.private and not in_network:
        out.append(_issue(f"{AT}.eksEndpoint", "private-only EKS endpoints need a deployer network in the address "
                                               "plan: set access.deployer.runnerSubnet (or peerCidrs), or choose "
                                               "public-allowlist", ("public-allowlist",)))
    if has[Cloud.gcp] and spec.gke_endpoint is GkeEndpoint.private and not in_network:
        out.append(_issue(f"{AT}.gkeEndpoint", "a private GKE endpoint needs a deployer network in the address "
                                               "plan: set access.deployer.runnerSubnet (or peerCidrs), or choose "
                                               "dns-endpoint", ("dns-endpoint",)))
    if (has[Cloud.aws] and spec.eks_endpoint is EksEndpoint.public_allowlist and d.runner_subnet is None
            and not d.egress_cidrs):
        out.append(_issue(f"{AT}.egressCidrs", "the public-allowlist EKS endpoint needs the deployer's egress "
                                               "addresses: declare access.deployer.runnerSubnet (its NAT addresses "
                                               "are allow-listed) or give egressCidrs"))
    return out + _route_issues(spec, runner)


def _route_issues(spec: PlatformSpec, runner: Region | None) -> list[SpecIssue]:
    """A deployer CIDR no route reaches: the runner's region does not link to a privately reached region, or a
    peer network has no dedicated link into a cloud it must reach privately."""
    d, out = spec.access.deployer, []
    targets = privately_reached(spec)
    if runner is not None:
        cut = [r.key for r in targets if not linked(spec, runner.key, r.key)]
        if cut:
            reach_all = tuple(r.key for r in spec.regions if r.cloud is Cloud.aws
                              and all(linked(spec, r.key, t.key) for t in targets))
            out.append(_issue(f"{AT}.runnerSubnet.region",
                              f"no route from the runner subnet in {runner.key} reaches the private API endpoint of "
                              f"{', '.join(cut)} ({spec.network.topology.value} links no such pair); put the runner "
                              "in a region linked to every cluster", reach_all))
    if d.peer_cidrs:
        links = spec.network.dedicated
        clouds = {r.cloud for r in targets}
        if Cloud.aws in clouds and not (links and links.direct_connect_gateway_id):
            out.append(_issue(f"{AT}.peerCidrs", "no route reaches the peer network from the AWS regions: a peer "
                                                 "network is reached over network.dedicated.directConnectGatewayId"))
        if Cloud.gcp in clouds and not (links and links.interconnect_attachment_urls):
            out.append(_issue(f"{AT}.peerCidrs", "no route reaches the peer network from the GCP regions: a peer "
                                                 "network is reached over network.dedicated."
                                                 "interconnectAttachmentUrls"))
        supernet = ipaddress.ip_network(spec.network.supernet, strict=False)
        for i, value in enumerate(d.peer_cidrs):
            try:
                net = ipaddress.ip_network(value, strict=True)
            except ValueError:
                continue  # reported as an invalid CIDR already
            if net.version == 4 and net.overlaps(supernet):
                out.append(_issue(f"{AT}.peerCidrs[{i}]", f"'{value}' overlaps the supernet {supernet}: routes to "
                                                          "the peer network would shadow the regions' own"))
    return out


def _role_issues(spec: PlatformSpec) -> list[SpecIssue]:
    """EKS makes only the cluster's creator admin, once, at creation (bootstrapClusterCreatorAdminPermissions); the
    program turns that off and grants the deployer's role explicitly, as terraform-aws-eks does, so a bootstrap pass
    run as anyone else cannot lock the runner's full `up` out of the clusters."""
    role, out = spec.access.deployer.aws_role_arn, []
    if role is None:
        if any(r.cloud is Cloud.aws for r in spec.regions):
            out.append(_issue(f"{AT}.awsRoleArn", "required with an AWS region: the IAM role `pulumi up` runs as "
                                                  "(the workflows' AWS_ROLE_ARN), made cluster-admin on every EKS "
                                                  "cluster through an access entry"))
        return out
    if not ROLE_ARN.match(role):
        out.append(_issue(f"{AT}.awsRoleArn", f"'{role}' is not an IAM role ARN "
                                              "(arn:aws:iam::<12-digit account>:role/<name>)"))
    for i, arn in enumerate(spec.cluster_admin_role_arns):
        if arn == role:
            out.append(_issue(f"clusterAdminRoleArns[{i}]", f"'{arn}' is the deployer's role ({AT}.awsRoleArn), "
                                                            "cluster-admin already; one principal takes one access "
                                                            "entry, remove it here"))
    return out


def access_issues(spec: PlatformSpec) -> list[SpecIssue]:
    """Every problem of the deploy path, in config order."""
    if any(catalog.region(r.cloud.value, r.region) is None for r in spec.regions):
        return _cidr_issues(spec) + _role_issues(spec)  # routes need valid regions; that issue is reported already
    return _cidr_issues(spec) + _location_issues(spec) + _role_issues(spec)
