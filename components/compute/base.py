"""The one interface workloads, storage, interconnect and cost use for a region's cluster and GPU pools.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

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


class RegionalCompute(pulumi.ComponentResource, ABC):
    """A region's network, cluster and pools. ``k8s_provider`` targets its cluster; ``gpu_pools`` by pool name.
    Each cloud's region type (``components/aws/region.py``, ``components/gcp/region.py``) owns what differs."""

    cloud: ClassVar[Cloud]
    cloud_provider: pulumi.ProviderResource
    k8s_provider: pulumi.ProviderResource
    cluster_name: pulumi.Output[str]
    # Network handles other components attach to (VPC / network id, private subnet ids, route table ids).
    network_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    private_route_table_ids: list[pulumi.Output[str]]
    # The system node pool's node group / node pool: what in-cluster services pinned to the system nodes (Helm
    # releases, gateways) wait for, or they race node creation into their readiness timeout.
    system_pool: pulumi.Resource

    def __init__(self, type_token: str, spec: PlatformSpec, region: Region, addresses: RegionAddresses,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token, region.key.replace("/", "-"), None, opts)
        self.spec = spec
        self.region = region
        self.addresses = addresses
        self.gpu_pools: dict[str, GpuNodePoolBase] = {}
        self.private_subnet_ids = []
        self.private_route_table_ids = []

    @property
    def child_name(self) -> str:
        """Prefix for children's names: unique across clouds and regions."""
        return self.region.key.replace("/", "-")

    # --- workload identity -----------------------------------------------------------------------------------
    @abstractmethod
    def identity_annotations(self, identity: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        """What binds a Kubernetes service account to the cloud identity ``identity``."""

    @abstractmethod
    def identity_egress(self) -> list[dict[str, Any]]:
        """NetworkPolicy egress a pod's cloud identity needs beyond HTTPS (the metadata server, where one serves)."""

    # --- serving ---------------------------------------------------------------------------------------------
    @property
    @abstractmethod
    def gateway_class(self) -> str:
        """The GatewayClass the cluster's shared Gateway uses."""

    @abstractmethod
    def gateway_peers(self) -> list[dict[str, Any]]:
        """NetworkPolicy ``from`` peers for the traffic the Gateway's data plane forwards to backend pods."""

    @abstractmethod
    def fronted_by_gateway(self, global_routing: str) -> bool:
        """Whether a Gateway in the cluster fronts the serving pods under ``global_routing``."""

    @abstractmethod
    def answers_global_name(self, global_routing: str) -> bool:
        """Whether the region answers for the global hostname under ``global_routing`` (its certificate names it)."""

    @abstractmethod
    def serving_backend(self, spec: PlatformSpec, track: str, service: str, gateway: bool, resource_name: str,
                        opts: pulumi.ResourceOptions) -> dict[str, str] | None:
        """Declares what the cloud's load balancer needs next to one serving track's Service (``gateway``: a
        Gateway routes to it); returns the annotations that Service carries instead of the default, or None."""

    @property
    @abstractmethod
    def latency_region(self) -> str:
        """The AWS region Route 53 latency routing measures this region as."""

    @property
    @abstractmethod
    def monitors_gpu_exporter(self) -> bool:
        """Whether the platform scrapes the cluster's DCGM exporter itself (a PodMonitor in ``monitoring``)."""
