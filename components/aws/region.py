"""One AWS region of the platform: its own explicit provider, network, EKS cluster, node pools and add-ons."""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.spec import Cloud, PlatformSpec, Region, RegionAddresses
from blueprint.spec.names import ENVOY_NAMESPACE, IRSA_ANNOTATION
from components.access.path import DeployerPath
from components.access.runner import DeployerRunner
from components.aws.account import AwsAccount
from components.aws.addons import ClusterAddons, node_prerequisites
from components.aws.cluster import EksCluster
from components.aws.gpu_node_pool import GpuNodePool
from components.aws.kms import rotating_key
from components.aws.network import AwsNetwork
from components.aws.system_pool import SystemNodePool, node_role
from components.compute import RegionalCompute
from components.k8s.gateway import ENVOY_GATEWAY_CLASS, OWNING_GATEWAY


class AwsRegion(RegionalCompute):
    """``aiplatform:aws:Region``: everything compute-related the platform declares in one AWS region."""

    cloud = Cloud.aws
    # IRSA needs the cluster's OIDC provider ARN and issuer host (without https://).
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    # The EKS cluster security group (on every managed node, and so every VPC CNI pod); the interconnect admits the
    # other regions' prefixes there.
    cluster_security_group_id: pulumi.Output[str]
    # Where the serving entry point's NLB lives (public subnets) and the system node group's autoscaling group (the
    # NLB's instance targets: Envoy runs on system nodes).
    public_subnet_ids: list[pulumi.Output[str]]
    system_asg_name: pulumi.Output[str]

    def __init__(self, spec: PlatformSpec, region: Region, addresses: RegionAddresses, account: AwsAccount,
                 opts: pulumi.ResourceOptions | None = None, *, deployer_egress: list[pulumi.Input[str]] | None = None):
        """``account``: the stack's account-wide IAM (the service-linked roles the region's keys name).
        ``deployer_egress``: the runner subnet's NAT addresses, declared by the runner's region (built first);
        this region's own when the runner lives here."""
        super().__init__("aiplatform:aws:Region", spec, region, addresses, opts)
        name = self.child_name
        self.cloud_provider = aws.Provider(name, region=region.region,
                                           default_tags={"tags": spec.aws_tags()},
                                           opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=self.cloud_provider)

        self.kms_key = rotating_key(f"{name}-platform", spec, region.region, "cluster secrets logs volumes", child,
                                    launchers=account.service_linked_roles)
        network = AwsNetwork(name, spec, region, addresses, self.kms_key, child)
        self.network_id = network.vpc.id
        self.private_subnet_ids = [s.id for s in network.private_subnets]
        self.private_route_table_ids = [rt.id for rt in network.private_route_tables]
        self.public_subnet_ids = [s.id for s in network.public_subnets]
        subnets_by_zone = dict(zip(network.zones, self.private_subnet_ids))
        runner = spec.runner_region()
        self.deployer_runner = None
        if runner is not None and runner.key == region.key:
            self.deployer_runner = DeployerRunner(
                f"{name}-deployer", spec, region, addresses, vpc_id=network.vpc.id,
                public_subnet_id=network.public_subnets[0].id, zone=network.zones[0],
                internet_gateway=network.igw, opts=child)
            deployer_egress = self.deployer_runner.egress_cidrs
            self.private_route_table_ids.append(self.deployer_runner.route_table.id)  # routes to the other regions

        eks = EksCluster(f"{name}-eks", spec, region, self.private_subnet_ids, self.kms_key, child,
                         deployer_egress=deployer_egress,
                         deployer_path=lambda cluster: DeployerPath(
                             f"{name}-deployer", spec, region,
                             cluster_security_group_id=cluster.vpc_config.cluster_security_group_id, opts=child))
        self.cluster_name = eks.cluster.name
        self.oidc_provider_arn = eks.oidc_provider.arn
        self.oidc_issuer = eks.oidc_issuer
        self.k8s_provider = eks.k8s_provider
        self.cluster_security_group_id = eks.cluster.vpc_config.cluster_security_group_id

        role = node_role(f"{name}-nodes", spec, child)
        before_nodes = node_prerequisites(name, spec, eks.cluster, child)
        system = SystemNodePool(f"{name}-system", spec, region, cluster=eks.cluster, node_role=role,
                                subnet_ids=self.private_subnet_ids, volume_key=self.kms_key, after=before_nodes,
                                opts=child)
        self.system_pool = system.node_group
        self.system_asg_name = system.autoscaling_group_name
        for pool in region.gpu_pools:
            self.gpu_pools[pool.name] = GpuNodePool(
                f"{name}-{pool.name}", spec, pool, cluster=eks.cluster, cluster_name=eks.cluster_name,
                node_role=role, subnets_by_zone=subnets_by_zone, volume_key=self.kms_key, after=before_nodes,
                opts=child)
        ClusterAddons(f"{name}-addons", spec, region, cluster=eks.cluster, cluster_name=eks.cluster_name,
                      oidc_provider_arn=self.oidc_provider_arn, oidc_issuer=self.oidc_issuer,
                      k8s_provider=eks.k8s_provider, depends_on=[system], opts=child)
        self.register_outputs({"vpcId": self.network_id, "clusterName": self.cluster_name})

    def identity_annotations(self, identity: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        return {IRSA_ANNOTATION: identity}

    def identity_egress(self) -> list[dict[str, Any]]:
        return []  # IRSA exchanges its projected token with STS over 443

    @property
    def gateway_class(self) -> str:
        return ENVOY_GATEWAY_CLASS  # Envoy Gateway, installed by components/k8s/gateway.py

    def gateway_peers(self) -> list[dict[str, Any]]:
        return [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ENVOY_NAMESPACE}},
                 "podSelector": {"matchLabels": dict(OWNING_GATEWAY)}}]

    def fronted_by_gateway(self, global_routing: str) -> bool:
        return True

    def answers_global_name(self, global_routing: str) -> bool:
        return global_routing in ("route53-latency", "global-accelerator")

    def serving_backend(self, spec: PlatformSpec, track: str, service: str, gateway: bool, resource_name: str,
                        opts: pulumi.ResourceOptions) -> dict[str, str] | None:
        return None  # the NLB targets Envoy's NodePort; Envoy reads the Service's endpoints

    @property
    def latency_region(self) -> str:
        return self.region.region

    @property
    def monitors_gpu_exporter(self) -> bool:
        return bool(self.region.gpu_pools)  # the dcgm-exporter chart (components/aws/addons.py)
