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

    def release_args(self, version: str | None = None) -> dict[str, Any]:
        """``chart``, ``version`` (the pin, or ``version`` where the chart follows the cluster's minor) and, for a
        repository chart, ``repository_opts`` of a ``helm.v3.Release``."""
        repo = {"repository_opts": {"repo": self.repo}} if self.repo else {}
        return {"chart": self.chart, "version": version or self.version, **repo}


CHARTS = {c.name: c for c in (
    Chart("nvidia-device-plugin", "0.17.1", repo="https://nvidia.github.io/k8s-device-plugin"),
    Chart("dcgm-exporter", "4.1.1", repo="https://nvidia.github.io/dcgm-exporter/helm-charts"),
    # the chart follows the cluster's minor (blueprint/catalog/gpu_catalog.yaml `cluster_autoscaler`); this pin is
    # never installed on its own
    Chart("cluster-autoscaler", "9.46.6", repo="https://kubernetes.github.io/autoscaler"),
    # plugin v0.5.20 (aws/eks-charts 5239609, 2026-08-03); since chart v0.5.16 the DaemonSet runs privileged
    # (REVIEWED_SYSTEM_COMPONENTS in blueprint/spec/model.py lists what it breaks)
    Chart("aws-efa-k8s-device-plugin", "v0.5.30", repo="https://aws.github.io/eks-charts"),
    Chart("kube-prometheus-stack", "76.5.1", repo="https://prometheus-community.github.io/helm-charts"),
    # the newest chart whose KEDA is tested on the clusters' minor (KEDA_KUBERNETES); kedacore/charts v2.20.2
    Chart("keda", "2.20.2", repo="https://kedacore.github.io/charts"),
    Chart("gateway-helm", "v1.8.2", oci="oci://docker.io/envoyproxy/gateway-helm"),
    Chart("kueue", "0.19.2", oci="oci://registry.k8s.io/kueue/charts/kueue"),
)}

# The oldest chart of each GPU-node plugin a review accepted, with where it was read: a pin below it ships a plugin
# the reviewed system-component entry no longer describes.
REVIEWED_FLOOR = {"aws-efa-k8s-device-plugin": ("v0.5.30", "aws/eks-charts stable/aws-efa-k8s-device-plugin "
                                                           "Chart.yaml at 5239609 (2026-08-03), appVersion v0.5.20")}
# KEDA's compatibility matrix: the Kubernetes minors each release is tested on ("N-2",
# keda.sh/docs/2.22/operate/cluster, read 2026-08-22). The chart installs on anything >= 1.23; this is the support.
KEDA_KUBERNETES = {"2.17": ("1.30", "1.32"), "2.18": ("1.31", "1.33"), "2.19": ("1.32", "1.34"),
                   "2.20": ("1.33", "1.35"), "2.21": ("1.34", "1.36")}
