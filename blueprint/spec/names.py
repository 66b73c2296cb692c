"""The platform's wire names, each spelled once: labels, taints, selectors, namespaces, annotation keys, config keys
and resource names. Components, policies, manifests and the plan's checks import them (docs/architecture.md)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the model imports this module for its labels and taint
    from blueprint.spec.model import PlatformSpec, Region

# --- the Pulumi project and its config ---------------------------------------------------------------------
PROJECT = "aiplatform"  # Pulumi.yaml's name: the namespace of the project's config keys
CONFIG_NAMESPACE = PROJECT
CONFIG_KEY = "platform"
FULL_KEY = f"{CONFIG_NAMESPACE}:{CONFIG_KEY}"

# --- node labels and the system pool -----------------------------------------------------------------------
LABEL_PREFIX = "aiplatform.io"
POOL_LABEL = f"{LABEL_PREFIX}/pool"
ACCELERATOR_LABEL = f"{LABEL_PREFIX}/accelerator"
CAPACITY_TYPE_LABEL = f"{LABEL_PREFIX}/capacity-type"
PURPOSE_LABEL = f"{LABEL_PREFIX}/purpose"
TRACK_LABEL = f"{LABEL_PREFIX}/track"  # serving pods: stable or canary
ROLE_TAG = f"{LABEL_PREFIX}/role"  # cloud tag of the deployer runner's resources
SYSTEM_POOL = "system"  # the CPU pool's name, and its pool label's value
EFA_NODE_LABEL = "vpc.amazonaws.com/efa.present"  # set by EFA pools; the EFA device plugin selects on it


def system_nodes() -> dict[str, str]:
    """The system pool's node label: the node selector of everything pinned to it (controllers, gateways, add-ons)."""
    return {POOL_LABEL: SYSTEM_POOL}


# --- extended resources and the GPU taint ------------------------------------------------------------------
GPU_RESOURCE = "nvidia.com/gpu"
EFA_RESOURCE = "vpc.amazonaws.com/efa"
# Kubernetes' taint effects as EKS node groups and GKE node pools spell them, and back.
CLOUD_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
K8S_TAINT_EFFECTS = {v: k for k, v in CLOUD_TAINT_EFFECTS.items()}
REPELLING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})  # what a pod must tolerate (PreferNoSchedule only deters)


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # Kubernetes' spelling: a key of CLOUD_TAINT_EFFECTS

    @property
    def cloud_effect(self) -> str:
        return CLOUD_TAINT_EFFECTS[self.effect]

    def toleration(self) -> dict[str, str]:
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


GPU_TAINT = Taint(GPU_RESOURCE, "present", "NoSchedule")  # every GPU node carries it, every GPU pod tolerates it

# --- namespaces --------------------------------------------------------------------------------------------
TRAINING_NAMESPACE = "training"
SERVING_NAMESPACE = "serving"
GATEWAY_NAMESPACE = "gateway"  # the shared Gateway object (no pods)
ENVOY_NAMESPACE = "envoy-gateway-system"  # Envoy Gateway's controller and proxies (EKS)
MONITORING_NAMESPACE = "monitoring"
KEDA_NAMESPACE = "keda"
KUEUE_NAMESPACE = "kueue-system"
KUBE_SYSTEM = "kube-system"  # CoreDNS and the node agents

# GKE injects the GCS FUSE sidecar into pods annotated with this ("true") that mount GCS FUSE volumes.
GCSFUSE_ANNOTATION = "gke-gcsfuse/volumes"

# --- workload identity -------------------------------------------------------------------------------------
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"  # a ServiceAccount's IAM role (IRSA)
GKE_WI_ANNOTATION = "iam.gke.io/gcp-service-account"  # a ServiceAccount's Google service account

# --- addresses ---------------------------------------------------------------------------------------------
# Google's front ends: external Application Load Balancers and health checks reach backends from these ranges
# (cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges).
GCLB_RANGES = ("35.191.0.0/16", "130.211.0.0/22")

# --- resource names ----------------------------------------------------------------------------------------
# Data classes: one bucket of each per region with storage (the hot tier holds the datasets).
DATASETS, CHECKPOINTS, MODELS, ARCHIVE = "datasets", "checkpoints", "models", "archive"
DATA_CLASSES = (DATASETS, CHECKPOINTS, MODELS, ARCHIVE)
HOT_SHARE = DATASETS  # the hot tier's Filestore share, and the FSx path its datasets bucket is linked at


def cluster_name(spec: PlatformSpec, region: Region) -> str:
    """The EKS / GKE cluster's name: ``<prefix>-<region>``."""
    return f"{spec.prefix}-{region.region}"


def cluster_subnet_tag(spec: PlatformSpec, region: Region) -> str:
    """The subnet tag Kubernetes' AWS load balancer integration finds a cluster's subnets by (it names the cluster)."""
    return f"kubernetes.io/cluster/{cluster_name(spec, region)}"


def bucket_name(spec: PlatformSpec, region: Region | str, data_class: str) -> str:
    """`<prefix>-<region>-<class>` (the prefix names the environment), at most 63 characters as S3 and GCS allow.
    Deterministic, so IAM policies name exact ARNs a preview shows."""
    region_name = region if isinstance(region, str) else region.region
    assert data_class in DATA_CLASSES, data_class
    return f"{spec.prefix}-{region_name}-{data_class}"[:63]


def s3_arn(bucket: str, key_pattern: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{key_pattern}" if key_pattern is not None else "")


def object_uri(spec: PlatformSpec, region: Region, data_class: str, prefix: str) -> str:
    """Where a workload reads or writes: s3:// on AWS, gs:// on GCP."""
    scheme = "s3" if region.cloud.value == "aws" else "gs"
    return f"{scheme}://{bucket_name(spec, region, data_class)}/{prefix.strip('/')}/"
