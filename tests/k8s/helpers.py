"""Readers over workload plans: pod templates and the resources of one cluster."""
from __future__ import annotations

from typing import Any, Iterator

import kubernetes_validate

from blueprint.plan import Plan, PlannedResource
from cli.render import cluster_of

POD_OWNERS = ("kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment")


def pod_templates(plan: Plan) -> Iterator[tuple[PlannedResource, dict[str, Any]]]:
    for type_ in POD_OWNERS:
        for r in plan.of_type(type_):
            yield r, r.get("spec.template.spec")


def in_cluster(plan: Plan, type_: str, cluster: str) -> list[PlannedResource]:
    return [r for r in plan.of_type(type_) if cluster_of(plan, r) == cluster]


def one_in(plan: Plan, type_: str, cluster: str, name: str | None = None) -> PlannedResource:
    found = [r for r in in_cluster(plan, type_, cluster) if name is None or r.get("metadata.name") == name]
    assert len(found) == 1, f"expected one {type_} {name or ''} in {cluster}, found {[r.name for r in found]}"
    return found[0]


def schema_version(kubernetes_version: str) -> str:
    """The kubernetes-validate schema for a cluster version: that minor if shipped, else the newest older one.

    kubernetes-validate (installed: schemas 1.x .. 1.37) picks the newest schema not newer than the version it is
    given; a version newer than its newest schema is mapped to the newest (fields added later are then flagged).
    """
    shipped = sorted({tuple(int(p) for p in v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()})
    wanted = tuple(int(p) for p in kubernetes_version.split(".")[:2])
    older = [v for v in shipped if v <= wanted]
    best = older[-1] if older else shipped[0]
    return f"{best[0]}.{best[1]}"
