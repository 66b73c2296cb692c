"""Where Kubernetes objects keep their pods, containers and images, whichever API version declares them."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from blueprint.spec.names import GPU_RESOURCE
from policies._props import as_mapping, at, items, peek, plain

_KINDS = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1",
          "Job": "batch/v1", "CronJob": "batch/v1", "Pod": "core/v1", "PodTemplate": "core/v1",
          "ReplicationController": "core/v1"}
# The current types; policies/_aliases.py adds their older API versions (apps/v1beta2, extensions/v1beta1, ...).
# Server-side apply patches (DeploymentPatch, ...) change live objects: judged on what they set.
WORKLOAD_TYPES = tuple(f"kubernetes:{group}:{kind}{patch}" for kind, group in _KINDS.items() for patch in ("", "Patch"))
HELM_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")


def kind_of(resource_type: str) -> str:
    kind = resource_type.rsplit(":", 1)[-1]
    return kind[:-len("Patch")] if kind.endswith("Patch") else kind


def pod_spec_path(resource_type: str) -> str | None:
    """Where a workload keeps its pod spec."""
    kind = kind_of(resource_type)
    if kind == "CronJob":
        return "spec.jobTemplate.spec.template.spec"
    if kind == "Pod":
        return "spec"
    if kind == "PodTemplate":
        return "template.spec"
    return "spec.template.spec" if kind in _KINDS else None


def pod_of(resource_type: str, props: Mapping) -> Any:
    path = pod_spec_path(resource_type)
    return at(props, path, {}) if path else {}


def containers(pod: Mapping) -> list:
    """Every container that runs in the pod: regular, init and ephemeral."""
    return items(at(pod, "containers", [])) + items(at(pod, "initContainers", [])) + \
        items(at(pod, "ephemeralContainers", []))


def requests_gpus(pod: Mapping) -> bool:
    for c in containers(pod):
        res = as_mapping(peek(c, "resources"))
        for part in ("limits", "requests"):
            if peek(as_mapping(peek(res, part)), GPU_RESOURCE) is not None:
                return True
    return False


def image_repository(image: str) -> str:
    """``nvcr.io/nvidia/k8s-device-plugin:v0.17.1`` -> ``nvcr.io/nvidia/k8s-device-plugin`` (digest too)."""
    image = image.split("@", 1)[0]
    head, _, last = image.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def metadata(props: Mapping, key: str) -> Any:
    return peek(as_mapping(peek(props, "metadata")), key)


def namespace_of(props: Mapping, provider_props: Mapping | None) -> str:
    """The namespace an object lands in: its own, else its provider's default namespace, else ``default``."""
    ns = metadata(props, "namespace")
    if isinstance(ns, str) and ns:
        return ns
    ns = peek(provider_props, "namespace") if provider_props is not None else None
    return ns if isinstance(ns, str) and ns else "default"


def walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (path, key, value) of a nested object: Helm values are free-form, so checks look for keys anywhere."""
    value = plain(value)
    if isinstance(value, Mapping):
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            yield sub, str(k), v
            yield from walk(v, sub)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
