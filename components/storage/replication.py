"""``aiplatform:storage:ModelReplication``: model artifacts follow the serving regions, in every tier.
Notes: docs/architecture.md, "Storage"."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec, Region
from blueprint.spec.names import MODELS, bucket_name, s3_arn
from components.compute import after
from components.storage.aws_storage import AwsStorage


class ModelReplication(pulumi.ComponentResource):
    def __init__(self, spec: PlatformSpec, source: Region, source_storage: AwsStorage,
                 destinations: dict[str, tuple[Region, AwsStorage]], provider: pulumi.ProviderResource,
                 opts: pulumi.ResourceOptions | None = None):
        name = f"aws-{source.region}-model-replication"
        super().__init__("aiplatform:storage:ModelReplication", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        src = bucket_name(spec, source, MODELS)
        dests = {key: bucket_name(spec, region, MODELS) for key, (region, _) in destinations.items()}
        role = aws.iam.Role(name, assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            tags=spec.aws_tags(), opts=child)
        s3 = aws.iam.RolePolicy(f"{name}-s3", role=role.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
             "Resource": [s3_arn(src)]},
            {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                                           "s3:GetObjectVersionTagging"], "Resource": [s3_arn(src, "*")]},
            {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
             "Resource": [s3_arn(b, "*") for b in dests.values()]},
        ]}), opts=child)
        keys = [source_storage.key.arn] + [s.key.arn for _, s in destinations.values()]
        kms = aws.iam.RolePolicy(f"{name}-kms", role=role.id, policy=pulumi.Output.all(*keys).apply(lambda arns: json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [arns[0]]},
                {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"], "Resource": list(arns[1:])}]})),
            opts=child)
        aws.s3.BucketReplicationConfig(
            name, bucket=source_storage.buckets[MODELS].id, role=after(role.arn, [s3, kms]),
            rules=[{"id": f"to-{key.replace('/', '-')}", "status": "Enabled", "priority": i, "filter": {"prefix": ""},
                    "delete_marker_replication": {"status": "Enabled"},
                    "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                    "destination": {"bucket": s3_arn(dests[key]), "storage_class": "STANDARD",
                                    "encryption_configuration": {"replica_kms_key_id": storage.key.arn}}}
                   for i, (key, (_, storage)) in enumerate(sorted(destinations.items()))],
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[
                source_storage.versioning[MODELS], *[s.versioning[MODELS] for _, s in destinations.values()]]))
        self.register_outputs({"destinations": sorted(dests.values())})
