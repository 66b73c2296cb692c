"""Compute guardrails: GPU pools (taint, allowlist, size, spot), node hardening, identity, key rotation."""
from __future__ import annotations

from pulumi_policy import Severity

from blueprint.spec.model import GPU_TAINT_EFFECT, GPU_TAINT_KEY
from policies._facts import EKS_NODE_GROUP, GKE_CLUSTER, GKE_NODE_POOL, pool_of
from policies._framework import at, items, present, resource_policy

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AWS_KMS_KEY = "aws:kms/key:Key"
GCP_CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
POOLS = (EKS_NODE_GROUP, GKE_NODE_POOL)
MAX_ROTATION_S = 365 * 24 * 3600


@resource_policy(
    "launch-template-imdsv2",
    description="Launch templates (GPU node pools included) require IMDSv2 with a hop limit that keeps pods "
                "off the node's credentials.",
    types=(LAUNCH_TEMPLATE,), severity=Severity.HIGH, concern="compute",
    remediation="Set metadataOptions.httpTokens='required' and httpPutResponseHopLimit<=2.",
    url="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html")
def launch_template_imdsv2(args, report, settings):
    if at(args.props, "metadataOptions.httpTokens") != "required":
        report("metadataOptions.httpTokens is not 'required' (IMDSv1 lets any SSRF read node credentials)")
    hops = at(args.props, "metadataOptions.httpPutResponseHopLimit")
    if hops is not None and float(hops) > 2:
        report(f"metadataOptions.httpPutResponseHopLimit is {hops:g}; at most 2")


@resource_policy(
    "gpu-pool-tainted",
    description="GPU node pools carry the nvidia.com/gpu=present:NoSchedule taint so only GPU workloads land there.",
    types=POOLS, severity=Severity.MEDIUM, concern="compute",
    remediation="Add the taint from GpuPool.taint (key nvidia.com/gpu, value present, effect NO_SCHEDULE).",
    url="https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/")
def gpu_pool_tainted(args, report, settings):
    pool = pool_of(args.resource_type, args.props)
    if pool.is_gpu and not any(k == GPU_TAINT_KEY and e == GPU_TAINT_EFFECT for k, _, e in pool.taints):
        report(f"GPU pool ({pool.instance_type}) has no {GPU_TAINT_KEY}:{GPU_TAINT_EFFECT} taint; "
               "CPU pods would fill the GPU nodes")


@resource_policy(
    "gpu-instance-allowlist",
    description="GPU instance types come from the environment's allowlist (policy.allowedInstanceTypes; "
                "default: the tier's families, policies/_limits.py).",
    types=POOLS, severity=Severity.HIGH, concern="compute",
    remediation="Use an allowed instance type, or extend policy.allowedInstanceTypes in the stack config "
                "through review.",
    url="https://www.finops.org/framework/capabilities/governance-policy-risk/")
def gpu_instance_allowlist(args, report, settings):
    pool = pool_of(args.resource_type, args.props)
    if not pool.is_gpu or pool.instance_type is None:
        return
    if pool.gpus_per_node == 0 or pool.instance_type not in settings.allowed_instance_types:
        allowed = ", ".join(sorted(settings.allowed_instance_types)) or "none"  # policy.allowedInstanceTypes: []
        report(f"instance type {pool.instance_type} is not allowed in {settings.environment or 'this stack'} "
               f"({settings.source_of('allowedInstanceTypes')}); allowed: {allowed}")


@resource_policy(
    "gpu-max-per-pool",
    description="A GPU pool cannot scale past the environment's maximum GPUs per pool (policy.maxGpusPerPool; "
                "default: the tier's).",
    types=POOLS, severity=Severity.MEDIUM, concern="compute",
    remediation="Lower the pool's scaling.max, or raise policy.maxGpusPerPool through review.",
    url="https://www.finops.org/framework/capabilities/governance-policy-risk/")
def gpu_max_per_pool(args, report, settings):
    pool = pool_of(args.resource_type, args.props)
    limit = settings.max_gpus_per_pool
    if pool.is_gpu and pool.max_gpus > limit:
        report(f"pool scales to {pool.max_gpus} GPUs ({pool.max_nodes} x {pool.gpus_per_node}); the limit is {limit} "
               f"({settings.source_of('maxGpusPerPool')})")


