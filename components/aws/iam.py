"""Small IAM helpers shared by the AWS components: service roles and IRSA trust policies."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec
from components.compute.base import after


@dataclass(frozen=True)
class ServiceRole:
    """A role and the policies attached to it; ``arn`` waits for the policies: a service that assumes a role
    before its policy is attached fails, or starts without its permissions."""

    role: aws.iam.Role
    policies: list[pulumi.Resource]

    @property
    def arn(self) -> pulumi.Output[str]:
        return after(self.role.arn, self.policies)

    @property
    def name(self) -> pulumi.Output[str]:
        return self.role.name


def service_role(name: str, service: str, spec: PlatformSpec, managed_policy_arns: list[str],
                 opts: pulumi.ResourceOptions) -> ServiceRole:
    """A role an AWS service assumes, with AWS-managed policies attached as separate resources."""
    role = aws.iam.Role(name, assume_role_policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service},
                       "Action": ["sts:AssumeRole", "sts:TagSession"]}]}), tags=spec.aws_tags(), opts=opts)
    attachments = [aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn,
                                                opts=opts) for arn in managed_policy_arns]
    return ServiceRole(role, attachments)


def irsa_trust_policy(oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str],
                      namespace: str, service_account: str) -> pulumi.Output[str]:
    """Trust for exactly one Kubernetes service account through the cluster's OIDC provider (IRSA)."""
    return pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(lambda v: json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": v[0]}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{v[1]}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                           f"{v[1]}:aud": "sts.amazonaws.com"}}}]}))


def irsa_role(name: str, spec: PlatformSpec, oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str],
              namespace: str, service_account: str, opts: pulumi.ResourceOptions) -> aws.iam.Role:
    return aws.iam.Role(name, assume_role_policy=irsa_trust_policy(oidc_provider_arn, oidc_issuer, namespace,
                                                                   service_account),
                        tags=spec.aws_tags(), opts=opts)
