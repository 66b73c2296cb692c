"""Compute guardrails: instance metadata (IMDSv2), GPU pools (taint, allowlist, spot), GKE shielded nodes and
Workload Identity, key rotation. GPU ceilings are stack policies (policies/stack.py): they add up every launcher."""
from __future__ import annotations

from pulumi_policy import Severity

from blueprint.spec.model import Purpose
from blueprint.spec.names import GPU_TAINT
from policies._capacity import (
    EC2_INSTANCE, LAUNCH_CONFIGURATION, LAUNCH_TEMPLATE, LAUNCHING_TYPES, SPOT_INSTANCE, declared_gpu_types,
)
from policies._facts import EKS_NODE_GROUP, GKE_CLUSTER, GKE_NODE_POOL, gke_node_configs, pools_of
from policies._framework import at, peek, present, resource_policy
from policies._refs import AWS, GKE

AWS_KMS_KEY = "aws:kms/key:Key"
GCP_CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
POOLS = (EKS_NODE_GROUP, GKE_NODE_POOL, GKE_CLUSTER)
MAX_ROTATION_S = 365 * 24 * 3600


@resource_policy(
    "ec2-imdsv2",
    description="Instances, launch templates and launch configurations require IMDSv2 with a hop limit that keeps "
                "pods off the node's credentials.",
    types=(LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION, EC2_INSTANCE, SPOT_INSTANCE), severity=Severity.HIGH,
    concern="compute",
    remediation="Set metadataOptions.httpTokens='required' and httpPutResponseHopLimit=1 (an instance launched "
                "from a launch template takes the template's; a pod's network namespace is a hop, so 1 keeps pods "
                "off the node role: CKV_AWS_341, Security Hub AutoScaling.4).",
    url="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html",
    checkov=("CKV_AWS_79", "CKV_AWS_341"), cis=AWS("5.7"))
def ec2_imdsv2(args, report, settings):
    p = args.props
    if args.resource_type in (EC2_INSTANCE, SPOT_INSTANCE) and present(p, "launchTemplate") \
            and not present(p, "metadataOptions"):
        return  # the launch template's metadata options apply; the template is checked itself
    if at(p, "metadataOptions.httpTokens") != "required":
        report("metadataOptions.httpTokens is not 'required' (IMDSv1 lets any SSRF read node credentials)")
    hops = at(p, "metadataOptions.httpPutResponseHopLimit")
    if hops is not None and float(hops) > 1:
        report(f"metadataOptions.httpPutResponseHopLimit is {hops:g}; at most 1 (a pod is one hop more than its "
               "node, so 2 hands every pod the node role's credentials)")


@resource_policy(
    "gpu-pool-tainted",
    description="GPU node pools (EKS node groups, GKE node pools, pools declared inside a GKE cluster) carry the "
                f"{GPU_TAINT.key}={GPU_TAINT.value}:{GPU_TAINT.effect} taint so only GPU workloads land there.",
    types=POOLS, severity=Severity.MEDIUM, concern="compute",
    remediation=f"Add the taint from GpuPool.taint (key {GPU_TAINT.key}, value {GPU_TAINT.value}, effect "
                f"{GPU_TAINT.cloud_effect}).",
    url="https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/")
def gpu_pool_tainted(args, report, settings):
    for pool in pools_of(args.resource_type, args.props):
        if pool.is_gpu and not any(k == GPU_TAINT.key and e == GPU_TAINT.effect for k, _, e in pool.taints):
            where = f"{pool.where}: " if pool.where else ""
            report(f"{where}GPU pool ({pool.instance_type}) has no {GPU_TAINT.key}:{GPU_TAINT.effect} taint; "
                   "CPU pods would fill the GPU nodes")


@resource_policy(
    "gpu-instance-allowlist",
    description="GPU instance and machine types come from the environment's allowlist (policy.allowedInstanceTypes; "
                "default: the tier's families, policies/_limits.py), whichever resource names them: node groups and "
                "pools, launch templates and configurations, Auto Scaling groups, EC2 instances, spot requests and "
                "fleets, Compute Engine instances and templates, Karpenter node pools.",
    types=LAUNCHING_TYPES, severity=Severity.HIGH, concern="compute",
    remediation="Use an allowed instance type, or extend policy.allowedInstanceTypes in the stack config "
                "through review.",
    url="https://www.finops.org/framework/capabilities/governance-policy-risk/")
