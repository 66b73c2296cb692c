"""The one interface workloads, storage, interconnect and cost use for a region's cluster and GPU pools.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from blueprint.spec import Cloud, GpuPool, PlatformSpec, Region, RegionAddresses
from blueprint.spec.names import EFA_RESOURCE, POOL_LABEL


def after(value: pulumi.Input[str], resources: list[pulumi.Resource]) -> pulumi.Output[str]:
    """``value``, carrying ``resources`` as dependencies: whatever is built from it waits, in ``pulumi up``, until
    they exist (their URN resolves once created). For handing out an identity (a role ARN, a service account email,
    a Workload Identity pool) that is only usable once its grants or its cluster exist."""
    return pulumi.Output.all(value, *[r.urn for r in resources]).apply(lambda v: v[0])


@dataclass(frozen=True)
class PodScheduling:
    """What a pod needs to land on one pool: selector, tolerations and the GPU count per node."""

    node_selector: dict[str, str]
    tolerations: list[dict[str, str]]
    gpus_per_node: int
    accelerator: str
    extra_resources: dict[str, int] = field(default_factory=dict)  # e.g. vpc.amazonaws.com/efa


def scheduling_for(pool: GpuPool, cloud: Cloud) -> PodScheduling:
    """Derive pod scheduling from the pool spec (the same taint and labels the node pool declares)."""
    extra = {EFA_RESOURCE: pool.facts(cloud).efa_interfaces} if pool.uses_efa(cloud) else {}
    return PodScheduling(
        node_selector={POOL_LABEL: pool.name},
        tolerations=[pool.taint.toleration()],
        gpus_per_node=pool.facts(cloud).gpus,
        accelerator=pool.accelerator,
        extra_resources=extra,
    )


class GpuNodePoolBase(pulumi.ComponentResource):
    """A GPU node pool on either cloud. Subclasses declare the cloud resources; this holds the shared facts."""

    def __init__(self, type_token: str, name: str, pool: GpuPool, cloud: Cloud,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token, name, None, opts)
        self.pool = pool
        self.cloud = cloud

    @property
    def scheduling(self) -> PodScheduling:
        return scheduling_for(self.pool, self.cloud)

    @property
    def max_gpus(self) -> int:
        return self.pool.gpus_at(self.pool.scaling.max, self.cloud)


class RegionalCompute(pulumi.ComponentResource):
    """A region's network, cluster and pools. ``k8s_provider`` targets its cluster; ``gpu_pools`` by pool name."""

    cloud_provider: pulumi.ProviderResource
    # Set by the cloud's implementation once its cluster exists; None until then.
    k8s_provider: pulumi.ProviderResource | None
    cluster_name: pulumi.Output[str] | None
    # AWS: IRSA needs the cluster's OIDC provider ARN and issuer host (without https://).
    oidc_provider_arn: pulumi.Output[str] | None
    oidc_issuer: pulumi.Output[str] | None
    # GCP: the Workload Identity pool, "<project>.svc.id.goog", available once the cluster exists.
    workload_identity_pool: pulumi.Output[str] | None
    # Network handles other components attach to (VPC / network id, private subnet ids, route table ids).
    network_id: pulumi.Output[str] | None
    private_subnet_ids: list[pulumi.Output[str]]
    private_route_table_ids: list[pulumi.Output[str]]
    # GCP: the region's Cloud Router (BGP ASN network.gcpAsn), which the interconnect's VPN/Interconnect peers use.
    cloud_router: pulumi.CustomResource | None
    # AWS: the EKS cluster security group (on every managed node, and so every VPC CNI pod); the interconnect
    # admits the other regions' prefixes there.
    cluster_security_group_id: pulumi.Output[str] | None
    # AWS: where the serving entry point's NLB lives (public subnets) and the system node group's autoscaling group
    # (the NLB's instance targets: Envoy runs on system nodes).
    public_subnet_ids: list[pulumi.Output[str]]
    system_asg_name: pulumi.Output[str] | None
    # The system node pool's node group / node pool: what in-cluster services pinned to the system nodes (Helm
    # releases, gateways) wait for, or they race node creation into their readiness timeout.
    system_pool: pulumi.Resource | None

    def __init__(self, type_token: str, spec: PlatformSpec, region: Region, addresses: RegionAddresses,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token, region.key.replace("/", "-"), None, opts)
        self.spec = spec
        self.region = region
        self.addresses = addresses
        self.gpu_pools: dict[str, GpuNodePoolBase] = {}
        self.k8s_provider = None
        self.cluster_name = None
        self.oidc_provider_arn = None
        self.oidc_issuer = None
        self.workload_identity_pool = None
        self.network_id = None
        self.private_subnet_ids = []
        self.private_route_table_ids = []
        self.cloud_router = None
        self.cluster_security_group_id = None
        self.public_subnet_ids = []
        self.system_asg_name = None
        self.system_pool = None

    @property
    def child_name(self) -> str:
        """Prefix for children's names: unique across clouds and regions."""
        return self.region.key.replace("/", "-")
