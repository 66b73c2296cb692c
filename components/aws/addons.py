"""``aiplatform:aws:ClusterAddons``: what an EKS GPU cluster needs beyond the control plane.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from blueprint import catalog
from blueprint.catalog.charts import CHARTS
from blueprint.spec import Cloud, PlatformSpec, Region
from blueprint.spec.names import (
    ACCELERATOR_LABEL, EFA_NODE_LABEL, IRSA_ANNOTATION, KUBE_SYSTEM, MONITORING_NAMESPACE, system_nodes,
)
from components.aws.iam import irsa_role
from components.compute import after

# Installed before any node group (terraform-aws-eks `before_compute`): DaemonSets nodes need from their first boot.
BEFORE_COMPUTE_ADDONS = ["vpc-cni", "eks-pod-identity-agent"]
# Installed once the system nodes exist: CoreDNS is a Deployment, and an add-on whose pods cannot run stays
# DEGRADED, so its create fails (terraform-aws-eks creates these after its node groups). metrics-server serves the
# resource metrics API (metrics.k8s.io) CPU-based HorizontalPodAutoscalers and `kubectl top` read: EKS does not
# deploy it ("isn't deployed by default in Amazon EKS clusters", docs.aws.amazon.com/eks/latest/userguide/
# metrics-server.html), GKE does; its EKS add-on listens on 10251, open between the cluster security group's members.
AFTER_COMPUTE_ADDONS = ["coredns", "kube-proxy", "metrics-server"]
# EKS bootstraps self-managed vpc-cni, CoreDNS and kube-proxy in every new cluster; the managed add-on of the same
# name is CREATE_FAILED (ConfigurationConflict) unless it may overwrite them (terraform-aws-eks v20 default).
RESOLVE_CONFLICTS_ON_CREATE = "OVERWRITE"
# Add-on configuration (the schema of `aws eks describe-addon-configuration`): the VPC CNI's network policy agent
# is off by default, and without it EKS accepts NetworkPolicies (components/k8s) but enforces none of them.
ADDON_CONFIGURATION = {"vpc-cni": {"enableNetworkPolicy": "true"}}
CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"


def storage_addons(region: Region) -> list[str]:
    """CSI drivers the region's static volumes use (components/storage/k8s_storage.py): Mountpoint for S3 for the
    dataset bucket, FSx for Lustre for the hot tier. Both use the mounting pod's or no AWS identity for static
    volumes, so neither gets a role of its own."""
    if region.storage is None:
        return []
    hot = region.storage.hot
    return ["aws-mountpoint-s3-csi-driver"] + (["aws-fsx-csi-driver"] if hot and hot.kind == "fsx-lustre" else [])


def gpu_tolerations(region: Region) -> list[dict[str, str]]:
    """Tolerations for the GPU pools' taints, taken from the spec so daemon sets land on every GPU node."""
    taints = {(p.taint.key, p.taint.value, p.taint.effect): p.taint for p in region.gpu_pools}
    return [taints[k].toleration() for k in sorted(taints)]


