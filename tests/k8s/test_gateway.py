"""The serving HTTPRoute attaches to a Gateway that really exists and really admits it, on every serving cluster.

Read from the real plan: each parentRef resolves to a Gateway declared through the same cluster provider, the named
listener admits HTTPRoutes from the route's namespace, the GatewayClass is declared there (EKS: Envoy Gateway's,
with its pinned controller chart, which brings the Gateway API CRDs) or GKE-managed on a cluster with Gateway API
enabled, the route waits for the Gateway, and the serving pods' NetworkPolicy admits the Gateway's data plane.
"""
from __future__ import annotations

import ipaddress

import pytest

from cli.render import cluster_of
from tests.conftest import platform_config
from tests.k8s.conftest import spec_of, workload_plan
from tests.k8s.helpers import in_cluster

ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
CLASS = "kubernetes:gateway.networking.k8s.io/v1:GatewayClass"
NAMESPACE = "kubernetes:core/v1:Namespace"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"
# GatewayClasses GKE installs when Gateway API is enabled on the cluster (GKE docs, "GatewayClass capabilities").
GKE_MANAGED_CLASSES = {"gke-l7-global-external-managed", "gke-l7-regional-external-managed", "gke-l7-rilb",
                       "gke-l7-gxlb"}
# Google's documented source ranges for external Application Load Balancer proxies and health checks.
GOOGLE_FRONT_ENDS = [ipaddress.ip_network("35.191.0.0/16"), ipaddress.ip_network("130.211.0.0/22")]
STACKS = ["dev", "staging", "prod"]


def _selects(selector: dict, labels: dict) -> bool:
    if not selector:
        return True
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for e in selector.get("matchExpressions", []):
        present, value = e["key"] in labels, labels.get(e["key"])
        ok = {"In": present and value in e.get("values", []), "NotIn": value not in e.get("values", []),
              "Exists": present, "DoesNotExist": not present}[e["operator"]]
        if not ok:
            return False
    return True


def _namespace_labels(plan, provider: str, name: str) -> dict:
    (ns,) = [n for n in plan.of_type(NAMESPACE) if n.provider_urn == provider and n.get("metadata.name") == name]
    # the API server sets this label on every namespace
    return {**(ns.get("metadata.labels") or {}), "kubernetes.io/metadata.name": name}


def _admits(plan, gateway, listener: dict, route) -> bool:
    kinds = listener.get("allowedRoutes", {}).get("kinds")
    if kinds and not any(k["kind"] == "HTTPRoute" for k in kinds):
        return False
    namespaces = listener.get("allowedRoutes", {}).get("namespaces", {"from": "Same"})
    route_ns = route.get("metadata.namespace")
    if namespaces["from"] == "All":
        return True
    if namespaces["from"] == "Same":
        return route_ns == gateway.get("metadata.namespace")
    return _selects(namespaces["selector"], _namespace_labels(plan, route.provider_urn, route_ns))


@pytest.mark.parametrize("stack", STACKS)
def test_every_route_attaches_to_a_declared_gateway_that_admits_it(stack):
    spec, plan = spec_of(stack), workload_plan(stack)
    routes = plan.of_type(ROUTE)
    assert len(routes) == len(spec.workloads.serving.regions)
    for route in routes:
        cluster = cluster_of(plan, route)
        region = next(r for r in spec.regions if r.key.replace("/", "-") == cluster)
        for ref in route.get("spec.parentRefs"):
            assert ref.get("kind", "Gateway") == "Gateway"
            ns = ref.get("namespace", route.get("metadata.namespace"))
            (gateway,) = [g for g in plan.of_type(GATEWAY) if g.provider_urn == route.provider_urn
                          and (g.get("metadata.namespace"), g.get("metadata.name")) == (ns, ref["name"])]
            listeners = [lst for lst in gateway.get("spec.listeners")
                         if "sectionName" not in ref or lst["name"] == ref["sectionName"]]
            assert listeners and all(_admits(plan, gateway, lst, route) for lst in listeners), route.name
            assert gateway.urn in route.dependencies, "the route waits for its Gateway"
            class_name = gateway.get("spec.gatewayClassName")
            declared = [c for c in plan.of_type(CLASS)
                        if c.provider_urn == route.provider_urn and c.get("metadata.name") == class_name]
            if region.cloud.value == "gcp":
                assert not declared and class_name in GKE_MANAGED_CLASSES
                gke = next(c for c in plan.of_type("gcp:container/cluster:Cluster") if cluster_of(plan, c) == cluster)
                assert gke.get("gatewayApiConfig.channel") == "CHANNEL_STANDARD", "GKE installs the CRDs and classes"
            else:
                assert len(declared) == 1, f"{cluster}: GatewayClass {class_name} is not declared"
                assert declared[0].urn in gateway.dependencies
                _assert_envoy_gateway(plan, cluster, declared[0])


