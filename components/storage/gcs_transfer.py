"""``aiplatform:storage:ModelTransferToGcs``: production models exported to S3 reach the GCP serving regions.
Notes: docs/architecture.md, "Storage"."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec, Region
from blueprint.spec.names import MODELS, bucket_name, s3_arn
from components.gcp.project import GcpProject

REPEAT_INTERVAL = "3600s"  # the shortest interval Storage Transfer Service accepts: a new model arrives within an hour
# A fixed first day, so plans do not change with the clock; a past date starts the hourly runs the next day.
SCHEDULE_START = {"year": 2026, "month": 1, "day": 1}
# Sink roles on the destination bucket only (cloud.google.com/storage-transfer/docs/sink-cloud-storage): bucket
# location, object create/delete/list (legacyBucketWriter), and object reads to compare before overwriting.
SINK_ROLES = ("roles/storage.legacyBucketWriter", "roles/storage.legacyObjectReader")


def transfer_trust_policy(subject_id: str) -> str:
    """Only the project's Storage Transfer service account may assume the role (web identity federation)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "accounts.google.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"accounts.google.com:sub": subject_id}}}]})


def transfer_s3_policy(source_bucket: str, prefix: str) -> dict:
    """Read-only on the model prefix of the source bucket: list it, locate the bucket, get its objects."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ListModelPrefix", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [s3_arn(source_bucket)],
         "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}},
        {"Sid": "LocateBucket", "Effect": "Allow", "Action": ["s3:GetBucketLocation"],
         "Resource": [s3_arn(source_bucket)]},
        {"Sid": "ReadModels", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [s3_arn(source_bucket, f"{prefix}*")]},
    ]}


def transfer_kms_policy(key_arn: str) -> str:
    """Decrypt only, with only the source bucket's key (SSE-KMS objects)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key_arn]}]})


class ModelTransferToGcs(pulumi.ComponentResource):
    """One S3 -> GCS model transfer: the AWS role, the sink grants and the hourly transfer job.

    ``prefix``: the model key prefix, ending in "/" (``components.k8s.common.model_prefix``).
    """

    def __init__(self, spec: PlatformSpec, source: Region, source_key_arn: pulumi.Input[str],
                 aws_provider: pulumi.ProviderResource, destination: Region, destination_bucket: gcp.storage.Bucket,
                 gcp_provider: pulumi.ProviderResource, gcp_project: GcpProject, prefix: str,
                 opts: pulumi.ResourceOptions | None = None):
        """``gcp_project``: the project bootstrap, whose Storage Transfer agent the job runs as."""
        assert prefix.endswith("/") and not prefix.startswith("/"), prefix
        name = f"aws-{source.region}-models-to-gcp-{destination.region}"
        super().__init__("aiplatform:storage:ModelTransferToGcs", name, None, opts)
        on_aws = pulumi.ResourceOptions(parent=self, provider=aws_provider)
        on_gcp = pulumi.ResourceOptions(parent=self, provider=gcp_provider)
        # the lookup creates the agent, once the API is on; the sink grants name it only after that
        transfer_agent, agent = gcp_project.transfer_agent()
        src = bucket_name(spec, source, MODELS)

        role = aws.iam.Role(name, description=f"Storage Transfer Service reads s3://{src}/{prefix}",
                            assume_role_policy=agent.subject_id.apply(transfer_trust_policy),
                            tags=spec.aws_tags(), opts=on_aws)
        s3 = aws.iam.RolePolicy(f"{name}-s3", role=role.id, policy=json.dumps(transfer_s3_policy(src, prefix)),
                                opts=on_aws)
        kms = aws.iam.RolePolicy(f"{name}-kms", role=role.id,
                                 policy=pulumi.Output.from_input(source_key_arn).apply(transfer_kms_policy),
                                 opts=on_aws)
        sink = [gcp.storage.BucketIAMMember(f"{name}-{role_name.split('.')[-1]}", bucket=destination_bucket.name,
                                            role=role_name, member=transfer_agent.member,
                                            opts=pulumi.ResourceOptions.merge(on_gcp, pulumi.ResourceOptions(
                                                depends_on=transfer_agent.after)))
                for role_name in SINK_ROLES]

        self.job = gcp.storage.TransferJob(
            name, project=spec.gcp_project,
            description=f"{spec.environment} models {prefix} from {source.key} to {destination.key}",
            transfer_spec={
                "aws_s3_data_source": {"bucket_name": src, "path": prefix, "role_arn": role.arn},
                "gcs_data_sink": {"bucket_name": destination_bucket.name, "path": prefix},
                "transfer_options": {"overwrite_when": "DIFFERENT", "delete_objects_unique_in_sink": False},
            },
            schedule={"schedule_start_date": SCHEDULE_START, "repeat_interval": REPEAT_INTERVAL},
            opts=pulumi.ResourceOptions.merge(on_gcp, pulumi.ResourceOptions(depends_on=[s3, kms, *sink])))
        self.register_outputs({"source": f"s3://{src}/{prefix}", "roleArn": role.arn})
