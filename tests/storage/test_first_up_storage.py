"""Storage as the clouds accept it on a first `up` (first-up review, round 1): what the mock runtime cannot refuse."""
from __future__ import annotations

import pytest

from blueprint.plan import Plan
from tests.conftest import STACKS, shipped_plan

LUSTRE = "aws:fsx/lustreFileSystem:LustreFileSystem"
DRA = "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation"


def _linked(plan: Plan) -> list:
    return [fs for fs in plan.of_type(LUSTRE)
            if any(fs.urn in d.property_dependencies.get("fileSystemId", []) for d in plan.of_type(DRA))]


@pytest.mark.parametrize("stack", STACKS)
def test_no_backups_are_asked_of_a_file_system_linked_to_s3(stack):
    """FSx for Lustre backs up only file systems not linked to an S3 data repository
    (docs.aws.amazon.com/fsx/latest/LustreGuide/using-backups-fsx.html; CreateBackup: "Are not linked to a data
    repository"): retention days on a DRA-linked file system would promise backups that never exist."""
    for fs in _linked(shipped_plan(stack)):
        assert float(fs.inputs.get("automaticBackupRetentionDays") or 0) == 0, fs.name


def test_prod_has_a_linked_file_system_to_check(prod_plan):
    assert _linked(prod_plan)


def _model_bucket(container: dict) -> str:
    args = container["args"]
    uri = args[args.index("--model-uri") + 1]
    return uri.split("://", 1)[1].split("/", 1)[0]


def _model_flows(plan: Plan) -> dict[str, set[str]]:
    """Bucket -> buckets its models are copied to: S3 replication rules and Storage Transfer jobs."""
    flows: dict[str, set[str]] = {}
    for rep in plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
        (src_urn,) = rep.property_dependencies["bucket"]
        src = plan.by_urn(src_urn).inputs["bucket"]
        flows.setdefault(src, set()).update(r["destination"]["bucket"].removeprefix("arn:aws:s3:::")
                                            for r in rep.inputs["rules"])
    for job in plan.of_type("gcp:storage/transferJob:TransferJob"):
        spec = job.inputs["transferSpec"]
        flows.setdefault(spec["awsS3DataSource"]["bucketName"], set()).add(spec["gcsDataSink"]["bucketName"])
    return flows


@pytest.mark.parametrize("stack", STACKS)
def test_every_serving_region_reads_a_bucket_the_trained_model_reaches(stack):
    """Training exports to its region's model bucket; a serving region elsewhere reads its own bucket, which only
    replication (or the transfer to GCS) fills, in every tier: staging's us-west-2 used to wait forever."""
    plan = shipped_plan(stack)
    (job,) = plan.of_type("kubernetes:batch/v1:Job")
    source = _model_bucket(job.get("spec.template.spec.containers")[0])
    reached, todo, flows = {source}, [source], _model_flows(plan)
    while todo:
        for nxt in flows.get(todo.pop(), set()) - reached:
            reached.add(nxt)
            todo.append(nxt)
    served = {d.name: _model_bucket(d.get("spec.template.spec.containers")[0])
              for d in plan.of_type("kubernetes:apps/v1:Deployment") if "charlm-serve" in d.name}
    assert served and {name: b for name, b in served.items() if b not in reached} == {}


def _refused(stack: str, cfg: dict) -> str:
    from blueprint.spec import SpecError, load_spec
    with pytest.raises(SpecError) as info:
        load_spec(cfg, stack=stack)
    return str(info.value)


def test_a_serving_region_no_model_can_reach_is_refused_before_anything_is_declared():
    from tests.conftest import platform_config
    cfg = platform_config("staging")
    cfg["regions"][1]["storage"] = None  # us-west-2 serves, but has no models bucket to load from
    assert "aiplatform:platform.regions[1].storage: serving in aws/us-west-2 loads its model" in _refused("staging", cfg)
    cfg = platform_config("prod")  # training data on GCP: nothing replicates from there to the AWS serving regions
    cfg["workloads"]["training"].update(region="gcp/us-central1", pool="train-h100")
    text = _refused("prod", cfg)
    assert "workloads.serving.regions[0]: training exports its model to gcp/us-central1" in text
    assert "allowed values: gcp/us-central1" in text
    cfg["workloads"]["serving"]["modelUri"] = "gs://aiplat-prod-us-central1-models/charlm/"
    assert "training exports its model" not in _stack_errors("prod", cfg)


def _stack_errors(stack: str, cfg: dict) -> str:
    from blueprint.spec import SpecError, load_spec
    try:
        load_spec(cfg, stack=stack)
    except SpecError as err:
        return str(err)
    return ""


@pytest.mark.parametrize("stack", STACKS)
def test_a_shipped_hot_tier_is_read_by_the_stacks_training(stack):
    """A hot tier (FSx for Lustre, Filestore) is a fixed monthly charge for training data: the shipped stacks keep
    one only where their training workload reads it (prod's GCP Filestore had no reader, 2,560 GiB of ZONAL)."""
    from blueprint.spec import load_spec
    from tests.conftest import platform_config
    spec = load_spec(platform_config(stack), stack=stack)
    hot = [r.key for r in spec.regions if r.storage is not None and r.storage.hot is not None]
    assert all(key == spec.training_data_region() for key in hot), hot


