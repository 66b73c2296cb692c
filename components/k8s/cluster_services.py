"""``aiplatform:k8s:ClusterServices``: the in-cluster services the workloads' manifests rely on, per cluster.
Notes: docs/architecture.md, "Workloads in the clusters"."""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from blueprint.catalog.charts import CHARTS
from blueprint.spec import PlatformSpec
from blueprint.spec.names import KEDA_NAMESPACE, MONITORING_NAMESPACE, SERVING_NAMESPACE, system_nodes
from components.compute import RegionalCompute
from components.k8s import common
from components.k8s.entry import HTTP, RegionEntry, gateway_fronted
from components.k8s.gateway import IngressGateway
from workloads.contract import METRICS_PATH


def prometheus_values() -> dict:
    """Select every PodMonitor / ServiceMonitor / PrometheusRule (not only the chart's own); skip managed
    control-plane targets."""
    return {
        "grafana": {"enabled": False},
        "kubeControllerManager": {"enabled": False}, "kubeScheduler": {"enabled": False},
        "kubeEtcd": {"enabled": False}, "kubeProxy": {"enabled": False},
        "prometheusOperator": {"nodeSelector": system_nodes()},
        "kube-state-metrics": {"nodeSelector": system_nodes()},
        "alertmanager": {"alertmanagerSpec": {"nodeSelector": system_nodes()}},
        "prometheus": {"prometheusSpec": {
            "nodeSelector": system_nodes(), "retention": "15d",
            "podMonitorSelectorNilUsesHelmValues": False, "serviceMonitorSelectorNilUsesHelmValues": False,
            "ruleSelectorNilUsesHelmValues": False}},
    }


def pod_monitor(resource_name: str, name: str, namespace: str, match: dict[str, str], port: str,
                target_labels: list[str], opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """A PodMonitor scraping ``/metrics`` on a named container port; ``target_labels`` copy pod labels onto every
    series (``app.kubernetes.io/name`` becomes ``app_kubernetes_io_name``)."""
    return k8s.apiextensions.CustomResource(
        resource_name, api_version="monitoring.coreos.com/v1", kind="PodMonitor",
        metadata={"name": name, "namespace": namespace, "labels": common.MANAGED_BY},
        spec={"selector": {"matchLabels": match}, "podTargetLabels": target_labels,
              "podMetricsEndpoints": [{"port": port, "path": METRICS_PATH, "interval": "15s"}]},
        opts=opts)


class ClusterServices(pulumi.ComponentResource):
    """What the workloads need installed in one cluster before their monitors and scalers can be applied."""

    def __init__(self, spec: PlatformSpec, compute: RegionalCompute, entry: RegionEntry | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        """``entry``: the region's serving entry point, which the Gateway's listener and address follow."""
        name = f"{compute.child_name}-services"
        super().__init__("aiplatform:k8s:ClusterServices", name, None, opts)
        prov = compute.k8s_provider
        # every pod here runs on the system pool: the releases wait for its nodes, or Helm's wait times out
        self._nodes = [compute.system_pool] if compute.system_pool is not None else []
        self.prometheus = self._chart(name, "kube-prometheus-stack", MONITORING_NAMESPACE, prometheus_values(),
                                      prov)
        serve = spec.workloads.serving
        self.keda = None
        self.ingress: IngressGateway | None = None
        if serve is not None and compute.region.key in serve.regions:
            if gateway_fronted(spec, compute):
                self.ingress = IngressGateway(f"{name}-ingress", compute.gateway_class, prov, [SERVING_NAMESPACE],
                                              entry, nodes=self._nodes, opts=pulumi.ResourceOptions(parent=self))
            if serve.keda:
                self.keda = self._chart(name, "keda", KEDA_NAMESPACE, {"nodeSelector": system_nodes()}, prov)
        if compute.monitors_gpu_exporter:
            pod_monitor(f"{name}-dcgm", "dcgm-exporter", MONITORING_NAMESPACE,
                        {"app.kubernetes.io/name": "dcgm-exporter"}, "metrics", [],
                        common.k8s_opts(self, prov, [self.prometheus]))
        self.register_outputs({})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """The releases whose CRDs the workloads' custom resources need."""
        return [r for r in (self.prometheus, self.keda) if r is not None]

    @property
    def gateway(self) -> k8s.apiextensions.CustomResource | None:
        """The Gateway serving's HTTPRoute attaches to (None where this cluster serves nothing)."""
        return self.ingress.gateway if self.ingress is not None else None

    @property
    def listener(self):
        """The Gateway listener serving's HTTPRoute names (``sectionName``)."""
        return self.ingress.listener if self.ingress is not None else HTTP

    def _chart(self, name: str, chart: str, namespace: str, values: dict, prov) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(f"{name}-{chart}", name=chart, **CHARTS[chart].release_args(), namespace=namespace,
                                   create_namespace=True, values=values, opts=common.k8s_opts(self, prov, self._nodes))
