"""Cross-resource guardrails (stack policies): GPU pods that can schedule, S3 companion resources, checkpoints next to
the GPUs, disruption budgets, default-deny namespaces, IRSA, private node subnets, GPU ceilings over every launcher,
the budget, and valid exemptions."""
from __future__ import annotations

from collections import defaultdict

from pulumi_policy import Severity

from blueprint.cost import budget_verdict
from blueprint.cost.model import OVER, UNKNOWN
from blueprint.spec.names import GPU_RESOURCE, REPELLING_EFFECTS
from policies._capacity import capacity
from policies._facts import (
    EKS_CLUSTER, EKS_NODE_GROUP, WORKLOAD_TYPES, pod_spec_path, requests_gpus, selector_matches, selects_everything,
    tolerates,
)
from policies._framework import as_mapping, at, current, items, pack_policies, peek, stack_policy
from policies._plan import plan_from_resources
from policies._refs import AWS, EKS, GKE, K8S
from policies._stack import Stack
from policies.storage import VERSIONED_CLASSES

S3_BUCKET = "aws:s3/bucket:Bucket"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
S3_COMPANIONS = {
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "default encryption",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "public access block",
    "aws:s3/bucketVersioning:BucketVersioning": "versioning",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "lifecycle rules",
}


def _pod(r):
    return at(r.props, pod_spec_path(r.resource_type), {})


def _meta(r, key):
    return peek(as_mapping(peek(r.props, "metadata")), key)


