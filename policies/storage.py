"""Storage guardrails: customer-managed encryption at rest, no public buckets, versioning, lifecycle rules."""
from __future__ import annotations

from pulumi_policy import Severity

from policies._framework import at, items, peek, present, resource_policy, truthy

S3_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ACL = "aws:s3/bucketAcl:BucketAcl"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding")
FSX_LUSTRE = "aws:fsx/lustreFileSystem:LustreFileSystem"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EBS_VOLUME = "aws:ebs/volume:Volume"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
FILESTORE = "gcp:filestore/instance:Instance"
VERSIONED_CLASSES = ("checkpoints", "models")  # the data a bad write or delete must not destroy
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


@resource_policy(
    "storage-encrypted-cmk",
    description="Storage is encrypted at rest with a customer-managed key (S3, GCS, FSx, EBS, Filestore, "
                "EKS secrets, GKE etcd).",
    types=(S3_SSE, GCS_BUCKET, FSX_LUSTRE, LAUNCH_TEMPLATE, EBS_VOLUME, EKS_CLUSTER, GKE_CLUSTER, FILESTORE),
    severity=Severity.HIGH, concern="storage",
    remediation="Pass the region's KMS key: SSE-KMS with kmsMasterKeyId, GCS encryption.defaultKmsKeyName, FSx "
                "and EBS kmsKeyId (encrypted=true), EKS encryptionConfig for secrets, GKE databaseEncryption.",
    url="https://docs.aws.amazon.com/wellarchitected/latest/security-pillar/sec_protect_data_rest_encrypt.html")
def storage_encrypted_cmk(args, report, settings):
    p, t = args.props, args.resource_type
    if t == S3_SSE:
        rules = items(at(p, "rules", []))
        ok = [r for r in rules if str(at(r, "applyServerSideEncryptionByDefault.sseAlgorithm", "")).startswith("aws:kms")
              and present(r, "applyServerSideEncryptionByDefault.kmsMasterKeyId")]
        if not ok:
            report("bucket default encryption is not SSE-KMS with a customer-managed key (kmsMasterKeyId)")
    elif t == GCS_BUCKET:
        if not present(p, "encryption.defaultKmsKeyName"):
            report("bucket has no encryption.defaultKmsKeyName (CMEK)")
    elif t in (FSX_LUSTRE, FILESTORE):
        key = "kmsKeyId" if t == FSX_LUSTRE else "kmsKeyName"
        if not present(p, key):
            report(f"file system has no {key}: it would use a service-managed key")
    elif t == LAUNCH_TEMPLATE:
        for i, bdm in enumerate(items(at(p, "blockDeviceMappings", []))):
            if not truthy(at(bdm, "ebs.encrypted")) or not present(bdm, "ebs.kmsKeyId"):
                report(f"blockDeviceMappings[{i}] ({at(bdm, 'deviceName', '?')}) is not encrypted with a KMS key")
    elif t == EBS_VOLUME:
        if not truthy(at(p, "encrypted")) or not present(p, "kmsKeyId"):
            report("volume is not encrypted with a customer-managed KMS key")
    elif t == EKS_CLUSTER:
        resources = [str(r) for r in items(at(p, "encryptionConfig.resources", []))]
        if "secrets" not in resources or not present(p, "encryptionConfig.provider.keyArn"):
            report("Kubernetes secrets are not envelope-encrypted with a KMS key (encryptionConfig)")
    elif t == GKE_CLUSTER:
        if at(p, "databaseEncryption.state") != "ENCRYPTED" or not present(p, "databaseEncryption.keyName"):
            report("etcd application-layer secrets encryption (databaseEncryption) is not ENCRYPTED with a KMS key")


@resource_policy(
    "storage-no-public-access",
    description="Buckets are never public: S3 public access block fully on, GCS public access prevention "
                "enforced, no public ACLs or allUsers grants.",
    types=(S3_PAB, S3_ACL, GCS_BUCKET) + GCS_IAM, severity=Severity.CRITICAL, concern="storage",
    remediation="Set all four S3 public-access-block flags to true; set GCS publicAccessPrevention='enforced' "
                "and uniform bucket-level access; share data with IAM roles instead of allUsers.",
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html")
def storage_no_public_access(args, report, settings):
    p, t = args.props, args.resource_type
    if t == S3_PAB:
        off = [f for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
               if not truthy(at(p, f))]
        if off:
            report(f"public access block leaves {', '.join(off)} off")
    elif t == S3_ACL:
        if str(at(p, "acl", "")).startswith("public") or str(at(p, "acl", "")) == "authenticated-read":
            report(f"bucket ACL '{at(p, 'acl')}' makes objects public")
    elif t == GCS_BUCKET:
        if at(p, "publicAccessPrevention") != "enforced":
            report("publicAccessPrevention is not 'enforced'")
        if at(p, "uniformBucketLevelAccess") is not True:
            report("uniformBucketLevelAccess is off: object ACLs could make objects public")
    else:
        # Computed members (service accounts known only after apply) cannot be allUsers; read without the check.
        members = [peek(p, "member")] + list(peek(p, "members") or [])
        public = [m for m in members if m in PUBLIC_MEMBERS]
        if public:
            report(f"grants {at(p, 'role')} to {', '.join(public)}")


@resource_policy(
    "storage-versioning-gcs",
    description="GCS checkpoint and model buckets keep object versions.",
    types=(GCS_BUCKET,), severity=Severity.HIGH, concern="storage",
    remediation="Set versioning.enabled=true on buckets labelled data-class=checkpoints or models "
                "(S3 buckets are checked by s3-bucket-companions).",
    url="https://cloud.google.com/storage/docs/object-versioning")
def storage_versioning_gcs(args, report, settings):
    data_class = peek(peek(args.props, "labels") or {}, "data-class")
    if data_class in VERSIONED_CLASSES and at(args.props, "versioning.enabled") is not True:
        report(f"{data_class} bucket without object versioning: one bad write or delete loses data")


@resource_policy(
    "storage-lifecycle-gcs",
    description="GCS buckets have lifecycle rules (tiering, noncurrent-version expiry, aborted uploads).",
    types=(GCS_BUCKET,), severity=Severity.MEDIUM, concern="storage",
    remediation="Add lifecycleRules (see components/storage/lifecycle.py for the per-data-class rules); "
                "S3 buckets are checked by s3-bucket-companions.",
    url="https://cloud.google.com/storage/docs/lifecycle")
def storage_lifecycle_gcs(args, report, settings):
    if not items(at(args.props, "lifecycleRules", [])):
        report("bucket has no lifecycle rules: noncurrent versions and old data accumulate at full price")


POLICIES = [storage_encrypted_cmk, storage_no_public_access, storage_versioning_gcs, storage_lifecycle_gcs]
