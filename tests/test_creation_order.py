"""The creation-order check (blueprint/plan/order.py): every shipped stack and variant passes it, every resource type
is accounted for, the dependency model is the Pulumi SDK's, and each first-`up` mistake, re-introduced, fails it."""
from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable

import pulumi
import pulumi_gcp as gcp
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from blueprint.plan import Plan, PlannedResource, run_plan
from blueprint.plan.engine import run_program
from blueprint.plan.order import Graph, unclassified, violations
from tests.conftest import DEPLOYER_ROLE, STACKS, platform_config, shipped_plan

_variants: dict[str, Plan] = {}


def variant(name: str) -> Plan:
    """prod with the other global routing modes, dedicated links and a deployer in a peer network (GKE's private
    endpoint, the route export): the resource types the shipped stacks lack."""
    if name not in _variants:
        cfg = platform_config("prod")
        if name in ("dedicated", "peer"):
            cfg["network"]["dedicated"] = {
                "directConnectGatewayId": "5f2a3b4c-1d2e-4f50-8a9b-0c1d2e3f4a5b", "peerAsn": 65010,
                "interconnectAttachmentUrls": [
                    "https://www.googleapis.com/compute/v1/projects/aiplat-prod-ml/global/interconnects/ic-a"]}
            if name == "peer":  # the deployer in a peer network: 443 rules for it, GKE's private endpoint
                cfg["access"]["deployer"] = {"awsRoleArn": DEPLOYER_ROLE, "peerCidrs": ["172.20.0.0/24"], "gkeEndpoint": "private"}
        else:
            cfg["workloads"]["serving"]["globalRouting"] = name
        _variants[name] = run_plan("prod", platform=cfg)
    return _variants[name]


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_creates_everything_after_what_it_needs(stack):
    plan = shipped_plan(stack)
    assert unclassified(plan) == []
    assert [str(v) for v in violations(plan)] == []


@pytest.mark.parametrize("name", ["global-accelerator", "gcp-global-lb", "dedicated", "peer"])
def test_variants_are_classified_and_ordered(name):
    plan = variant(name)
    assert unclassified(plan) == []
    assert [str(v) for v in violations(plan)] == []


def test_a_type_no_rule_speaks_for_is_reported_not_ignored(prod_plan):
    plan = copy.deepcopy(prod_plan)
    for t in ("gcp:workstations/workstation:Workstation", "kubernetes:example.com/v1:Widget", "aws:sqs/queue:Queue"):
        plan.resources.append(PlannedResource(urn=f"urn:pulumi:prod::aiplatform::{t}::x", type=t, name="x",
                                              custom=True, parent=None, provider=None))
    assert unclassified(plan) == ["aws:sqs/queue:Queue", "gcp:workstations/workstation:Workstation",
                                  "kubernetes:example.com/v1:Widget"]


# --- the dependency model ----------------------------------------------------------------------------------------
class _Component(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("test:index:Component", name, None, opts)
        self.child = gcp.compute.Network(f"{name}-child", opts=pulumi.ResourceOptions(parent=self))


def _program() -> None:
    first = gcp.compute.Network("first")
    _Component("after", pulumi.ResourceOptions(depends_on=[first]))
    _Component("free")


def test_children_of_a_component_wait_for_what_the_component_depends_on():
    graph = Graph(run_program(_program))
    urn = {r.name: r.urn for r in graph.plan}
    assert urn["first"] in graph.waits_for(urn["after-child"])
    assert urn["first"] not in graph.waits_for(urn["free-child"])


class _OrderMocks(pulumi_mocks.Mocks):
    """Records when each create starts and ends; "first" takes a while, so anything not waiting for it overtakes."""

    def __init__(self):
        self.events: list[str] = []
        self.lock = threading.Lock()
        self.slow = threading.Event()

    def new_resource(self, args):
        with self.lock:
            self.events.append(f"start {args.name}")
        if args.name == "first":
            self.slow.wait(0.5)  # a pause for the others to overtake, not an assertion about time
        with self.lock:
            self.events.append(f"end {args.name}")
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}, []


