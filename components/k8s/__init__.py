"""Kubernetes workloads deployed onto the clusters with pulumi-kubernetes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi

from blueprint.spec import PlatformSpec
from blueprint.spec.names import SERVING_NAMESPACE
from components.compute import RegionalCompute
from components.k8s.cluster_services import ClusterServices
from components.k8s.entry import ServingEntries
from components.k8s.global_routing import GlobalRouting
from components.k8s.kueue import Kueue
from components.k8s.serving import ServingService
from components.k8s.training import TrainingJob
from workloads.contract import READYZ_PATH


@dataclass
class WorkloadIdentities:
    """The workloads' cloud identities per region key (``components/storage/access.py``, wired in ``platform.py``):
    AWS the IRSA role ARN, GCP the Google service account email. A pod without one cannot reach the buckets."""

    training: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    serving: dict[str, pulumi.Input[str]] = field(default_factory=dict)


@dataclass
class Workloads:
    training: TrainingJob | None = None
    serving: dict[str, ServingService] = field(default_factory=dict)
    routing: GlobalRouting | None = None
    entries: ServingEntries | None = None
    services: dict[str, ClusterServices] = field(default_factory=dict)
    kueue: Kueue | None = None


def _on_pool(compute: RegionalCompute, pool: str) -> pulumi.ResourceOptions:
    """A workload pinned to ``pool`` waits for the pool's nodes (its children wait for their parent's
    dependencies), so its pods are not pending against a pool still being created."""
    node_pool = compute.gpu_pools.get(pool)
    return pulumi.ResourceOptions(depends_on=[node_pool] if node_pool is not None else [])


def deploy_workloads(spec: PlatformSpec, computes: dict[str, RegionalCompute],
                     identities: WorkloadIdentities | None = None,
                     training_volumes: Callable[..., Any] | None = None) -> Workloads:
    """Training in its region, serving in each serving region, global routing once.

    ``training_volumes``: passed to ``TrainingJob(volumes=...)``; declares the dataset claims the job mounts.

    A region whose compute has no ``k8s_provider`` yet (no cluster declared) is skipped rather than deployed
    through an ambient kubeconfig.
    """
    ids = identities or WorkloadIdentities()
    out = Workloads()
    # Prometheus operator (+ KEDA where serving scales on queue depth) in every cluster, before any workload's
    # PodMonitor or ScaledObject is applied.
    serve = spec.workloads.serving
    # the public entry points (load balancers, addresses, certificates, DNS) first: Gateways claim them by name
    out.entries = ServingEntries(spec, computes) if serve is not None else None
    entries = out.entries.regions if out.entries is not None else {}
    out.services = {key: ClusterServices(spec, c, entries.get(key)) for key, c in computes.items()
                    if c.k8s_provider is not None}
    train = spec.workloads.training
    if train is not None:
        compute = computes.get(train.region)
        if compute is not None and compute.k8s_provider is not None:
            pool = compute.region.pool(train.pool)
            assert pool is not None, "validated spec"
            # Kueue where the job names a queue: without it the Job would stay suspended forever
            out.kueue = Kueue(spec, compute) if train.kueue_queue else None
            out.training = TrainingJob(spec, compute, pool, identity=ids.training.get(train.region),
                                       cluster_services=out.services[train.region].ready,
                                       volumes=training_volumes, kueue=out.kueue,
                                       opts=_on_pool(compute, pool.name))
    if serve is not None:
        for key in serve.regions:
            compute = computes.get(key)
            if compute is None or compute.k8s_provider is None:
                continue
            pool = compute.region.pool(serve.pool)
            assert pool is not None, "validated spec"
            out.serving[key] = ServingService(spec, compute, pool, identity=ids.serving.get(key),
                                              cluster_services=out.services[key].ready,
                                              gateway=out.services[key].gateway,
                                              listener=out.services[key].listener, opts=_on_pool(compute, pool.name))
        if serve.global_routing != "none" and out.serving:
            out.routing = GlobalRouting(spec, [computes[k] for k in out.serving], out.entries, out.serving)
    return out


def workload_outputs(workloads: Workloads) -> dict[str, Any]:
    """Stack outputs an operator needs after the first `up`: the serving zone (name servers to delegate to) and how
    to see serving become ready (`pulumi up` does not wait for it: serving.NO_AWAIT)."""
    out: dict[str, Any] = {}
    if workloads.entries is not None and workloads.entries.zone is not None:
        out["servingZone"] = workloads.entries.zone.summary
    if workloads.serving:
        out["servingReadiness"] = {key: {
            "rolloutStatus": f"kubectl -n {SERVING_NAMESPACE} rollout status deployment/{svc.app} --timeout=30m",
            "readyz": f"https://{svc.hostname}{READYZ_PATH}" if svc.hostname else None,
            "alert": f"ServingNotReady (PrometheusRule {SERVING_NAMESPACE}/{svc.app}-readiness)"}
            for key, svc in workloads.serving.items()}
    return out


__all__ = ["ClusterServices", "GlobalRouting", "Kueue", "ServingEntries", "ServingService", "TrainingJob",
           "WorkloadIdentities", "Workloads", "deploy_workloads", "workload_outputs"]
