"""Cluster guardrails beyond encryption and exposure: GKE control-plane and node hardening, control-plane audit
logging on EKS and GKE, and container registries that keep tags immutable and scan images."""
from __future__ import annotations

from pulumi_policy import Severity

from policies._facts import EKS_CLUSTER, GKE_CLUSTER, GKE_NODE_POOL, gke_node_configs
from policies._framework import at, falsy, items, peek, resource_policy, truthy
from policies._refs import EKS, GCP, GKE, GKE_1_2

EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ARTIFACT_REPOSITORY = "gcp:artifactregistry/repository:Repository"
DEFAULT_SA_SUFFIX = "-compute@developer.gserviceaccount.com"
BROAD_SCOPES = {f"https://www.googleapis.com/auth/{s}" for s in (
    "cloud-platform", "compute", "devstorage.full_control", "devstorage.read_write", "iam")} | {
    "cloud-platform", "compute-rw", "storage-full", "storage-rw"}


def _default_sa(account) -> bool:
    return account is None or account == "default" or (isinstance(account, str) and account.endswith(DEFAULT_SA_SUFFIX))


@resource_policy(
    "gke-node-hardening",
    description="GKE nodes (node pools and pools declared inside a cluster) keep auto-repair and auto-upgrade on, "
                "run Container-Optimized OS, use a dedicated service account (not the Compute Engine default one "
                "with broad OAuth scopes) and keep the legacy metadata endpoints disabled.",
    types=(GKE_NODE_POOL, GKE_CLUSTER), severity=Severity.HIGH, concern="compute",
    remediation="Leave management.autoRepair/autoUpgrade true; imageType COS_CONTAINERD; set "
                "nodeConfig.serviceAccount to a least-privilege account (Workload Identity for pods); never set "
                "metadata disable-legacy-endpoints=false.",
    url="https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster",
    checkov=("CKV_GCP_9", "CKV_GCP_10", "CKV_GCP_22", "CKV_GCP_30", "CKV_GCP_31"),
    cis=(*GKE("5.5.2", "5.5.3", "5.5.1", "5.2.1"), *GKE_1_2("5.4.1"), *GCP("4.1", "4.2")))
def gke_node_hardening(args, report, settings):
    p = args.props
    managed = [("management", at(p, "management", {}))] if args.resource_type == GKE_NODE_POOL else \
        [(f"nodePools[{i}].management", at(pool, "management", {})) for i, pool in enumerate(at(p, "nodePools", []))]
    for where, management in managed:
        for flag in ("autoRepair", "autoUpgrade"):
            if falsy(at(management, flag)):
                report(f"{where}.{flag} is false: broken or outdated nodes stay in service")
    for where, node in gke_node_configs(args.resource_type, args.props):
        image = at(node, "imageType")
        if image is not None and not str(image).upper().startswith("COS"):
            report(f"{where}.imageType is {image}, not Container-Optimized OS (COS_CONTAINERD)")
        account = peek(node, "serviceAccount")
        if _default_sa(account):
            report(f"{where} runs as the Compute Engine default service account (project Editor)")
            broad = sorted(set(str(s) for s in items(at(node, "oauthScopes", []))) & BROAD_SCOPES)
            if broad:
                report(f"{where} gives the default service account broad OAuth scopes: {', '.join(broad)}")
        if str(at(node, "metadata.disable-legacy-endpoints", "true")).lower() == "false":
            report(f"{where}.metadata turns the legacy Compute Engine metadata endpoints back on (v1beta1, "
                   "no Metadata-Flavor header)")


@resource_policy(
    "gke-control-plane-hardening",
    description="GKE clusters have legacy ABAC, client certificates and alpha features off, enforce NetworkPolicy "
                "(Dataplane V2 or the network policy add-on) and follow a release channel.",
    types=(GKE_CLUSTER,), severity=Severity.HIGH, concern="compute",
    remediation="Leave enableLegacyAbac false and masterAuth.clientCertificateConfig.issueClientCertificate false; "
                "set datapathProvider=ADVANCED_DATAPATH (or networkPolicy.enabled=true); set releaseChannel.channel "
                "to STABLE or REGULAR.",
    url="https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster",
    checkov=("CKV_GCP_7", "CKV_GCP_13", "CKV_GCP_12", "CKV_GCP_70", "CKV2_GCP_19"),
    cis=(*GKE("5.8.3", "5.8.1", "4.3.1", "5.5.4", "5.10.2"), *GKE_1_2("5.6.7")))
