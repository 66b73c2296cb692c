"""GPU capacity, whichever resource launches it (node groups and pools, their launch templates, Auto Scaling groups, EC2
instances and fleets, Compute Engine instances and MIGs, GKE auto-provisioning and Autopilot, Karpenter): the
allowlist reads ``declared_gpu_types``, the per-pool and per-stack ceilings read ``capacity``."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from blueprint.spec.names import GPU_RESOURCE
from policies._facts import (
    EKS_NODE_GROUP, GKE_CLUSTER, GKE_NODE_POOL, gpu_type, gpus_per_instance, pool_of, pools_of,
)
from policies._props import as_mapping, items, peek, plain, truthy
from policies._stack import Stack

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
ASG = "aws:autoscaling/group:Group"
EC2_INSTANCE = "aws:ec2/instance:Instance"
SPOT_INSTANCE = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
SPOT_FLEET = "aws:ec2/spotFleetRequest:SpotFleetRequest"
EC2_FLEET = "aws:ec2/fleet:Fleet"
GCE_INSTANCE = "gcp:compute/instance:Instance"
GCE_TEMPLATES = ("gcp:compute/instanceTemplate:InstanceTemplate",
                 "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate")
GCE_MIGS = ("gcp:compute/instanceGroupManager:InstanceGroupManager",
            "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager")
GCE_AUTOSCALERS = ("gcp:compute/autoscaler:Autoscaler", "gcp:compute/regionAutoscaler:RegionAutoscaler")
KARPENTER_POOLS = ("kubernetes:karpenter.sh/v1:NodePool", "kubernetes:karpenter.sh/v1beta1:NodePool")
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
# Everything that names an instance or machine type that can carry GPUs.
LAUNCHING_TYPES = (EKS_NODE_GROUP, GKE_NODE_POOL, GKE_CLUSTER, LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION, ASG,
                   EC2_INSTANCE, SPOT_INSTANCE, SPOT_FLEET, EC2_FLEET, GCE_INSTANCE, *GCE_TEMPLATES, *KARPENTER_POOLS)


@dataclass
class Capacity:
    """What one resource can launch: ``max_units`` instances of ``gpus_per_unit`` GPUs (None: unbounded)."""

    urn: str
    label: str  # "Auto Scaling group gpu-asg"
    instance_type: str | None
    gpus_per_unit: int
    max_units: int | None

    @property
    def max_gpus(self) -> float:
        return math.inf if self.max_units is None else self.gpus_per_unit * self.max_units

    def describe(self) -> str:
        if self.max_units is None:
            return f"{self.label} has no GPU limit ({self.instance_type or 'any GPU type'})"
        if not self.instance_type:
            return f"{self.label} scales to {self.max_gpus:g} GPUs"
        return f"{self.label} scales to {self.max_gpus:g} GPUs ({self.max_units} x {self.instance_type}, " \
               f"{self.gpus_per_unit} GPUs each)"


def _num(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _gce_gpus(props: Mapping) -> tuple[str | None, int]:
    """Machine type and GPUs of a Compute Engine instance or template (A3/G2 types or attached accelerators)."""
    machine = peek(props, "machineType")
    accels = sum(_num(peek(a, "count")) for a in items(peek(props, "guestAccelerators")))
    return (machine if isinstance(machine, str) else None), accels or gpus_per_instance("gcp", machine)


def _karpenter_types(props: Mapping) -> list[Any]:
    spec = as_mapping(peek(as_mapping(peek(as_mapping(peek(props, "spec")), "template")), "spec"))
    return [v for q in items(peek(spec, "requirements"))
            if peek(q, "key") == INSTANCE_TYPE_LABEL and peek(q, "operator") == "In" for v in items(peek(q, "values"))]


def declared_gpu_types(resource_type: str, props: Mapping) -> list[str]:
    """The GPU instance/machine types a resource names (a GCE machine with attached GPUs counts as one)."""
    if resource_type in (EKS_NODE_GROUP, GKE_NODE_POOL, GKE_CLUSTER):
        return [p.instance_type or "(no machine type)" for p in pools_of(resource_type, props) if p.is_gpu]
    if resource_type in (GCE_INSTANCE, *GCE_TEMPLATES):
        machine, gpus = _gce_gpus(props)
        return [machine or "(no machine type)"] if gpus else []
    names: list[Any] = []
    if resource_type in (LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION, EC2_INSTANCE, SPOT_INSTANCE):
        names = [peek(props, "instanceType")]
    elif resource_type == ASG:
        mixed = as_mapping(peek(as_mapping(peek(props, "mixedInstancesPolicy")), "launchTemplate"))
        names = [peek(o, "instanceType") for o in items(peek(mixed, "overrides"))]
    elif resource_type in (SPOT_FLEET, EC2_FLEET):
        names = [peek(s, "instanceType") for s in items(peek(props, "launchSpecifications"))]
        names += [peek(o, "instanceType") for c in items(peek(props, "launchTemplateConfigs"))
                  for o in items(peek(c, "overrides"))]
    elif resource_type in KARPENTER_POOLS:
        names = _karpenter_types(props)
    return [t for t in names if gpu_type("aws", t)]


def _names(value: Any) -> set[str]:
    """Names a launch template or configuration is referred to by: ``{name: ...}``, ``launchTemplateName``, or
    a plain string (an Auto Scaling group's ``launchConfiguration``)."""
    if isinstance(value, str):
        return {value}
    out: set[str] = set()
    if isinstance(value, Mapping):
        for k, v in value.items():
            if k in ("name", "launchTemplateName") and isinstance(v, str):
                out.add(v)
            elif not isinstance(v, str):
                out |= _names(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            out |= _names(v)
    return out


def _launch_types(stack: Stack, r, prop: str) -> list[str]:
    """Instance types of the launch templates/configurations ``r``'s ``prop`` refers to (by link or by name)."""
    refs = stack.linked(r, prop, LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION)
    names = _names(plain(peek(r.props, prop)))
    refs += [t for t in stack.of(LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION)
             if t not in refs and isinstance(peek(t.props, "name"), str) and peek(t.props, "name") in names]
    return [peek(t.props, "instanceType") for t in refs if isinstance(peek(t.props, "instanceType"), str)]


def _best(types: list[Any]) -> tuple[str | None, int]:
    """The AWS type with the most GPUs among ``types`` (a capacity's worst case)."""
    gpu = [t for t in types if gpu_type("aws", t)]
    if not gpu:
        return None, 0
    top = max(gpu, key=lambda t: gpus_per_instance("aws", t))
    return top, gpus_per_instance("aws", top)


def _aws(stack: Stack, r, rtype: str) -> list[Capacity]:
    p = r.props
    if rtype == EKS_NODE_GROUP:
        pool = pool_of(rtype, p)
        itype, gpus = (pool.instance_type, pool.gpus_per_node) if pool.is_gpu and pool.gpus_per_node else \
            _best(_launch_types(stack, r, "launchTemplate"))
        return [Capacity(r.urn, f"EKS node group {r.name}", itype, gpus, pool.max_nodes)] if gpus else []
    if rtype == ASG:
        mixed = as_mapping(peek(p, "mixedInstancesPolicy"))
        overrides = items(peek(as_mapping(peek(mixed, "launchTemplate")), "overrides"))
        types = [peek(o, "instanceType") for o in overrides]
        types += _launch_types(stack, r, "launchTemplate") + _launch_types(stack, r, "mixedInstancesPolicy")
        types += _launch_types(stack, r, "launchConfiguration")
        itype, gpus = _best(types)
        return [Capacity(r.urn, f"Auto Scaling group {r.name}", itype, gpus, _num(peek(p, "maxSize")))] if gpus else []
    if rtype in (EC2_INSTANCE, SPOT_INSTANCE):
        itype, gpus = _best([peek(p, "instanceType"), *_launch_types(stack, r, "launchTemplate")])
        return [Capacity(r.urn, f"EC2 instance {r.name}", itype, gpus, 1)] if gpus else []
    if rtype in (SPOT_FLEET, EC2_FLEET):
        specs = items(peek(p, "launchSpecifications")) + [o for c in items(peek(p, "launchTemplateConfigs"))
                                                          for o in items(peek(c, "overrides"))]
        types = [peek(s, "instanceType") for s in specs] + _launch_types(stack, r, "launchTemplateConfigs")
        itype, gpus = _best(types)
        target = peek(p, "targetCapacity") if rtype == SPOT_FLEET else \
            peek(as_mapping(peek(p, "targetCapacitySpecification")), "totalTargetCapacity")
        label = "spot fleet request" if rtype == SPOT_FLEET else "EC2 fleet"
        return [Capacity(r.urn, f"{label} {r.name}", itype, gpus, _num(target))] if gpus else []
    return []


def _gke(r, rtype: str) -> list[Capacity]:
    p = r.props
    out = [Capacity(r.urn, f"GKE cluster {r.name} {pool.where}" if pool.where else f"GKE node pool {r.name}",
                    pool.instance_type, pool.gpus_per_node, pool.max_nodes)
           for pool in pools_of(rtype, p) if pool.is_gpu]
    if rtype != GKE_CLUSTER:
        return out
    if truthy(peek(p, "enableAutopilot")):
        out.append(Capacity(r.urn, f"GKE Autopilot cluster {r.name}", None, 1, None))
    auto = as_mapping(peek(p, "clusterAutoscaling"))
    if truthy(peek(auto, "enabled")):
        for lim in items(peek(auto, "resourceLimits")):
            kind = str(peek(lim, "resourceType") or "")
            if kind.startswith("nvidia-"):
                out.append(Capacity(r.urn, f"GKE node auto-provisioning of {r.name} ({kind})", None, 1,
                                    _num(peek(lim, "maximum"))))
    return out


def _gce(stack: Stack, r, rtype: str) -> list[Capacity]:
    if rtype == GCE_INSTANCE:
        machine, gpus = _gce_gpus(r.props)
        return [Capacity(r.urn, f"Compute Engine instance {r.name}", machine, gpus, 1)] if gpus else []
    templates = stack.linked(r, "versions", *GCE_TEMPLATES) + stack.linked(r, "instanceTemplate", *GCE_TEMPLATES)
    best = max((_gce_gpus(t.props) for t in templates), key=lambda x: x[1], default=(None, 0))
    if not best[1]:
        return []
    scalers = stack.dependents(r, "target", *GCE_AUTOSCALERS)
    size = max((_num(peek(as_mapping(peek(a.props, "autoscalingPolicy")), "maxReplicas")) for a in scalers),
               default=_num(peek(r.props, "targetSize")))
    return [Capacity(r.urn, f"managed instance group {r.name}", best[0], best[1], size)]


def _karpenter(r) -> list[Capacity]:
    spec = as_mapping(peek(r.props, "spec"))
    limit = peek(as_mapping(peek(spec, "limits")), GPU_RESOURCE)
    if limit is not None:
        return [Capacity(r.urn, f"Karpenter node pool {r.name}", None, 1, _num(limit))]
    types = _karpenter_types(r.props)
    if types and not any(gpu_type("aws", t) for t in types):
        return []  # restricted to instance types without GPUs
    return [Capacity(r.urn, f"Karpenter node pool {r.name}", None, 1, None)]


def capacity(stack: Stack) -> list[Capacity]:
    """Every GPU-launching resource of the stack with its most GPUs; launch templates count through their users."""
    out: list[Capacity] = []
    for r in stack.resources:
        rtype = stack.type_of(r)
        if rtype in (EKS_NODE_GROUP, ASG, EC2_INSTANCE, SPOT_INSTANCE, SPOT_FLEET, EC2_FLEET):
            out += _aws(stack, r, rtype)
        elif rtype in (GKE_NODE_POOL, GKE_CLUSTER):
            out += _gke(r, rtype)
        elif rtype in (GCE_INSTANCE, *GCE_MIGS):
            out += _gce(stack, r, rtype)
        elif rtype in KARPENTER_POOLS:
            out += _karpenter(r)
    return out