# --- Cloud KMS keys in the location of what they encrypt ----------------------------------------------------------
KMS_MULTI_REGIONS = {"us", "eu", "asia", "global", "nam4", "eur4", "asia1"}  # cloud.google.com/kms/docs/locations
GCP_CMEK = {"gcp:storage/bucket:Bucket": "encryption", "gcp:filestore/instance:Instance": "kmsKeyName",
            "gcp:container/cluster:Cluster": "databaseEncryption"}


def _key_location(plan: Plan, r) -> str:
    (key_urn,) = [u for u in r.property_dependencies[GCP_CMEK[r.type]]
                  if plan.by_urn(u).type == "gcp:kms/cryptoKey:CryptoKey"]
    (ring_urn,) = plan.by_urn(key_urn).property_dependencies["keyRing"]
    return plan.by_urn(ring_urn).inputs["location"]


def _required_key_location(r) -> str:
    """Cloud Storage: a regional bucket's key in its region; "for most dual-regions, you must create the Cloud KMS
    key ring in the associated multi-region", and asia1/eur4/nam4 in that predefined dual-region (Cloud Storage
    CMEK restrictions, cloud.google.com/docs/security/security-best-practices-genai, "Cloud Storage controls").
    Filestore and GKE: the instance's or cluster's region."""
    location = str(r.inputs["location"]).lower()
    if r.type == "gcp:filestore/instance:Instance":
        return location.rsplit("-", 1)[0] if location.count("-") == 2 else location  # a zone's region
    return location  # a region, a multi-region (US), or the multi-region of a configurable dual-region


def _gcp_plans() -> list[Plan]:
    from blueprint.plan import run_plan
    from tests.conftest import gcp_training_config
    return [shipped_plan("prod"), run_plan("prod", platform=gcp_training_config())]


def test_every_cmek_key_is_in_the_location_of_what_it_encrypts():
    """The storage key ring was created in 'us-central1-storage' (no such location), and the dual-region models
    bucket used a regional key GCS refuses for a bucket in US."""
    checked = []
    for plan in _gcp_plans():
        for ring in plan.of_type("gcp:kms/keyRing:KeyRing"):
            assert ring.inputs["location"] in KMS_MULTI_REGIONS | {"us-central1"}, ring.inputs
        for r in (r for t in GCP_CMEK for r in plan.of_type(t)):
            checked.append((r.type, _key_location(plan, r), _required_key_location(r)))
    assert {t for t, _, _ in checked} == set(GCP_CMEK)
    assert [c for c in checked if c[1] != c[2]] == []


def test_the_dual_region_models_bucket_has_a_multi_region_key_the_gcs_agent_may_use(prod_plan):
    from blueprint.plan.order import Graph
    from blueprint.plan.order_rules import agent_api
    models = prod_plan.one("gcp:storage/bucket:Bucket", "gcp-us-central1-models")
    assert models.inputs["location"] == "US" and models.inputs["customPlacementConfig"]
    (key_urn,) = models.property_dependencies["encryption"]
    grants = [m for m in prod_plan.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
              if key_urn in m.property_dependencies.get("cryptoKeyId", [])]
    assert [agent_api(Graph(prod_plan), m) for m in grants] == ["storage.googleapis.com"]
    assert all(m.urn in models.dependencies for m in grants), "the bucket is created once the agent may use the key"


def test_filestore_names_its_network_by_name_and_is_protected_in_production():
    """A path here differs from the bare name Filestore stores, so every later `up` would replace the instance
    (hashicorp/terraform-provider-google#16548); production data is protected from deletion as well."""
    (plan,) = _gcp_plans()[1:]
    fs = plan.one("gcp:filestore/instance:Instance")
    (network,) = fs.inputs["networks"]
    assert network["network"] == "aiplat-prod" and "/" not in network["network"]
    assert fs.inputs["deletionProtectionEnabled"] is True and fs.options.get("protect") is True


def test_operations_lists_every_kms_ring_and_key_a_destroy_leaves_behind(prod_plan):
    """Cloud KMS never deletes rings and keys, so re-creating a stack adopts them by ID (docs/operations.md,
    "Re-create a stack"); the table there is what the prod plan declares."""
    import re
    from pathlib import Path
    project = "aiplat-prod-ml"
    rows = []
    ring_ids = {}
    for ring in prod_plan.of_type("gcp:kms/keyRing:KeyRing"):
        ring_ids[ring.urn] = f"projects/{project}/locations/{ring.inputs['location']}/keyRings/{ring.inputs['name']}"
        rows.append(f"| gcp:kms/keyRing:KeyRing | {ring.name} | {ring_ids[ring.urn]} |")
    for key in prod_plan.of_type("gcp:kms/cryptoKey:CryptoKey"):
        (ring,) = key.property_dependencies["keyRing"]
        rows.append(f"| gcp:kms/cryptoKey:CryptoKey | {key.name} | {ring_ids[ring]}/cryptoKeys/{key.inputs['name']} |")
    doc = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    table = re.search(r"<!-- kms-import:start -->\n(.*?)<!-- kms-import:end -->", doc, re.S)
    assert table, "docs/operations.md has no KMS import table"
    assert sorted(table.group(1).splitlines()[2:]) == sorted(rows)
