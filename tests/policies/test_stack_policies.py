"""Cross-resource (stack) policies: bad and good stacks declared with the real SDK, or the real program with a
modified spec."""
from __future__ import annotations

import datetime as dt

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from tests.conftest import shipped_plan
from tests.policies import programs as P
from tests.policies.helpers import TODAY, check, evaluate, spec_for

GPU_TOL = [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]


SERVE_SELECTOR = {"matchLabels": {"app": "serve"}}


def cluster_stack(*, selector="train", tolerate=True, bucket_region="us-east-1", pdb=SERVE_SELECTOR,
                  deny=("Ingress", "Egress"), deny_selector=None, oidc=True, affinity=None):
    """An EKS cluster, a tainted GPU pool, a Kubernetes provider on the cluster and a training Job.

    ``pdb``: the PodDisruptionBudget's selector (None: no PDB); ``affinity``: the Job's required node affinity
    expressions; ``deny_selector``: the default-deny policy's podSelector.
    """
    def program():
        east = aws.Provider("east", region="us-east-1")
        cluster = aws.eks.Cluster("eks", name="c1", role_arn="arn:aws:iam::1:role/r", vpc_config={"subnet_ids": ["s"]},
                                  opts=pulumi.ResourceOptions(provider=east))
        if oidc:
            aws.iam.OpenIdConnectProvider("oidc", url=cluster.identities[0].oidcs[0].issuer,
                                          client_id_lists=["sts.amazonaws.com"],
                                          opts=pulumi.ResourceOptions(provider=east))
        aws.eks.NodeGroup("pool", cluster_name="c1", node_role_arn="arn:aws:iam::1:role/n", subnet_ids=["s"],
                          instance_types=["p5.48xlarge"], capacity_type="SPOT",
                          taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}],
                          labels={"aiplatform.io/pool": "train", "aiplatform.io/purpose": "training"},
                          scaling_config={"min_size": 0, "desired_size": 0, "max_size": 2},
                          opts=pulumi.ResourceOptions(provider=east))
        other = aws.Provider("other", region=bucket_region)
        aws.s3.Bucket("ckpt", bucket="ckpt-bucket", opts=pulumi.ResourceOptions(provider=other))
        kube = k8s.Provider("kube", kubeconfig=cluster.endpoint)
        ko = pulumi.ResourceOptions(provider=kube)
        k8s.core.v1.Namespace("ns", metadata={"name": "training"}, opts=ko)
        k8s.batch.v1.Job("job", metadata={"name": "job", "namespace": "training"}, spec={"template": {"spec": {
            "restartPolicy": "Never", "nodeSelector": {"aiplatform.io/pool": selector} if selector else None,
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": affinity}]}}} if affinity is not None else None,
            "tolerations": GPU_TOL if tolerate else [],
            "containers": [{"name": "t", "image": "ghcr.io/a/train:1.0.0",
                            "args": ["--checkpoint-uri", "s3://ckpt-bucket/run/"],
                            "resources": {"limits": {"nvidia.com/gpu": "8"}}}]}}}, opts=ko)
        k8s.apps.v1.Deployment("serve", metadata={"name": "serve", "namespace": "training"}, spec={
            "selector": {"matchLabels": {"app": "serve"}},
            "template": {"metadata": {"labels": {"app": "serve", "track": "stable"}},
                         "spec": {"containers": [{"name": "s", "image": "ghcr.io/a/serve:1.0.0"}]}}}, opts=ko)
        if pdb is not None:
            k8s.policy.v1.PodDisruptionBudget("pdb", metadata={"name": "serve", "namespace": "training"},
                                              spec={"maxUnavailable": 1, "selector": pdb}, opts=ko)
        if deny:
            k8s.networking.v1.NetworkPolicy("deny", metadata={"name": "default-deny", "namespace": "training"},
                                            spec={"podSelector": deny_selector or {}, "policyTypes": list(deny)},
                                            opts=ko)
    return program


