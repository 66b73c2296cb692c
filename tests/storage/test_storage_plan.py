"""Tiered storage as the prod and dev stacks declare it: buckets, hot tier, replication and least privilege."""
from __future__ import annotations

import json

import pytest

from blueprint.plan import run_plan
from blueprint.spec import FULL_KEY, SpecError
from tests.conftest import gcp_training_config, platform_config

S3 = "aws:s3/"


def _siblings(plan, bucket, kind: str):
    return [r for r in plan.of_type(f"aws:s3/{kind}") if bucket.urn in r.dependencies]


def test_every_s3_bucket_has_its_separate_security_resources(prod_plan):
    buckets = prod_plan.of_type("aws:s3/bucket:Bucket")
    assert len(buckets) == 8  # four data classes in two AWS regions
    key_urns = {k.urn for k in prod_plan.of_type("aws:kms/key:Key")}
    for bucket in buckets:
        (sse,) = _siblings(prod_plan, bucket, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        rule = sse.inputs["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert set(sse.property_dependencies["rules"]) & key_urns, "a customer-managed key"
        (versioning,) = _siblings(prod_plan, bucket, "bucketVersioning:BucketVersioning")
        assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
        (pab,) = _siblings(prod_plan, bucket, "bucketPublicAccessBlock:BucketPublicAccessBlock")
        assert all(pab.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                   "restrictPublicBuckets"))
        (own,) = _siblings(prod_plan, bucket, "bucketOwnershipControls:BucketOwnershipControls")
        assert own.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        assert bucket.inputs.get("forceDestroy") is False


def _lifecycle(plan, name: str) -> dict:
    bucket = plan.one("aws:s3/bucket:Bucket", name)
    (lc,) = _siblings(plan, bucket, "bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    return lc.inputs["rules"][0]


def test_lifecycle_transitions_per_data_class(prod_plan):
    ckpt = _lifecycle(prod_plan, "aws-us-east-1-checkpoints")
    assert ckpt["transitions"] == [{"days": 30.0, "storageClass": "STANDARD_IA"}]
    assert ckpt["noncurrentVersionExpiration"] == {"noncurrentDays": 14.0}
    assert _lifecycle(prod_plan, "aws-us-east-1-datasets")["transitions"][0]["storageClass"] == "GLACIER_IR"
    assert _lifecycle(prod_plan, "aws-us-east-1-archive")["transitions"][0]["storageClass"] == "DEEP_ARCHIVE"
    for name in ("checkpoints", "datasets", "archive", "models"):
        assert _lifecycle(prod_plan, f"aws-us-east-1-{name}")["abortIncompleteMultipartUpload"] == {
            "daysAfterInitiation": 7.0}


def test_dev_lifecycle_comes_from_the_spec(dev_plan):
    assert _lifecycle(dev_plan, "aws-us-east-1-checkpoints")["noncurrentVersionExpiration"] == {"noncurrentDays": 7.0}


def test_storage_keys_rotate(prod_plan):
    storage_keys = [k for k in prod_plan.of_type("aws:kms/key:Key") if "storage" in k.inputs["description"] or
                    "object storage" in k.inputs["description"]]
    assert len(storage_keys) == 2 and all(k.inputs["enableKeyRotation"] is True for k in storage_keys)
    gcs_key = prod_plan.one("gcp:kms/cryptoKey:CryptoKey", "*-gcs")
    assert gcs_key.inputs["rotationPeriod"] == "7776000s"


def test_fsx_lustre_is_linked_to_the_dataset_bucket(prod_plan):
    fs = prod_plan.one("aws:fsx/lustreFileSystem:LustreFileSystem")
    assert fs.inputs["deploymentType"] == "PERSISTENT_2"
    assert fs.inputs["perUnitStorageThroughput"] == 250.0 and fs.inputs["storageCapacity"] == 9600.0
    assert fs.property_dependencies["kmsKeyId"]
    dra = prod_plan.one("aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation")
    assert dra.inputs["dataRepositoryPath"] == "s3://aiplat-prod-us-east-1-datasets/"
    assert fs.urn in dra.dependencies
    assert dra.inputs["s3"]["autoImportPolicy"]["events"] == ["NEW", "CHANGED", "DELETED"]


def test_gcs_buckets_are_private_versioned_and_cmek(prod_plan):
    buckets = {b.name.rsplit("-", 1)[1]: b.inputs for b in prod_plan.of_type("gcp:storage/bucket:Bucket")}
    assert set(buckets) == {"datasets", "checkpoints", "models", "archive"}
    for inputs in buckets.values():
        assert inputs["uniformBucketLevelAccess"] is True and inputs["publicAccessPrevention"] == "enforced"
        assert inputs["versioning"] == {"enabled": True}
        assert "defaultKmsKeyName" in inputs["encryption"]
    classes = [r["action"].get("storageClass") for r in buckets["checkpoints"]["lifecycleRules"]]
    assert "NEARLINE" in classes
    assert buckets["models"]["rpo"] == "ASYNC_TURBO"
    assert len(buckets["models"]["customPlacementConfig"]["dataLocations"]) == 2
    assert not prod_plan.of_type("gcp:filestore/instance:Instance"), "no GCP training reads a hot tier in prod"
    filestore = run_plan("prod", platform=gcp_training_config()).one("gcp:filestore/instance:Instance")
    assert filestore.inputs["tier"] == "ZONAL" and filestore.inputs["fileShares"]["capacityGb"] == 2560.0


def test_prod_models_replicate_to_the_other_aws_serving_region(prod_plan):
    rep = prod_plan.one("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    (rule,) = rep.inputs["rules"]
    assert rule["destination"]["bucket"] == "arn:aws:s3:::aiplat-prod-us-west-2-models"
    assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"]["status"] == "Enabled"


def test_replication_follows_the_serving_regions_in_every_tier(staging_plan, dev_plan):
    """Staging serves in us-west-2 from its own models bucket, filled by replication as in prod; dev serves where it
    trains and replicates nothing."""
    rep = staging_plan.one("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert [r["destination"]["bucket"] for r in rep.inputs["rules"]] == ["arn:aws:s3:::aiplat-stg-us-west-2-models"]
    assert not dev_plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")


def _policy(plan, name: str) -> dict:
    return json.loads(plan.one("aws:iam/rolePolicy:RolePolicy", name).inputs["policy"])


def _actions(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_serving_role_reads_only_its_model_bucket(prod_plan):
    policy = _policy(prod_plan, "aws-us-west-2-charlm-serve-s3")
    assert not {a for a in _actions(policy) if a.startswith("s3:Put") or a.startswith("s3:Delete")}
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert resources == {"arn:aws:s3:::aiplat-prod-us-west-2-models", "arn:aws:s3:::aiplat-prod-us-west-2-models/*"}


def test_training_role_writes_only_its_prefixes(prod_plan):
    policy = _policy(prod_plan, "aws-us-east-1-charlm-s3")
    writes = [s for s in policy["Statement"] if any(a.startswith("s3:Put") for a in s["Action"])]
    assert {r for s in writes for r in s["Resource"]} == {"arn:aws:s3:::aiplat-prod-us-east-1-checkpoints/charlm/*",
                                                          "arn:aws:s3:::aiplat-prod-us-east-1-models/charlm/*"}


def test_no_star_resource_in_workload_policies(any_stack):
    from tests.conftest import shipped_plan
    plan = shipped_plan(any_stack)
    policies = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-s3")]
    assert policies
    for p in policies:
        for s in json.loads(p.inputs["policy"])["Statement"]:
            resources = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
            assert "*" not in resources, p.name


def test_irsa_trust_is_for_exactly_one_service_account(prod_plan):
    ident = prod_plan.one("aiplatform:storage:WorkloadIdentity", "aws-us-east-1-charlm")
    (role,) = [r for r in prod_plan.children(ident.urn) if r.type == "aws:iam/role:Role"]
    oidc = [u for u in role.dependencies if "openIdConnectProvider" in u]
    assert oidc, "trusts the cluster's OIDC provider"


def test_gcp_serving_identity_is_read_only_and_bound_to_its_service_account(prod_plan):
    member = prod_plan.one("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp-us-central1-charlm-serve-*")
    assert member.inputs["role"] == "roles/storage.objectViewer"
    wi = prod_plan.one("gcp:serviceaccount/iAMMember:IAMMember", "gcp-us-central1-charlm-serve-workload-identity")
    assert wi.inputs["member"] == "serviceAccount:aiplat-prod-ml.svc.id.goog[serving/charlm-serve]"


def test_kubernetes_volumes_for_hot_tier_and_buckets(prod_plan):
    pvs = {p.name: p.inputs["spec"]["csi"]["driver"] for p in prod_plan.of_type("kubernetes:core/v1:PersistentVolume")}
    assert pvs["aws-us-east-1-volumes-hot"] == "fsx.csi.aws.com"
    assert pvs["aws-us-east-1-volumes-datasets-s3"] == "s3.csi.aws.com"
    assert not [name for name in pvs if not name.startswith("aws-us-east-1-")], "only where training runs"
    claims = prod_plan.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert {c.get("metadata.namespace") for c in claims} == {"training"}


def test_gcp_training_mounts_filestore_and_gcs():
    plan = run_plan("prod", platform=gcp_training_config())
    pvs = {p.name: p.inputs["spec"]["csi"]["driver"] for p in plan.of_type("kubernetes:core/v1:PersistentVolume")}
    assert pvs == {"gcp-us-central1-volumes-hot": "filestore.csi.storage.gke.io",
                   "gcp-us-central1-volumes-datasets-gcs": "gcsfuse.csi.storage.gke.io"}


def test_training_without_local_storage_needs_an_explicit_storage_region():
    cfg = platform_config("staging")
    cfg["regions"][1]["gpuPools"].append({"name": "train-l4", "accelerator": "l4", "instanceType": "g6.12xlarge",
                                          "capacityType": "spot", "purpose": "training",
                                          "scaling": {"min": 0, "desired": 0, "max": 2}})
    cfg["regions"][1]["storage"] = None
    cfg["workloads"]["serving"]["regions"] = ["aws/us-east-1"]  # serving loads from its own region's bucket
    cfg["workloads"]["training"].update(region="aws/us-west-2", pool="train-l4")
    with pytest.raises(SpecError, match=f"{FULL_KEY}.workloads.training.region: training runs in aws/us-west-2, "
                                        "which has no storage"):
        run_plan("staging", platform=cfg)
    for explicit in ({"workloads": "aws/us-east-1"}, {"pool": "aws/us-east-1"}):  # either one says so
        cfg["workloads"]["training"].pop("storageRegion", None)
        cfg["regions"][1]["gpuPools"][-1].pop("storageRegion", None)
        if "workloads" in explicit:
            cfg["workloads"]["training"]["storageRegion"] = explicit["workloads"]
        else:
            cfg["regions"][1]["gpuPools"][-1]["storageRegion"] = explicit["pool"]
        plan = run_plan("staging", platform=cfg)
        policy = _policy(plan, "aws-us-west-2-charlm-s3")
        assert "arn:aws:s3:::aiplat-stg-us-east-1-checkpoints/charlm/*" in {
            r for s in policy["Statement"] for r in s["Resource"]}, explicit
        (job,) = plan.of_type("kubernetes:batch/v1:Job")
        assert "s3://aiplat-stg-us-east-1-checkpoints/charlm/" in str(job.inputs), explicit


def test_hot_tier_must_exist_on_the_cloud():
    cfg = platform_config("prod")
    cfg["regions"][0]["storage"]["hot"]["kind"] = "filestore"
    with pytest.raises(SpecError, match=r"regions\[0\]\.storage\.hot\.kind: 'filestore' is not an aws file system"):
        run_plan("prod", platform=cfg)
