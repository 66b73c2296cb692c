"""Prod models reach the GCP serving region: an hourly S3 -> GCS Storage Transfer job whose AWS role trusts only
the project's transfer service account and reads only the model prefix, writing only the GCP model bucket."""
from __future__ import annotations

import json

from blueprint.cost import estimate
from components.k8s.common import model_uri
from components.storage.gcs_transfer import transfer_kms_policy
from tests.cost.helpers import usage

JOB = "gcp:storage/transferJob:TransferJob"
NAME = "aws-us-east-1-models-to-gcp-us-central1"
SUBJECT = "100000000000000000001"  # the mocks' getTransferProjectServiceAccount subjectId
AGENT = "serviceAccount:project-123456789012@storage-transfer-service.iam.gserviceaccount.com"


def test_prod_has_an_hourly_transfer_from_the_training_models_to_the_gcp_serving_bucket(prod_plan):
    job = prod_plan.one(JOB)
    source, sink = job.get("transferSpec.awsS3DataSource"), job.get("transferSpec.gcsDataSink")
    assert source["bucketName"] == "aiplat-prod-us-east-1-models" and source["path"] == "charlm/"
    assert sink == {"bucketName": "aiplat-prod-us-central1-models", "path": "charlm/"}
    assert job.get("schedule.repeatInterval") == "3600s"
    assert job.get("transferSpec.transferOptions.deleteObjectsUniqueInSink") is False
    role = prod_plan.one("aws:iam/role:Role", NAME)
    assert role.urn in job.property_dependencies["transferSpec"], "the job assumes the role by ARN"
    # what serving in the GCP region loads is what the job writes
    assert model_uri(_spec(), _region("gcp/us-central1")) == f"gs://{sink['bucketName']}/{sink['path']}"


def _spec():
    from blueprint.spec import load_spec
    from tests.conftest import platform_config
    return load_spec(platform_config("prod"), stack="prod")


def _region(key: str):
    return next(r for r in _spec().regions if r.key == key)


def test_the_role_trusts_only_the_transfer_service_accounts_subject(prod_plan):
    trust = json.loads(prod_plan.one("aws:iam/role:Role", NAME).inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": "accounts.google.com"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {"accounts.google.com:sub": SUBJECT}}


def test_the_role_reads_only_the_model_prefix_and_decrypts_only_with_the_source_key(prod_plan):
    s3 = json.loads(prod_plan.one("aws:iam/rolePolicy:RolePolicy", f"{NAME}-s3").inputs["policy"])
    actions = {a for s in s3["Statement"] for a in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}
    resources = {r for s in s3["Statement"] for r in s["Resource"]}
    models = "arn:aws:s3:::aiplat-prod-us-east-1-models"
    assert resources == {models, f"{models}/charlm/*"}
    assert "*" not in resources
    (listing,) = [s for s in s3["Statement"] if s["Action"] == ["s3:ListBucket"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["charlm/*"]}}
    kms = prod_plan.one("aws:iam/rolePolicy:RolePolicy", f"{NAME}-kms")
    key = prod_plan.one("aws:kms/key:Key", "aws-us-east-1-key")
    assert key.urn in kms.property_dependencies["policy"]  # the ARN is known after apply; the policy text:
    arn = "arn:aws:kms:us-east-1:123456789012:key/k"
    assert json.loads(transfer_kms_policy(arn))["Statement"] == [
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [arn]}]


def test_the_transfer_service_account_may_write_the_gcp_model_bucket_only(prod_plan):
    grants = [m for m in prod_plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
              if m.inputs.get("member") == AGENT]
    assert {m.inputs["role"] for m in grants} == {"roles/storage.legacyBucketWriter",
                                                  "roles/storage.legacyObjectReader"}
    assert {m.inputs["bucket"] for m in grants} == {"aiplat-prod-us-central1-models"}
    job = prod_plan.one(JOB)
    assert all(m.urn in job.dependencies for m in grants), "the job starts once it may write the sink"


def test_no_transfer_outside_prod(staging_plan, dev_plan):
    assert not staging_plan.of_type(JOB) and not dev_plan.of_type(JOB)


def test_the_transfer_is_priced_as_aws_internet_egress_from_the_source_region(prod_plan):
    est = estimate(prod_plan, usage({"resource_usage": {NAME: {"monthly_transferred_gb": 600}}}))
    item = est.item(NAME)
    (component,) = item.components
    assert component.price.usd == 0.09 and "us-east-1" in component.name
    assert item.monthly.expected == 600 * 0.09
    assert not [u for u in est.unpriced if u.type == JOB]
