"""``aiplatform:k8s:Kueue``: Kueue in the cluster where a workload names a queue, with a flavor and quota per pool.

Rationale and sources: docs/first-deployment.md ("Kueue"); object shapes from kueue v0.19.2 (``kueue.x-k8s.io/v1beta2``).
"""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from blueprint.catalog.charts import CHARTS
from blueprint.spec import Cloud, GpuPool, PlatformSpec, Purpose
from blueprint.spec.names import GPU_RESOURCE, KUEUE_NAMESPACE, TRAINING_NAMESPACE, system_nodes
from components.compute import RegionalCompute, scheduling_for
from components.k8s import common

# The chart (blueprint/catalog/charts.py) comes from the Kueue project's registry (kueue.sigs.k8s.io/docs/
# installation, "Install by Helm"); its CRDs are templates (charts/kueue/templates/crd), so they are installed and
# upgraded with the release.
CHART = CHARTS["kueue"]
API_VERSION = "kueue.x-k8s.io/v1beta2"  # the storage version in 0.19 (v1beta1 is served, deprecated)
QUEUED_NAMESPACES = (TRAINING_NAMESPACE,)  # where Jobs are submitted to a queue (components/k8s/training.py)
FRAMEWORKS = ("batch/job",)
CPU, MEMORY = "cpu", "memory"


def manager_config(namespaces: tuple[str, ...] = QUEUED_NAMESPACES) -> str:
    """The controller's Configuration (config.kueue.x-k8s.io/v1beta2): the chart's default, except that only
    ``FRAMEWORKS`` are integrated and only ``namespaces`` are managed. The chart derives its webhooks' scope from
    this: with its default (pods, deployments, statefulsets in every namespace but kube-system, failurePolicy
    Fail) a Kueue outage would block pod creation cluster-wide."""
    selector = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                      "values": list(namespaces)}]}
    config = {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2", "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"}, "metrics": {"bindAddress": ":8443"},
        "webhook": {"port": 9443},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "controller": {"groupKindConcurrency": {"Job.batch": 5, "Pod": 5, "Workload.kueue.x-k8s.io": 10,
                                                "LocalQueue.kueue.x-k8s.io": 5, "ClusterQueue.kueue.x-k8s.io": 5,
                                                "ResourceFlavor.kueue.x-k8s.io": 1}},
        "clientConnection": {"qps": 300, "burst": 500},
        "managedJobsNamespaceSelector": selector,
        "integrations": {"frameworks": list(FRAMEWORKS)},
    }
    return yaml.safe_dump(config, sort_keys=False)


def chart_values() -> dict[str, Any]:
    """The controller on the system pool, two replicas with a PDB: its webhooks admit every queued Job."""
    return {"controllerManager": {"replicas": 2, "nodeSelector": system_nodes(),
                                  "podDisruptionBudget": {"enabled": True, "minAvailable": 1}},
            "managerConfig": {"controllerManagerConfigYaml": manager_config()}}


def flavor_name(pool: GpuPool) -> str:
    return pool.name


def cluster_queue_name(pool: GpuPool) -> str:
    return pool.name


def resource_flavor(pool: GpuPool, cloud: Cloud) -> dict[str, Any]:
    """The pool's nodes (the label pods select on) and the toleration for its taint (kueue.sigs.k8s.io/docs/
    concepts/resource_flavor, "ResourceFlavor tolerations for automatic scheduling")."""
    sched = scheduling_for(pool, cloud)
    return {"nodeLabels": dict(sched.node_selector), "tolerations": [dict(t) for t in sched.tolerations]}


def quota(pool: GpuPool, cloud: Cloud) -> dict[str, str]:
    """What the pool can hold at its maximum size, per resource its pods request (Kueue refuses a workload that
    requests a resource its ClusterQueue does not cover: 'resource ... unavailable in ClusterQueue')."""
    facts, nodes = pool.facts(cloud), pool.scaling.max
    sched = scheduling_for(pool, cloud)
    out = {CPU: str(nodes * facts.vcpus), MEMORY: f"{nodes * facts.memory_gib}Gi",
           GPU_RESOURCE: str(nodes * facts.gpus)}
    out.update({name: str(nodes * n) for name, n in sched.extra_resources.items()})
    return out