def test_the_sdk_registers_a_child_only_after_its_components_dependencies_exist():
    """What Graph models, observed on the installed SDK: the child of a component that depends on "first" is sent
    only once "first" is created, while the child of a component without that dependency overtakes it."""
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from blueprint.plan.engine import _event_loop

    _event_loop()
    recorder = _OrderMocks()
    settings.ROOT.set(None)
    pulumi_mocks.set_mocks(recorder, project="order", stack="test", preview=False)
    try:
        _sync_await(run_pulumi_func(_program))
    finally:
        settings.ROOT.set(None)
    events = recorder.events
    assert events.index("start after-child") > events.index("end first")
    assert events.index("start free-child") < events.index("end first")


# --- each first-`up` mistake, re-introduced in the plan, fails the check -----------------------------------------
Pred = Callable[[PlannedResource], bool]


def _ancestors(plan: Plan, r: PlannedResource) -> list[PlannedResource]:
    out, parent = [], r.parent
    while parent:
        p = plan.by_urn(parent)
        if p is None:
            break
        out.append(p)
        parent = p.parent
    return out


def cut(plan: Plan, src: Pred, dst: Pred) -> Plan:
    """The plan as the program would declare it without the dependency of ``src`` resources (and their
    components) on ``dst`` resources."""
    plan = copy.deepcopy(plan)
    targets = {r.urn for r in plan if dst(r)}
    assert targets, "the mutation names nothing"
    sources = [r for r in plan if src(r)]
    assert sources, "the mutation changes nothing"
    for r in {a.urn: a for s in sources for a in [s, *_ancestors(plan, s)]}.values():
        r.dependencies = [u for u in r.dependencies if u not in targets]
        r.property_dependencies = {k: [u for u in v if u not in targets] for k, v in r.property_dependencies.items()}
    return plan


def drop(plan: Plan, what: Pred) -> Plan:
    """The plan without ``what`` (the program never declared it)."""
    plan = copy.deepcopy(plan)
    gone = {r.urn for r in plan if what(r)}
    assert gone, "the mutation names nothing"
    plan.resources = [r for r in plan if r.urn not in gone]
    for r in plan:
        r.dependencies = [u for u in r.dependencies if u not in gone]
        r.property_dependencies = {k: [u for u in v if u not in gone] for k, v in r.property_dependencies.items()}
    return plan


def edit(plan: Plan, where: Pred, change: Callable[[PlannedResource], None]) -> Plan:
    plan = copy.deepcopy(plan)
    found = [r for r in plan if where(r)]
    assert found, "the mutation names nothing"
    for r in found:
        change(r)
    return plan


def typed(t: str, name: str = "") -> Pred:
    return lambda r: r.type.endswith(t) and name in r.name


def chart(c: str, region: str = "") -> Pred:
    return lambda r: r.type == "kubernetes:helm.sh/v3:Release" and r.inputs.get("chart", "").endswith(c) \
        and region in r.name


def addon(a: str) -> Pred:
    return lambda r: r.type == "aws:eks/addon:Addon" and r.inputs.get("addonName") == a


def _hand_built(agent: str, api: str) -> Callable[[PlannedResource], None]:
    def change(r: PlannedResource) -> None:
        r.inputs["member"] = f"serviceAccount:service-123456789012@{agent}.iam.gserviceaccount.com"
        r.dependencies, r.property_dependencies = [], {k: [] for k in r.property_dependencies}
    return change


def _awaited(r: PlannedResource) -> None:
    """Without ``pulumi.com/skipAwait``: Pulumi waits for the rollout."""
    annotations = r.inputs["metadata"]["annotations"]
    assert annotations.pop("pulumi.com/skipAwait") == "true"


def _literal_peering(r: PlannedResource) -> None:
    """The peering named by hand (GKE's naming scheme), not read from the cluster."""
    cluster = set(r.property_dependencies.get("peering", []))
    r.inputs["peering"] = "gke-n0a1b2c3d4e5f6a7b8c9d-1a2b-3c4d-peer"
    r.property_dependencies["peering"] = []
    r.dependencies = [u for u in r.dependencies if u not in cluster]


