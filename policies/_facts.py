"""Facts read off resources that several policies need: where a resource lives and what a node pool holds."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from blueprint import catalog
from blueprint.spec.names import K8S_TAINT_EFFECTS, PURPOSE_LABEL
from policies._pods import (  # noqa: F401 - re-exported for the policy modules
    WORKLOAD_TYPES, containers, pod_spec_path, requests_gpus,
)
from policies._props import as_mapping, at, is_unknown, items, peek, truthy

EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
# GPU families by name, for types the catalog does not list (p3, g4dn, a4...): still GPUs, never "not a GPU".
_GPU_NAMES = {"aws": re.compile(r"^(p\d|g\d|gr\d)"), "gcp": re.compile(r"^(a\d|g\d)-")}

# GCS multi-regions and predefined dual-regions, by residency class.
_GCS_LOCATIONS = {"US": "us", "NAM4": "us", "EU": "eu", "EUR4": "eu", "EUR5": "eu", "EUR7": "eu", "EUR8": "eu",
                  "ASIA": "apac", "ASIA1": "apac"}


def cloud_of(resource_type: str) -> str:
    return resource_type.split(":", 1)[0]


def region_of(resource_type: str, props: Mapping, provider_props: Mapping | None) -> str | None:
    """The region a resource is placed in: its own input first, else its provider's region.

    GCP resources say ``region`` or ``location`` (a zone counts as its region). pulumi-aws v7 gives most resources
    a ``region`` input that overrides the provider's, so ``aws.s3.Bucket(region="eu-west-1")`` under a us-east-1
    provider lives in eu-west-1. An unknown AWS ``region`` is read through the proxy, so the policy reports it as
    not checkable during preview instead of guessing the provider's region.
    """
    cloud = cloud_of(resource_type)
    if cloud == "gcp":
        for key in ("region", "location"):
            value = peek(props, key)
            if isinstance(value, str) and value and not is_unknown(value):
                value = value.lower()
                return value[:-2] if len(value.split("-")) == 3 and len(value.split("-")[-1]) == 1 else value
    elif cloud == "aws":
        value = peek(props, "region")
        if is_unknown(value):
            value = at(props, "region")  # raises UnknownValueError behind the SDK's proxy
        if isinstance(value, str) and value:
            return value
    if provider_props is not None:
        region = peek(provider_props, "region")
        if isinstance(region, str):
            return region
    return None


def residency_of(cloud: str, location: str) -> str | None:
    """The residency class (us, eu, apac) of a region, GCS multi-region or dual-region; None when unknown."""
    if cloud == "gcp" and location.upper() in _GCS_LOCATIONS:
        return _GCS_LOCATIONS[location.upper()]
    facts = catalog.region(cloud, location.lower())
    return facts.residency if facts else None


def gpu_facts(cloud: str, instance_type: str) -> catalog.InstanceFacts | None:
    return catalog.instance(cloud, instance_type) if isinstance(instance_type, str) else None


def gpu_type(cloud: str, instance_type: Any) -> bool:
    """A GPU instance or machine type: in the catalog with GPUs, or named like a GPU family it does not list."""
    if not isinstance(instance_type, str) or is_unknown(instance_type) or cloud not in _GPU_NAMES:
        return False
    facts = gpu_facts(cloud, instance_type)
    return bool(facts and facts.gpus) or bool(_GPU_NAMES[cloud].match(instance_type))


def gpus_per_instance(cloud: str, instance_type: Any) -> int:
    """GPUs of one instance; a GPU type the catalog does not list counts as 1 (at least one GPU)."""
    facts = gpu_facts(cloud, instance_type) if isinstance(instance_type, str) else None
    return facts.gpus if facts else int(gpu_type(cloud, instance_type))


@dataclass
class Pool:
    """A node pool as declared: instance type, GPU count per node, max nodes, labels, taints."""

    cloud: str
    instance_type: str | None
    gpus_per_node: int
    max_nodes: int
    labels: dict[str, str]
    taints: list[tuple[str, str, str]]  # (key, value, effect) with Kubernetes effect names
    spot: bool
    is_gpu: bool
    where: str = ""  # "" for a pool resource; "nodePools[1]" for a pool declared inside a GKE cluster

    @property
    def max_gpus(self) -> int:
        return self.gpus_per_node * self.max_nodes

    @property
    def purpose(self) -> str | None:
        return self.labels.get(PURPOSE_LABEL)


def _taints(raw: Any) -> list[tuple[str, str, str]]:
    out = []
    for t in items(raw):
        effect = str(peek(t, "effect") or "")
        out.append((str(peek(t, "key") or ""), str(peek(t, "value") or ""), K8S_TAINT_EFFECTS.get(effect, effect)))
    return out


def _gke_pool(node: Mapping, scaling: Mapping, zones: int, counts: tuple, where: str) -> Pool:
    machine = peek(node, "machineType")
    facts = gpu_facts("gcp", machine)
    accels = items(peek(node, "guestAccelerators"))
    gpus = facts.gpus if facts else sum(int(peek(a, "count") or 0) for a in accels)
    max_nodes = int(peek(scaling, "totalMaxNodeCount") or 0) or int(peek(scaling, "maxNodeCount") or 0) * zones \
        or int(next((c for c in counts if c), 0) or 0) * zones
    return Pool("gcp", machine if isinstance(machine, str) else None, gpus or int(gpu_type("gcp", machine)),
                max_nodes, dict(as_mapping(peek(node, "labels"))), _taints(peek(node, "taints")),
                truthy(peek(node, "spot")) or truthy(peek(node, "preemptible")),
                bool(facts) or bool(accels) or gpu_type("gcp", machine), where)


def _zones(props: Mapping, default: int = 1) -> int:
    return len(items(peek(props, "nodeLocations"))) or default


def pools_of(resource_type: str, props: Mapping) -> list[Pool]:
    """The node pools a resource declares: an EKS node group, a GKE node pool, or the pools inside a GKE cluster
    (``nodePools`` and, unless removed, the default pool of ``nodeConfig``)."""
    if resource_type == EKS_NODE_GROUP:
        types = [t for t in items(peek(props, "instanceTypes")) if isinstance(t, str)]
        gpu = next((t for t in types if gpu_type("aws", t)), None)
        ami = str(peek(props, "amiType") or "")
        max_nodes = int(peek(as_mapping(peek(props, "scalingConfig")), "maxSize") or 0)
        return [Pool("aws", gpu or (types[0] if types else None), gpus_per_instance("aws", gpu), max_nodes,
                     dict(as_mapping(peek(props, "labels"))), _taints(peek(props, "taints")),
                     str(peek(props, "capacityType") or "") == "SPOT", bool(gpu) or "NVIDIA" in ami or "GPU" in ami)]
    if resource_type == GKE_NODE_POOL:
        return [_gke_pool(as_mapping(peek(props, "nodeConfig")), as_mapping(peek(props, "autoscaling")),
                          _zones(props), (peek(props, "nodeCount"), peek(props, "initialNodeCount")), "")]
    if resource_type == GKE_CLUSTER:
        zones = _zones(props)
        inline = items(peek(props, "nodePools"))
        out = [_gke_pool(as_mapping(peek(p, "nodeConfig")), as_mapping(peek(p, "autoscaling")), _zones(p, zones),
                         (peek(p, "nodeCount"), peek(p, "initialNodeCount")), f"nodePools[{i}]")
               for i, p in enumerate(inline)]
        if not inline and not truthy(peek(props, "removeDefaultNodePool")) \
                and not truthy(peek(props, "enableAutopilot")):
            out.append(_gke_pool(as_mapping(peek(props, "nodeConfig")), {}, zones,
                                 (peek(props, "initialNodeCount"),), "nodeConfig"))
        return out
    return []


def pool_of(resource_type: str, props: Mapping) -> Pool | None:
    """The one pool of an EKS node group or GKE node pool; None for other types."""
    pools = pools_of(resource_type, props) if resource_type in (EKS_NODE_GROUP, GKE_NODE_POOL) else []
    return pools[0] if pools else None


def gke_node_configs(resource_type: str, props: Mapping) -> list[tuple[str, Any]]:
    """(where, nodeConfig) of a GKE node pool, or of the pools a GKE cluster declares (inline ``nodePools``, else
    the default pool's ``nodeConfig`` unless it is removed or the cluster is Autopilot). Read through the proxy."""
    if resource_type == GKE_NODE_POOL:
        return [("nodeConfig", at(props, "nodeConfig", {}))]
    pools = items(at(props, "nodePools", []))
    if pools:
        return [(f"nodePools[{i}].nodeConfig", at(pool, "nodeConfig", {})) for i, pool in enumerate(pools)]
    if peek(props, "removeDefaultNodePool") is True or peek(props, "enableAutopilot") is True:
        return []
    return [("nodeConfig", at(props, "nodeConfig", {}))]


def tolerates(tolerations: list, taint: tuple[str, str, str]) -> bool:
    key, value, effect = taint
    for t in tolerations:
        t_key, t_op = str(peek(t, "key") or ""), str(peek(t, "operator") or "Equal")
        t_effect = str(peek(t, "effect") or "")
        if t_effect and t_effect != effect:
            continue
        if t_op == "Exists" and (not t_key or t_key == key):
            return True
        if t_op == "Equal" and t_key == key and str(peek(t, "value") or "") == value:
            return True
    return False


def selector_matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics: every ``matchLabels`` pair AND every ``matchExpressions`` requirement.

    Operators In, NotIn, Exists, DoesNotExist (and Gt/Lt of node selector terms); an empty selector ({}) selects
    everything and a missing one (None) nothing. An unknown operator matches nothing, so a typo never passes.
    """
    if selector is None:
        return False
    sel = as_mapping(selector)
    if any(labels.get(str(k)) != str(v) for k, v in dict(as_mapping(peek(sel, "matchLabels"))).items()):
        return False
    return all(_requirement_holds(r, labels) for r in items(peek(sel, "matchExpressions")))


def _requirement_holds(req: Any, labels: Mapping[str, str]) -> bool:
    key, op = str(peek(req, "key") or ""), str(peek(req, "operator") or "")
    values = [str(v) for v in items(peek(req, "values"))]
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and len(values) == 1:
        try:
            have, bound = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def selects_everything(selector: Any) -> bool:
    """An empty selector ({} or empty matchLabels/matchExpressions): every pod of the namespace."""
    sel = as_mapping(selector)
    return selector is not None and not dict(as_mapping(peek(sel, "matchLabels"))) \
        and not items(peek(sel, "matchExpressions")) and set(dict(sel)) <= {"matchLabels", "matchExpressions"}
