"""Names and values checked against the rule of the cloud (or API) that will receive them: what the model's field
types alone let through. Each rule cites its source."""
from __future__ import annotations

import re

from blueprint.spec.issues import SpecIssue
from blueprint.spec.model import Cloud, PlatformSpec
from blueprint.spec.names import cluster_name

# GKE: "The name must start with a lowercase letter followed by up to 39 lowercase letters, numbers, or hyphens,
# and can't end with a hyphen" (cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters,
# Cluster.name); node pools follow the same RFC 1035 rule and length.
GKE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
GKE_NAME_RULE = "RFC 1035: at most 40 characters, lower-case letters, digits and '-', starting with a letter, " \
                "not ending with '-'"
# EKS CreateCluster: name 1-100 characters, ^[0-9A-Za-z][A-Za-z0-9\-_]*$ (docs.aws.amazon.com/eks/latest/APIReference).
EKS_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
# AWS tags: key 1-128, value 0-256 Unicode characters; letters, digits, spaces and _ . : / = + - @; keys may not
# start with "aws:" (docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html, "Tag naming limits").
AWS_TAG_CHARS = re.compile(r"^[\w .:/=+\-@]*$")
# GCP labels: keys 1-63 characters starting with a lower-case letter, keys and values of lower-case letters, digits,
# '_' and '-', values at most 63 (cloud.google.com/compute/docs/labeling-resources#requirements).
GCP_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
GCP_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
# Kubernetes object names: DNS-1123 labels (namespaces) and subdomains (most objects), kubernetes.io/docs/concepts/
# overview/working-with-objects/names.
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _cluster_name_issues(spec: PlatformSpec) -> list[SpecIssue]:
    out = []
    for ri, region in enumerate(spec.regions):
        name = cluster_name(spec, region)
        if region.cloud is Cloud.gcp and not GKE_NAME.match(name):
            out.append(SpecIssue("namePrefix" if spec.name_prefix else "environment",
                                 f"the GKE cluster name '{name}' (<namePrefix>-<region>, {len(name)} characters) "
                                 f"breaks GKE's rule ({GKE_NAME_RULE}); shorten namePrefix"))
        elif region.cloud is Cloud.aws and not EKS_NAME.match(name):
            out.append(SpecIssue(f"regions[{ri}].region", f"the EKS cluster name '{name}' breaks EKS's rule (1-100 "
                                                          "letters, digits, '-' and '_')"))
        if region.cloud is Cloud.gcp:
            for pi, pool in enumerate(region.gpu_pools):
                if not GKE_NAME.match(pool.name):
                    out.append(SpecIssue(f"regions[{ri}].gpuPools[{pi}].name",
                                         f"'{pool.name}' is not a GKE node pool name ({GKE_NAME_RULE})"))
    return out


def _tag_issues(spec: PlatformSpec) -> list[SpecIssue]:
    out = []
    given = [("tags.owner", "owner", spec.tags.owner), ("tags.costCenter", "cost-center", spec.tags.cost_center)]
    given += [(f"tags.extra.{k}", k, v) for k, v in spec.tags.extra.items()]
    gcp = any(r.cloud is Cloud.gcp for r in spec.regions)
    aws = any(r.cloud is Cloud.aws for r in spec.regions)
    for at, key, value in given:
        if aws:
            if not 1 <= len(key) <= 128 or not AWS_TAG_CHARS.match(key) or key.lower().startswith("aws:"):
                out.append(SpecIssue(at, f"AWS tag key '{key}' must be 1-128 letters, digits, spaces or _ . : / = + - "
                                         "@, not starting with 'aws:'"))
            if len(value) > 256 or not AWS_TAG_CHARS.match(value):
                out.append(SpecIssue(at, f"AWS tag value of {len(value)} characters must be at most 256 letters, "
                                         "digits, spaces or _ . : / = + - @"))
        if gcp:
            label_key = key.lower()
            label_value = value.lower().replace(".", "-").replace("@", "_")  # as PlatformSpec.gcp_labels writes it
            if not GCP_LABEL_KEY.match(label_key):
                out.append(SpecIssue(at, f"GCP label key '{label_key}' must be 1-63 lower-case letters, digits, _ or "
                                         "-, starting with a letter"))
            if not GCP_LABEL_VALUE.match(label_value):
                out.append(SpecIssue(at, f"GCP label value '{label_value}' must be at most 63 lower-case letters, "
                                         "digits, _ or - (. becomes -, @ becomes _)"))
    return out


def _kubernetes_name_issues(spec: PlatformSpec) -> list[SpecIssue]:
    out = []
    for ci, comp in enumerate(spec.policy.system_components or ()):
        at = f"policy.systemComponents[{ci}]"
        if not DNS1123_LABEL.match(comp.namespace):
            out.append(SpecIssue(f"{at}.namespace", f"'{comp.namespace}' is not a Kubernetes namespace name (DNS-1123 "
                                                    "label: at most 63 lower-case letters, digits and '-')"))
        if not DNS1123_SUBDOMAIN.match(comp.name):
            out.append(SpecIssue(f"{at}.name", f"'{comp.name}' is not a Kubernetes object name (DNS-1123 subdomain: "
                                               "lower-case letters, digits, '-' and '.')"))
    return out


def _serving_replica_issues(spec: PlatformSpec) -> list[SpecIssue]:
    """Without KEDA the serving Deployment's replicas come from the spec (HPA minReplicas is at least 1): a minimum or
    desired count of 0 is a service with no pods."""
    serve = spec.workloads.serving
    if serve is None or serve.keda or (serve.replicas.min >= 1 and serve.replicas.desired >= 1):
        return []
    return [SpecIssue("workloads.serving.replicas", f"min={serve.replicas.min} desired={serve.replicas.desired} "
                                                    "without KEDA leaves the service with no pods; set min and desired "
                                                    "to 1 or more, or keda: true to scale from zero on queue depth")]


def cloud_rule_issues(spec: PlatformSpec) -> list[SpecIssue]:
    """Every issue of this module, in config order."""
    return (_tag_issues(spec) + _cluster_name_issues(spec) + _kubernetes_name_issues(spec)
            + _serving_replica_issues(spec))
