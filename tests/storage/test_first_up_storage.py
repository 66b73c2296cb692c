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
