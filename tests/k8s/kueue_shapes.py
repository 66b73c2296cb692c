"""Field-level checks of Kueue objects against the CRDs of the pinned chart (kubernetes-sigs/kueue v0.19.2,
``charts/kueue/templates/crd/kueue.x-k8s.io_{resourceflavors,clusterqueues,localqueues}.yaml``, version v1beta2).

The CRDs are not vendored here; the rules below are the parts of their OpenAPI schemas and CEL validations the
program's objects use, written out: the allowed ``spec`` keys (the API server prunes or, with strict field
validation, rejects others), the shapes of the fields set, and the CEL rules on them.
"""
from __future__ import annotations

import re
from typing import Any

API_VERSION = "kueue.x-k8s.io/v1beta2"
SPEC_KEYS = {
    "ResourceFlavor": {"nodeLabels", "nodeTaints", "tolerations", "topologyName"},
    "ClusterQueue": {"admissionChecksStrategy", "admissionScope", "cohortName", "concurrentAdmissionPolicy",
                     "fairSharing", "flavorFungibility", "namespaceSelector", "preemption", "queueingStrategy",
                     "resourceGroups", "stopPolicy"},
    "LocalQueue": {"clusterQueue", "fairSharing", "stopPolicy"},
}
CLUSTER_SCOPED = {"ResourceFlavor", "ClusterQueue"}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")  # flavor / queue refs
QUANTITY = re.compile(r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+"
                      r"(\.[0-9]*)?)|(\.[0-9]+))))?$")
EFFECTS = {"NoSchedule", "PreferNoSchedule", "NoExecute"}


def problems(obj: dict[str, Any]) -> list[str]:
    """What the API server would refuse (or silently drop) in a Kueue object; empty when it is well formed."""
    kind, spec, out = obj.get("kind"), obj.get("spec", {}), []
    if obj.get("apiVersion") != API_VERSION:
        out.append(f"apiVersion {obj.get('apiVersion')!r}: the pinned chart stores {API_VERSION}")
    if kind not in SPEC_KEYS:
        return out + [f"not a Kueue kind the program declares: {kind}"]
    meta = obj.get("metadata", {})
    if not NAME.match(meta.get("name", "")) or len(meta.get("name", "")) > 253:
        out.append(f"metadata.name {meta.get('name')!r} is not a DNS subdomain")
    if ("namespace" in meta) == (kind in CLUSTER_SCOPED):
        out.append(f"{kind} is {'cluster' if kind in CLUSTER_SCOPED else 'namespace'}-scoped")
    unknown = set(spec) - SPEC_KEYS[kind]
    if unknown:
        out.append(f"{kind}.spec has no field(s) {sorted(unknown)}")
    if kind == "ResourceFlavor":
        labels = spec.get("nodeLabels", {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
            out.append("nodeLabels is a map of strings")
        for t in spec.get("tolerations", []):  # the CRD's CEL rules on .spec.tolerations
            if set(t) - {"key", "operator", "value", "effect", "tolerationSeconds"}:
                out.append(f"toleration {t} has unknown fields")
            if t.get("operator", "Equal") not in ("Equal", "Exists"):
                out.append(f"toleration operator {t.get('operator')!r}: Equal or Exists")
            if "key" not in t and t.get("operator") != "Exists":
                out.append("operator must be Exists when 'key' is empty")
            if t.get("operator") == "Exists" and "value" in t:
                out.append("a value must be empty when operator is Exists")
            if "effect" in t and t["effect"] not in EFFECTS:
                out.append(f"effect {t['effect']!r}")
            if "tolerationSeconds" in t and t.get("effect") != "NoExecute":
                out.append("tolerationSeconds needs effect NoExecute")
    elif kind == "ClusterQueue":
        groups = spec.get("resourceGroups", [])
        if not 1 <= len(groups) <= 16:
            out.append("resourceGroups: 1 to 16 groups")
        for g in groups:
            covered = g.get("coveredResources", [])
            if not 1 <= len(covered) <= 64 or not all(isinstance(r, str) for r in covered):
                out.append("coveredResources: 1 to 64 resource names")
            flavors = g.get("flavors", [])
            if not 1 <= len(flavors) <= 64:
                out.append("flavors: 1 to 64")
            for f in flavors:
                if not NAME.match(f.get("name", "")):
                    out.append(f"flavor name {f.get('name')!r}")
                names = [r.get("name") for r in f.get("resources", [])]
                # CEL: "flavors must have the same number of resources as the coveredResources"; the field's
                # documentation: "Each flavor MUST list all the resources listed for this group in the same order"
                if names != covered:
                    out.append(f"flavor {f.get('name')} lists {names}, not coveredResources {covered} in order")
                for r in f.get("resources", []):
                    if set(r) - {"name", "nominalQuota", "borrowingLimit", "lendingLimit"}:
                        out.append(f"resource quota {r} has unknown fields")
                    if not QUANTITY.match(str(r.get("nominalQuota", ""))):
                        out.append(f"nominalQuota {r.get('nominalQuota')!r} is not a quantity")
                    if ("borrowingLimit" in r or "lendingLimit" in r) and "cohortName" not in spec:
                        out.append("borrowingLimit / lendingLimit need spec.cohortName")
        if spec.get("queueingStrategy", "BestEffortFIFO") not in ("BestEffortFIFO", "StrictFIFO"):
            out.append(f"queueingStrategy {spec.get('queueingStrategy')!r}")
    elif kind == "LocalQueue":
        if not NAME.match(spec.get("clusterQueue", "")):
            out.append(f"clusterQueue {spec.get('clusterQueue')!r}")
    return out