def _node_affinity_allows(pod, labels) -> bool:
    """Required node affinity: some nodeSelectorTerm's matchExpressions all hold (an empty term matches nothing)."""
    terms = items(at(pod, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms", []))
    return not terms or any(items(peek(t, "matchExpressions"))
                            and selector_matches({"matchExpressions": peek(t, "matchExpressions")}, labels)
                            for t in terms)


@stack_policy(
    "gpu-workload-schedulable",
    description="Every GPU workload tolerates the taints and selects the labels of a GPU pool that exists in its "
                "cluster (the most common cause of Pending GPU pods).",
    severity=Severity.HIGH, concern="kubernetes",
    remediation="Use the pool's GpuPool.labels in nodeSelector and tolerate GpuPool.taint; check the pool name "
                "exists in the workload's region.",
    url="https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/")
def gpu_workload_schedulable(args, report, settings):
    stack = Stack(args.resources)
    for w in stack.of(*WORKLOAD_TYPES):
        pod = _pod(w)
        if not requests_gpus(pod):
            continue
        cluster = stack.cluster_of(w)
        if cluster is None:
            report("GPU workload is not deployed to a cluster declared in this stack", w.urn)
            continue
        selector = dict(as_mapping(at(pod, "nodeSelector", {})))
        tolerations = items(at(pod, "tolerations", []))
        fits = [r for r, p in stack.pools_of(cluster) if p.is_gpu
                and all(p.labels.get(k) == v for k, v in selector.items()) and _node_affinity_allows(pod, p.labels)
                and all(tolerates(tolerations, t) for t in p.taints if t[2] in REPELLING_EFFECTS)]
        if not fits:
            report(f"no GPU pool in {cluster.name} matches nodeSelector {selector or '{}'} and is tolerated "
                   f"(tolerations: {[peek(t, 'key') for t in tolerations]}): pods would stay Pending", w.urn)


@stack_policy(
    "s3-bucket-companions",
    description="Each S3 bucket has its encryption, public-access-block and lifecycle resources, and checkpoint and "
                "model buckets versioning Enabled (separate resources in pulumi-aws v7).",
    severity=Severity.HIGH, concern="storage",
    remediation="Declare BucketServerSideEncryptionConfiguration, BucketPublicAccessBlock, "
                "BucketLifecycleConfiguration and (checkpoints/models) BucketVersioning for the bucket.",
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html",
    checkov=("CKV2_AWS_6", "CKV_AWS_145", "CKV_AWS_21", "CKV2_AWS_61"), cis=AWS("2.1.4"))
def s3_bucket_companions(args, report, settings):
    stack = Stack(args.resources)
    for bucket in stack.of(S3_BUCKET):
        data_class = peek(as_mapping(peek(bucket.props, "tags")), "data-class")
        for rtype, what in S3_COMPANIONS.items():
            found = stack.dependents(bucket, "bucket", rtype)
            if rtype.endswith(":BucketVersioning"):
                enabled = [v for v in found if at(v.props, "versioningConfiguration.status") == "Enabled"]
                if data_class in VERSIONED_CLASSES and not enabled:
                    report(f"{data_class} bucket {bucket.name} has no BucketVersioning with status Enabled", bucket.urn)
            elif rtype.endswith(":BucketLifecycleConfiguration"):
                if not any(at(r, "status") == "Enabled" for f in found for r in items(at(f.props, "rules", []))):
                    report(f"bucket {bucket.name} has no enabled lifecycle rule", bucket.urn)
            elif not found:
                report(f"bucket {bucket.name} has no {what} resource", bucket.urn)


def _checkpoint_uri(pod) -> str | None:
    for c in items(at(pod, "containers", [])):
        argv = [str(a) for a in items(at(c, "command", []))] + [str(a) for a in items(at(c, "args", []))]
        for i, a in enumerate(argv):
            if a.startswith("--checkpoint-uri="):
                return a.split("=", 1)[1]
            if a == "--checkpoint-uri" and i + 1 < len(argv):
                return argv[i + 1]
        for e in items(at(c, "env", [])):
            if peek(e, "name") in ("CHECKPOINT_URI", "CHECKPOINT_DIR"):
                return str(peek(e, "value") or "") or None
    return None


@stack_policy(
    "checkpoints-near-training",
    description="Training writes checkpoints to storage in the same region as its GPU pool.",
    severity=Severity.MEDIUM, concern="storage",
    remediation="Point --checkpoint-uri at the training region's checkpoint bucket, or set "
                "workloads.training.storageRegion explicitly (reviewed cross-region traffic).",
    url="https://cloud.google.com/storage/docs/locations#considerations")
def checkpoints_near_training(args, report, settings):
    if settings.explicit_training_storage:
        return
    stack = Stack(args.resources)
    buckets = {}
    for b in stack.of(S3_BUCKET, GCS_BUCKET):
        name = peek(b.props, "bucket" if stack.type_of(b) == S3_BUCKET else "name")
        if isinstance(name, str):
            buckets[name] = b
    for job in stack.of(*WORKLOAD_TYPES):
        uri = _checkpoint_uri(_pod(job))
        if not uri or "://" not in uri:
            continue
        bucket = buckets.get(uri.split("://", 1)[1].split("/", 1)[0])
        cluster = stack.cluster_of(job)
        if bucket is None or cluster is None:
            continue
        where, near = stack.region(bucket), stack.region(cluster)
        locations = {str(x).lower() for x in items(at(bucket.props, "customPlacementConfig.dataLocations", []))}
        if where != near and near not in locations:
            report(f"checkpoints go to {uri} in {where} but the job trains in {near}: every checkpoint crosses "
                   "regions (latency and egress cost)", job.urn)


@stack_policy(
    "serving-has-pdb",
    description="Every serving Deployment has a PodDisruptionBudget selecting its pods.",
    severity=Severity.MEDIUM, concern="kubernetes",
    remediation="Declare a policy/v1 PodDisruptionBudget (maxUnavailable: 1) with the Deployment's selector.",
    url="https://kubernetes.io/docs/tasks/run-application/configure-pdb/")
def serving_has_pdb(args, report, settings):
    stack = Stack(args.resources)
    pdbs = stack.of("kubernetes:policy/v1:PodDisruptionBudget")
    for d in stack.of("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"):
        labels = dict(as_mapping(at(d.props, "spec.template.metadata.labels", {})))
        ns = _meta(d, "namespace") or "default"
        ok = [p for p in pdbs if (_meta(p, "namespace") or "default") == ns and p.provider and d.provider
              and p.provider.urn == d.provider.urn and selector_matches(at(p.props, "spec.selector"), labels)]
        if not ok:
            report(f"{_meta(d, 'name')} in {ns} has no PodDisruptionBudget: a node drain can take every replica",
                   d.urn)


def _default_deny(np) -> bool:
    spec = at(np.props, "spec", {})
    types = [str(t) for t in items(at(spec, "policyTypes", []))]
    # Both directions: an Ingress-only policy leaves every pod free to send data anywhere.
    return (selects_everything(at(spec, "podSelector", {})) and {"Ingress", "Egress"} <= set(types)
            and not items(at(spec, "ingress", [])) and not items(at(spec, "egress", [])))


@stack_policy(
    "namespace-default-deny",
    description="Each workload namespace has a default-deny NetworkPolicy (empty podSelector, Ingress and Egress).",
    severity=Severity.MEDIUM, concern="kubernetes",
    remediation="Add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] and no rules; allow "
                "traffic with narrower policies next to it.",
    url="https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies",
    checkov=("CKV2_K8S_6",), cis=(*EKS("4.3.2"), *GKE("4.3.2"), *K8S("5.3.2")))
def namespace_default_deny(args, report, settings):
    stack = Stack(args.resources)
    namespaces = defaultdict(list)  # (provider urn, namespace) -> resources living there
    for r in stack.of("kubernetes:core/v1:Namespace"):
        namespaces[(r.provider.urn if r.provider else "", _meta(r, "name"))].append(r)
    for r in stack.of(*WORKLOAD_TYPES):
        namespaces[(r.provider.urn if r.provider else "", _meta(r, "namespace") or "default")].append(r)
    denies = {(p.provider.urn if p.provider else "", _meta(p, "namespace") or "default")
              for p in stack.of("kubernetes:networking.k8s.io/v1:NetworkPolicy") if _default_deny(p)}
    for key, members in namespaces.items():
        if key not in denies:
            report(f"namespace '{key[1]}' has no default-deny NetworkPolicy", members[0].urn)


@stack_policy(
    "eks-irsa-enabled",
    description="Every EKS cluster has an IAM OIDC provider (IRSA) or the Pod Identity agent, so pods never "
                "use the node role.",
    severity=Severity.HIGH, concern="compute",
    remediation="Declare aws.iam.OpenIdConnectProvider for the cluster's issuer (or the eks-pod-identity-agent "
                "add-on).",
    url="https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html", cis=EKS("5.2.1"))
def eks_irsa_enabled(args, report, settings):
    stack = Stack(args.resources)
    for cluster in stack.of(EKS_CLUSTER):
        oidc = stack.dependents(cluster, "url", "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
        agent = [a for a in stack.of("aws:eks/addon:Addon") if peek(a.props, "addonName") == "eks-pod-identity-agent"
                 and peek(a.props, "clusterName") == peek(cluster.props, "name")]
        if not oidc and not agent:
            report(f"cluster {cluster.name} has neither an IAM OIDC provider nor the Pod Identity agent", cluster.urn)


@stack_policy(
    "node-subnets-private",
    description="EKS node groups launch only into subnets that do not give instances public IP addresses.",
    severity=Severity.HIGH, concern="network",
    remediation="Put node groups in the region's private subnets (mapPublicIpOnLaunch false); public subnets are "
                "for NAT gateways and load balancers only.",
    url="https://docs.aws.amazon.com/eks/latest/best-practices/subnets.html", checkov=("CKV_AWS_130",),
    cis=EKS("5.4.3"))
def node_subnets_private(args, report, settings):
    # nodes-no-public-ip sees launch template interfaces; a node without one takes its subnet's setting
    stack = Stack(args.resources)
    for group in stack.of(EKS_NODE_GROUP):
        for subnet in group.property_dependencies.get("subnetIds", []):
            if stack.type_of(subnet) == "aws:ec2/subnet:Subnet" and peek(subnet.props, "mapPublicIpOnLaunch") is True:
                report(f"node group {group.name} launches into subnet {subnet.name}, which maps public IPs on "
                       "launch", group.urn)


@stack_policy(
    "gpu-max-per-pool",
    description="No GPU launcher can scale past the environment's maximum GPUs per pool (policy.maxGpusPerPool; "
                "default: the tier's): node groups and pools (their launch template's type included), Auto Scaling "
                "groups, EC2 instances and fleets, managed instance groups, node auto-provisioning, Karpenter.",
    severity=Severity.HIGH, concern="compute", hard=True,
    remediation="Lower the pool's maximum size, or raise policy.maxGpusPerPool through review; give Karpenter node "
                f"pools a spec.limits of {GPU_RESOURCE}.",
    url="https://www.finops.org/framework/capabilities/governance-policy-risk/")
def gpu_max_per_pool(args, report, settings):
    limit = settings.max_gpus_per_pool
    for c in capacity(Stack(args.resources)):
        if c.max_gpus > limit:
            report(f"{c.describe()}; the limit is {limit} ({settings.source_of('maxGpusPerPool')})", c.urn)


@stack_policy(
    "gpu-max-per-stack",
    description="All GPU launchers together cannot scale past policy.maxGpusPerStack (default: the tier's).",
    severity=Severity.HIGH, concern="compute", hard=True,
    remediation="Lower pool maxima, or raise policy.maxGpusPerStack through review.",
    url="https://www.finops.org/framework/capabilities/governance-policy-risk/")
def gpu_max_per_stack(args, report, settings):
    limit = settings.max_gpus_per_stack
    launchers = capacity(Stack(args.resources))
    total = sum(c.max_gpus for c in launchers)
    if total > limit:
        unbounded = [c.label for c in launchers if c.max_units is None]
        amount = f"without bound ({', '.join(unbounded)})" if unbounded else f"to {total:g} GPUs in total"
        report(f"GPU launchers scale {amount}; the limit is {limit} ({settings.source_of('maxGpusPerStack')})")


@stack_policy(
    "stack-within-budget",
    description="The stack's estimated monthly cost is within its budget (budget.monthlyUsd), and known: an "
                "unpriced GPU pool, or unpriced resources beyond budget.unpricedThresholdUsd, fail closed.",
    severity=Severity.HIGH, concern="cost",
    remediation="Shrink pools, use spot, or raise budget.monthlyUsd through review; price what is unpriced "
                "(blueprint/catalog/prices.yaml, or a pricer for a new resource type); see `blueprint cost`.",
    url="https://www.finops.org/framework/capabilities/budgeting/")
def stack_within_budget(args, report, settings):
    if settings.budget_usd is None:
        args.not_applicable("no budget in the stack's spec")
    # Never guarded: a broken estimator fails the check loudly, it does not make the budget "not applicable".
    verdict = budget_verdict(plan_from_resources(args.resources, current().spec))
    if verdict.state == OVER:
        report(f"estimated {verdict.reason()}")
    elif verdict.state == UNKNOWN:
        report(verdict.reason())


@stack_policy(
    "policy-exemptions-valid",
    description="Every exemption and reviewed system component names a real policy that is not a hard limit, and "
                "no exemption has expired.",
    severity=Severity.HIGH, concern="governance", hard=True,
    remediation="Fix the resource, or renew the exemption through review (at most 90 days); hard limits change "
                "through their settings (policy.maxGpusPerStack...), never through exemptions.",
    url="https://www.pulumi.com/docs/iac/using-pulumi/crossguard/")
def policy_exemptions_valid(args, report, settings):
    known = pack_policies()
    ctx = current()
    for ex in settings.exemptions:
        if ex.policy not in known:
            report(f"exemption for unknown policy '{ex.policy}' ({ex.resource})")
        elif known[ex.policy].hard:
            report(f"exemption of hard limit '{ex.policy}' for {ex.resource} is refused: hard limits take no "
                   "exemptions")
        if ctx.expired(ex):
            report(f"exemption of '{ex.policy}' for {ex.resource} (owner {ex.owner}, approved by {ex.approved_by}: "
                   f"{ex.reason}) expired on {ex.expires.isoformat()}")
    for c in settings.system_components:
        for name in c.policies:
            if name not in known:
                report(f"system component {c.kind} {c.namespace}/{c.name} names unknown policy '{name}'")
            elif known[name].hard:
                report(f"system component {c.kind} {c.namespace}/{c.name} may not break hard limit '{name}'")


POLICIES = [gpu_workload_schedulable, s3_bucket_companions, checkpoints_near_training, serving_has_pdb,
            namespace_default_deny, eks_irsa_enabled, node_subnets_private, gpu_max_per_pool, gpu_max_per_stack,
            stack_within_budget, policy_exemptions_valid]
