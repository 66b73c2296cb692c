"""The bucket settings the component declares, applied through boto3 to a real moto server and read back.

Every setting comes from the plan (the component's declared inputs), not retyped here.
"""
from __future__ import annotations

from tests.conftest import shipped_plan
from tests.support.moto_server import client, moto_server, to_api


def _sibling(plan, bucket, type_token):
    (found,) = [r for r in plan.of_type(type_token) if bucket.urn in r.dependencies]
    return found


def test_declared_bucket_settings_round_trip_through_s3(monkeypatch):
    plan = shipped_plan("prod")
    regions = {p.urn: p.inputs["region"] for p in plan.of_type("pulumi:providers:aws")}
    with moto_server(monkeypatch) as endpoint:
        key_arns = {}
        for key in plan.of_type("aws:kms/key:Key"):
            kms = client("kms", endpoint, regions[key.provider_urn])
            key_arns[key.urn] = kms.create_key(Description=key.inputs["description"])["KeyMetadata"]["Arn"]
        checked = 0
        for bucket in plan.of_type("aws:s3/bucket:Bucket"):
            region = regions[bucket.provider_urn]
            s3 = client("s3", endpoint, region)
            name = bucket.inputs["bucket"]
            s3.create_bucket(Bucket=name, **({} if region == "us-east-1" else
                                            {"CreateBucketConfiguration": {"LocationConstraint": region}}))

            sse = _sibling(plan, bucket, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
            (key_urn,) = [u for u in sse.property_dependencies["rules"] if u in key_arns]
            rules = to_api(sse.inputs["rules"])
            rules[0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = key_arns[key_urn]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
            versioning = _sibling(plan, bucket, "aws:s3/bucketVersioning:BucketVersioning")
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=to_api(versioning.inputs["versioningConfiguration"]))
            lifecycle = _sibling(plan, bucket, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": to_api(lifecycle.inputs["rules"])})
            pab = _sibling(plan, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
            block = {k: v for k, v in to_api(pab.inputs).items() if k != "Bucket"}
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
            own = _sibling(plan, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": [to_api(own.inputs["rule"])]})

            got = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
            assert got["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                                 "KMSMasterKeyID": key_arns[key_urn]}
            assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
            got_rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
            assert [r.get("Transitions") for r in got_rules] == [r.get("Transitions") for r in to_api(lifecycle.inputs["rules"])]
            assert got_rules[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
            assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == block
            assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"] == [
                {"ObjectOwnership": "BucketOwnerEnforced"}]
            assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] in (None, region)
            checked += 1
        assert checked == 8
