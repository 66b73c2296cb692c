"""``aiplatform:k8s:IngressGateway``: the shared Gateway the serving HTTPRoute attaches to, per serving cluster.
Notes: docs/architecture.md, "Workloads in the clusters"."""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from blueprint.catalog.charts import CHARTS
from blueprint.spec.names import ENVOY_NAMESPACE, GATEWAY_NAMESPACE, system_nodes
from components.k8s import common
from components.k8s.entry import ENVOY_NODE_PORT, HTTP, Listener, RegionEntry

GATEWAY_NAME = "platform"
GKE_GATEWAY_CLASS = "gke-l7-global-external-managed"  # managed by GKE; not declared here
ENVOY_GATEWAY_CLASS = "envoy"
ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
ENVOY_PROXY = "platform-proxy"
# Labels Envoy Gateway puts on the proxy pods of one Gateway.
OWNING_GATEWAY = {"gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
                  "gateway.envoyproxy.io/owning-gateway-namespace": GATEWAY_NAMESPACE}


def parent_ref(listener: Listener = HTTP) -> dict[str, str]:
    """What an HTTPRoute names to attach to the shared Gateway's listener."""
    return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME,
            "namespace": GATEWAY_NAMESPACE, "sectionName": listener.name}


def gateway_spec(gateway_class: str, route_namespaces: list[str], listener: Listener = HTTP,
                 addresses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"gatewayClassName": gateway_class, **({"addresses": addresses} if addresses else {}), "listeners": [{
        "name": listener.name, "protocol": listener.protocol, "port": listener.port,
        "allowedRoutes": {"kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                          "namespaces": {"from": "Selector", "selector": {"matchExpressions": [{
                              "key": "kubernetes.io/metadata.name", "operator": "In",
                              "values": sorted(route_namespaces)}]}}}}]}


class IngressGateway(pulumi.ComponentResource):
    """The Gateway (and on EKS its controller and class) in one cluster; ``gateway`` is what routes depend on."""

    def __init__(self, name: str, gateway_class: str, provider: pulumi.ProviderResource, route_namespaces: list[str],
                 entry: RegionEntry | None = None, nodes: list[pulumi.Resource] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        """``gateway_class``: the region's (``RegionalCompute.gateway_class``); the platform installs Envoy Gateway
        for its own class. ``entry``: the region's Pulumi-owned entry point (listener, GKE address and certificate map).
        ``nodes``: the system node pool the controller and its proxies are pinned to, which they wait for."""
        super().__init__("aiplatform:k8s:IngressGateway", name, None, opts)
        self.listener = entry.listener if entry is not None else HTTP
        ns = common.namespace(GATEWAY_NAMESPACE, self, provider, f"{name}-ns")
        common.default_deny(GATEWAY_NAMESPACE, self, provider, f"{name}-deny", [ns])
        after: list[pulumi.Resource] = [ns]
        self.controller: k8s.helm.v3.Release | None = None
        if gateway_class == ENVOY_GATEWAY_CLASS:
            self.controller = k8s.helm.v3.Release(
                f"{name}-envoy-gateway", name="envoy-gateway", **CHARTS["gateway-helm"].release_args(),
                namespace=ENVOY_NAMESPACE, create_namespace=True,
                values={"deployment": {"pod": {"nodeSelector": system_nodes()}}},
                opts=common.k8s_opts(self, provider, nodes))
            proxy = k8s.apiextensions.CustomResource(
                f"{name}-envoy-proxy", api_version="gateway.envoyproxy.io/v1alpha1", kind="EnvoyProxy",
                metadata={"name": ENVOY_PROXY, "namespace": ENVOY_NAMESPACE, "labels": common.MANAGED_BY},
                spec={"provider": {"type": "Kubernetes", "kubernetes": {
                    "envoyDeployment": {"replicas": 2, "pod": {"nodeSelector": system_nodes()}},
                    # the NLB targets the nodes on one fixed port; Local: a node without an Envoy pod refuses
                    # it (failing the target group's check) and the client's address reaches Envoy
                    "envoyService": {"type": "NodePort", "externalTrafficPolicy": "Local", "patch": {
                        "type": "StrategicMerge", "value": {"spec": {"ports": [
                            {"port": self.listener.port, "nodePort": ENVOY_NODE_PORT}]}}}}}}},
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
            metadata={"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE, "labels": common.MANAGED_BY,
                      **({"annotations": entry.gateway_annotations} if entry and entry.gateway_annotations else {})},
            spec=gateway_spec(gateway_class, route_namespaces, self.listener, entry.gateway_addresses if entry else None),
            opts=common.k8s_opts(self, provider, [*after, *(entry.gateway_after if entry else [])]))
        self.register_outputs({"gatewayClass": gateway_class})
