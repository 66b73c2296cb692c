"""Storage guardrails: customer-managed encryption at rest, no public buckets or objects (by any ACL, grant, bucket
policy or IAM member, on current or deprecated types), versioning, lifecycle rules."""
from __future__ import annotations

import re

from pulumi_policy import Severity

from blueprint.spec.names import CHECKPOINTS, MODELS
from policies._documents import PUBLIC_MEMBERS, actions, iam_members, public_statement, statements
from policies._framework import at, falsy, items, peek, present, resource_policy, truthy
from policies._refs import AWS, EKS, GCP, GKE

S3_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ACCOUNT_PAB = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
S3_ACCESS_POINT = "aws:s3/accessPoint:AccessPoint"
S3_ACL = "aws:s3/bucketAcl:BucketAcl"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_OBJECTS = ("aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2",
              "aws:s3/objectCopy:ObjectCopy")
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding",
           "gcp:storage/bucketIAMPolicy:BucketIAMPolicy")
# Every storage IAM type (buckets, managed folders, ...): the SDK names them <Thing>IAMMember or <Thing>IamMember.
STORAGE_IAM = re.compile(r"^gcp:storage/[^:]+:[A-Za-z0-9]*(IAM|Iam)(Member|Binding|Policy)$")
GCS_ENTITY_ACLS = ("gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
                   "gcp:storage/bucketAccessControl:BucketAccessControl",
                   "gcp:storage/objectAccessControl:ObjectAccessControl")
GCS_ROLE_ACLS = ("gcp:storage/defaultObjectACL:DefaultObjectACL", "gcp:storage/bucketACL:BucketACL",
                 "gcp:storage/objectACL:ObjectACL")
FSX_LUSTRE = "aws:fsx/lustreFileSystem:LustreFileSystem"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EBS_VOLUME = "aws:ebs/volume:Volume"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
FILESTORE = "gcp:filestore/instance:Instance"
VERSIONED_CLASSES = (CHECKPOINTS, MODELS)  # the data a bad write or delete must not destroy
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_CANNED = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GCS_ACLS = ("publicRead", "publicReadWrite", "authenticatedRead")
PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers",
                   "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")


@resource_policy(
    "storage-encrypted-cmk",
    description="Storage is encrypted at rest with a customer-managed key (S3, GCS, FSx, EBS, Filestore, "
                "EKS secrets, GKE etcd).",
    types=(S3_SSE, GCS_BUCKET, FSX_LUSTRE, LAUNCH_TEMPLATE, EBS_VOLUME, EKS_CLUSTER, GKE_CLUSTER, FILESTORE),
    severity=Severity.HIGH, concern="storage",
    remediation="Pass the region's KMS key: SSE-KMS with kmsMasterKeyId, GCS encryption.defaultKmsKeyName, FSx "
                "and EBS kmsKeyId (encrypted=true), EKS encryptionConfig for secrets, GKE databaseEncryption.",
    url="https://docs.aws.amazon.com/wellarchitected/latest/security-pillar/sec_protect_data_rest_encrypt.html",
    checkov=("CKV_AWS_145", "CKV_AWS_189", "CKV_AWS_190", "CKV_AWS_58", "CKV_AWS_8"),
    cis=(*EKS("5.3.1"), *GKE("5.3.1")))
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


def _public_acl_grants(grants) -> list[str]:
    return [str(peek(peek(g, "grantee") or g, "uri") or "") for g in items(grants)
            if str(peek(peek(g, "grantee") or g, "uri") or "") in PUBLIC_GRANTEES]


