"""Cluster endpoint settings and the kubeconfig each ``kubernetes.Provider`` gets, per ``access.deployer`` mode.

Why each setting (EKS DNS resolution, GKE's DNS endpoint certificate): docs/operations.md, "First deployment".
"""
from __future__ import annotations

import ipaddress
import json

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec, Region, RegionAddresses
from blueprint.spec.access import private_sources
from blueprint.spec.model import EksEndpoint, GkeEndpoint

EXEC_API = "client.authentication.k8s.io/v1beta1"


def eks_vpc_config(spec: PlatformSpec, region: Region, subnet_ids: list[pulumi.Input[str]],
                   deployer_egress: list[pulumi.Input[str]]) -> dict:
    """Private endpoint always; a public one only in public-allowlist mode, for the deployer's egress (the runner
    subnet's NAT addresses, ``egressCidrs``) and the region's ``apiAuthorizedCidrs``."""
    public = spec.eks_endpoint is EksEndpoint.public_allowlist
    allowed = [*deployer_egress, *spec.access.deployer.egress_cidrs, *region.api_authorized_cidrs]
    return {"subnet_ids": subnet_ids, "endpoint_private_access": True, "endpoint_public_access": public,
            "public_access_cidrs": allowed if public else None}


def eks_kubeconfig(name: pulumi.Input[str], endpoint: pulumi.Input[str], ca: pulumi.Input[str],
                   region: str) -> pulumi.Output[str]:
    """A kubeconfig that authenticates with `aws eks get-token`, the way `aws eks update-kubeconfig` writes it."""
    return pulumi.Output.all(name, endpoint, ca).apply(lambda v: json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": v[0],
        "clusters": [{"name": v[0], "cluster": {"server": v[1], "certificate-authority-data": v[2]}}],
        "contexts": [{"name": v[0], "context": {"cluster": v[0], "user": v[0]}}],
        "users": [{"name": v[0], "user": {"exec": {
            "apiVersion": EXEC_API, "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", v[0], "--region", region, "--output", "json"]}}}],
    }))


def gke_authorized_networks(spec: PlatformSpec, region: Region) -> list[dict]:
    """Who may use the private IP endpoint: the platform's ranges, and deployer ranges outside them."""
    supernet = ipaddress.ip_network(spec.network.supernet)
    out = [{"cidr_block": spec.network.supernet, "display_name": "platform private ranges"}]
    return out + [{"cidr_block": cidr, "display_name": f"deployer {label}"} for label, cidr in
                  private_sources(spec, region) if not ipaddress.ip_network(cidr).subnet_of(supernet)]


def gke_endpoint_args(spec: PlatformSpec, region: Region, addresses: RegionAddresses) -> dict:
    """``gcp.container.Cluster`` arguments: IP endpoints private in every mode (the public one disabled), global
    access to the private one, and the DNS endpoint open to IAM-authorized callers only in dns-endpoint mode."""
    dns = spec.gke_endpoint is GkeEndpoint.dns_endpoint
    return {
        "private_cluster_config": {"enable_private_nodes": True, "enable_private_endpoint": True,
                                   "master_ipv4_cidr_block": str(addresses.control_plane),
                                   "master_global_access_config": {"enabled": True}},
        "master_authorized_networks_config": {"cidr_blocks": gke_authorized_networks(spec, region),
                                              "gcp_public_cidrs_access_enabled": False},
        "control_plane_endpoints_config": {"dns_endpoint_config": {"allow_external_traffic": dns},
                                           "ip_endpoints_config": {"enabled": True}},
    }


def gke_kubeconfig(spec: PlatformSpec, cluster: gcp.container.Cluster) -> pulumi.Output[str]:
    """The kubeconfig for the endpoint the deployer reaches, authenticated by gke-gcloud-auth-plugin (the
    deployer's Google credentials), as `gcloud container clusters get-credentials [--dns-endpoint]` writes it."""
    if spec.gke_endpoint is GkeEndpoint.dns_endpoint:
        server = cluster.control_plane_endpoints_config.apply(lambda c: c.dns_endpoint_config.endpoint)
        ca: pulumi.Input[str | None] = None
    else:
        server = cluster.private_cluster_config.apply(lambda c: c.private_endpoint)
        ca = cluster.master_auth.cluster_ca_certificate
    return pulumi.Output.all(cluster.name, server, ca).apply(lambda v: json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": v[0],
        "clusters": [{"name": v[0], "cluster": {"server": f"https://{v[1]}",
                                                 **({"certificate-authority-data": v[2]} if v[2] else {})}}],
        "contexts": [{"name": v[0], "context": {"cluster": v[0], "user": v[0]}}],
        "users": [{"name": v[0], "user": {"exec": {"apiVersion": EXEC_API, "command": "gke-gcloud-auth-plugin",
                                                     "provideClusterInfo": True}}}],
    }))
