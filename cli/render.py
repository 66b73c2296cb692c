"""Kubernetes manifests from a plan: what each cluster will be asked to apply, as plain YAML objects.
Notes: docs/architecture.md, "Command line"."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from blueprint.plan.model import Plan, PlannedResource, is_unknown

UNKNOWN_PLACEHOLDER = "(known after apply)"
# Pulumi's type tokens shorten the built-in API groups; the wire apiVersion needs the full group.
_GROUPS = {g: f"{g}.k8s.io" for g in ("networking", "rbac.authorization", "storage", "scheduling",
                                      "admissionregistration", "apiextensions", "apiregistration", "coordination",
                                      "discovery", "events", "node", "certificates", "resource",
                                      "storagemigration", "internal.apiserver")}
_GROUPS["rbac"] = "rbac.authorization.k8s.io"
_GROUPS["flowcontrol"] = "flowcontrol.apiserver.k8s.io"
_REGION_COMPONENT = re.compile(r"^aiplatform:[a-z]+:Region$")


@dataclass(frozen=True)
class Manifest:
    cluster: str
    obj: dict[str, Any]
    urn: str

    @property
    def kind(self) -> str:
        return self.obj["kind"]

    @property
    def name(self) -> str:
        return self.obj.get("metadata", {}).get("name", "")

    @property
    def namespace(self) -> str | None:
        return self.obj.get("metadata", {}).get("namespace")

    @property
    def is_custom(self) -> bool:
        """An instance of a CRD (KEDA, Gateway API...): no built-in OpenAPI schema to validate against."""
        group = self.obj["apiVersion"].rpartition("/")[0]
        return "." in group and not group.endswith(".k8s.io") or group == "gateway.networking.k8s.io"

    @property
    def filename(self) -> str:
        ns = f"{self.namespace}-" if self.namespace else ""
        return f"{self.kind.lower()}-{ns}{self.name}.yaml"


def api_version(type_token: str) -> tuple[str, str]:
    """``kubernetes:apps/v1:Deployment`` -> ("apps/v1", "Deployment"); ``core/v1`` -> ``v1``."""
    _, group_version, kind = type_token.split(":", 2)
    group, _, version = group_version.rpartition("/")
    if group == "core":
        return version, kind
    return f"{_GROUPS.get(group, group)}/{version}", kind


def _clean(value: Any) -> Any:
    """Plan inputs carry numbers as floats and unknowns as a sentinel; manifests want ints and a readable marker."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and is_unknown(value):
        return UNKNOWN_PLACEHOLDER
    return value


def to_manifest(resource: PlannedResource) -> dict[str, Any]:
    version, kind = api_version(resource.type)
    inputs = _clean(resource.inputs)
    obj = {"apiVersion": inputs.pop("apiVersion", version), "kind": inputs.pop("kind", kind)}
    obj["metadata"] = inputs.pop("metadata", {"name": resource.name})
    obj.update(inputs)
    return obj


def cluster_of(plan: Plan, resource: PlannedResource) -> str:
    """The region component above the resource's provider, else the provider's name ("default" if none)."""
    provider = plan.by_urn(resource.provider_urn) if resource.provider_urn else None
    if provider is None:
        return "default"
    node: PlannedResource | None = provider
    while node is not None:
        if _REGION_COMPONENT.match(node.type):
            return node.name
        node = plan.by_urn(node.parent) if node.parent else None
    return provider.name


def manifests(plan: Plan) -> dict[str, list[Manifest]]:
    """Every Kubernetes object of the plan, grouped per cluster, in declaration order.

    Helm releases (``kubernetes:helm.sh/v3:Release``: the add-ons) are not objects but chart installs; the
    charts render their own manifests at apply time, so they are left out here.
    """
    out: dict[str, list[Manifest]] = {}
    for r in plan:
        if r.type.startswith("kubernetes:") and r.custom and not r.type.startswith("kubernetes:helm.sh/"):
            cluster = cluster_of(plan, r)
            out.setdefault(cluster, []).append(Manifest(cluster, to_manifest(r), r.urn))
    return out
