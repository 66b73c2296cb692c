"""A customer-managed, rotating KMS key per region and purpose (cluster secrets, logs, node volumes)."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec


def autoscaling_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def rotating_key(name: str, spec: PlatformSpec, region: str, purpose: str,
                 opts: pulumi.ResourceOptions) -> aws.kms.Key:
    """A symmetric key with yearly rotation whose policy lets the account and CloudWatch Logs in `region` use it.

    CloudWatch Logs needs an explicit grant in the key policy to encrypt log groups; everything else is granted
    through IAM by the account root statement (the AWS default).
    """
    account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=opts.parent,
                                                                             provider=opts.provider))
    policy = account.account_id.apply(lambda acct: json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AccountAdmin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "CloudWatchLogs", "Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
             "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
             "Resource": "*",
             "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{acct}:*"}}},
            # Node groups launch through Auto Scaling, whose service-linked role must use the key for the
            # encrypted root volumes, or instances fail to start.
            {"Sid": "AutoScalingVolumes", "Effect": "Allow", "Principal": {"AWS": autoscaling_role(acct)},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
             "Resource": "*"},
            {"Sid": "AutoScalingGrants", "Effect": "Allow", "Principal": {"AWS": autoscaling_role(acct)},
             "Action": "kms:CreateGrant", "Resource": "*", "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}}},
        ]}))
    key = aws.kms.Key(name, description=f"{spec.environment} {region}: {purpose}", enable_key_rotation=True,
                      rotation_period_in_days=365, deletion_window_in_days=30, policy=policy,
                      tags=spec.aws_tags(purpose=purpose), opts=opts)
    aws.kms.Alias(f"{name}-alias", name=f"alias/{spec.prefix}-{name}",
                  target_key_id=key.key_id, opts=opts)
    return key
