"""Kubernetes workload guardrails: privilege, non-root, resources, probes on serving, pinned images."""
from __future__ import annotations

import re

from pulumi_policy import Severity

from policies._facts import GPU_RESOURCE, WORKLOAD_TYPES, containers, pod_spec_path, requests_gpus
from policies._framework import as_mapping, at, peek, resource_policy, truthy

# DaemonSets that need privileges to drive the node's hardware or network; nothing else may be privileged.
SYSTEM_DAEMONSETS = frozenset({
    ("kube-system", "nvidia-device-plugin"), ("kube-system", "nvidia-device-plugin-daemonset"),
    ("kube-system", "aws-efa-k8s-device-plugin"), ("kube-system", "aws-node"), ("kube-system", "kube-proxy"),
    ("kube-system", "ebs-csi-node"), ("kube-system", "fsx-csi-node"), ("kube-system", "gcsfusecsi-node"),
    ("gpu-operator", "nvidia-driver-daemonset"), ("monitoring", "dcgm-exporter"),
})
SERVING_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_MUTABLE_TAGS = {"latest", "main", "master", "stable", "dev", "edge", "nightly"}


def _pod(args):
    return at(args.props, pod_spec_path(args.resource_type), {})


def _where(args) -> tuple[str, str]:
    meta = as_mapping(peek(args.props, "metadata"))
    return str(peek(meta, "namespace") or "default"), str(peek(meta, "name") or args.name)


@resource_policy(
    "k8s-no-privileged",
    description="No privileged containers, except the named system DaemonSets that drive GPUs and node networking.",
    types=WORKLOAD_TYPES, severity=Severity.CRITICAL, concern="kubernetes",
    remediation="Remove securityContext.privileged; use the device plugin's nvidia.com/gpu resource instead.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/")
def k8s_no_privileged(args, report, settings):
    if args.resource_type.endswith(":DaemonSet") and _where(args) in SYSTEM_DAEMONSETS:
        return
    for c in containers(_pod(args)):
        if truthy(at(c, "securityContext.privileged")):
            report(f"container '{at(c, 'name')}' is privileged")
        if "SYS_ADMIN" in [str(x) for x in at(c, "securityContext.capabilities.add", []) or []]:
            report(f"container '{at(c, 'name')}' adds CAP_SYS_ADMIN")


@resource_policy(
    "k8s-non-root",
    description="Workloads run as a non-root user.",
    types=WORKLOAD_TYPES, severity=Severity.HIGH, concern="kubernetes",
    remediation="Set securityContext.runAsNonRoot=true (and a non-zero runAsUser) on the pod or every container.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/")
def k8s_non_root(args, report, settings):
    if args.resource_type.endswith(":DaemonSet") and _where(args) in SYSTEM_DAEMONSETS:
        return
    pod = _pod(args)
    pod_ok = at(pod, "securityContext.runAsNonRoot") is True
    pod_user = at(pod, "securityContext.runAsUser")
    for c in containers(pod):
        user = at(c, "securityContext.runAsUser", pod_user)
        non_root = at(c, "securityContext.runAsNonRoot", pod_ok) is True
        if user is not None and float(user) == 0:
            report(f"container '{at(c, 'name')}' runs as uid 0")
        elif not non_root and user is None:
            report(f"container '{at(c, 'name')}' may run as root (no runAsNonRoot or runAsUser)")


@resource_policy(
    "k8s-resources-set",
    description="Every container sets CPU and memory requests and limits; GPU workloads request nvidia.com/gpu "
                "with equal request and limit.",
    types=WORKLOAD_TYPES, severity=Severity.MEDIUM, concern="kubernetes",
    remediation="Set resources.requests {cpu, memory} and resources.limits {memory} (and nvidia.com/gpu for GPU "
                "pods, request == limit).",
    url="https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/")
def k8s_resources_set(args, report, settings):
    pod = _pod(args)
    gpu_pod = requests_gpus(pod) or any(str(peek(t, "key") or "") == GPU_RESOURCE
                                        for t in at(pod, "tolerations", []) or [])
    for c in at(pod, "containers", []) or []:
        name = at(c, "name")
        req, lim = as_mapping(at(c, "resources.requests", {})), as_mapping(at(c, "resources.limits", {}))
        missing = [f"requests.{k}" for k in ("cpu", "memory") if peek(req, k) is None]
        missing += ["limits.memory"] if peek(lim, "memory") is None else []
        if missing:
            report(f"container '{name}' has no {', '.join(missing)}")
        if gpu_pod:
            if peek(lim, GPU_RESOURCE) is None:
                report(f"container '{name}' of a GPU workload sets no limits.{GPU_RESOURCE}")
            elif peek(req, GPU_RESOURCE) is not None and str(req[GPU_RESOURCE]) != str(lim[GPU_RESOURCE]):
                report(f"container '{name}': {GPU_RESOURCE} request {req[GPU_RESOURCE]} != limit {lim[GPU_RESOURCE]}")
    if gpu_pod and not any(peek(as_mapping(at(c, "resources.limits", {})), GPU_RESOURCE) is not None
                           for c in at(pod, "containers", []) or []):
        report(f"the pod tolerates the GPU taint but no container requests {GPU_RESOURCE}")


@resource_policy(
    "k8s-serving-probes",
    description="Serving workloads (Deployments, StatefulSets) have readiness and liveness probes.",
    types=SERVING_TYPES, severity=Severity.MEDIUM, concern="kubernetes",
    remediation="Add readinessProbe and livenessProbe (a startupProbe covers slow model loads).",
    url="https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/")
def k8s_serving_probes(args, report, settings):
    for c in at(_pod(args), "containers", []) or []:
        missing = [p for p in ("readinessProbe", "livenessProbe") if peek(c, p) is None]
        if missing:
            report(f"container '{at(c, 'name')}' has no {' or '.join(missing)}")


def image_pinned(image: str) -> bool:
    """Pinned by digest, or by a tag other than the well-known moving ones."""
    if _DIGEST.search(image):
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in _MUTABLE_TAGS


@resource_policy(
    "k8s-image-pinned",
    description="Images are pinned by digest or an immutable version tag.",
    types=WORKLOAD_TYPES, severity=Severity.MEDIUM, concern="kubernetes",
    remediation="Reference images as repo@sha256:<digest> or repo:<version> from a registry with immutable tags.",
    url="https://kubernetes.io/docs/concepts/containers/images/")
def k8s_image_pinned(args, report, settings):
    for c in containers(_pod(args)):
        image = str(at(c, "image", ""))
        if not image_pinned(image):
            report(f"container '{at(c, 'name')}' image '{image}' is not pinned (digest or version tag)")


POLICIES = [k8s_no_privileged, k8s_non_root, k8s_resources_set, k8s_serving_probes, k8s_image_pinned]
