"""The namespaces every cluster gets: one for training, one for serving, created once per cluster."""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.compute import RegionalCompute
from components.storage.names import SERVING_NAMESPACE, TRAINING_NAMESPACE


def platform_namespaces(compute: RegionalCompute) -> dict[str, k8s.core.v1.Namespace]:
    opts = pulumi.ResourceOptions(parent=compute, provider=compute.k8s_provider)
    return {ns: k8s.core.v1.Namespace(f"{compute.child_name}-ns-{ns}", metadata={
        "name": ns, "labels": {"aiplatform.io/managed": "true", "pod-security.kubernetes.io/enforce": "baseline"}},
        opts=opts) for ns in (TRAINING_NAMESPACE, SERVING_NAMESPACE)}
