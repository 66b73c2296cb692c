"""The creation-order rules of what runs in the clusters (``blueprint/plan/order.py``): the deployer's path to each API
server, node pools before pods, CRDs, Kueue, namespaces. The cloud rules are in ``order_rules.py``."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from blueprint.plan.model import PlannedResource
from blueprint.plan.order_graph import EKS_CLUSTER, GKE_CLUSTER, Graph, Rule, known
from blueprint.spec.names import KUBE_SYSTEM, POOL_LABEL

SKIP_AWAIT = "pulumi.com/skipAwait"
NODE_GROUP, NODE_POOL = "aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool"


def name(r: PlannedResource) -> str:
    return r.urn.rsplit("::", 1)[-1]


def untainted(pool: PlannedResource) -> bool:
    taints = pool.inputs.get("taints") if pool.type == NODE_GROUP else pool.get("nodeConfig.taints")
    return not taints


def pool_name(pool: PlannedResource) -> str | None:
    labels = pool.inputs.get("labels") if pool.type == NODE_GROUP else pool.get("nodeConfig.labels")
    return (labels or {}).get(POOL_LABEL)


# --- the deployer's path to the API server ---------------------------------------------------------------------
K8S_PROVIDER = "pulumi:providers:kubernetes"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ROUTES_CONFIG = "gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig"
API_PORT = 443


def opens_api(rule: PlannedResource) -> bool:
    """An ingress rule admitting TCP 443 (the EKS private endpoint's port)."""
    proto, low, high = (rule.inputs.get(k) for k in ("ipProtocol", "fromPort", "toPort"))
    if proto == "-1":
        return True
    return proto in ("tcp", "6") and known(low) and known(high) and low <= API_PORT <= high


def _deployer_path(g: Graph, r: PlannedResource) -> Iterator[str]:
    """A Kubernetes provider's first call goes through what the program opens for the deployer to its cluster's
    private endpoint: the 443 rules on the EKS cluster security group, the route export on the GKE control plane's
    peering (components/access/path.py). Without them the call times out ("cluster unreachable")."""
    cluster = g.cluster_of(r)
    if cluster is None:
        return
    path = [x for x in g.of_type(SG_INGRESS) if cluster in g.inputs_from(x, "securityGroupId") and opens_api(x)]
    path += [x for x in g.of_type(ROUTES_CONFIG) if cluster in g.inputs_from(x, "peering")]
    for x in path:
        if not g.waits(r, x):
            yield f"{name(x)}, the deployer's way to {name(g.by_urn[cluster])}'s API server"


ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
CLUSTER_ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def _deployer_admin(g: Graph, r: PlannedResource) -> Iterator[str]:
    """Without EKS's one-time grant to the cluster's creator, the deployer is admin only through an access entry
    and a cluster-scoped AmazonEKSClusterAdminPolicy; until both exist every call answers Unauthorized."""
    cluster = g.cluster_of(r)
    if cluster is None or g.by_urn[cluster].type != EKS_CLUSTER:
        return
    if g.by_urn[cluster].get("accessConfig.bootstrapClusterCreatorAdminPermissions") is not False:
        return  # the creator is admin from the start (it is then the deployer only if it runs every `up`)
    admins = [a for a in g.of_type(ASSOCIATION) if cluster in g.inputs_from(a, "clusterName")
              and a.inputs.get("policyArn") == CLUSTER_ADMIN and a.get("accessScope.type") == "cluster"]
    if not any(g.waits(r, a) for a in admins):
        yield f"a cluster-admin access policy association on {name(g.by_urn[cluster])} (its deployer's entry)"


# --- node pools before pods --------------------------------------------------------------------------------------
RELEASE = "kubernetes:helm.sh/v3:Release"
WORKLOADS = {"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", RELEASE}
# charts whose only pods are DaemonSets: with no matching node they are ready (nothing to wait for)
DAEMONSET_ONLY_CHARTS = {"dcgm-exporter", "aws-efa-k8s-device-plugin"}


def chart_name(release: PlannedResource) -> str:
    """``oci://registry.k8s.io/kueue/charts/kueue`` -> ``kueue``."""
    return str(release.inputs.get("chart", "")).rsplit("/", 1)[-1]


def selectors(value) -> Iterator[dict]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "nodeSelector" and isinstance(v, dict):
                yield v
            else:
                yield from selectors(v)
    elif isinstance(value, list):
        for v in value:
            yield from selectors(v)


def _pinned_pools(g: Graph, r: PlannedResource) -> Iterator[str]:
    skip = r.inputs.get("skipAwait") is True or (r.get("metadata.annotations") or {}).get(SKIP_AWAIT) == "true"
    if skip:  # Pulumi does not wait for its pods: nothing times out while they are pending
        return
    spec = r.inputs.get("values") if r.type == RELEASE else r.get("spec.template.spec")
    wanted = {s[POOL_LABEL] for s in selectors(spec or {}) if POOL_LABEL in s}
    pools = g.in_cluster(g.cluster_of(r), NODE_GROUP, NODE_POOL)
    if wanted:
        for pool in sorted(wanted):
            matching = [p for p in pools if pool_name(p) == pool]
            if not any(g.waits(r, p) for p in matching):
                yield f"the node pool {pool} its pods are pinned to"
    elif not (r.type == RELEASE and chart_name(r) in DAEMONSET_ONLY_CHARTS):
        if not any(g.waits(r, p) for p in pools if untainted(p)):
            yield "an untainted node pool its pods can run on"


# --- CRDs ----------------------------------------------------------------------------------------------------------
# API group -> the chart that installs its CRDs in a cluster.
CRD_CHARTS = {"monitoring.coreos.com": "kube-prometheus-stack", "keda.sh": "keda",
              "gateway.envoyproxy.io": "gateway-helm", "kueue.x-k8s.io": "kueue",
              "gateway.networking.k8s.io": "gateway-helm"}
# API group -> the GKE cluster setting under which GKE installs its CRDs. With the Gateway API enabled GKE installs
# the Gateway API CRDs and its own policy CRDs (HealthCheckPolicy, GCPBackendPolicy, GCPGatewayPolicy in
# networking.gke.io); without it they are absent (GoogleCloudPlatform/gcpdiag gcpdiag/lint/gke/
# bp_2023_005_gateway_crd.py; cloud.google.com/kubernetes-engine/docs/how-to/configure-gateway-resources).
GKE_BUILT_IN_CRDS = {"gateway.networking.k8s.io": "gatewayApiConfig.channel",
                     "networking.gke.io": "gatewayApiConfig.channel"}
CRD_GROUPS = set(CRD_CHARTS) | set(GKE_BUILT_IN_CRDS)


def api_group(t: str) -> str:
    return t.split(":")[1].rsplit("/", 1)[0] if "/" in t.split(":")[1] else ""


def _crd_installed(g: Graph, r: PlannedResource) -> Iterator[str]:
    group, cluster = api_group(r.type), g.cluster_of(r)
    chart = CRD_CHARTS.get(group)
    sources = [s for s in g.in_cluster(cluster, RELEASE) if chart is not None and chart_name(s) == chart]
    if group in GKE_BUILT_IN_CRDS and cluster and g.by_urn[cluster].type == GKE_CLUSTER \
            and g.by_urn[cluster].get(GKE_BUILT_IN_CRDS[group]):
        sources.append(g.by_urn[cluster])
    if not any(g.waits(r, s) for s in sources):
        where = [f"chart {chart}"] if chart else []
        where += [f"a GKE cluster with {GKE_BUILT_IN_CRDS[group]}"] if group in GKE_BUILT_IN_CRDS else []
        yield f"the {group} CRDs ({' or '.join(where)})"


# --- Kueue ---------------------------------------------------------------------------------------------------------
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
KUEUE_CHART = "kueue"


def _queued_job(g: Graph, r: PlannedResource) -> Iterator[str]:
    """A Job naming a queue is created suspended and runs only once Kueue admits it from that LocalQueue. Kueue's
    chart registers mutating and validating webhooks for every batch/v1 Job with ``failurePolicy: Fail``
    (kubernetes-sigs/kueue charts/kueue/templates/webhook/manifests.yaml: mjob.kb.io, vjob.kb.io), so the API server
    rejects the Job until the controller behind them is ready: the awaited release."""
    queue = (r.get("metadata.labels") or {}).get(QUEUE_LABEL)
    if not queue:
        return
    cluster = g.cluster_of(r)
    releases = [h for h in g.in_cluster(cluster, RELEASE) if chart_name(h) == KUEUE_CHART]
    if not any(g.waits(r, h) for h in releases):
        yield "the Kueue release (its Job webhooks fail closed until the controller runs; without Kueue the " \
              "suspended Job never starts)"
    ns = r.get("metadata.namespace") or "default"
    queues = [q for q in g.plan if q.type.startswith("kubernetes:kueue.x-k8s.io/") and kind(q.type) == "LocalQueue"
              and g.cluster_of(q) == cluster and q.get("metadata.name") == queue
              and q.get("metadata.namespace") == ns]
    if not queues:
        yield f"the LocalQueue {ns}/{queue} its label names (Kueue admits nothing from a queue that does not exist)"


# --- namespaces and Kubernetes' own kinds --------------------------------------------------------------------------
# Kubernetes' own API groups: their objects need only their cluster (the provider) and their namespace.
BUILT_IN_GROUPS = {"core", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "storage.k8s.io",
                   "rbac.authorization.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io"}
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "StorageClass", "GatewayClass", "ClusterRole",
                  "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass", "ResourceFlavor",
                  "ClusterQueue", "Topology", "WorkloadPriorityClass"}
