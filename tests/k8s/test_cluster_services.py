"""What the workloads' custom resources need in each cluster, and the metrics contract between them.

KEDA can only scale on ``serve_queue_depth`` if (1) KEDA and a Prometheus exist in the cluster, (2) something makes
Prometheus scrape the serving pods, and (3) the series carries the label the query selects on. Each link is
asserted against the real plan and the workloads' own metric registries, so none can drift silently.
"""
from __future__ import annotations

import re

import pytest

from blueprint.catalog.charts import CHARTS
from tests.k8s.conftest import spec_of, workload_plan
from tests.k8s.helpers import in_cluster, one_in
from workloads.contract import SERVE_PORT, TRAIN_METRICS_PORT
from workloads.serve.metrics import ServeMetrics

RELEASE = "kubernetes:helm.sh/v3:Release"
MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
SCALER = "kubernetes:keda.sh/v1alpha1:ScaledObject"
STACKS = ["dev", "staging", "prod"]


def _prometheus_label(pod_label: str) -> str:
    """How the Prometheus operator names a pod label copied by podTargetLabels."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", pod_label)


def _clusters(stack: str) -> list[str]:
    return [r.key.replace("/", "-") for r in spec_of(stack).regions]


@pytest.mark.parametrize("stack", STACKS)
def test_every_cluster_runs_a_pinned_prometheus_operator_and_keda_only_where_serving_uses_it(stack):
    spec, plan = spec_of(stack), workload_plan(stack)
    serve = spec.workloads.serving
    for cluster in _clusters(stack):
        releases = {r.inputs["chart"]: r for r in in_cluster(plan, RELEASE, cluster)}
        prom = releases["kube-prometheus-stack"]
        assert prom.inputs["namespace"] == "monitoring"
        assert prom.inputs["version"] == CHARTS["kube-prometheus-stack"].version
        spec_values = prom.inputs["values"]["prometheus"]["prometheusSpec"]
        assert spec_values["podMonitorSelectorNilUsesHelmValues"] is False, "must pick up the workloads' monitors"
        keda_here = serve is not None and serve.keda and cluster in {k.replace("/", "-") for k in serve.regions}
        assert ("keda" in releases) == bool(keda_here)
        for r in releases.values():
            assert r.inputs.get("version"), f"{r.name}: unpinned chart"


@pytest.mark.parametrize("stack", STACKS)
def test_the_keda_query_names_a_series_the_server_exports_with_a_label_prometheus_attaches(stack):
    spec, plan = spec_of(stack), workload_plan(stack)
    serve = spec.workloads.serving
    exported = {m.name for m in ServeMetrics(max_batch=serve.max_batch_size).registry.collect()}
    for key in serve.regions:
        cluster = key.replace("/", "-")
        monitor = one_in(plan, MONITOR, cluster, serve.name)
        deployment = one_in(plan, "kubernetes:apps/v1:Deployment", cluster, serve.name)
        ports = {p["name"]: p["containerPort"] for p in deployment.get("spec.template.spec.containers")[0]["ports"]}
        (endpoint,) = monitor.inputs["spec"]["podMetricsEndpoints"]
        assert endpoint["path"] == "/metrics" and ports[endpoint["port"]] == SERVE_PORT
        attached = {_prometheus_label(lbl) for lbl in monitor.inputs["spec"]["podTargetLabels"]}
        if not serve.keda:
            assert not in_cluster(plan, SCALER, cluster)
            continue
        scaler = one_in(plan, SCALER, cluster, serve.name)
        (trigger,) = scaler.inputs["spec"]["triggers"]
        query = trigger["metadata"]["query"]
        metric = re.match(r"sum\((\w+)\{", query).group(1)
        assert metric == "serve_queue_depth" and metric in exported
        selected = set(re.findall(r"(\w+)=\"", query))
        assert selected <= attached | {"namespace"}, f"query selects labels no scrape attaches: {selected - attached}"
        keda = next(r for r in in_cluster(plan, RELEASE, cluster) if r.inputs["chart"] == "keda")
        assert keda.urn in scaler.dependencies, "the ScaledObject waits for KEDA's CRDs"
        assert trigger["metadata"]["serverAddress"].startswith("http://prometheus-operated.monitoring.svc")


@pytest.mark.parametrize("stack", STACKS)
def test_the_trainers_metrics_port_is_scraped(stack):
    spec, plan = spec_of(stack), workload_plan(stack)
    train = spec.workloads.training
    cluster = train.region.replace("/", "-")
    monitor = one_in(plan, MONITOR, cluster, train.name)
    job = one_in(plan, "kubernetes:batch/v1:Job", cluster, train.name)
    pod = job.get("spec.template")
    assert monitor.inputs["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
    (endpoint,) = monitor.inputs["spec"]["podMetricsEndpoints"]
    assert ports[endpoint["port"]] == TRAIN_METRICS_PORT
    assert "--metrics-port" in job.get("spec.template.spec.containers")[0]["args"]
    prom = next(r for r in in_cluster(plan, RELEASE, cluster) if r.inputs["chart"] == "kube-prometheus-stack")
    assert prom.urn in monitor.dependencies, "the PodMonitor waits for the operator's CRDs"


def test_gpu_metrics_are_scraped_on_eks_where_the_exporter_has_no_service_monitor():
    plan = workload_plan("prod")
    for cluster in ("aws-us-east-1", "aws-us-west-2"):
        dcgm = next(r for r in in_cluster(plan, RELEASE, cluster) if r.inputs["chart"] == "dcgm-exporter")
        assert dcgm.inputs["values"]["serviceMonitor"]["enabled"] is False
        monitor = one_in(plan, MONITOR, cluster, "dcgm-exporter")
        assert monitor.inputs["metadata"]["namespace"] == dcgm.inputs["namespace"]
    assert not [m for m in in_cluster(plan, MONITOR, "gcp-us-central1") if m.get("metadata.name") == "dcgm-exporter"]


@pytest.mark.parametrize("stack", STACKS)
def test_keda_is_a_release_tested_on_the_clusters_kubernetes_minor(stack):
    """KEDA 2.17 was tested on Kubernetes 1.30-1.32 only; the clusters run 1.35 (first-up review round 1, k8s 4)."""
    from blueprint.catalog.charts import KEDA_KUBERNETES
    spec, plan = spec_of(stack), workload_plan(stack)
    low, high = KEDA_KUBERNETES[".".join(CHARTS["keda"].version.split(".")[:2])]
    minor = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    for region in spec.regions:
        if any(r.inputs["chart"] == "keda" for r in in_cluster(plan, RELEASE, region.key.replace("/", "-"))):
            assert minor(low) <= minor(region.kubernetes_version) <= minor(high), region.key


def _selectors(query: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', query))


def test_the_keda_query_counts_the_stable_track_only_not_the_canary():
    """The canary's pods carry the same app name; summing their queue into the stable Deployment's scaler
    over-scaled it by the canary's share (first-up review round 1, k8s 5)."""
    plan = workload_plan("prod")
    serve = spec_of("prod").workloads.serving
    assert serve.canary_image and serve.canary_weight
    for key in serve.regions:
        cluster = key.replace("/", "-")
        (trigger,) = one_in(plan, SCALER, cluster, serve.name).inputs["spec"]["triggers"]
        wanted = {k: v for k, v in _selectors(trigger["metadata"]["query"]).items() if k != "namespace"}
        tracks = {}
        for d in in_cluster(plan, "kubernetes:apps/v1:Deployment", cluster):
            labels = {_prometheus_label(k): v for k, v in d.get("spec.template.metadata.labels").items()}
            tracks[d.get("metadata.name")] = wanted.items() <= labels.items()
        assert tracks == {serve.name: True, f"{serve.name}-canary": False}, tracks


