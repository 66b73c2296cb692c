"""``aiplatform:workloads:ServingService``: the inference server on one region's serving pool.
Notes: docs/architecture.md, "Workloads in the clusters"."""
from __future__ import annotations

import math
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from blueprint.catalog.preemption import shutdown_budget
from blueprint.spec import GpuPool, PlatformSpec
from blueprint.spec.names import MONITORING_NAMESPACE, SERVING_NAMESPACE, TRACK_LABEL
from components.compute import RegionalCompute
from components.k8s import common
from components.k8s import gateway as ingress
from components.k8s.cluster_services import pod_monitor
from components.k8s.entry import HTTP, Listener, global_hostname, regional_hostname
from workloads.contract import (
    LIVEZ_PATH, QUEUE_DEPTH_METRIC, READYZ_PATH, RUN_AS_GID, RUN_AS_UID, SCRATCH_PATH, SERVE_MODULE, SERVE_PORT,
)

PROMETHEUS_URL = f"http://prometheus-operated.{MONITORING_NAMESPACE}.svc:9090"
CPU_TARGET_PERCENT = 70
WARMUP_LIMIT_S = 900  # model download + CUDA warm-up allowed before liveness applies


# No serving object holds up `pulumi up` on readiness that needs data: the model exists only once training has
# exported it (and replication copied it), so on a first `up` the pods cannot become ready; the Deployment would
# time out and the ClusterIP Service would wait for ready endpoints (pulumi-kubernetes' awaiters,
# provider/pkg/await/{deployment,service}.go) and fail the `up`. Readiness is reported instead by the
# ServingNotReady alert below and the `servingReadiness` stack output (docs/first-deployment.md).
NO_AWAIT = {"pulumi.com/skipAwait": "true"}
# GKE writes this annotation on a Service once its standalone NEGs exist (cloud.google.com/kubernetes-engine/docs/
# how-to/standalone-neg); waitFor (pulumi-kubernetes >= 4.18, RFC 9535 JSONPath since 4.24) replaces the Service's
# endpoint await with it.
NEG_STATUS = "cloud.google.com/neg-status"
WAIT_FOR_NEGS = f"jsonpath={{.metadata.annotations['{NEG_STATUS}']}}"
# A rollout that makes no progress for this long is marked failed (Progressing=False), which
# kube-prometheus-stack's KubeDeploymentRolloutStuck alert reports: GPU nodes scale from zero (5-15 min) and the
# model downloads and warms up (WARMUP_LIMIT_S) before a new pod is available.
PROGRESS_DEADLINE_S = 1800
NOT_READY_FOR = "15m"