BUILT_IN_NAMESPACES = {"default", KUBE_SYSTEM, "kube-public", "kube-node-lease"}


def _namespace_exists(g: Graph, r: PlannedResource) -> Iterator[str]:
    ns = r.inputs.get("namespace") if r.type == RELEASE else r.get("metadata.namespace")
    ns = ns or "default"
    if ns in BUILT_IN_NAMESPACES or (r.type == RELEASE and r.inputs.get("createNamespace")):
        return
    cluster = g.cluster_of(r)
    makers = [n for n in g.in_cluster(cluster, "kubernetes:core/v1:Namespace") if n.get("metadata.name") == ns]
    makers += [h for h in g.in_cluster(cluster, RELEASE) if h.inputs.get("namespace") == ns
               and h.inputs.get("createNamespace")]
    if not any(g.waits(r, m) for m in makers):
        yield f"the namespace {ns}"


def kind(t: str) -> str:
    return t.rsplit(":", 1)[-1]


def _nothing(g: Graph, r: PlannedResource) -> Iterable[str]:
    return ()


K8S_RULES: list[Rule] = [
    Rule("deployer-path-before-kubernetes", "a Kubernetes provider's calls reach a private API endpoint only "
         "through the rules and routes opened for the deployer", lambda t: t == K8S_PROVIDER, _deployer_path),
    Rule("deployer-admin-before-kubernetes", "an EKS cluster answers the deployer Unauthorized until its access "
         "entry and cluster-admin policy exist", lambda t: t == K8S_PROVIDER, _deployer_admin, classifies=False),
    Rule("node-pool-before-pods", "a workload's pods stay Pending until its pool has nodes; Pulumi's readiness wait "
         "then times out", lambda t: t in WORKLOADS, _pinned_pools),
    Rule("crd-before-custom-resource", "the API server rejects a custom resource until its CRD is installed",
         lambda t: t.startswith("kubernetes:") and api_group(t) in CRD_GROUPS, _crd_installed),
    Rule("kueue-before-queued-job", "Kueue's Job webhooks fail closed until its controller runs, and a queued Job "
         "runs only once Kueue admits it from its LocalQueue", lambda t: t == "kubernetes:batch/v1:Job", _queued_job,
         classifies=False),
    Rule("namespace-before-object", "the API server rejects an object in a namespace that does not exist",
         lambda t: t.startswith("kubernetes:") and kind(t) not in CLUSTER_SCOPED, _namespace_exists,
         classifies=False),
    Rule("kubernetes-built-in", "Kubernetes' own kinds need their cluster (their provider) and namespace only",
         lambda t: t.startswith("kubernetes:") and api_group(t) in BUILT_IN_GROUPS, _nothing),
]