def gpu_instance_allowlist(args, report, settings):
    allowed = settings.allowed_instance_types
    for itype in declared_gpu_types(args.resource_type, args.props):
        if itype not in allowed:
            names = ", ".join(sorted(allowed)) or "none"  # policy.allowedInstanceTypes: []
            report(f"instance type {itype} is not allowed in {settings.environment or 'this stack'} "
                   f"({settings.source_of('allowedInstanceTypes')}); allowed: {names}")


@resource_policy(
    "training-spot-outside-prod",
    description="Training pools outside production use spot capacity.",
    types=POOLS, severity=Severity.MEDIUM, concern="compute",
    remediation="Set capacityType: spot on training pools in development and staging stacks.",
    url="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-best-practices.html")
def training_spot_outside_prod(args, report, settings):
    if settings.production:
        return
    for pool in pools_of(args.resource_type, args.props):
        if pool.is_gpu and pool.purpose == Purpose.training.value and not pool.spot:
            report(f"training pool is not spot in a {settings.tier.value} stack: on-demand GPUs cost 2-3x")


@resource_policy(
    "gke-shielded-nodes",
    description="GKE clusters use shielded nodes and node pools keep secure boot and integrity monitoring.",
    types=(GKE_CLUSTER, GKE_NODE_POOL), severity=Severity.MEDIUM, concern="compute",
    remediation="Set enableShieldedNodes=true on the cluster and nodeConfig.shieldedInstanceConfig "
                "{enableSecureBoot: true, enableIntegrityMonitoring: true} on pools.",
    url="https://cloud.google.com/kubernetes-engine/docs/how-to/shielded-gke-nodes",
    checkov=("CKV_GCP_71", "CKV_GCP_68", "CKV_GCP_72"), cis=GKE("5.5.5", "5.5.6", "5.5.7"))
def gke_shielded_nodes(args, report, settings):
    if args.resource_type == GKE_CLUSTER and at(args.props, "enableShieldedNodes") is not True \
            and peek(args.props, "enableAutopilot") is not True:
        report("enableShieldedNodes is not true")
    for where, node in gke_node_configs(args.resource_type, args.props):
        if args.resource_type == GKE_CLUSTER and where == "nodeConfig":
            continue  # the default pool takes the cluster's shielded-node setting
        for flag in ("enableSecureBoot", "enableIntegrityMonitoring"):
            if at(node, f"shieldedInstanceConfig.{flag}") is not True:
                report(f"{where}.shieldedInstanceConfig.{flag} is not true")


@resource_policy(
    "gke-workload-identity",
    description="GKE clusters have Workload Identity on and node pools use the GKE metadata server.",
    types=(GKE_CLUSTER, GKE_NODE_POOL), severity=Severity.HIGH, concern="compute",
    remediation="Set workloadIdentityConfig.workloadPool='<project>.svc.id.goog' and "
                "nodeConfig.workloadMetadataConfig.mode='GKE_METADATA'. (EKS: eks-irsa-enabled.)",
    url="https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity",
    checkov=("CKV_GCP_69",), cis=GKE("5.4.1", "5.2.2"))
def gke_workload_identity(args, report, settings):
    p = args.props
    if args.resource_type == GKE_CLUSTER and not present(p, "workloadIdentityConfig.workloadPool") \
            and peek(p, "enableAutopilot") is not True:
        report("workloadIdentityConfig.workloadPool is not set: pods would use the node's service account")
    for where, node in gke_node_configs(args.resource_type, args.props):
        if args.resource_type == GKE_CLUSTER and where == "nodeConfig" and not present(node, "workloadMetadataConfig"):
            continue  # the default pool follows the cluster's Workload Identity setting
        if at(node, "workloadMetadataConfig.mode") != "GKE_METADATA":
            report(f"{where}.workloadMetadataConfig.mode is not GKE_METADATA: pods can read node credentials")


def _seconds(duration) -> float | None:
    text = str(duration)
    return float(text[:-1]) if text.endswith("s") and text[:-1].replace(".", "", 1).isdigit() else None


@resource_policy(
    "kms-key-rotation",
    description="Customer-managed keys rotate at least yearly.",
    types=(AWS_KMS_KEY, GCP_CRYPTO_KEY), severity=Severity.MEDIUM, concern="compute",
    remediation="AWS: enableKeyRotation=true. GCP: rotationPeriod of at most 31536000s.",
    url="https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
    checkov=("CKV_AWS_7",), cis=(*AWS("3.6"),))
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


POLICIES = [ec2_imdsv2, gpu_pool_tainted, gpu_instance_allowlist, training_spot_outside_prod, gke_shielded_nodes,
            gke_workload_identity, kms_key_rotation]
