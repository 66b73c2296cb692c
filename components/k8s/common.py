"""Pieces both workloads share: names, the pod's GPU scheduling and resources, and the network-policy baseline.
Notes: docs/architecture.md, "Workloads in the clusters"."""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from blueprint.spec import Cloud, GpuPool, PlatformSpec, Region
from blueprint.spec.names import GPU_RESOURCE, KUBE_SYSTEM, MODELS, PROJECT, object_uri
from components.compute import PodScheduling, RegionalCompute, scheduling_for
from workloads.contract import QUEUE_DEPTH_METRIC, SHM_PATH

MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": PROJECT}
# Node headroom for kubelet and daemonsets: pods request this share of the node's CPU and memory per GPU.
NODE_SHARE = 0.85


def labels(workload: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": workload, "app.kubernetes.io/component": component, **MANAGED_BY}


def selector(workload: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": workload, "app.kubernetes.io/component": component}


def k8s_opts(parent: pulumi.Resource, provider: pulumi.ProviderResource | None,
             depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
    """Every Kubernetes resource names its cluster's provider explicitly (never the ambient kubeconfig)."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on or [])


def model_prefix(spec: PlatformSpec) -> str:
    """The models-bucket key prefix training exports to and serving loads from: the training workload's name
    (serving's own name only when the stack trains elsewhere). One function so the two cannot drift."""
    train, serve = spec.workloads.training, spec.workloads.serving
    owner = train if train is not None else serve
    assert owner is not None, "model_prefix needs a training or serving workload"
    return owner.name


def model_uri(spec: PlatformSpec, region: Region) -> str:
    """The trained model's URI in ``region``'s own models bucket (replication copies keys unchanged)."""
    return object_uri(spec, region, MODELS, model_prefix(spec))


# --- pods ---------------------------------------------------------------------------------------------------
def gpu_resources(pool: GpuPool, cloud: Cloud, gpus: int | None = None) -> tuple[PodScheduling, dict[str, Any]]:
    """Scheduling from the pool, and requests == limits (Guaranteed QoS) sized as the pod's share of the node."""
    sched = scheduling_for(pool, cloud)
    facts = pool.facts(cloud)
    gpus = gpus or sched.gpus_per_node
    share = gpus / sched.gpus_per_node
    amounts: dict[str, Any] = {
        "cpu": str(max(1, int(facts.vcpus * NODE_SHARE * share))),
        "memory": f"{max(1, int(facts.memory_gib * NODE_SHARE * share))}Gi",
        GPU_RESOURCE: str(gpus),
        **{name: str(n) for name, n in sched.extra_resources.items()},
    }
    return sched, {"requests": dict(amounts), "limits": dict(amounts)}


def shm_volume(pool: GpuPool, cloud: Cloud, share: float = 1.0) -> dict[str, Any]:
    """Shared memory in RAM for NCCL and data loaders; bounded so it counts against, and stays inside, the limit."""
    gib = max(1, min(64, int(pool.facts(cloud).memory_gib * share / 4)))
    return {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{gib}Gi"}}


def shm_mount() -> dict[str, Any]:
    return {"name": "dshm", "mountPath": SHM_PATH}


def scheduling_fields(sched: PodScheduling) -> dict[str, Any]:
    return {"nodeSelector": dict(sched.node_selector), "tolerations": [dict(t) for t in sched.tolerations]}


# --- namespaces and the network baseline -------------------------------------------------------------------
def namespace(name: str, parent: pulumi.Resource, provider, resource_name: str) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        resource_name, metadata={"name": name, "labels": {**MANAGED_BY, "pod-security.kubernetes.io/enforce":
                                                          "baseline"}},
        opts=k8s_opts(parent, provider))


def dns_egress() -> dict[str, Any]:
    return {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": KUBE_SYSTEM}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


def https_egress() -> dict[str, Any]:
    """Object storage (S3 / GCS, public or via VPC endpoints) and identity token exchange, on 443 only."""
    return {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}


def from_namespace(ns: str, port: int) -> dict[str, Any]:
    return {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}],
            "ports": [{"protocol": "TCP", "port": port}]}


def default_deny(ns: str, parent: pulumi.Resource, provider, resource_name: str,
                 depends_on: list[pulumi.Resource]) -> k8s.networking.v1.NetworkPolicy:
    """Nothing in or out of the namespace unless a later policy allows it."""
    return k8s.networking.v1.NetworkPolicy(
        resource_name, metadata={"name": "default-deny", "namespace": ns, "labels": MANAGED_BY},
        spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        opts=k8s_opts(parent, provider, depends_on))


def service_account(name: str, ns: str, compute: RegionalCompute, identity: pulumi.Input[str] | None,
                    parent: pulumi.Resource, provider, resource_name: str,
                    depends_on: list[pulumi.Resource]) -> k8s.core.v1.ServiceAccount:
    """The pod's identity; bound to the cloud identity (IRSA role ARN / GCP service account email) when given."""
    annotations: dict[str, Any] = dict(compute.identity_annotations(identity)) if identity is not None else {}
    return k8s.core.v1.ServiceAccount(
        resource_name, metadata={"name": name, "namespace": ns, "labels": MANAGED_BY, "annotations": annotations},
        # IRSA projects its own token volume and GKE Workload Identity uses the metadata server: no API token.
        automount_service_account_token=False,
        opts=k8s_opts(parent, provider, depends_on))