@resource_policy(
    "training-spot-outside-prod",
    description="Training pools outside production use spot capacity.",
    types=POOLS, severity=Severity.MEDIUM, concern="compute",
    remediation="Set capacityType: spot on training pools in development and staging stacks.",
    url="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-best-practices.html")
def training_spot_outside_prod(args, report, settings):
    if settings.production:
        return
    pool = pool_of(args.resource_type, args.props)
    if pool.is_gpu and pool.purpose == "training" and not pool.spot:
        report(f"training pool is not spot in a {settings.tier.value} stack: on-demand GPUs cost 2-3x")


@resource_policy(
    "gke-shielded-nodes",
    description="GKE clusters use shielded nodes and node pools keep secure boot and integrity monitoring.",
    types=(GKE_CLUSTER, GKE_NODE_POOL), severity=Severity.MEDIUM, concern="compute",
    remediation="Set enableShieldedNodes=true on the cluster and nodeConfig.shieldedInstanceConfig "
                "{enableSecureBoot: true, enableIntegrityMonitoring: true} on pools.",
    url="https://cloud.google.com/kubernetes-engine/docs/how-to/shielded-gke-nodes")
def gke_shielded_nodes(args, report, settings):
    p = args.props
    if args.resource_type == GKE_CLUSTER:
        if at(p, "enableShieldedNodes") is not True:
            report("enableShieldedNodes is not true")
        return
    for flag in ("enableSecureBoot", "enableIntegrityMonitoring"):
        if at(p, f"nodeConfig.shieldedInstanceConfig.{flag}") is not True:
            report(f"nodeConfig.shieldedInstanceConfig.{flag} is not true")


@resource_policy(
    "gke-workload-identity",
    description="GKE clusters have Workload Identity on and node pools use the GKE metadata server.",
    types=(GKE_CLUSTER, GKE_NODE_POOL), severity=Severity.HIGH, concern="compute",
    remediation="Set workloadIdentityConfig.workloadPool='<project>.svc.id.goog' and "
                "nodeConfig.workloadMetadataConfig.mode='GKE_METADATA'. (EKS: eks-irsa-enabled.)",
    url="https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity")
def gke_workload_identity(args, report, settings):
    p = args.props
    if args.resource_type == GKE_CLUSTER:
        if not present(p, "workloadIdentityConfig.workloadPool"):
            report("workloadIdentityConfig.workloadPool is not set: pods would use the node's service account")
    elif at(p, "nodeConfig.workloadMetadataConfig.mode") != "GKE_METADATA":
        report("nodeConfig.workloadMetadataConfig.mode is not GKE_METADATA: pods can read node credentials")


def _seconds(duration) -> float | None:
    text = str(duration)
    return float(text[:-1]) if text.endswith("s") and text[:-1].replace(".", "", 1).isdigit() else None


@resource_policy(
    "kms-key-rotation",
    description="Customer-managed keys rotate at least yearly.",
    types=(AWS_KMS_KEY, GCP_CRYPTO_KEY), severity=Severity.MEDIUM, concern="compute",
    remediation="AWS: enableKeyRotation=true. GCP: rotationPeriod of at most 31536000s.",
    url="https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html")
def kms_key_rotation(args, report, settings):
    p = args.props
    if args.resource_type == AWS_KMS_KEY:
        spec = at(p, "customerMasterKeySpec") or at(p, "keySpec") or "SYMMETRIC_DEFAULT"
        if spec == "SYMMETRIC_DEFAULT" and at(p, "enableKeyRotation") is not True:
            report("enableKeyRotation is not true")
    elif at(p, "purpose", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT":
        period = _seconds(at(p, "rotationPeriod", ""))
        if period is None or period > MAX_ROTATION_S:
            report(f"rotationPeriod is {at(p, 'rotationPeriod') or 'unset'}; rotate at least every 365 days")


POLICIES = [launch_template_imdsv2, gpu_pool_tainted, gpu_instance_allowlist, gpu_max_per_pool,
            training_spot_outside_prod, gke_shielded_nodes, gke_workload_identity, kms_key_rotation]