def _s3_public(p, t, report) -> None:
    if t in (S3_PAB, S3_ACCOUNT_PAB):
        off = [f for f in PAB_FLAGS if not truthy(at(p, f))]
        if off:
            report(f"public access block leaves {', '.join(off)} off")
    if t == S3_ACCESS_POINT:
        off = [f for f in PAB_FLAGS if falsy(at(p, f"publicAccessBlockConfiguration.{f}"))]
        if off:
            report(f"access point public access block turns {', '.join(off)} off")
    if t in (S3_ACL, S3_BUCKET, *S3_OBJECTS):
        acl = str(at(p, "acl", "") or "")
        if acl in PUBLIC_CANNED:
            report(f"canned ACL '{acl}' makes the {'object' if t in S3_OBJECTS else 'bucket'} public")
        grants = at(p, "accessControlPolicy.grants", []) if t == S3_ACL else at(p, "grants", [])
        for uri in _public_acl_grants(grants):
            report(f"ACL grant to {uri.rsplit('/', 1)[-1]} makes the bucket public")
    if t in (S3_POLICY, S3_BUCKET, S3_ACCESS_POINT):
        for stmt in statements(peek(p, "policy")) or []:
            if public_statement(stmt):
                report(f"bucket policy allows {', '.join(actions(stmt)) or 'actions'} to any principal (Principal *) "
                       "without an organisation, account or VPC condition")


@resource_policy(
    "storage-no-public-access",
    description="Buckets and objects are never public: S3 public access block fully on, no public canned ACL, ACL "
                "grant or bucket policy (Bucket, BucketV2, BucketAcl, BucketAclV2, BucketPolicy, access points, "
                "objects); GCS public access prevention enforced, uniform access, and no allUsers or "
                "allAuthenticatedUsers in IAM members, bindings, policies or ACLs.",
    types=(S3_PAB, S3_ACCOUNT_PAB, S3_ACCESS_POINT, S3_ACL, S3_BUCKET, S3_POLICY, *S3_OBJECTS, GCS_BUCKET,
           *GCS_IAM, *GCS_ENTITY_ACLS, *GCS_ROLE_ACLS),
    matching=STORAGE_IAM, severity=Severity.CRITICAL, concern="storage", hard=True,
    remediation="Set all four S3 public-access-block flags to true and use bucket-owner-enforced ownership without "
                "ACLs; restrict bucket policies to principals of your organisation; set GCS "
                "publicAccessPrevention='enforced' and uniform bucket-level access; share data with IAM roles, "
                "never allUsers or allAuthenticatedUsers.",
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
    checkov=("CKV_AWS_20", "CKV_AWS_57", "CKV_AWS_70", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56",
             "CKV2_AWS_43", "CKV_AWS_392", "CKV_GCP_28", "CKV_GCP_114", "CKV_GCP_29"),
    cis=(*AWS("2.1.4"), *GCP("5.1", "5.2")))
def storage_no_public_access(args, report, settings):
    p, t = args.props, args.resource_type
    if t.startswith("aws:"):
        _s3_public(p, t, report)
    elif t == GCS_BUCKET:
        if at(p, "publicAccessPrevention") != "enforced":
            report("publicAccessPrevention is not 'enforced'")
        if at(p, "uniformBucketLevelAccess") is not True:
            report("uniformBucketLevelAccess is off: object ACLs could make objects public")
    elif t in GCS_IAM or STORAGE_IAM.match(t):
        # Computed members (service accounts known only after apply) cannot be allUsers; read without the check.
        members = [peek(p, "member")] + list(peek(p, "members") or []) + iam_members(peek(p, "policyData"))
        public = [m for m in members if m in PUBLIC_MEMBERS]
        if public:
            report(f"grants {peek(p, 'role') or 'roles'} to {', '.join(public)}")
    elif t in GCS_ENTITY_ACLS:
        if peek(p, "entity") in PUBLIC_MEMBERS:
            report(f"ACL entry gives {peek(p, 'entity')} the {peek(p, 'role') or 'a'} role")
    else:
        public = [str(e) for e in items(peek(p, "roleEntities")) if str(e).split(":", 1)[-1] in PUBLIC_MEMBERS]
        public += [f"predefined ACL {a}" for a in (peek(p, "predefinedAcl"), peek(p, "defaultAcl"))
                   if a in PUBLIC_GCS_ACLS]
        if public:
            report(f"ACL makes the bucket or its objects public: {', '.join(public)}")


@resource_policy(
    "storage-versioning-gcs",
    description="GCS checkpoint and model buckets keep object versions.",
    types=(GCS_BUCKET,), severity=Severity.HIGH, concern="storage",
    remediation="Set versioning.enabled=true on buckets labelled data-class=checkpoints or models "
                "(S3 buckets are checked by s3-bucket-companions).",
    url="https://cloud.google.com/storage/docs/object-versioning", checkov=("CKV_GCP_78",))
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
