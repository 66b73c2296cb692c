"""``aiplatform:k8s:IngressGateway``: the shared Gateway the serving HTTPRoute attaches to, per serving cluster.

- **GKE**: the cluster runs with Gateway API enabled (``gateway_api_config`` in ``components/gcp/cluster.py``), which
  installs the Gateway API CRDs and the GKE-managed GatewayClasses. The Gateway uses
  ``gke-l7-global-external-managed``: a global external Application Load Balancer (``EXTERNAL_MANAGED``), the same
  product ``components/k8s/global_routing.py`` builds for ``gcp-global-lb``. It sends traffic from Google's front
  ends straight to the pods through container-native NEGs, from the GCLB ranges, and needs no proxy-only subnet.
- **EKS** has neither the CRDs nor a controller. Envoy Gateway (the pinned ``gateway-helm`` chart) brings both: the
  chart installs the standard Gateway API CRDs with its own, and its controller implements weighted
  ``backendRefs`` in HTTPRoute (the canary split) in the open-source data plane. The AWS Load Balancer
  Controller's Gateway API support would need the LBC, its IAM role and its own CRDs, for L7 features that still
  trail Envoy's. Envoy Gateway runs its Envoy proxies in the controller's namespace (``envoy-gateway-system``),
  behind a Service of type LoadBalancer annotated for an internet-facing NLB.

The ``gateway`` namespace holds only the Gateway object (no pods on either cloud) and is default-deny like every
workload namespace. Listeners admit HTTPRoutes only from the serving namespace.
"""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from blueprint.spec import Cloud
from components.k8s import common

GATEWAY_NAME = "platform"
LISTENER = "http"
HTTP_PORT = 80
GKE_GATEWAY_CLASS = "gke-l7-global-external-managed"  # managed by GKE; not declared here
ENVOY_GATEWAY_CLASS = "envoy"
ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
ENVOY_NAMESPACE = "envoy-gateway-system"
ENVOY_CHART = ("oci://docker.io/envoyproxy/gateway-helm", "v1.8.2")
ENVOY_PROXY = "platform-proxy"
# Labels Envoy Gateway puts on the proxy pods of one Gateway.
OWNING_GATEWAY = {"gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
                  "gateway.envoyproxy.io/owning-gateway-namespace": common.GATEWAY_NAMESPACE}
# GCP's external Application Load Balancers (and their health checks) reach NEG endpoints from these ranges.
GCLB_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
SYSTEM_NODES = {"aiplatform.io/pool": "system"}


def gateway_class(cloud: Cloud) -> str:
    return GKE_GATEWAY_CLASS if cloud is Cloud.gcp else ENVOY_GATEWAY_CLASS


def parent_ref() -> dict[str, str]:
    """What an HTTPRoute names to attach to the shared Gateway's listener."""
    return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME,
            "namespace": common.GATEWAY_NAMESPACE, "sectionName": LISTENER}


def data_plane_peers(cloud: Cloud) -> list[dict[str, Any]]:
    """NetworkPolicy ``from`` peers for the traffic the Gateway forwards to backend pods."""
    if cloud is Cloud.gcp:
        return [{"ipBlock": {"cidr": c}} for c in GCLB_RANGES]
    return [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ENVOY_NAMESPACE}},
             "podSelector": {"matchLabels": dict(OWNING_GATEWAY)}}]


def gateway_spec(cloud: Cloud, route_namespaces: list[str]) -> dict[str, Any]:
    return {"gatewayClassName": gateway_class(cloud), "listeners": [{
        "name": LISTENER, "protocol": "HTTP", "port": HTTP_PORT,
        "allowedRoutes": {"kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                          "namespaces": {"from": "Selector", "selector": {"matchExpressions": [{
                              "key": "kubernetes.io/metadata.name", "operator": "In",
                              "values": sorted(route_namespaces)}]}}}}]}


class IngressGateway(pulumi.ComponentResource):
    """The Gateway (and on EKS its controller and class) in one cluster; ``gateway`` is what routes depend on."""

    def __init__(self, name: str, cloud: Cloud, provider: pulumi.ProviderResource, route_namespaces: list[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplatform:k8s:IngressGateway", name, None, opts)
        ns = common.namespace(common.GATEWAY_NAMESPACE, self, provider, f"{name}-ns")
        common.default_deny(common.GATEWAY_NAMESPACE, self, provider, f"{name}-deny", [ns])
        after: list[pulumi.Resource] = [ns]
        self.controller: k8s.helm.v3.Release | None = None
        if cloud is Cloud.aws:
            chart, version = ENVOY_CHART
            self.controller = k8s.helm.v3.Release(
                f"{name}-envoy-gateway", name="envoy-gateway", chart=chart, version=version,
                namespace=ENVOY_NAMESPACE, create_namespace=True,
                values={"deployment": {"pod": {"nodeSelector": SYSTEM_NODES}}},
                opts=common.k8s_opts(self, provider))
            proxy = k8s.apiextensions.CustomResource(
                f"{name}-envoy-proxy", api_version="gateway.envoyproxy.io/v1alpha1", kind="EnvoyProxy",
                metadata={"name": ENVOY_PROXY, "namespace": ENVOY_NAMESPACE, "labels": common.MANAGED_BY},
                spec={"provider": {"type": "Kubernetes", "kubernetes": {
                    "envoyDeployment": {"replicas": 2, "pod": {"nodeSelector": SYSTEM_NODES}},
                    "envoyService": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "annotations": {
                        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}}}}},
                opts=common.k8s_opts(self, provider, [self.controller]))
            self.gateway_class = k8s.apiextensions.CustomResource(
                f"{name}-class", api_version="gateway.networking.k8s.io/v1", kind="GatewayClass",
                metadata={"name": ENVOY_GATEWAY_CLASS, "labels": common.MANAGED_BY},
                spec={"controllerName": ENVOY_CONTROLLER, "parametersRef": {
                    "group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": ENVOY_PROXY,
                    "namespace": ENVOY_NAMESPACE}},
                opts=common.k8s_opts(self, provider, [self.controller, proxy]))
            after.append(self.gateway_class)
        self.gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway", api_version="gateway.networking.k8s.io/v1", kind="Gateway",
            metadata={"name": GATEWAY_NAME, "namespace": common.GATEWAY_NAMESPACE, "labels": common.MANAGED_BY},
            spec=gateway_spec(cloud, route_namespaces), opts=common.k8s_opts(self, provider, after))
        self.register_outputs({"gatewayClass": gateway_class(cloud)})
