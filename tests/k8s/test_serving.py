"""ServingService: GPU pods on an existing pool, probes, disruption budget, autoscaling, network policy, canary."""
from __future__ import annotations

import pytest

from blueprint.catalog.preemption import preemption_window_s
from tests.k8s.conftest import spec_of, workload_plan
from tests.k8s.helpers import in_cluster, one_in, pod_templates

STACKS = ["dev", "staging", "prod"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_gpu_pod_tolerates_the_taint_and_selects_an_existing_pool(stack):
    spec = spec_of(stack)
    plan = workload_plan(stack)
    from cli.render import cluster_of
    pods = list(pod_templates(plan))
    assert pods, "the stack declares workloads"
    for owner, pod in pods:
        region = next(r for r in spec.regions if r.key.replace("/", "-") == cluster_of(plan, owner))
        pool = region.pool(pod["nodeSelector"]["aiplatform.io/pool"])
        assert pool is not None, f"{owner.name} selects a pool {region.key} does not have"
        assert pod["nodeSelector"].items() <= pool.labels.items()
        taint = pool.taint
        assert {"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect} \
            in pod["tolerations"]
        for c in pod["containers"]:
            assert int(c["resources"]["limits"]["nvidia.com/gpu"]) >= 1
            assert c["resources"]["requests"] == c["resources"]["limits"]
        assert pod["terminationGracePeriodSeconds"] < preemption_window_s(region.cloud.value)


@pytest.mark.parametrize("stack", STACKS)
def test_server_has_probes_prestop_and_a_locked_down_container(stack):
    spec = spec_of(stack)
    plan = workload_plan(stack)
    for key in spec.workloads.serving.regions:
        dep = one_in(plan, "kubernetes:apps/v1:Deployment", key.replace("/", "-"), spec.workloads.serving.name)
        pod = dep.get("spec.template.spec")
        c = pod["containers"][0]
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 8080}
        assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": 8080}
        assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] >= 300
        prestop = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        drain = int(c["args"][c["args"].index("--drain-timeout-s") + 1])
        assert prestop + drain < pod["terminationGracePeriodSeconds"]
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"] and sc["seccompProfile"]["type"] == "RuntimeDefault"
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert c["command"] == ["python", "-m", "workloads.serve"] and c["image"] == spec.workloads.serving.image


@pytest.mark.parametrize("stack", STACKS)
def test_pdb_autoscaler_and_network_policies_in_every_serving_region(stack):
    spec = spec_of(stack)
    serve = spec.workloads.serving
    plan = workload_plan(stack)
    for key in serve.regions:
        cluster = key.replace("/", "-")
        one_in(plan, "kubernetes:policy/v1:PodDisruptionBudget", cluster, serve.name)
        hpas = in_cluster(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", cluster)
        scalers = in_cluster(plan, "kubernetes:keda.sh/v1alpha1:ScaledObject", cluster)
        if serve.keda:
            assert not hpas and len(scalers) == 1
            trigger = scalers[0].get("spec.triggers[0]")
            assert trigger["type"] == "prometheus" and "queue_depth" in trigger["metadata"]["query"]
            assert scalers[0].get("spec.maxReplicaCount") == serve.replicas.max
        else:
            assert not scalers and len(hpas) == 1
            assert hpas[0].get("spec.metrics[0].resource.name") == "cpu"
            assert hpas[0].get("spec.maxReplicas") == serve.replicas.max
        policies = {p.get("metadata.name"): p for p in in_cluster(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                                                                   cluster) if p.get("metadata.namespace") == "serving"}
        deny = policies["default-deny"]
        assert deny.get("spec.podSelector") == {} and deny.get("spec.ingress") is None
        allow = policies[f"{serve.name}-allow"]
        sources = {r["from"][0].get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                   for r in allow.get("spec.ingress")}
        assert "monitoring" in sources  # the Gateway's data plane: tests/k8s/test_gateway.py
        assert all(p["port"] == 8080 for r in allow.get("spec.ingress") for p in r["ports"])
        egress = {(r["to"][0].get("ipBlock", {}).get("cidr"), p["port"]) for r in allow.get("spec.egress")
                  for p in r["ports"]}
        assert {port for _, port in egress} <= {53, 443, 988, 80}
        assert (None, 53) in egress and ("0.0.0.0/0", 443) in egress
        # GKE Workload Identity tokens come from the metadata server; EKS's IRSA needs only STS on 443
        metadata = {("169.254.169.252/32", 988), ("169.254.169.254/32", 80)}
        if spec.region(key).cloud.value == "gcp":
            assert metadata <= egress
        else:
            assert not metadata & egress and {port for _, port in egress} == {53, 443}


def test_canary_gets_its_own_deployment_and_the_weight_from_the_spec():
    spec = spec_of("prod")
    serve = spec.workloads.serving
    plan = workload_plan("prod")
    for key in serve.regions:
        cluster = key.replace("/", "-")
        canary = one_in(plan, "kubernetes:apps/v1:Deployment", cluster, f"{serve.name}-canary")
        assert canary.get("spec.template.spec.containers[0].image") == serve.canary_image
        route = one_in(plan, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", cluster)
        weights = {b["name"]: b["weight"] for b in route.get("spec.rules[0].backendRefs")}
        assert weights == {serve.name: 100 - serve.canary_weight, f"{serve.name}-canary": serve.canary_weight}
    dev = workload_plan("dev")
    assert [d.get("metadata.name") for d in dev.of_type("kubernetes:apps/v1:Deployment")] == ["charlm-serve"]


def test_every_kubernetes_resource_names_its_clusters_provider():
    plan = workload_plan("prod")
    providers = {r.urn for r in plan.of_type("pulumi:providers:kubernetes")}
    k8s = [r for r in plan if r.type.startswith("kubernetes:")]
    assert k8s and all(r.provider_urn in providers for r in k8s)


def _flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


@pytest.mark.parametrize("stack", STACKS)
def test_serving_loads_the_key_path_training_exports_to_in_its_own_regions_bucket(stack):
    """Training writes --model-uri, serving reads --model-uri: same key path, each region's own models bucket."""
    from urllib.parse import urlsplit
    spec = spec_of(stack)
    serve, train = spec.workloads.serving, spec.workloads.training
    plan = workload_plan(stack)
    job = one_in(plan, "kubernetes:batch/v1:Job", train.region.replace("/", "-"), train.name)
    written = urlsplit(_flag(job.get("spec.template.spec.containers[0].args"), "--model-uri"))
    for key in serve.regions:
        region = spec.region(key)
        dep = one_in(plan, "kubernetes:apps/v1:Deployment", key.replace("/", "-"), serve.name)
        read = urlsplit(_flag(dep.get("spec.template.spec.containers[0].args"), "--model-uri"))
        assert read.path == written.path, f"{key} serves {read.path}, training writes {written.path}"
        assert read.scheme == ("s3" if region.cloud.value == "aws" else "gs")
        assert read.netloc == f"{spec.name_prefix}-{region.region}-models"