def test_the_first_deployment_page_says_where_each_releases_pods_run():
    """The Helm row of docs/first-deployment.md said the GPU DaemonSets run on the system pool; their `helm --wait`
    depends on the GPU nodes instead (first-up review round 1, k8s 7). The page's lists are the plan's."""
    import json
    from pathlib import Path
    shown = {"kube-prometheus-stack": "kube-prometheus-stack", "keda": "KEDA", "gateway-helm": "Envoy Gateway",
             "kueue": "Kueue", "cluster-autoscaler": "cluster autoscaler",
             "nvidia-device-plugin": "NVIDIA device plugin", "dcgm-exporter": "DCGM exporter",
             "aws-efa-k8s-device-plugin": "EFA plugin"}
    on_system: dict[bool, set[str]] = {True: set(), False: set()}
    for r in workload_plan("prod").of_type(RELEASE):
        pinned = '"aiplatform.io/pool": "system"' in json.dumps(r.inputs.get("values"))
        on_system[pinned].add(shown[r.inputs["chart"].rsplit("/", 1)[-1]])
    doc = (Path(__file__).parents[2] / "docs" / "first-deployment.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| Helm release |"))
    system, gpu = re.search(r"pods on the system pool: (.*?); DaemonSets on the GPU nodes[^:]*: (.*?) \|$", row).groups()
    assert set(system.split(", ")) == on_system[True] and set(gpu.split(", ")) == on_system[False]