def _hand_built_key(r: PlannedResource) -> None:
    """The key's ID spelled out (the documented format) instead of read from the key."""
    r.inputs["cryptoKeyId"] = ("projects/aiplat-prod-ml/locations/us-central1/keyRings/aiplat-prod-us-central1-storage/"
                               "cryptoKeys/gcp-us-central1-gcs")


def _without(sid: str) -> Callable[[PlannedResource], None]:
    def change(r: PlannedResource) -> None:
        policy = json.loads(r.inputs["policy"])
        policy["Statement"] = [s for s in policy["Statement"] if not s["Sid"].startswith(sid)]
        r.inputs["policy"] = json.dumps(policy)
    return change


SERVICE, SLR = typed("projects/service:Service"), typed("iam/serviceLinkedRole:ServiceLinkedRole")
GKE_NODE_POOL, NODE_GROUP = typed("container/nodePool:NodePool"), typed("eks/nodeGroup:NodeGroup")
SYSTEM_NODES = lambda r: (NODE_GROUP(r) or GKE_NODE_POOL(r)) and r.name.endswith("-system")

MUTATIONS = {
    # issue 16 item 1: no API enabled before the resources of its service
    "GCP APIs never enabled": (lambda p: drop(p, SERVICE), "gcp-api-enabled", "gcp:storage/bucket:Bucket"),
    "GCP providers not waiting for the APIs": (lambda p: cut(p, typed("providers:gcp"), SERVICE),
                                               "gcp-api-enabled", "gcp:compute/network:Network"),
    "GKE agent e-mail built by hand": (lambda p: edit(p, typed("CryptoKeyIAMMember", "gke-etcd-agent"),
                                                      _hand_built("container-engine-robot", "container")),
                                       "gcp-agent-exists", "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"),
    "GCS agent never looked up": (lambda p: cut(p, typed("CryptoKeyIAMMember", "-gcs-agent"), SERVICE),
                                  "gcp-agent-exists", "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"),
    "bucket before its key grant": (lambda p: cut(p, typed("storage/bucket:Bucket"), typed("CryptoKeyIAMMember")),
                                    "gcp-cmek-grant", "gcp:storage/bucket:Bucket"),
    # item 2
    "Workload Identity binding before the cluster": (
        lambda p: cut(p, typed("serviceaccount/iAMMember:IAMMember"), typed("container/cluster:Cluster")),
        "gke-workload-identity-pool", "gcp:serviceaccount/iAMMember:IAMMember"),
    # item 3: the key names the Auto Scaling role before it exists; or drops it, and nodes cannot start
    "key policy names a missing service-linked role": (lambda p: cut(p, typed("kms/key:Key"), SLR),
                                                       "aws-service-linked-role", "aws:kms/key:Key"),
    "key policy without the Auto Scaling role": (lambda p: edit(p, typed("kms/key:Key", "-platform"),
                                                                _without("AutoScaling")),
                                                 "aws-key-admits-user", "aws:ec2/launchTemplate:LaunchTemplate"),
    "EKS cluster role may not use the secrets key": (
        lambda p: cut(p, typed("eks/cluster:Cluster"), typed("iam/rolePolicy:RolePolicy", "cluster-encryption")),
        "aws-key-admits-user", "aws:eks/cluster:Cluster"),
    "FSx-linked bucket key without FSx's S3 access role": (
        lambda p: edit(p, typed("kms/key:Key", "aws-us-east-1-key"), _without("FsxDataRepository")),
        "aws-key-admits-user", "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation"),
    # item 4
    "add-on over a self-managed one without OVERWRITE": (
        lambda p: edit(p, addon("kube-proxy"), lambda r: r.inputs.pop("resolveConflictsOnCreate")),
        "eks-addon", "aws:eks/addon:Addon"),
    "CoreDNS before any node": (lambda p: cut(p, addon("coredns"), NODE_GROUP), "eks-addon", "aws:eks/addon:Addon"),
    "nodes before the VPC CNI add-on": (lambda p: cut(p, NODE_GROUP, addon("vpc-cni")),
                                        "eks-node-group", "aws:eks/nodeGroup:NodeGroup"),
    # item 5, on both clouds
    "Prometheus before the EKS system pool": (lambda p: cut(p, chart("kube-prometheus-stack", "aws"), SYSTEM_NODES),
                                              "node-pool-before-pods", "kubernetes:helm.sh/v3:Release"),
    "Prometheus before the GKE system pool": (lambda p: cut(p, chart("kube-prometheus-stack", "gcp"), SYSTEM_NODES),
                                              "node-pool-before-pods", "kubernetes:helm.sh/v3:Release"),
    "KEDA before the system pool": (lambda p: cut(p, chart("keda"), SYSTEM_NODES),
                                    "node-pool-before-pods", "kubernetes:helm.sh/v3:Release"),
    "Envoy Gateway before the system pool": (lambda p: cut(p, chart("gateway-helm"), SYSTEM_NODES),
                                             "node-pool-before-pods", "kubernetes:helm.sh/v3:Release"),
    "Kueue before the system pool": (lambda p: cut(p, chart("kueue"), SYSTEM_NODES),
                                     "node-pool-before-pods", "kubernetes:helm.sh/v3:Release"),
    # item 6: a queued Job without Kueue stays suspended; before its webhooks run, the API server rejects it
    "Kueue never installed": (lambda p: drop(p, lambda r: r.type == "aiplatform:k8s:Kueue" or "kueue" in r.type
                                             or chart("kueue")(r)),
                              "kueue-before-queued-job", "kubernetes:batch/v1:Job"),
    "queued Job before Kueue's webhooks": (lambda p: cut(p, typed("batch/v1:Job"),
                                                         lambda r: chart("kueue")(r) or typed("LocalQueue")(r)),
                                           "kueue-before-queued-job", "kubernetes:batch/v1:Job"),
    # item 9: the backend service names NEGs GKE creates only after their Service
    "backend service naming NEGs before GKE creates them": (
        lambda p: cut(p, typed("BackendService"), typed("core/v1:Service")),
        "gke-neg-exists", "gcp:compute/backendService:BackendService", "gcp-global-lb"),
    "NEG Service not waiting for neg-status": (
        lambda p: edit(p, lambda r: r.type == "kubernetes:core/v1:Service"
                       and "pulumi.com/waitFor" in (r.get("metadata.annotations") or {}),
                       lambda r: r.inputs["metadata"]["annotations"].pop("pulumi.com/waitFor")),
        "gke-neg-exists", "gcp:compute/backendService:BackendService", "gcp-global-lb"),
    "HealthCheckPolicy on a GKE cluster without the Gateway API": (
        lambda p: edit(p, typed("container/cluster:Cluster"), lambda r: r.inputs.pop("gatewayApiConfig")),
        "crd-before-custom-resource", "kubernetes:networking.gke.io/v1:HealthCheckPolicy"),
    # the deploy path (issue 15): the provider's first call goes through the rules and routes opened for it
    "Kubernetes provider before the deployer's 443 rule": (
        lambda p: cut(p, typed("providers:kubernetes"),
                      lambda r: typed("SecurityGroupIngressRule")(r) and "DeployerPath$" in r.urn),
        "deployer-path-before-kubernetes", "pulumi:providers:kubernetes"),
    "Kubernetes provider before the deployer is cluster admin": (
        lambda p: cut(p, typed("providers:kubernetes"),
                      lambda r: typed("AccessPolicyAssociation")(r) or typed("eks/accessEntry:AccessEntry")(r)),
        "deployer-admin-before-kubernetes", "pulumi:providers:kubernetes"),
    "Kubernetes provider before the route export": (
        lambda p: cut(p, typed("providers:kubernetes"), typed("NetworkPeeringRoutesConfig")),
        "deployer-path-before-kubernetes", "pulumi:providers:kubernetes", "peer"),
    "route export naming a peering before its cluster": (
        lambda p: edit(p, typed("NetworkPeeringRoutesConfig"), _literal_peering),
        "gke-peering-exists", "gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig", "peer"),
    # serving skips the readiness await (item 7: no model before training), so its pods may wait for the pool;
    # awaited, the Deployment must come after its GPU pool
    "serving awaited before its GPU pool": (
        lambda p: cut(edit(p, typed("apps/v1:Deployment", "charlm-serve"), _awaited),
                      typed("apps/v1:Deployment", "charlm-serve"),
                      lambda r: (NODE_GROUP(r) or GKE_NODE_POOL(r)) and "serve-l4" in r.name),
        "node-pool-before-pods", "kubernetes:apps/v1:Deployment"),
    # identities before the services that use them
    "EKS cluster before its role's policy": (
        lambda p: cut(p, typed("eks/cluster:Cluster"), typed("RolePolicyAttachment", "AmazonEKSClusterPolicy")),
        "identity-before-use", "aws:eks/cluster:Cluster"),
    "nodes before the node role's policies": (lambda p: cut(p, NODE_GROUP, typed("RolePolicyAttachment", "-nodes-")),
                                              "identity-before-use", "aws:eks/nodeGroup:NodeGroup"),
    "flow log before its role's policy": (lambda p: cut(p, typed("ec2/flowLog:FlowLog"), typed("rolePolicy:RolePolicy")),
                                          "identity-before-use", "aws:ec2/flowLog:FlowLog"),
    "replication before its role's policies": (
        lambda p: cut(p, typed("bucketReplicationConfig:BucketReplicationConfig"), typed("rolePolicy:RolePolicy")),
        "identity-before-use", "aws:s3/bucketReplicationConfig:BucketReplicationConfig"),
    "IRSA service account before its role's policies": (
        lambda p: cut(p, typed("core/v1:ServiceAccount", "aws-us-east-1-charlm"), typed("rolePolicy:RolePolicy")),
        "identity-before-use", "kubernetes:core/v1:ServiceAccount"),
    "GKE nodes before their service account's roles": (
        lambda p: cut(p, GKE_NODE_POOL, typed("projects/iAMMember:IAMMember")),
        "identity-before-use", "gcp:container/nodePool:NodePool"),
    "transfer job before its sink grant": (
        lambda p: cut(p, typed("storage/transferJob:TransferJob"), typed("bucketIAMMember:BucketIAMMember")),
        "transfer-sink-grant", "gcp:storage/transferJob:TransferJob"),
    # a grant written onto a resource before it exists (first-up review round 1, gcp 1): the serving GSA's grant
    # named the models bucket by a built string, and GCS answered the IAM read with 404
    "bucket grant naming its bucket by hand": (
        lambda p: cut(p, typed("bucketIAMMember:BucketIAMMember", "charlm-serve"), typed("storage/bucket:Bucket")),
        "grant-after-its-resource", "gcp:storage/bucketIAMMember:BucketIAMMember"),
    "key grant naming its key by hand": (
        lambda p: cut(edit(p, typed("CryptoKeyIAMMember", "gcp-us-central1-gcs-agent"), _hand_built_key),
                      typed("CryptoKeyIAMMember", "gcp-us-central1-gcs-agent"), typed("kms/cryptoKey:CryptoKey")),
        "grant-after-its-resource", "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"),
    "access entry before its cluster": (lambda p: cut(p, typed("eks/accessEntry:AccessEntry"),
                                                      typed("eks/cluster:Cluster")),
                                        "grant-after-its-resource", "aws:eks/accessEntry:AccessEntry"),
    # Kubernetes
    "PodMonitor before its CRD": (lambda p: cut(p, typed("PodMonitor"), chart("kube-prometheus-stack")),
                                  "crd-before-custom-resource", "kubernetes:monitoring.coreos.com/v1:PodMonitor"),
    "object before its namespace": (lambda p: cut(p, typed("networking.k8s.io/v1:NetworkPolicy", "charlm-serve"),
                                                  typed("core/v1:Namespace")),
                                    "namespace-before-object", "kubernetes:networking.k8s.io/v1:NetworkPolicy"),
}


@pytest.mark.parametrize("mistake", sorted(MUTATIONS))
def test_each_mistake_reintroduced_fails_the_check(prod_plan, mistake):
    mutate, rule, type_, *base = MUTATIONS[mistake]
    plan = variant(base[0]) if base else prod_plan
    assert not violations(plan)
    found = {(v.rule, v.type) for v in violations(mutate(plan))}
    assert (rule, type_) in found, found
