"""``aiplatform:access:DeployerPath``: what lets the deployer through to one region's private API endpoint: TCP 443
from its ranges on the EKS cluster security group, or (GKE private mode) the VPC's custom routes exported to the
control plane's peering. Why: docs/operations.md, "First deployment"."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from blueprint.spec import Cloud, PlatformSpec, Region
from blueprint.spec.access import private_sources
from blueprint.spec.model import GkeEndpoint


class DeployerPath(pulumi.ComponentResource):
    def __init__(self, name: str, spec: PlatformSpec, region: Region, *,
                 cluster_security_group_id: pulumi.Input[str] | None = None,
                 gke_cluster: gcp.container.Cluster | None = None, network_name: pulumi.Input[str] | None = None,
                 opts: pulumi.ResourceOptions):
        super().__init__("aiplatform:access:DeployerPath", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=opts.provider)
        sources = private_sources(spec, region)
        if region.cloud is Cloud.aws:
            assert cluster_security_group_id is not None
            for label, cidr in sources:
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-{label}-api", security_group_id=cluster_security_group_id, cidr_ipv4=cidr,
                    ip_protocol="tcp", from_port=443, to_port=443,
                    description=f"Kubernetes API from the deployer ({label}) to the private endpoint",
                    tags=spec.aws_tags(Name=f"{name}-{label}-api"), opts=child)
        elif spec.gke_endpoint is GkeEndpoint.private:
            assert gke_cluster is not None and network_name is not None
            gcp.compute.NetworkPeeringRoutesConfig(
                f"{name}-export-routes", network=network_name,
                peering=gke_cluster.private_cluster_config.apply(lambda c: c.peering_name),
                export_custom_routes=True, import_custom_routes=False, opts=child)
        self.register_outputs({"privateSources": [cidr for _, cidr in sources]})