def readiness_rule(spec: PlatformSpec, model_uri: str, resource_name: str,
                   opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """A PrometheusRule that fires while the stable Deployment has no available replica, naming the model it
    waits for, and resolves when serving becomes ready (from kube-state-metrics, which kube-prometheus-stack runs)."""
    app = spec.workloads.serving.name
    expr = f'kube_deployment_status_replicas_available{{namespace="{SERVING_NAMESPACE}",deployment="{app}"}} == 0'
    return k8s.apiextensions.CustomResource(
        resource_name, api_version="monitoring.coreos.com/v1", kind="PrometheusRule",
        metadata={"name": f"{app}-readiness", "namespace": SERVING_NAMESPACE, "labels": common.MANAGED_BY},
        spec={"groups": [{"name": f"{app}-readiness", "rules": [{
            "alert": "ServingNotReady", "expr": expr, "for": NOT_READY_FOR,
            "labels": {"severity": "warning", "service": app},
            "annotations": {
                "summary": f"{app} has no ready replica in {SERVING_NAMESPACE}",
                "description": f"{app} loads its model from {model_uri}; until training has exported a model there "
                               "(and replication has copied it to this region) no replica can become ready. "
                               "The alert resolves when the first replica is ready."}}]}]},
        opts=opts)


def gke_health_check(resource_name: str, service: str,
                     opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """The GKE Gateway's load balancer health check for one backend Service: ``/readyz`` on the serving port.
    Unlike GKE Ingress, the Gateway controller infers nothing from readiness probes; without a policy it probes
    ``/`` (HealthCheckPolicy ``requestPath`` default, googlecloudplatform.github.io/gke-gateway-api), which the
    server answers 404, so every backend would stay unhealthy."""
    return k8s.apiextensions.CustomResource(
        resource_name, api_version="networking.gke.io/v1", kind="HealthCheckPolicy",
        metadata={"name": service, "namespace": SERVING_NAMESPACE, "labels": common.MANAGED_BY},
        spec={"default": {"checkIntervalSec": 10, "timeoutSec": 5, "healthyThreshold": 1, "unhealthyThreshold": 3,
                          "config": {"type": "HTTP", "httpHealthCheck": {
                              "portSpecification": "USE_SERVING_PORT", "requestPath": READYZ_PATH}}},
              "targetRef": {"group": "", "kind": "Service", "name": service}},
        opts=opts)


def neg_name(spec: PlatformSpec, track: str = "stable") -> str:
    """Standalone NEG GKE creates per zone for a track's Service (read by the GCP global LB)."""
    s = spec.workloads.serving
    assert s is not None
    return f"{spec.prefix}-{s.name}-neg" if track == "stable" else f"{spec.prefix}-{s.name}-{track}-neg"


def server_args(spec: PlatformSpec, model_uri: str, drain_s: int) -> list[str]:
    s = spec.workloads.serving
    assert s is not None
    return ["--model-uri", model_uri, "--host", "0.0.0.0", "--port", str(SERVE_PORT),
            "--max-batch-size", str(s.max_batch_size), "--max-wait-ms", str(s.max_wait_ms),
            "--queue-size", str(s.queue_size), "--drain-timeout-s", str(drain_s)]


def probes() -> dict[str, Any]:
    def get(path: str, period: int, failures: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": SERVE_PORT}, "periodSeconds": period, "timeoutSeconds": 2,
                "failureThreshold": failures}
    return {"startupProbe": get(READYZ_PATH, 10, WARMUP_LIMIT_S // 10),
            "readinessProbe": get(READYZ_PATH, 5, 2),
            "livenessProbe": get(LIVEZ_PATH, 10, 3)}


class ServingService(pulumi.ComponentResource):
    """Namespace, service account, stable (+ canary) Deployment and Service, PDB, autoscaling, policies, route."""

    def __init__(self, spec: PlatformSpec, compute: RegionalCompute, pool: GpuPool, *,
                 identity: pulumi.Input[str] | None = None, model_uri: str | None = None,
                 cluster_services: list[pulumi.Resource] | None = None,
                 gateway: pulumi.Resource | None = None, listener: Listener = HTTP,
                 opts: pulumi.ResourceOptions | None = None):
        """``identity``: IRSA role ARN (AWS) or GCP service-account email allowed to read the model prefix.
        ``cluster_services``: the releases that install the PodMonitor / ScaledObject CRDs (``ClusterServices``).
        ``gateway``: the cluster's shared Gateway (``components/k8s/gateway.py``) the HTTPRoute attaches to, on
        ``listener``; None where the cluster has no Gateway (GCP under ``gcp-global-lb``): no HTTPRoute then."""
        serve = spec.workloads.serving
        assert serve is not None, "ServingService needs spec.workloads.serving"
        region, cloud = compute.region, compute.region.cloud
        name = f"{compute.child_name}-{serve.name}"
        super().__init__("aiplatform:workloads:ServingService", name, None, opts)
        prov = compute.k8s_provider
        # where training exports (same key path), in this region's own models bucket
        self.model_uri = model_uri or serve.model_uri or common.model_uri(spec, region)
        self.hostname = regional_hostname(spec, compute.child_name)
        self.app = serve.name
        budget = shutdown_budget(cloud.value)
        sched, resources = common.gpu_resources(pool, cloud, 1)
        app = serve.name

        ns = common.namespace(SERVING_NAMESPACE, self, prov, f"{name}-ns")
        after_ns = [ns]
        self.service_account = common.service_account(app, SERVING_NAMESPACE, compute, identity, self, prov, f"{name}-sa",
                                                      after_ns)
        common.default_deny(SERVING_NAMESPACE, self, prov, f"{name}-deny", after_ns)
        # the Gateway's data plane (Envoy pods on EKS; on GKE the GCLB, whose ranges the gcp-global-lb NEGs share)
        allow_in = [{"from": compute.gateway_peers(), "ports": [{"protocol": "TCP", "port": SERVE_PORT}]},
                    common.from_namespace(MONITORING_NAMESPACE, SERVE_PORT)]
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow",
            metadata={"name": f"{app}-allow", "namespace": SERVING_NAMESPACE, "labels": common.MANAGED_BY},
            spec={"podSelector": {"matchLabels": {"app.kubernetes.io/name": app}},
                  "policyTypes": ["Ingress", "Egress"], "ingress": allow_in,
                  "egress": [common.dns_egress(), common.https_egress(),
                             *compute.identity_egress()]},
            opts=common.k8s_opts(self, prov, after_ns))

        def deployment(track: str, image: str, replicas: int | None) -> tuple[k8s.apps.v1.Deployment,
                                                                               k8s.core.v1.Service]:
            component = "server" if track == "stable" else "canary"
            lbl = {**common.labels(app, component), TRACK_LABEL: track}
            sel = common.selector(app, component)
            deploy_name = app if track == "stable" else f"{app}-canary"
            container = {
                "name": "server", "image": image, "imagePullPolicy": "IfNotPresent",
                "command": ["python", "-m", SERVE_MODULE],
                "args": server_args(spec, self.model_uri, budget.serving_drain_s),
                "ports": [{"name": "http", "containerPort": SERVE_PORT}],
                "env": [{"name": "PYTHONUNBUFFERED", "value": "1"}, {"name": "TMPDIR", "value": SCRATCH_PATH}],
                "resources": resources, **probes(),
                "lifecycle": {"preStop": {"sleep": {"seconds": budget.serving_prestop_s}}},
                "volumeMounts": [common.shm_mount(), {"name": "tmp", "mountPath": SCRATCH_PATH}],
                "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                    "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                    "seccompProfile": {"type": "RuntimeDefault"}},
            }
            pod = {
                "serviceAccountName": app, "terminationGracePeriodSeconds": budget.grace_s,
                **common.scheduling_fields(sched),
                "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS_UID, "runAsGroup": RUN_AS_GID, "fsGroup": RUN_AS_GID,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                               "whenUnsatisfiable": "ScheduleAnyway",
                                               "labelSelector": {"matchLabels": sel}}],
                "containers": [container],
                "volumes": [common.shm_volume(pool, cloud, 1 / sched.gpus_per_node),
                            {"name": "tmp", "emptyDir": {"sizeLimit": "10Gi"}}],
            }
            dep = k8s.apps.v1.Deployment(
                f"{name}-{track}",
                metadata={"name": deploy_name, "namespace": SERVING_NAMESPACE, "labels": lbl,
                          "annotations": dict(NO_AWAIT)},
                # no replicas for the autoscaled stable track: the HPA / KEDA own that field
                spec={**({"replicas": replicas} if replicas is not None else {}), "selector": {"matchLabels": sel},
                      "progressDeadlineSeconds": PROGRESS_DEADLINE_S,
                      "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                      "template": {"metadata": {"labels": lbl}, "spec": pod}},
                opts=common.k8s_opts(self, prov, [self.service_account]))
            # the cloud's load balancer may need more next to the Service (GKE: NEGs, a health check policy)
            backend = compute.serving_backend(spec, track, deploy_name, gateway is not None, f"{name}-{track}-health",
                                              common.k8s_opts(self, prov, after_ns))
            svc_meta: dict[str, Any] = {"name": deploy_name, "namespace": SERVING_NAMESPACE, "labels": lbl,
                                        "annotations": backend if backend is not None else dict(NO_AWAIT)}
            svc = k8s.core.v1.Service(
                f"{name}-{track}-svc", metadata=svc_meta,
                spec={"type": "ClusterIP", "selector": sel,
                      "ports": [{"name": "http", "port": SERVE_PORT, "targetPort": "http", "protocol": "TCP"}]},
                opts=common.k8s_opts(self, prov, after_ns))
            self.services[track] = svc
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-{track}-pdb", metadata={"name": deploy_name, "namespace": SERVING_NAMESPACE, "labels": lbl},
                spec={"maxUnavailable": 1, "selector": {"matchLabels": sel}},
                opts=common.k8s_opts(self, prov, after_ns))
            return dep, svc

        self.services: dict[str, k8s.core.v1.Service] = {}
        self.deployment, self.service = deployment("stable", serve.image, None)
        crds = [*after_ns, *(cluster_services or [])]
        self.readiness = readiness_rule(spec, self.model_uri, f"{name}-readiness",
                                        common.k8s_opts(self, prov, crds))
        # every track's /metrics, labelled with the app name the KEDA query selects on
        pod_monitor(f"{name}-metrics", app, SERVING_NAMESPACE, {"app.kubernetes.io/name": app}, "http",
                    ["app.kubernetes.io/name", TRACK_LABEL], common.k8s_opts(self, prov, crds))
        self._autoscaling(spec, name, prov, crds)
        backends = [{"name": serve.name, "port": SERVE_PORT, "weight": 100 - serve.canary_weight}]
        if serve.canary_image and serve.canary_weight > 0:
            canary_replicas = max(1, math.ceil(serve.replicas.desired * serve.canary_weight / 100))
            self.canary, _ = deployment("canary", serve.canary_image, canary_replicas)
            backends.append({"name": f"{serve.name}-canary", "port": SERVE_PORT, "weight": serve.canary_weight})
        if gateway is not None:
            self._route(spec, name, prov, backends, listener, [*after_ns, gateway])
        self.register_outputs({"hostname": self.hostname, "modelUri": self.model_uri})

    def _route(self, spec: PlatformSpec, name: str, prov, backends: list[dict[str, Any]],
               listener: Listener, after: list[pulumi.Resource]) -> None:
        app = spec.workloads.serving.name
        route_meta: dict[str, Any] = {"name": app, "namespace": SERVING_NAMESPACE, "labels": common.MANAGED_BY}
        hostnames = [h for h in (global_hostname(spec), self.hostname) if h]
        k8s.apiextensions.CustomResource(
            f"{name}-route", api_version="gateway.networking.k8s.io/v1", kind="HTTPRoute", metadata=route_meta,
            spec={"parentRefs": [ingress.parent_ref(listener)],
                  **({"hostnames": hostnames} if hostnames else {}),
                  # /readyz too: global health checks probe each region through its public hostname
                  "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/v1/"}},
                                         {"path": {"type": "Exact", "value": READYZ_PATH}}],
                             "backendRefs": backends}]},
            opts=common.k8s_opts(self, prov, after))

    def _autoscaling(self, spec: PlatformSpec, name: str, prov, after: list[pulumi.Resource]) -> None:
        """KEDA on the server's queue depth when enabled (KEDA owns the HPA then), else an HPA on CPU."""
        serve = spec.workloads.serving
        assert serve is not None
        meta = {"name": serve.name, "namespace": SERVING_NAMESPACE, "labels": common.MANAGED_BY}
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": serve.name}
        opts = common.k8s_opts(self, prov, [*after, self.deployment])
        if serve.keda:
            # the stable track only: the canary's pods share the app name, and their queue is not this Deployment's
            query = (f'sum({QUEUE_DEPTH_METRIC}{{namespace="{SERVING_NAMESPACE}",'
                     f'app_kubernetes_io_name="{serve.name}",aiplatform_io_track="stable"}})')
            k8s.apiextensions.CustomResource(
                f"{name}-scaler", api_version="keda.sh/v1alpha1", kind="ScaledObject", metadata=meta,
                spec={"scaleTargetRef": {"name": serve.name}, "minReplicaCount": serve.replicas.min,
                      "maxReplicaCount": serve.replicas.max, "pollingInterval": 15, "cooldownPeriod": 300,
                      # a replica is "full" at a quarter of its queue: scale before requests start to wait
                      "triggers": [{"type": "prometheus", "metadata": {
                          "serverAddress": PROMETHEUS_URL, "query": query,
                          "threshold": str(max(1, serve.queue_size // 4))}}]},
                opts=opts)
        else:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa", metadata=meta,
                spec={"scaleTargetRef": target, "minReplicas": max(1, serve.replicas.min),
                      "maxReplicas": serve.replicas.max,
                      "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                          "type": "Utilization", "averageUtilization": CPU_TARGET_PERCENT}}}]},
                opts=opts)
