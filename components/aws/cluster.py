"""``aiplatform:aws:EksCluster``: a private EKS control plane with envelope encryption, logging and IRSA.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from blueprint.spec import PlatformSpec, Region
from blueprint.spec.names import cluster_name
from components.access.endpoints import eks_kubeconfig, eks_vpc_config
from components.aws.iam import ServiceRole, service_role

CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
# The thumbprint of the root CA behind every regional EKS OIDC issuer; AWS no longer checks it for EKS issuers but
# the IAM API still requires one.
EKS_OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


def encryption_policy(key_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
        "Resource": key_arn}]})


class EksCluster(pulumi.ComponentResource):
    cluster: aws.eks.Cluster
    oidc_provider: aws.iam.OpenIdConnectProvider
    oidc_issuer: pulumi.Output[str]
    k8s_provider: k8s.Provider

    def __init__(self, name: str, spec: PlatformSpec, region: Region, subnet_ids: list[pulumi.Output[str]],
                 secrets_key: aws.kms.Key, opts: pulumi.ResourceOptions,
                 deployer_egress: list[pulumi.Input[str]] | None = None,
                 deployer_path: Callable[[aws.eks.Cluster], pulumi.Resource] | None = None):
        """``deployer_egress``: the runner subnet's NAT addresses (CIDRs), for a public-allowlist endpoint.
        ``deployer_path``: declares what opens the deployer's way to the new cluster's private endpoint (its 443
        rules, ``components/access/path.py``); the Kubernetes provider waits for it, its first call goes through it."""
        super().__init__("aiplatform:aws:EksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=opts.provider)
        self.cluster_name = cluster_name(spec, region)

        role = service_role(f"{name}-cluster", "eks.amazonaws.com", spec,
                            ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"], child)
        # EKS encrypts secrets as the cluster role; the key policy leaves its use to IAM (the account statement),
        # and AmazonEKSClusterPolicy grants no KMS (terraform-aws-eks main.tf, aws_iam_policy.cluster_encryption)
        encryption = aws.iam.RolePolicy(f"{name}-cluster-encryption", role=role.role.id,
                                        policy=secrets_key.arn.apply(encryption_policy), opts=child)
        role = ServiceRole(role.role, [*role.policies, encryption])
        logs = aws.cloudwatch.LogGroup(f"{name}-control-plane", name=f"/aws/eks/{self.cluster_name}/cluster",
                                       retention_in_days=90 if spec.is_production else 14,
                                       kms_key_id=secrets_key.arn, tags=spec.aws_tags(), opts=child)
        self.cluster = aws.eks.Cluster(
            name, name=self.cluster_name, version=region.kubernetes_version, role_arn=role.arn,
            vpc_config=eks_vpc_config(spec, region, subnet_ids, deployer_egress or []),
            encryption_config={"provider": {"key_arn": secrets_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=LOG_TYPES,
            # the creator is made admin by an explicit entry below, not by EKS's one-time bootstrap (terraform-aws-eks
            # main.tf: false, and its change ignored, as the field forces a new cluster)
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False},
            upgrade_policy={"support_type": "STANDARD"},
            deletion_protection=spec.is_production,
            tags=spec.aws_tags(), opts=pulumi.ResourceOptions(
                parent=self, provider=opts.provider, depends_on=[logs],
                ignore_changes=["accessConfig.bootstrapClusterCreatorAdminPermissions"]))

        issuer_url = self.cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"])
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer_url, client_id_lists=["sts.amazonaws.com"],
            thumbprint_lists=[EKS_OIDC_THUMBPRINT], tags=spec.aws_tags(), opts=child)
        self.oidc_issuer = issuer_url.apply(lambda url: url.removeprefix("https://"))

        admins = [("deployer", spec.access.deployer.aws_role_arn)] if spec.access.deployer.aws_role_arn else []
        admins += [(f"admin-{i}", arn) for i, arn in enumerate(spec.cluster_admin_role_arns)]
        grants = {key: self._cluster_admin(f"{name}-{key}", spec, arn, child) for key, arn in admins}

        # the provider's first call goes through the deployer's path and as the deployer's role, once it is admin
        path = [deployer_path(self.cluster)] if deployer_path is not None else []
        path += [grants["deployer"]] if "deployer" in grants else []
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=eks_kubeconfig(self.cluster.name, self.cluster.endpoint,
                                                 self.cluster.certificate_authority.data, region.region),
            enable_server_side_apply=True, opts=pulumi.ResourceOptions(parent=self, depends_on=path))
        self.register_outputs({"clusterName": self.cluster.name, "endpoint": self.cluster.endpoint,
                               "oidcProviderArn": self.oidc_provider.arn})

    def _cluster_admin(self, name: str, spec: PlatformSpec, role_arn: str,
                       opts: pulumi.ResourceOptions) -> aws.eks.AccessPolicyAssociation:
        """An access entry for the role and AmazonEKSClusterAdminPolicy on the whole cluster."""
        entry = aws.eks.AccessEntry(name, cluster_name=self.cluster.name, principal_arn=role_arn, type="STANDARD",
                                    tags=spec.aws_tags(), opts=opts)
        return aws.eks.AccessPolicyAssociation(
            name, cluster_name=self.cluster.name, principal_arn=entry.principal_arn, policy_arn=CLUSTER_ADMIN_POLICY,
            access_scope={"type": "cluster"}, opts=opts)
