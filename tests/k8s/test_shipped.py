"""The workload guarantees on the shipped program, cross-checked against the node pools it declares."""
from __future__ import annotations

import kubernetes_validate
import pytest

from cli.render import cluster_of, manifests
from tests.conftest import shipped_plan
from tests.k8s.conftest import spec_of
from tests.k8s.helpers import pod_templates, schema_version

STACKS = ["dev", "staging", "prod"]
NODE_POOL_TYPES = ("aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool")


def _plan_or_skip(stack: str):
    plan = shipped_plan(stack)
    assert any(r.type.startswith("kubernetes:") for r in plan), f"{stack} deploys no workloads"
    return plan


def _node_pool_labels(plan, cluster: str) -> list[dict]:
    """Labels of the node pools the compute components declare in that region (EKS labels / GKE node_config)."""
    out = []
    for r in plan:
        if r.type in NODE_POOL_TYPES and r.urn.split("::")[-1].startswith(cluster):
            out.append(r.get("labels") or r.get("nodeConfig.labels") or {})
    return out


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_gpu_pods_land_on_declared_node_pools(stack):
    plan = _plan_or_skip(stack)
    spec = spec_of(stack)
    for owner, pod in pod_templates(plan):
        cluster = cluster_of(plan, owner)
        region = next(r for r in spec.regions if r.key.replace("/", "-") == cluster)
        pool = region.pool(pod["nodeSelector"]["aiplatform.io/pool"])
        assert pool is not None
        assert {"key": pool.taint.key, "operator": "Equal", "value": pool.taint.value,
                "effect": pool.taint.effect} in pod["tolerations"]
        declared = _node_pool_labels(plan, cluster)
        # no pools found would mean the reader missed them (renamed type or URN), not that the check passes
        assert declared, f"no {' / '.join(NODE_POOL_TYPES)} found for {cluster}"
        assert any(pod["nodeSelector"].items() <= labels.items() for labels in declared), \
            f"{owner.name}: no NodeGroup/NodePool in {cluster} carries {pod['nodeSelector']}"


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_manifests_validate(stack):
    plan = _plan_or_skip(stack)
    spec = spec_of(stack)
    for cluster, items in manifests(plan).items():
        region = next(r for r in spec.regions if r.key.replace("/", "-") == cluster)
        for m in items:
            if not m.is_custom:
                kubernetes_validate.validate(m.obj, schema_version(region.kubernetes_version), strict=True)


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_serving_has_pdb_autoscaler_and_policies(stack):
    plan = _plan_or_skip(stack)
    serve = spec_of(stack).workloads.serving
    n = len(serve.regions)
    assert len(plan.of_type("kubernetes:policy/v1:PodDisruptionBudget")) >= n
    scalers = plan.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject") + \
        plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert len(scalers) == n
    assert len(plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")) >= 2 * n