def autoscaler_policy(cluster_name: str) -> str:
    """Describe calls cannot be scoped; changing capacity is limited to ASGs tagged as this cluster's."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Resource": "*", "Action": [
            "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
            "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
            "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
            "eks:DescribeNodegroup"]},
        {"Effect": "Allow", "Resource": "*",
         "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}}},
    ]})


def managed_addon(name: str, spec: PlatformSpec, cluster: aws.eks.Cluster, addon: str, opts: pulumi.ResourceOptions,
                  service_account_role_arn: pulumi.Input[str] | None = None) -> aws.eks.Addon:
    config = ADDON_CONFIGURATION.get(addon)
    return aws.eks.Addon(f"{name}-{addon}", cluster_name=cluster.name, addon_name=addon,
                         configuration_values=json.dumps(config) if config is not None else None,
                         service_account_role_arn=service_account_role_arn,
                         resolve_conflicts_on_create=RESOLVE_CONFLICTS_ON_CREATE,
                         resolve_conflicts_on_update="OVERWRITE", tags=spec.aws_tags(), opts=opts)


def node_prerequisites(name: str, spec: PlatformSpec, cluster: aws.eks.Cluster,
                       opts: pulumi.ResourceOptions) -> list[aws.eks.Addon]:
    """The add-ons node groups wait for (``BEFORE_COMPUTE_ADDONS``)."""
    return [managed_addon(f"{name}-addons", spec, cluster, addon, opts) for addon in BEFORE_COMPUTE_ADDONS]


class ClusterAddons(pulumi.ComponentResource):
    def __init__(self, name: str, spec: PlatformSpec, region: Region, *, cluster: aws.eks.Cluster, cluster_name: str,
                 oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str],
                 k8s_provider: k8s.Provider, depends_on: list[pulumi.Resource], opts: pulumi.ResourceOptions):
        super().__init__("aiplatform:aws:ClusterAddons", name, None, opts)
        aws_child = pulumi.ResourceOptions(parent=self, provider=opts.provider, depends_on=depends_on)
        k8s_child = pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=depends_on)

        for addon in AFTER_COMPUTE_ADDONS + storage_addons(region):
            managed_addon(name, spec, cluster, addon, aws_child)
        ebs_role = irsa_role(f"{name}-ebs-csi", spec, oidc_provider_arn, oidc_issuer, KUBE_SYSTEM,
                             "ebs-csi-controller-sa", aws_child)
        ebs_policy = aws.iam.RolePolicyAttachment(
            f"{name}-ebs-csi", role=ebs_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy", opts=aws_child)
        managed_addon(name, spec, cluster, "aws-ebs-csi-driver", aws_child,
                      service_account_role_arn=after(ebs_role.arn, [ebs_policy]))

        tolerations = gpu_tolerations(region)
        gpu_nodes = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": ACCELERATOR_LABEL, "operator": "Exists"}]}]}}}
        self._chart("nvidia-device-plugin", name, KUBE_SYSTEM, k8s_child,
                    {"tolerations": tolerations, "affinity": gpu_nodes,
                     "gfd": {"enabled": True}, "priorityClassName": "system-node-critical"})
        self._chart("dcgm-exporter", name, MONITORING_NAMESPACE, k8s_child,
                    {"tolerations": tolerations, "affinity": gpu_nodes,
                     # scraped by a PodMonitor declared once the Prometheus operator's CRDs exist
                     # (components/k8s/cluster_services.py); a ServiceMonitor here would fail before they do
                     "serviceMonitor": {"enabled": False}})

        if any(p.uses_efa(Cloud.aws) for p in region.gpu_pools):
            # Pods on EFA pools request vpc.amazonaws.com/efa; this plugin advertises it on EFA nodes.
            self._chart("aws-efa-k8s-device-plugin", name, KUBE_SYSTEM, k8s_child,
                        {"tolerations": tolerations, "nodeSelector": {EFA_NODE_LABEL: "true"}})

        ca_role = irsa_role(f"{name}-cluster-autoscaler", spec, oidc_provider_arn, oidc_issuer, KUBE_SYSTEM,
                            "cluster-autoscaler", aws_child)
        ca_policy = aws.iam.RolePolicy(f"{name}-cluster-autoscaler", role=ca_role.id,
                                       policy=autoscaler_policy(cluster_name), opts=aws_child)
        release = catalog.cluster_autoscaler(region.kubernetes_version)
        assert release is not None, "validated spec: a cluster autoscaler release for the cluster's minor"
        self._chart("cluster-autoscaler", name, KUBE_SYSTEM, k8s_child, {
            "autoDiscovery": {"clusterName": cluster_name}, "awsRegion": region.region,
            # the chart of the cluster's minor (its RBAC), and that minor's newest patch image
            "image": {"repository": CLUSTER_AUTOSCALER_IMAGE, "tag": release.image},
            "rbac": {"serviceAccount": {"name": "cluster-autoscaler",
                                        "annotations": {IRSA_ANNOTATION:
                                                        after(ca_role.arn, [ca_policy])}}},
            "extraArgs": {"balance-similar-node-groups": "true", "skip-nodes-with-system-pods": "false",
                          "expander": "least-waste", "scale-down-unneeded-time": "10m"},
            "nodeSelector": system_nodes(),
        }, version=release.chart)
        self.register_outputs({})

    def _chart(self, chart: str, name: str, namespace: str, opts: pulumi.ResourceOptions, values: dict,
               version: str | None = None) -> None:
        k8s.helm.v3.Release(f"{name}-{chart}", name=chart, **CHARTS[chart].release_args(version), namespace=namespace,
                            create_namespace=True, values=values, opts=opts)
