"""What each resource of a plan waits for in ``pulumi up`` (``Graph``), and the shape of a creation-order rule; the
rules are in ``order_rules.py`` and ``order_rules_k8s.py``, the check in ``order.py``."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from blueprint.plan.model import Plan, PlannedResource, is_unknown

EKS_CLUSTER = "aws:eks/cluster:Cluster"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
CLUSTERS = (EKS_CLUSTER, GKE_CLUSTER)


class Graph:
    """What each resource waits for in ``pulumi up``, read from a plan.

    A resource is registered, so created, only after (Pulumi Python SDK, ``runtime/resource.py``:
    ``prepare_resource``):

    * its ``dependencies`` (``depends_on``, expanded to a component's custom descendants) and every resource its
      inputs came from (``propertyDependencies``): their URNs resolve once the engine has created them;
    * its provider (``_create_provider_ref`` awaits the provider's URN and ID), so whatever the provider waits for;
    * its parent's URN, which for a component resolves once the component's own dependencies have: children wait
      for what their component ``depends_on``, not for the component's other children.

    ``waits_for(urn)`` is the transitive closure of those edges.
    """

    def __init__(self, plan: Plan):
        self.plan = plan
        self.by_urn = {r.urn: r for r in plan}
        self._closure: dict[str, frozenset[str]] = {}

    def direct(self, r: PlannedResource) -> set[str]:
        edges = set(r.dependencies)
        for urns in r.property_dependencies.values():
            edges.update(urns)
        edges.update(u for u in (r.parent, r.provider_urn) if u)
        return {u for u in edges if u in self.by_urn}

    def inputs_from(self, r: PlannedResource, *props: str) -> set[str]:
        """The resources the given inputs (all of them when none is named) were computed from."""
        keys = props or tuple(r.property_dependencies)
        return {u for k in keys for u in r.property_dependencies.get(k, []) if u in self.by_urn}

    def waits_for(self, urn: str) -> frozenset[str]:
        if urn in self._closure:
            return self._closure[urn]
        # iterative post-order walk: deep component trees must not hit the recursion limit
        stack, visiting = [urn], set()
        while stack:
            top = stack[-1]
            if top in self._closure:
                stack.pop()
                continue
            pending = [d for d in self.direct(self.by_urn[top]) if d not in self._closure and d not in visiting]
            if top not in visiting and pending:
                visiting.add(top)
                stack.extend(pending)
                continue
            stack.pop()
            visiting.discard(top)
            found: set[str] = set()
            for d in self.direct(self.by_urn[top]):
                found.add(d)
                found.update(self._closure.get(d, ()))
            self._closure[top] = frozenset(found)
        return self._closure[urn]

    def waits(self, r: PlannedResource, other: PlannedResource) -> bool:
        return other.urn in self.waits_for(r.urn)

    def of_type(self, *types: str) -> list[PlannedResource]:
        return [r for r in self.plan if r.type in types]

    def cluster_of(self, r: PlannedResource) -> str | None:
        """The EKS/GKE cluster a resource belongs to: through its Kubernetes provider, or its own inputs."""
        if r.type in CLUSTERS:
            return r.urn
        source = self.by_urn.get(r.provider_urn or "") if r.type.startswith("kubernetes:") else r
        if source is None:
            return None
        found = [u for u in self.inputs_from(source) if self.by_urn[u].type in CLUSTERS]
        return found[0] if len(found) == 1 else None

    def in_cluster(self, cluster: str | None, *types: str) -> list[PlannedResource]:
        return [r for r in self.of_type(*types) if cluster is not None and self.cluster_of(r) == cluster]


@dataclass(frozen=True)
class Rule:
    """One creation-time need, written once for the resource types it covers.

    ``covers(type)``: the types the rule speaks for. ``classifies``: whether covering a type accounts for it (a
    rule that applies to whatever refers to an identity does not say what a type needs by itself).
    ``check(graph, resource)`` yields what the resource needs and does not wait for.
    """

    name: str
    why: str
    covers: Callable[[str], bool]
    check: Callable[[Graph, PlannedResource], Iterable[str]]
    classifies: bool = True


def known(value: Any) -> bool:
    return value is not None and not is_unknown(value)


def strings(value: Any) -> Iterator[str]:
    """Every string inside an input value (policy documents are JSON strings)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


__all__ = ["CLUSTERS", "EKS_CLUSTER", "GKE_CLUSTER", "Graph", "Rule", "known", "strings"]
