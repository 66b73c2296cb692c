"""``aiplatform:aws:Account``: account-wide IAM the regions rely on: the service-linked roles their keys name.

Adopted when the account already has them, created otherwise (docs/first-deployment.md, "AWS service-linked roles").
"""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec

# Service-linked roles a KMS key policy names as a principal: IAM refuses a policy naming a role that does not
# exist yet, so these must exist before the key. AWS creates the others this platform uses (EKS, EKS node groups,
# Elastic Load Balancing, FSx, Transit Gateway, Global Accelerator) itself on first use, and nothing names them.
KEY_POLICY_ROLES = {
    # EC2 Auto Scaling launches EKS managed nodes; with a customer managed key on their volumes its role must be
    # allowed in the key policy (docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html)
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling",
}
# What IAM sets on a service-linked role and may set differently from this program; never a reason to replace it.
ADOPTED_FIELDS = ["description", "customSuffix", "tags", "tagsAll"]


def role_arn(account: str, service: str) -> str:
    return f"arn:aws:iam::{account}:role/aws-service-role/{service}/{KEY_POLICY_ROLES[service]}"


class AwsAccount(pulumi.ComponentResource):
    """The service-linked roles of ``KEY_POLICY_ROLES``, declared once per stack with an account-wide provider.

    A role the account already has is adopted (Pulumi ``import``), one it lacks is created; either way the program
    declares the same resource, so the second ``up`` is a no-op, and ``retain_on_delete`` keeps ``destroy`` from
    removing a role other workloads of the account use.
    """

    def __init__(self, spec: PlatformSpec, home_region: str, opts: pulumi.ResourceOptions | None = None):
        name = f"aws-{spec.environment}-account"
        super().__init__("aiplatform:aws:Account", name, None, opts)
        self.provider = aws.Provider(name, region=home_region, default_tags={"tags": spec.aws_tags()},
                                     opts=pulumi.ResourceOptions(parent=self))
        self.service_linked_roles: dict[str, aws.iam.ServiceLinkedRole] = {}
        for service in KEY_POLICY_ROLES:
            existing = aws.iam.get_roles(path_prefix=f"/aws-service-role/{service}/",
                                         opts=pulumi.InvokeOptions(parent=self, provider=self.provider))
            arn = next(iter(existing.arns or []), None)
            self.service_linked_roles[service] = aws.iam.ServiceLinkedRole(
                f"{name}-{service.split('.')[0]}", aws_service_name=service,
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider, import_=arn, retain_on_delete=True,
                                            ignore_changes=ADOPTED_FIELDS))
        self.register_outputs({"serviceLinkedRoles": {s: r.arn for s, r in self.service_linked_roles.items()}})
