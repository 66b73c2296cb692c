"""The Helm charts the platform installs, each pinned once: an add-on upgrade is a reviewed change like any other."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repo: str | None = None  # an HTTP chart repository; None for an OCI chart
    oci: str | None = None  # the chart's oci:// reference

    @property
    def chart(self) -> str:
        """What a Helm release names: the chart in its repository, or the OCI reference."""
        return self.oci or self.name

    def release_args(self) -> dict[str, Any]:
        """``chart``, ``version`` and, for a repository chart, ``repository_opts`` of a ``helm.v3.Release``."""
        repo = {"repository_opts": {"repo": self.repo}} if self.repo else {}
        return {"chart": self.chart, "version": self.version, **repo}


CHARTS = {c.name: c for c in (
    Chart("nvidia-device-plugin", "0.17.1", repo="https://nvidia.github.io/k8s-device-plugin"),
    Chart("dcgm-exporter", "4.1.1", repo="https://nvidia.github.io/dcgm-exporter/helm-charts"),
    Chart("cluster-autoscaler", "9.46.6", repo="https://kubernetes.github.io/autoscaler"),
    Chart("aws-efa-k8s-device-plugin", "v0.5.6", repo="https://aws.github.io/eks-charts"),
    Chart("kube-prometheus-stack", "76.5.1", repo="https://prometheus-community.github.io/helm-charts"),
    Chart("keda", "2.17.2", repo="https://kedacore.github.io/charts"),
    Chart("gateway-helm", "v1.8.2", oci="oci://docker.io/envoyproxy/gateway-helm"),
    Chart("kueue", "0.19.2", oci="oci://registry.k8s.io/kueue/charts/kueue"),
)}
