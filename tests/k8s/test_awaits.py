"""What ``pulumi up`` waits for in the clusters, so a first ``up`` ends: never on data that only training produces,
never on a training run, and on GKE's NEGs before the global load balancer names them.

pulumi-kubernetes (provider/pkg/await, 4.x) waits on create for: a Deployment's rollout (10 min, or
``pulumi.com/timeoutSeconds``); a Service with a selector, unless headless, until its endpoints hold ready pods and
none unready (service.go ``checkAndLogStatus``: ``!endpointsPending``), failing after 10 min; a Job's completion;
a PVC's binding. ``pulumi.com/skipAwait: "true"`` skips that; ``pulumi.com/waitFor`` replaces it.
"""
from __future__ import annotations

import json

import pytest

from blueprint.spec.names import SERVING_NAMESPACE
from components.k8s import serving
from components.k8s.cluster_services import prometheus_values
from components.k8s.global_routing import neg_groups
from tests.conftest import platform_config
from tests.k8s.conftest import spec_of, workload_plan
from tests.k8s.helpers import in_cluster

STACKS = ["dev", "staging", "prod"]
SERVICE, DEPLOYMENT, JOB = "kubernetes:core/v1:Service", "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
BACKEND = "gcp:compute/backendService:BackendService"


def annotations(r) -> dict:
    return r.get("metadata.annotations") or {}


def skips_await(r) -> bool:
    return annotations(r).get("pulumi.com/skipAwait") == "true"


@pytest.mark.parametrize("stack", STACKS)
def test_no_serving_object_waits_for_a_model_that_training_has_not_made(stack):
    plan = workload_plan(stack)
    deployments = [d for d in plan.of_type(DEPLOYMENT) if d.get("metadata.namespace") == SERVING_NAMESPACE]
    assert deployments
    for d in deployments:
        assert skips_await(d), f"{d.name}: the rollout needs a model and would fail the first up"
        assert "pulumi.com/timeoutSeconds" not in annotations(d)
        # a rollout that stalls is still reported: Progressing=False after the deadline (KubeDeploymentRolloutStuck)
        assert d.get("spec.progressDeadlineSeconds") == serving.PROGRESS_DEADLINE_S


@pytest.mark.parametrize("stack", STACKS)
def test_no_service_waits_for_ready_pods(stack):
    """A non-headless Service with a selector is awaited until its pods are ready: skip that, or wait for
    something that does not depend on the pods (GKE's NEG status)."""
    plan = workload_plan(stack)
    for svc in plan.of_type(SERVICE):
        headless = svc.get("spec.clusterIP") == "None"
        if not svc.get("spec.selector") or headless or svc.get("spec.type") == "ExternalName":
            continue
        waits_for = annotations(svc).get("pulumi.com/waitFor")
        assert skips_await(svc) or waits_for == serving.WAIT_FOR_NEGS, f"{svc.name} waits for ready endpoints"


@pytest.mark.parametrize("stack", STACKS)
def test_a_training_job_does_not_hold_up_the_deployment_for_the_whole_run(stack):
    for job in workload_plan(stack).of_type(JOB):
        assert skips_await(job), f"{job.name} would be awaited to completion"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_operator_is_told_when_serving_becomes_ready(stack):
    spec, plan = spec_of(stack), workload_plan(stack)
    serve = spec.workloads.serving
    assert prometheus_values()["prometheus"]["prometheusSpec"]["ruleSelectorNilUsesHelmValues"] is False
    for key in serve.regions:
        cluster = key.replace("/", "-")
        (rule,) = in_cluster(plan, RULE, cluster)
        (alert,) = [r for g in rule.get("spec.groups") for r in g["rules"]]
        assert alert["alert"] == "ServingNotReady"
        assert f'deployment="{serve.name}"' in alert["expr"] and f'namespace="{SERVING_NAMESPACE}"' in alert["expr"]
        (svc,) = [c for c in plan.of_type("aiplatform:workloads:ServingService") if c.name.startswith(cluster)]
        assert svc.outputs["modelUri"] in alert["annotations"]["description"], "it names the model it waits for"
        # the PrometheusRule CRD comes with kube-prometheus-stack
        (prom,) = [r for r in in_cluster(plan, "kubernetes:helm.sh/v3:Release", cluster)
                   if r.get("chart") == "kube-prometheus-stack"]
        assert prom.urn in rule.dependencies
    zone = plan.one("aiplatform:workloads:ServingEntries").outputs
    assert zone["hostnames"], "the regional names the readiness checks probe"


def test_the_global_lb_names_the_negs_only_once_gke_has_created_them():
    platform = platform_config("prod")
    platform["workloads"]["serving"]["globalRouting"] = "gcp-global-lb"
    spec, plan = spec_of("prod", platform), workload_plan("prod", platform)
    svcs = {s.get("metadata.name"): s for s in in_cluster(plan, SERVICE, "gcp-us-central1")
            if s.get("metadata.namespace") == SERVING_NAMESPACE}
    assert set(svcs) == {spec.workloads.serving.name, f"{spec.workloads.serving.name}-canary"}
    for svc in svcs.values():
        assert annotations(svc)["pulumi.com/waitFor"] == serving.WAIT_FOR_NEGS
        assert "cloud.google.com/neg" in annotations(svc) and not skips_await(svc)
    backends = plan.of_type(BACKEND)
    assert len(backends) == 2
    for backend in backends:
        track = "canary" if "-canary-" in backend.name else "stable"
        name = spec.workloads.serving.name + ("-canary" if track == "canary" else "")
        assert svcs[name].urn in backend.property_dependencies["backends"], \
            f"{backend.name} is created before the Service whose NEGs it names"
        groups = [b["group"] for b in backend.get("backends")]
        assert all(g.endswith(f"/networkEndpointGroups/{serving.neg_name(spec, track)}") for g in groups)


def test_wait_for_negs_is_a_strict_jsonpath_the_provider_parses():
    """pulumi-kubernetes' jsonpath.Parse: 'jsonpath=' prefix, one {...} expression, no '=value'; RFC 9535 member
    names with '.', '/' and '-' need the bracket form."""
    expr = serving.WAIT_FOR_NEGS
    assert expr.startswith("jsonpath={") and expr.endswith("}") and "=" not in expr[len("jsonpath="):]
    assert f"['{serving.NEG_STATUS}']" in expr and expr.count("{") == 1


def test_backends_are_read_from_the_neg_status_gke_writes():
    status = json.dumps({"network_endpoint_groups": {"8080": "gke-made-neg"}, "zones": ["us-central1-b"]})
    planned = (8080, "planned-neg", ["us-central1-a", "us-central1-b", "us-central1-c"])
    assert neg_groups("p", {serving.NEG_STATUS: status}, planned, dry_run=False) == [
        "projects/p/zones/us-central1-b/networkEndpointGroups/gke-made-neg"]
    # a preview has no Service yet: the planned zones stand in
    assert len(neg_groups("p", {}, planned, dry_run=True)) == 3
    # a deployment without the status would name NEGs that may not exist: refuse
    with pytest.raises(RuntimeError, match="neg-status"):
        neg_groups("p", {}, planned, dry_run=False)
