"""Kubernetes workload hygiene: resources (and GPU requests that can schedule), probes on serving, pinned images,
no credentials in environment variables, nothing in the ``default`` namespace."""
from __future__ import annotations

import re

from pulumi_policy import Severity

from blueprint.spec.names import GPU_RESOURCE, GPU_TAINT
from policies._framework import as_mapping, at, items, peek, resource_policy
from policies._pods import WORKLOAD_TYPES, containers, namespace_of, pod_of, requests_gpus
from policies._refs import EKS, GKE, K8S

SERVING_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
NAMESPACED_TYPES = (*WORKLOAD_TYPES, "kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_MUTABLE_TAGS = {"latest", "main", "master", "stable", "dev", "edge", "nightly"}
# Environment variable names that carry credentials (the spec loader's secret-key rule, for pods).
_CREDENTIAL = re.compile(r"(password|passwd|secret|token|api_?key|private_?key|access_?key|credential)",
                         re.IGNORECASE)


def _patch(args) -> bool:
    return args.resource_type.endswith("Patch")


def _pod(args):
    return pod_of(args.resource_type, args.props)


def _limits(c):
    return as_mapping(at(c, "resources.limits", {}))


def _requests(c):
    return as_mapping(at(c, "resources.requests", {}))


@resource_policy(
    "k8s-resources-set",
    description="Every container, init containers included, sets CPU and memory requests and a memory limit; a "
                f"container that requests {GPU_RESOURCE} sets an equal limit, and a GPU pod tolerates the GPU taint "
                "(a tolerating pod requests a GPU).",
    types=WORKLOAD_TYPES, severity=Severity.MEDIUM, concern="kubernetes",
    remediation="Set resources.requests {cpu, memory} and resources.limits {memory} on every container; for GPU "
                f"pods {GPU_RESOURCE} with request == limit and a toleration of {GPU_TAINT.key}:{GPU_TAINT.effect}.",
    url="https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
    checkov=("CKV_K8S_10", "CKV_K8S_12", "CKV_K8S_13"))
def k8s_resources_set(args, report, settings):
    if _patch(args):
        return
    pod = _pod(args)
    for c in items(at(pod, "containers", [])) + items(at(pod, "initContainers", [])):
        req, lim = _requests(c), _limits(c)
        missing = [f"requests.{k}" for k in ("cpu", "memory") if peek(req, k) is None]
        missing += ["limits.memory"] if peek(lim, "memory") is None else []
        if missing:
            report(f"container '{at(c, 'name')}' has no {', '.join(missing)}")
        if peek(req, GPU_RESOURCE) is not None and peek(lim, GPU_RESOURCE) is None:
            report(f"container '{at(c, 'name')}' requests {GPU_RESOURCE} but sets no limits.{GPU_RESOURCE} "
                   "(extended resources are allocated by their limit)")
        elif peek(req, GPU_RESOURCE) is not None and str(req[GPU_RESOURCE]) != str(lim[GPU_RESOURCE]):
            report(f"container '{at(c, 'name')}': {GPU_RESOURCE} request {req[GPU_RESOURCE]} != limit "
                   f"{lim[GPU_RESOURCE]}")
    tolerates = any(str(peek(t, "key") or "") == GPU_RESOURCE or
                    (not peek(t, "key") and str(peek(t, "operator") or "") == "Exists")
                    for t in items(at(pod, "tolerations", [])))
    wants_gpu = requests_gpus(pod)
    if wants_gpu and not tolerates:
        report(f"the pod requests {GPU_RESOURCE} but does not tolerate the {GPU_RESOURCE} taint: it can never "
               "schedule on a GPU node")
    # Node agents (DaemonSets) tolerate the taint to run on GPU nodes without requesting GPUs; nothing else should.
    elif tolerates and not wants_gpu and not args.resource_type.endswith(":DaemonSet") and \
            any(str(peek(t, "key") or "") == GPU_RESOURCE for t in items(at(pod, "tolerations", []))):
        report(f"the pod tolerates the {GPU_RESOURCE} taint but no container requests {GPU_RESOURCE}: it would "
               "occupy a GPU node without using its GPUs")


@resource_policy(
    "k8s-serving-probes",
    description="Serving workloads (Deployments, StatefulSets) have readiness and liveness probes.",
    types=SERVING_TYPES, severity=Severity.MEDIUM, concern="kubernetes",
    remediation="Add readinessProbe and livenessProbe (a startupProbe covers slow model loads).",
    url="https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
    checkov=("CKV_K8S_8", "CKV_K8S_9"))
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
    url="https://kubernetes.io/docs/concepts/containers/images/", checkov=("CKV_K8S_14", "CKV_K8S_43"))
def k8s_image_pinned(args, report, settings):
    for c in containers(_pod(args)):
        image = str(at(c, "image", ""))
        if not image_pinned(image):
            report(f"container '{at(c, 'name')}' image '{image}' is not pinned (digest or version tag)")


@resource_policy(
    "k8s-no-secrets-in-env",
    description="No credential in a container's environment: no plain-text value under a credential-like name, "
                "no Secret through env or envFrom (mount Secrets as files).",
    types=WORKLOAD_TYPES, severity=Severity.HIGH, concern="kubernetes",
    remediation="Mount the Secret as a read-only volume (or use IRSA / Workload Identity and no secret at all); "
                "never write a credential into the manifest.",
    url="https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
    checkov=("CKV_K8S_35",), cis=(*EKS("4.4.1"), *GKE("4.4.1"), *K8S("5.4.1")))
def k8s_no_secrets_in_env(args, report, settings):
    for c in containers(_pod(args)):
        for e in items(at(c, "env", [])):
            name = str(peek(e, "name") or "")
            if peek(e, "value") and _CREDENTIAL.search(name):
                report(f"container '{at(c, 'name')}' sets {name} in plain text: anyone who can read the workload "
                       "reads the credential")
            if peek(as_mapping(peek(e, "valueFrom")), "secretKeyRef") is not None:
                report(f"container '{at(c, 'name')}' reads Secret into env {name}: env leaks into logs and child "
                       "processes")
        for src in items(at(c, "envFrom", [])):
            if peek(src, "secretRef") is not None:
                report(f"container '{at(c, 'name')}' loads a whole Secret into its environment (envFrom)")


@resource_policy(
    "k8s-no-default-namespace",
    description="Workloads and Services live in their own namespace, not 'default' (metadata.namespace, else the "
                "provider's namespace).",
    types=NAMESPACED_TYPES, severity=Severity.MEDIUM, concern="kubernetes",
    remediation="Set metadata.namespace to the workload's namespace (with its default-deny NetworkPolicy and "
                "quotas).",
    url="https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/",
    checkov=("CKV_K8S_21",), cis=(*EKS("4.5.2"), *GKE("4.6.4"), *K8S("5.6.4")))
def k8s_no_default_namespace(args, report, settings):
    provider = args.provider.props if args.provider is not None else None
    if namespace_of(args.props, provider) == "default":
        report("deployed to the 'default' namespace: no default-deny policy, quota or RBAC boundary of its own")


POLICIES = [k8s_resources_set, k8s_serving_probes, k8s_image_pinned, k8s_no_secrets_in_env, k8s_no_default_namespace]