def bucket_stack(companions=True, versioning="Enabled", lifecycle="Enabled"):
    def program():
        b = aws.s3.Bucket("b", bucket="b", tags={"data-class": "checkpoints"})
        if not companions:
            return
        aws.s3.BucketServerSideEncryptionConfiguration("b", bucket=b.id, rules=[
            {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": "k"}}])
        aws.s3.BucketPublicAccessBlock("b", bucket=b.id, block_public_acls=True, block_public_policy=True,
                                       ignore_public_acls=True, restrict_public_buckets=True)
        aws.s3.BucketVersioning("b", bucket=b.id, versioning_configuration={"status": versioning})
        aws.s3.BucketLifecycleConfiguration("b", bucket=b.id, rules=[{"id": "x", "status": lifecycle,
                                                                      "expiration": {"days": 30}}])
    return program


def gpu_pools_stack(max_size=2, desired=0):
    """One p5.48xlarge pool (8 GPUs a node): 17 nodes pass prod's 128-GPU stack default, 100 busy nodes its budget."""
    def program():
        east = aws.Provider("east", region="us-east-1")
        aws.eks.NodeGroup("pool", cluster_name="c1", node_role_arn="arn:aws:iam::1:role/n", subnet_ids=["s"],
                          instance_types=["p5.48xlarge"], capacity_type="ON_DEMAND",
                          scaling_config={"min_size": 0, "desired_size": desired, "max_size": max(max_size, desired)},
                          opts=pulumi.ResourceOptions(provider=east))
    return program


def node_subnet_stack(public: bool):
    """A GPU node group in a subnet that does (public) or does not map public IPs on launch."""
    def program():
        east = pulumi.ResourceOptions(provider=aws.Provider("east", region="us-east-1"))
        subnet = aws.ec2.Subnet("nodes", vpc_id="vpc-1", cidr_block="10.64.0.0/20", availability_zone="us-east-1a",
                                map_public_ip_on_launch=public, opts=east)
        aws.eks.NodeGroup("pool", cluster_name="c1", node_role_arn="arn:aws:iam::1:role/n", subnet_ids=[subnet.id],
                          instance_types=["g6.2xlarge"], scaling_config={"min_size": 0, "desired_size": 0,
                                                                         "max_size": 1}, opts=east)
    return program


def ec2_fleet(capacity):
    """An EC2 Fleet of p5.48xlarge through a launch template override."""
    def program():
        lt = aws.ec2.LaunchTemplate("lt", metadata_options={"http_tokens": "required"})
        aws.ec2.Fleet("fleet", launch_template_configs=[{
            "launch_template_specification": {"launch_template_id": lt.id, "version": "$Latest"},
            "overrides": [{"instance_type": "p5.48xlarge"}]}],
            target_capacity_specification={"default_target_capacity_type": "on-demand",
                                           "total_target_capacity": capacity})
    return program


def private_api_stack(*, eks_rule: bool = True, gke_export: bool = True, dns: bool = False):
    """A private-only EKS cluster and a GKE cluster (DNS endpoint open or not), with or without the deployer's way
    in: a 443 rule on the EKS cluster security group, the route export on the GKE control plane's peering."""
    def program():
        from pulumi_gcp import compute, container
        eks = aws.eks.Cluster("eks", role_arn="arn:aws:iam::123456789012:role/eks", vpc_config={
            "subnet_ids": ["subnet-0a"], "endpoint_private_access": True, "endpoint_public_access": False})
        if eks_rule:
            aws.vpc.SecurityGroupIngressRule("api", security_group_id=eks.vpc_config.cluster_security_group_id,
                                             cidr_ipv4="10.64.160.0/22", ip_protocol="tcp", from_port=443, to_port=443)
        gke = container.Cluster("gke", location="us-central1", initial_node_count=1, network="n",
                                private_cluster_config={"enable_private_nodes": True, "enable_private_endpoint": True,
                                                        "master_ipv4_cidr_block": "10.96.96.0/28"},
                                control_plane_endpoints_config={"dns_endpoint_config": {"allow_external_traffic": dns}})
        if gke_export:
            compute.NetworkPeeringRoutesConfig("export", network="n", export_custom_routes=True,
                                               import_custom_routes=False,
                                               peering=gke.private_cluster_config.apply(lambda c: c.peering_name))
    return program


def _in(key, *values, op="In"):
    return {"key": key, "operator": op, "values": list(values)}


CASES = {
    "gpu-workload-schedulable": [(cluster_stack(selector="nope"), cluster_stack(), "Pending"),
                                 (cluster_stack(tolerate=False), cluster_stack(), "Pending"),
                                 # required node affinity is a selector too
                                 (cluster_stack(selector=None, affinity=[_in("aiplatform.io/pool", "nope")]),
                                  cluster_stack(selector=None, affinity=[_in("aiplatform.io/pool", "train", "x")]),
                                  "Pending")],
    "s3-bucket-companions": [(bucket_stack(False), bucket_stack(), "BucketVersioning"),
                             (bucket_stack(versioning="Suspended"), bucket_stack(), "status Enabled"),
                             (bucket_stack(lifecycle="Disabled"), bucket_stack(), "no enabled lifecycle rule")],
    "checkpoints-near-training": [(cluster_stack(bucket_region="us-west-2"), cluster_stack(), "us-west-2")],
    "serving-has-pdb": [
        (cluster_stack(pdb=None), cluster_stack(), "PodDisruptionBudget"),
        # matchExpressions count: 'app In [other]' selects none of the Deployment's pods
        (cluster_stack(pdb={"matchExpressions": [_in("app", "other")]}),
         cluster_stack(pdb={"matchExpressions": [_in("app", "serve", "other")]}), "PodDisruptionBudget"),
        # matchLabels AND expressions
        (cluster_stack(pdb={"matchLabels": {"app": "serve"}, "matchExpressions": [_in("track", "stable", op="NotIn")]}),
         cluster_stack(pdb={"matchLabels": {"app": "serve"}, "matchExpressions": [
             {"key": "track", "operator": "Exists"}, {"key": "canary", "operator": "DoesNotExist"}]}),
         "PodDisruptionBudget"),
        (cluster_stack(pdb={"matchExpressions": [{"key": "track", "operator": "DoesNotExist"}]}),
         cluster_stack(pdb={}), "PodDisruptionBudget")],  # policy/v1: an empty selector selects every pod
    "namespace-default-deny": [(cluster_stack(deny=False), cluster_stack(), "default-deny"),
                               (cluster_stack(deny=("Ingress",)), cluster_stack(), "default-deny"),
                               (cluster_stack(deny_selector={"matchExpressions": [_in("app", "serve")]}),
                                cluster_stack(deny_selector={"matchLabels": {}}), "default-deny")],
    "eks-irsa-enabled": [(cluster_stack(oidc=False), cluster_stack(), "OIDC")],
    "node-subnets-private": [(node_subnet_stack(public=True), node_subnet_stack(public=False), "maps public IPs")],
    # prod's tier defaults: 64 GPUs per pool, 128 per stack (its spec has no policy section)
    "gpu-max-per-stack": [(gpu_pools_stack(max_size=17), gpu_pools_stack(max_size=16), "limit is 128"),
                          (P.karpenter_pool(), P.karpenter_pool(gpu_limit=64), "without bound"),
                          (P.gke_autoprovisioning(4000), P.gke_autoprovisioning(64), "4000 GPUs")],
    "gpu-max-per-pool": [(gpu_pools_stack(max_size=9), gpu_pools_stack(max_size=8), "72 GPUs"),
                         # the launch template's instance type counts for the groups that use it
                         (P.asg_with_template(max_size=500), P.asg_with_template(max_size=8),
                          "Auto Scaling group asg scales to 4000 GPUs"),
                         (P.node_group_with_template(max_size=100), P.node_group_with_template(max_size=8),
                          "EKS node group ng scales to 800 GPUs"),
                         (P.gke_inline_gpu_pools(100), P.gke_inline_gpu_pools(8), "nodePools[0] scales to 800"),
                         (ec2_fleet(500), ec2_fleet(8), "EC2 fleet fleet scales to 4000 GPUs")],
    "vpc-default-sg-closed": [(P.vpc(default_sg=False), P.vpc(), "default security group unmanaged"),
                              (P.vpc(default_sg_rules=True), P.vpc(), "has ingress rules")],
    "vpc-flow-logs": [(P.vpc(flow_logs=False), P.vpc(), "no flow log"),
                      (P.subnetwork(logs=False), P.subnetwork(), "no logConfig"),
                      (P.subnetwork(auto_subnets=True), P.subnetwork(), "creates subnets automatically")],
    "stack-within-budget": [(gpu_pools_stack(desired=100), gpu_pools_stack(), "exceeds the budget")],
    "k8s-api-deploy-path": [(private_api_stack(eks_rule=False), private_api_stack(), "admits TCP 443"),
                            (private_api_stack(gke_export=False), private_api_stack(gke_export=False, dns=True),
                             "gets no custom routes")],
}
# Covered by their own tests below (they vary the spec, not the program).
COVERED_ELSEWHERE = {"policy-exemptions-valid": "test_exemptions_of_unknown_policies_hard_limits_and_expired_ones_fail"}


@pytest.mark.parametrize("name,bad,good,words", [pytest.param(n, *c, id=f"{n}-{i}") for n, cs in CASES.items()
                                                 for i, c in enumerate(cs)])
def test_stack_policy_fails_bad_and_passes_good(name, bad, good, words):
    violations = check(name, bad)
    assert violations and any(words in v.message for v in violations), [v.message for v in violations]
    assert all(v.policy == name for v in violations)
    assert check(name, good) == []


def test_every_stack_policy_has_a_case():
    from policies import ALL_POLICIES
    from pulumi_policy import StackValidationPolicy
    names = {p.name for p in ALL_POLICIES if isinstance(p, StackValidationPolicy)}
    assert names == set(CASES) | set(COVERED_ELSEWHERE)
    assert all(callable(globals().get(test)) for test in COVERED_ELSEWHERE.values())


def test_a_broken_estimator_fails_loudly(monkeypatch):
    """An estimator that cannot be imported, or that fails, is an error, not 'not applicable' (the budget check
    would vanish): the pack does not load without it, and its failure is the policy's."""
    import importlib
    import sys
    import policies.stack
    monkeypatch.setitem(sys.modules, "blueprint.cost", None)  # import blueprint.cost now raises ImportError
    monkeypatch.delitem(sys.modules, "policies.stack")
    with pytest.raises(ImportError):
        importlib.import_module("policies.stack")
    monkeypatch.undo()

    def broken(plan):
        raise RuntimeError("estimator broken")
    monkeypatch.setattr(policies.stack, "budget_verdict", broken)
    with pytest.raises(RuntimeError, match="estimator broken"):
        check("stack-within-budget", gpu_pools_stack())


def _names(report):
    return {v.policy for v in report.violations}


def test_gpu_max_per_stack_on_the_real_program():
    plan = shipped_plan("prod")
    bad = evaluate(plan, spec_for(maxGpusPerStack=40), ["gpu-max-per-stack"])
    assert [v.policy for v in bad.violations] == ["gpu-max-per-stack"] and "limit is 40" in bad.violations[0].message
    assert evaluate(plan, spec_for(maxGpusPerStack=1000), ["gpu-max-per-stack"]).violations == []


def test_budget_with_the_real_estimator():
    from blueprint.cost import estimate
    plan = shipped_plan("prod")
    total = estimate(plan).total.expected
    assert total > 0
    cfg_budget = lambda usd: spec_for().model_copy(update={"budget": spec_for().budget.model_copy(  # noqa: E731
        update={"monthly_usd": usd})})
    bad = evaluate(plan, cfg_budget(total * 0.5), ["stack-within-budget"])
    assert [v.policy for v in bad.violations] == ["stack-within-budget"], bad.not_applicable
    assert evaluate(plan, cfg_budget(total * 1.5), ["stack-within-budget"]).violations == []


def test_budget_policy_rebuilds_the_plan_for_the_estimator(monkeypatch):
    """The stack policy hands the estimator a Plan rebuilt from PolicyResources, as inside `pulumi preview`, with
    the spec the pack judges by."""
    import policies.stack
    from blueprint.cost import budget_verdict
    seen = {}

    def fake(plan):
        seen["types"], seen["stack"] = plan.counts_by_type(), plan.spec.stack
        plan.spec = plan.spec.model_copy(update={"budget": plan.spec.budget.model_copy(update={"monthly_usd": 1.0})})
        return budget_verdict(plan)
    monkeypatch.setattr(policies.stack, "budget_verdict", fake)
    plan = shipped_plan("dev")
    report = evaluate(plan, spec_for("dev"), ["stack-within-budget"])
    assert [v.policy for v in report.violations] == ["stack-within-budget"]
    assert seen["types"] == plan.counts_by_type() and seen["stack"] == "dev"


def _exemption(**kw):
    return {"policy": "k8s-image-pinned", "resource": "d", "reason": "vendor image, tracked in PLAT-1",
            "owner": "ml-platform", "approvedBy": "security@example.com",
            "expires": str(TODAY + dt.timedelta(days=30)), **kw}


def test_exemptions_of_unknown_policies_hard_limits_and_expired_ones_fail():
    plan = shipped_plan("dev")
    assert evaluate(plan, spec_for(exemptions=[_exemption()]), ["policy-exemptions-valid"]).violations == []
    typo, hard = _exemption(policy="k8s-image-pined"), _exemption(policy="storage-no-public-access")
    bad = evaluate(plan, spec_for(exemptions=[typo, hard]), ["policy-exemptions-valid"])
    messages = [v.message for v in bad.violations]
    assert any("unknown policy 'k8s-image-pined'" in m for m in messages)
    assert any("hard limit 'storage-no-public-access'" in m and "refused" in m for m in messages)
    assert all(v.blocking for v in bad.violations)
    # judged on a later day (the spec loader refuses an exemption that has already expired)
    later = evaluate(plan, spec_for(exemptions=[_exemption()]), ["policy-exemptions-valid"],
                     today=TODAY + dt.timedelta(days=31))
    assert [v.policy for v in later.violations] == ["policy-exemptions-valid"]
    assert f"expired on {TODAY + dt.timedelta(days=30)}" in later.violations[0].message


def test_exemption_turns_a_violation_into_a_note_until_it_expires():
    from tests.policies.test_resource_policies import deployment
    from blueprint.plan.engine import run_program
    plan = run_program(deployment(image="ghcr.io/a/serve:latest"))
    exempt = evaluate(plan, spec_for(exemptions=[_exemption()]), ["k8s-image-pinned"])
    assert exempt.violations == [] and [n.policy for n in exempt.exempted] == ["k8s-image-pinned"]
    assert "owner ml-platform" in exempt.exempted[0].message
    lapsed = evaluate(plan, spec_for(exemptions=[_exemption()]), ["k8s-image-pinned"],
                      today=TODAY + dt.timedelta(days=31))
    assert [v.blocking for v in lapsed.violations] == [True] and "expired" in lapsed.violations[0].message
    # the exemption names one resource: another resource with the same problem is still a violation
    other = evaluate(plan, spec_for(exemptions=[_exemption(resource="another-deployment")]), ["k8s-image-pinned"])
    assert [v.policy for v in other.violations] == ["k8s-image-pinned"] and other.exempted == []
