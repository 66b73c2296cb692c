"""Indexes over a stack policy's resources: by type (aliases included), by URN, and the links between them."""
from __future__ import annotations

from policies._aliases import canonical
from policies._facts import EKS_CLUSTER, EKS_NODE_GROUP, GKE_CLUSTER, GKE_NODE_POOL, pool_of, region_of
from policies._props import peek


class Stack:
    """``args.resources`` of a stack policy, typed by their current type (``BucketV2`` counts as ``Bucket``)."""

    def __init__(self, resources):
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        self._types = {r.urn: canonical(r.resource_type) for r in self.resources}

    def type_of(self, r) -> str:
        return self._types.get(r.urn, canonical(r.resource_type))

    def of(self, *types):
        wanted = {canonical(t) for t in types}
        return [r for r in self.resources if self.type_of(r) in wanted]

    def region(self, r) -> str | None:
        return region_of(self.type_of(r), r.props, r.provider.props if r.provider is not None else None)

    def cluster_of(self, r):
        """The EKS/GKE cluster a Kubernetes object is deployed to, through its provider's kubeconfig."""
        if r.provider is None or r.provider.urn not in self.by_urn:
            return None
        prov = self.by_urn[r.provider.urn]
        for dep in prov.property_dependencies.get("kubeconfig", []) + prov.dependencies:
            if self.type_of(dep) in (EKS_CLUSTER, GKE_CLUSTER):
                return dep
        return None

    def pools_of(self, cluster):
        """Node pools of a cluster: EKS by clusterName, GKE through the pool's cluster dependency."""
        out = []
        name = peek(cluster.props, "name")
        for r in self.of(EKS_NODE_GROUP, GKE_NODE_POOL):
            if self.type_of(r) == EKS_NODE_GROUP and peek(r.props, "clusterName") == name and \
                    r.provider and cluster.provider and r.provider.urn == cluster.provider.urn:
                out.append((r, pool_of(self.type_of(r), r.props)))
            elif cluster in r.property_dependencies.get("cluster", []):
                out.append((r, pool_of(self.type_of(r), r.props)))
        return out

    def dependents(self, target, prop: str, *resource_types):
        """Resources of ``resource_types`` whose input ``prop`` is computed from ``target``."""
        return [r for r in self.of(*resource_types) if target in r.property_dependencies.get(prop, [])]

    def linked(self, r, prop: str, *resource_types):
        """Resources of ``resource_types`` that ``r``'s input ``prop`` is computed from."""
        wanted = {canonical(t) for t in resource_types}
        return [d for d in r.property_dependencies.get(prop, []) if self.type_of(d) in wanted]
