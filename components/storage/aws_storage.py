"""S3 buckets per data class and the FSx for Lustre hot tier of one AWS region (pulumi-aws v7 resources).
Notes: docs/architecture.md, "Storage"."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec, Region
from blueprint.spec.names import DATA_CLASSES, DATASETS, HOT_SHARE, bucket_name
from components.aws.kms import rotating_key
from components.compute import RegionalCompute
from components.storage.lifecycle import rules_for, s3_rules

LUSTRE_PORTS = [(988, 988), (1018, 1023)]
REPOSITORY = DATASETS  # the bucket the file system links (data repository association)


def s3_bucket(name: str, spec: PlatformSpec, region: Region, data_class: str, key: aws.kms.Key,
              opts: pulumi.ResourceOptions) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
    storage = region.storage
    assert storage is not None
    bucket = aws.s3.Bucket(name, bucket=bucket_name(spec, region, data_class),
                           force_destroy=storage.force_destroy and not spec.is_production,
                           tags=spec.aws_tags(**{"data-class": data_class}), opts=opts)
    aws.s3.BucketOwnershipControls(name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"},
                                   opts=opts)
    aws.s3.BucketPublicAccessBlock(name, bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                                   ignore_public_acls=True, restrict_public_buckets=True, opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        name, bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                            "kms_master_key_id": key.arn},
                "bucket_key_enabled": True}], opts=opts)
    versioning = aws.s3.BucketVersioning(name, bucket=bucket.id, versioning_configuration={"status": "Enabled"},
                                         opts=opts)
    aws.s3.BucketLifecycleConfiguration(name, bucket=bucket.id,
                                        rules=s3_rules(rules_for(data_class, storage.lifecycle), storage.lifecycle),
                                        opts=opts)
    return bucket, versioning


class AwsStorage(pulumi.ComponentResource):
    """``aiplatform:storage:AwsStorage``: one region's S3 buckets, storage key and optional FSx hot tier."""

    buckets: dict[str, aws.s3.Bucket]
    key: aws.kms.Key
    lustre: aws.fsx.LustreFileSystem | None

    def __init__(self, name: str, spec: PlatformSpec, region: Region, compute: RegionalCompute,
                 opts: pulumi.ResourceOptions):
        super().__init__("aiplatform:storage:AwsStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=compute.cloud_provider)
        hot = region.storage.hot if region.storage else None
        lustre = hot is not None and hot.kind == "fsx-lustre"
        self.key = rotating_key(f"{name}-key", spec, region.region, "object storage and file systems", child,
                                fsx_buckets=[bucket_name(spec, region, REPOSITORY)] if lustre else None)
        made = {c: s3_bucket(f"{name}-{c}", spec, region, c, self.key, child) for c in DATA_CLASSES}
        self.buckets = {c: bucket for c, (bucket, _) in made.items()}
        self.versioning = {c: versioning for c, (_, versioning) in made.items()}
        self.lustre = None
        if lustre:
            self.lustre = self._lustre(name, spec, region, compute, child)
        self.register_outputs({"buckets": {c: b.bucket for c, b in self.buckets.items()},
                               "fileSystemId": self.lustre.id if self.lustre else None})

    def _lustre(self, name: str, spec: PlatformSpec, region: Region, compute: RegionalCompute,
                child: pulumi.ResourceOptions) -> aws.fsx.LustreFileSystem:
        hot = region.storage.hot  # type: ignore[union-attr]
        sg = aws.ec2.SecurityGroup(
            f"{name}-lustre", vpc_id=compute.network_id, description="Lustre clients inside the VPC",
            ingress=[{"protocol": "tcp", "from_port": lo, "to_port": hi, "cidr_blocks": [str(compute.addresses.block)]}
                     for lo, hi in LUSTRE_PORTS],
            egress=[{"protocol": "tcp", "from_port": lo, "to_port": hi, "cidr_blocks": [str(compute.addresses.block)]}
                    for lo, hi in LUSTRE_PORTS],
            tags=spec.aws_tags(Name=f"{name}-lustre"), opts=child)
        fs = aws.fsx.LustreFileSystem(
            f"{name}-lustre", deployment_type="PERSISTENT_2", storage_type="SSD", storage_capacity=hot.capacity_gib,
            per_unit_storage_throughput=hot.throughput_per_tib, kms_key_id=self.key.arn,
            subnet_ids=compute.private_subnet_ids[0], security_group_ids=[sg.id],
            data_compression_type="LZ4", file_system_type_version="2.15",
            # FSx backs up no file system linked to S3 (LustreGuide/using-backups-fsx.html: "persistent file systems
            # that are not linked to an Amazon S3 durable data repository"), and this one always is: the versioned,
            # KMS-encrypted dataset bucket behind the association is the durable copy
            automatic_backup_retention_days=0,
            tags=spec.aws_tags(), opts=child)
        aws.fsx.DataRepositoryAssociation(
            f"{name}-datasets", file_system_id=fs.id, file_system_path=f"/{HOT_SHARE}",
            data_repository_path=self.buckets[REPOSITORY].bucket.apply(lambda b: f"s3://{b}/"),
            batch_import_meta_data_on_create=True,
            s3={"auto_import_policy": {"events": ["NEW", "CHANGED", "DELETED"]},
                "auto_export_policy": {"events": ["NEW", "CHANGED", "DELETED"]}},
            tags=spec.aws_tags(), opts=child)
        return fs
