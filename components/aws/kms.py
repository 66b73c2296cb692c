"""A customer-managed, rotating KMS key per region and purpose (cluster secrets, logs, volumes; object storage)."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec
from components.aws.account import role_arn

KEY_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
# FSx for Lustre reads and writes a linked bucket as AWSServiceRoleForFSxS3Access_<file system id>, which exists only
# once the file system does (docs.aws.amazon.com/fsx/latest/LustreGuide/s3-server-side-encryption-support.html)
FSX_S3_ROLE_PATH = "role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/AWSServiceRoleForFSxS3Access_"


def key_policy(account: str, region: str, launchers: list[str], fsx_buckets: list[str] | None = None) -> dict:
    """The account (IAM decides), CloudWatch Logs of ``region``, the service-linked roles in ``launchers``
    (services such as ``autoscaling.amazonaws.com`` that launch instances whose volumes use the key), and FSx for
    Lustre's S3 access for the ``fsx_buckets`` linked to a file system."""
    statements = [
        {"Sid": "AccountAdmin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchLogs", "Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:*"}}},
    ]
    if launchers:
        # docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html, example 1
        roles = [role_arn(account, s) for s in launchers]
        statements += [
            {"Sid": "AutoScalingVolumes", "Effect": "Allow", "Principal": {"AWS": roles}, "Action": KEY_USE,
             "Resource": "*"},
            {"Sid": "AutoScalingGrants", "Effect": "Allow", "Principal": {"AWS": roles}, "Action": "kms:CreateGrant",
             "Resource": "*", "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}}},
        ]
    if fsx_buckets:
        # The documented statement names the role of one file system; its id is unknown before the file system
        # exists, so the role is matched by its path, through S3, for the linked buckets only (S3 Bucket Keys are
        # on: the encryption context is the bucket ARN).
        statements.append({
            "Sid": "FsxDataRepository", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": KEY_USE,
            "Resource": "*", "Condition": {
                "StringEquals": {"kms:CallerAccount": account, "kms:ViaService": f"s3.{region}.amazonaws.com"},
                "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{account}:{FSX_S3_ROLE_PATH}*"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": [
                    arn for b in fsx_buckets for arn in (f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*")]}}})
    return {"Version": "2012-10-17", "Statement": statements}


def rotating_key(name: str, spec: PlatformSpec, region: str, purpose: str, opts: pulumi.ResourceOptions,
                 launchers: dict[str, aws.iam.ServiceLinkedRole] | None = None,
                 fsx_buckets: list[str] | None = None) -> aws.kms.Key:
    """A symmetric key with yearly rotation whose policy lets the account and CloudWatch Logs in `region` use it.

    ``launchers``: service -> its service-linked role, for keys on volumes those services launch (node groups
    through Auto Scaling). The policy names the roles, and IAM rejects a policy naming a role that does not exist,
    so the key waits for them. ``fsx_buckets``: buckets the key encrypts that FSx for Lustre links. Everything
    else uses the key through IAM (the account root statement).
    """
    launchers = launchers or {}
    account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=opts.parent,
                                                                             provider=opts.provider))
    policy = account.account_id.apply(lambda acct: json.dumps(key_policy(acct, region, sorted(launchers),
                                                                         fsx_buckets)))
    key = aws.kms.Key(name, description=f"{spec.environment} {region}: {purpose}", enable_key_rotation=True,
                      rotation_period_in_days=365, deletion_window_in_days=30, policy=policy,
                      tags=spec.aws_tags(purpose=purpose),
                      opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                          depends_on=list(launchers.values()))))
    aws.kms.Alias(f"{name}-alias", name=f"alias/{spec.prefix}-{name}",
                  target_key_id=key.key_id, opts=opts)
    return key