def _assert_envoy_gateway(plan, cluster: str, gateway_class) -> None:
    """EKS: the class is Envoy Gateway's, whose pinned chart installs the controller and the Gateway API CRDs."""
    (release,) = [r for r in in_cluster(plan, RELEASE, cluster) if r.inputs["chart"].endswith("envoyproxy/gateway-helm")]
    assert release.inputs["chart"].startswith("oci://") and release.inputs["version"].startswith("v1.")
    assert not release.inputs.get("skipCrds") and release.inputs.get("values", {}).get("crds") is None
    assert gateway_class.get("spec.controllerName") == "gateway.envoyproxy.io/gatewayclass-controller"
    assert release.urn in gateway_class.dependencies
    params = gateway_class.get("spec.parametersRef")
    proxy = next(r for r in in_cluster(plan, "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", cluster)
                 if (r.get("metadata.namespace"), r.get("metadata.name")) == (params["namespace"], params["name"]))
    # NodePort on the one port the region's Pulumi-owned NLB targets (components/aws/ingress.py)
    service = proxy.get("spec.provider.kubernetes.envoyService")
    assert service["type"] == "NodePort" and service["externalTrafficPolicy"] == "Local"
    (target_group,) = [t for t in plan.of_type("aws:lb/targetGroup:TargetGroup") if t.name.startswith(f"{cluster}-")]
    assert service["patch"]["type"] == "StrategicMerge"
    assert [p["nodePort"] for p in service["patch"]["value"]["spec"]["ports"]] == [target_group.get("port")]


def _peer_admits(peer: dict, source: dict) -> bool:
    """Does one NetworkPolicy peer admit a source (namespace labels + pod labels, or an address range)?"""
    if "ipBlock" in peer:
        return "cidr" in source and ipaddress.ip_network(source["cidr"]).subnet_of(
            ipaddress.ip_network(peer["ipBlock"]["cidr"]))
    if "cidr" in source:
        return False
    return (_selects(peer.get("namespaceSelector", {}), source["namespace"]) if "namespaceSelector" in peer
            else source["namespace"]["kubernetes.io/metadata.name"] == source["own_namespace"]) \
        and _selects(peer.get("podSelector", {}), source["pod"])


@pytest.mark.parametrize("stack", STACKS)
def test_serving_pods_admit_the_gateways_data_plane_on_the_backend_port(stack):
    spec, plan = spec_of(stack), workload_plan(stack)
    for route in plan.of_type(ROUTE):
        cluster = cluster_of(plan, route)
        region = next(r for r in spec.regions if r.key.replace("/", "-") == cluster)
        ref = route.get("spec.parentRefs")[0]
        ns = route.get("metadata.namespace")
        if region.cloud.value == "gcp":
            sources = [{"cidr": str(n)} for n in GOOGLE_FRONT_ENDS]
        else:  # Envoy Gateway runs the Gateway's proxies in the controller's namespace, labelled with their Gateway
            release = next(r for r in in_cluster(plan, RELEASE, cluster)
                           if r.inputs["chart"].endswith("envoyproxy/gateway-helm"))
            sources = [{"namespace": {"kubernetes.io/metadata.name": release.inputs["namespace"]},
                        "own_namespace": ns,
                        "pod": {"gateway.envoyproxy.io/owning-gateway-name": ref["name"],
                                "gateway.envoyproxy.io/owning-gateway-namespace": ref["namespace"]}}]
        backends = {b["name"]: b["port"] for rule in route.get("spec.rules") for b in rule["backendRefs"]}
        services = {s.get("metadata.name"): s for s in in_cluster(plan, "kubernetes:core/v1:Service", cluster)
                    if s.get("metadata.namespace") == ns}
        deployments = {d.get("metadata.name"): d for d in in_cluster(plan, "kubernetes:apps/v1:Deployment", cluster)
                       if d.get("metadata.namespace") == ns}
        policies = [p for p in in_cluster(plan, POLICY, cluster) if p.get("metadata.namespace") == ns]
        for name, port in backends.items():
            svc = services[name]
            (svc_port,) = [p for p in svc.get("spec.ports") if p["port"] == port]
            pod = deployments[name].get("spec.template")
            container_ports = {p["name"]: p["containerPort"] for c in pod["spec"]["containers"] for p in c["ports"]}
            target = container_ports.get(svc_port["targetPort"], svc_port["targetPort"])
            selecting = [p for p in policies if _selects(p.get("spec.podSelector"), pod["metadata"]["labels"])]
            for source in sources:
                assert any(_peer_admits(peer, source) and any(p["port"] == target for p in rule.get("ports", []))
                           for p in selecting for rule in p.get("spec.ingress") or [] for peer in rule["from"]), \
                    f"{cluster}: {name} pods do not admit the Gateway's traffic from {source}"


def test_the_gateway_namespace_is_default_deny_and_runs_nothing():
    plan = workload_plan("prod")
    for gateway in plan.of_type(GATEWAY):
        ns = gateway.get("metadata.namespace")
        same = [r for r in plan if r.provider_urn == gateway.provider_urn and r.get("metadata.namespace") == ns]
        deny = [p for p in same if p.type == POLICY and p.get("spec.podSelector") == {}]
        assert deny and set(deny[0].get("spec.policyTypes")) == {"Ingress", "Egress"}
        assert not [r for r in same if r.type in ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job")]


def test_no_gateway_where_no_serving_runs():
    platform = platform_config("prod")
    platform["workloads"]["serving"]["regions"] = ["aws/us-east-1"]
    plan = workload_plan("prod", platform)
    assert {cluster_of(plan, g) for g in plan.of_type(GATEWAY)} == {"aws-us-east-1"}
    assert {cluster_of(plan, r) for r in plan.of_type(RELEASE) if r.inputs["chart"].endswith("gateway-helm")} \
        == {"aws-us-east-1"}