def cluster_queue(pool: GpuPool, cloud: Cloud, namespaces: tuple[str, ...] = QUEUED_NAMESPACES) -> dict[str, Any]:
    """One resource group, one flavor (the pool), quota = the pool at max; only ``namespaces`` may submit."""
    amounts = quota(pool, cloud)
    return {
        "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                                    "values": list(namespaces)}]},
        "queueingStrategy": "BestEffortFIFO",
        "resourceGroups": [{"coveredResources": list(amounts), "flavors": [{
            "name": flavor_name(pool), "resources": [{"name": r, "nominalQuota": q} for r, q in amounts.items()]}]}],
    }


def queued_pools(spec: PlatformSpec, compute: RegionalCompute) -> list[GpuPool]:
    """The region's training pools: Kueue admits Jobs, which run there (serving Deployments are not queued)."""
    return [p for p in compute.region.gpu_pools if p.purpose is Purpose.training]


class Kueue(pulumi.ComponentResource):
    """The chart (controller, webhooks, CRDs), a ResourceFlavor and ClusterQueue per training pool, and the
    LocalQueues workloads submit to (``local_queue``)."""

    def __init__(self, spec: PlatformSpec, compute: RegionalCompute, opts: pulumi.ResourceOptions | None = None):
        name = f"{compute.child_name}-kueue"
        super().__init__("aiplatform:k8s:Kueue", name, None, opts)
        self._name, self._provider, self._cloud = name, compute.k8s_provider, compute.region.cloud
        # awaited (Helm --wait): the controller serves the webhooks every Kueue object and queued Job goes through;
        # its pods run on the system pool, so the release waits for that pool's nodes (as ClusterServices' charts)
        nodes = [compute.system_pool] if compute.system_pool is not None else []
        self.release = k8s.helm.v3.Release(
            f"{name}-chart", name="kueue", **CHART.release_args(), namespace=KUEUE_NAMESPACE, create_namespace=True,
            values=chart_values(), opts=common.k8s_opts(self, self._provider, nodes))
        self.cluster_queues: dict[str, k8s.apiextensions.CustomResource] = {}
        for pool in queued_pools(spec, compute):
            flavor = self._object(f"{name}-{pool.name}-flavor", "ResourceFlavor", flavor_name(pool), None,
                                  resource_flavor(pool, self._cloud), [self.release])
            self.cluster_queues[pool.name] = self._object(
                f"{name}-{pool.name}-queue", "ClusterQueue", cluster_queue_name(pool), None,
                cluster_queue(pool, self._cloud), [self.release, flavor])
        self.register_outputs({"chartVersion": CHART.version, "clusterQueues": sorted(self.cluster_queues)})

    def local_queue(self, queue: str, pool: GpuPool, namespace: k8s.core.v1.Namespace,
                    ns_name: str) -> k8s.apiextensions.CustomResource:
        """The LocalQueue ``queue`` in ``ns_name`` (the name a Job's ``kueue.x-k8s.io/queue-name`` label uses),
        feeding the pool's ClusterQueue."""
        return self._object(f"{self._name}-{ns_name}-{queue}", "LocalQueue", queue, ns_name,
                            {"clusterQueue": cluster_queue_name(pool)},
                            [self.release, namespace, self.cluster_queues[pool.name]])

    def _object(self, resource_name: str, kind: str, name: str, namespace: str | None, spec: dict[str, Any],
                after: list[pulumi.Resource]) -> k8s.apiextensions.CustomResource:
        meta = {"name": name, "labels": common.MANAGED_BY, **({"namespace": namespace} if namespace else {})}
        return k8s.apiextensions.CustomResource(resource_name, api_version=API_VERSION, kind=kind, metadata=meta,
                                                spec=spec, opts=common.k8s_opts(self, self._provider, after))