def gke_control_plane_hardening(args, report, settings):
    p = args.props
    autopilot = peek(p, "enableAutopilot") is True
    if truthy(at(p, "enableLegacyAbac")):
        report("enableLegacyAbac is true: ABAC grants bypass RBAC")
    if truthy(at(p, "enableKubernetesAlpha")):
        report("enableKubernetesAlpha is true: alpha APIs, no upgrades or SLA")
    if truthy(at(p, "masterAuth.clientCertificateConfig.issueClientCertificate")):
        report("masterAuth issues a client certificate: a credential that cannot be revoked")
    dataplane_v2 = at(p, "datapathProvider") == "ADVANCED_DATAPATH"
    if not (autopilot or dataplane_v2 or truthy(at(p, "networkPolicy.enabled"))):
        report("NetworkPolicy is not enforced (no Dataplane V2, networkPolicy.enabled is not true): "
               "namespace-default-deny policies would be ignored")
    if at(p, "releaseChannel.channel", "UNSPECIFIED") == "UNSPECIFIED":
        report("no release channel: the control plane and nodes miss security patches")


@resource_policy(
    "k8s-control-plane-logging",
    description="Control-plane logs are on: EKS sends api, audit, authenticator, controllerManager and scheduler "
                "logs; GKE keeps Cloud Logging and Cloud Monitoring with system components.",
    types=(EKS_CLUSTER, GKE_CLUSTER), severity=Severity.HIGH, concern="compute",
    remediation="EKS: enabledClusterLogTypes with all five types. GKE: do not set loggingService/monitoringService "
                "to 'none'; keep SYSTEM_COMPONENTS in loggingConfig/monitoringConfig.enableComponents.",
    url="https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html",
    checkov=("CKV_AWS_37", "CKV_GCP_1", "CKV_GCP_8"), cis=(*EKS("2.1.1"), *GKE("5.7.1")))
def k8s_control_plane_logging(args, report, settings):
    p = args.props
    if args.resource_type == EKS_CLUSTER:
        enabled = {str(t) for t in items(at(p, "enabledClusterLogTypes", []))}
        missing = [t for t in EKS_LOG_TYPES if t not in enabled]
        if missing:
            report(f"control-plane log types off: {', '.join(missing)} (audit logs are the record of who did what)")
        return
    for key in ("loggingService", "monitoringService"):
        if at(p, key) == "none":
            report(f"{key} is 'none'")
    for key in ("loggingConfig", "monitoringConfig"):
        components = at(p, f"{key}.enableComponents")
        if components is not None and "SYSTEM_COMPONENTS" not in [str(c) for c in items(components)]:
            report(f"{key}.enableComponents leaves out SYSTEM_COMPONENTS")


@resource_policy(
    "container-registry-hardened",
    description="Container registries keep tags immutable and scan images on push (ECR); Artifact Registry Docker "
                "repositories keep tags immutable.",
    types=(ECR_REPOSITORY, ARTIFACT_REPOSITORY), severity=Severity.MEDIUM, concern="compute",
    remediation="ECR: imageTagMutability IMMUTABLE and imageScanningConfiguration.scanOnPush=true. Artifact "
                "Registry: dockerConfig.immutableTags=true.",
    url="https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html",
    checkov=("CKV_AWS_51", "CKV_AWS_163"), cis=(*EKS("5.1.1"), *GKE("5.1.1")))
def container_registry_hardened(args, report, settings):
    p = args.props
    if args.resource_type == ECR_REPOSITORY:
        if not str(at(p, "imageTagMutability", "MUTABLE")).startswith("IMMUTABLE"):
            report("image tags are mutable: a pinned tag can be overwritten with another image")
        if at(p, "imageScanningConfiguration.scanOnPush") is not True:
            report("images are not scanned on push")
    elif str(at(p, "format", "")).upper() == "DOCKER" and at(p, "dockerConfig.immutableTags") is not True:
        report("dockerConfig.immutableTags is not true: a pinned tag can be overwritten")


POLICIES = [gke_node_hardening, gke_control_plane_hardening, k8s_control_plane_logging, container_registry_hardened]
