"""GCP storage details a real `pulumi up` depends on: dual-region locations GCS accepts, the service agents that
must use each CMEK key, resources waiting for those grants, and prefix-scoped grants that still allow listing."""
from __future__ import annotations

import json

from blueprint.plan import run_plan
from blueprint.plan.order import Graph
from blueprint.plan.order_rules import agent_api
from blueprint.catalog.gcs import dual_region_location, dual_region_partner
from tests.conftest import gcp_training_config, platform_config

KEY_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
BUCKET = "gcp:storage/bucket:Bucket"
FILESTORE = "gcp:filestore/instance:Instance"
GCS_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"


def _prod_in(gcp_region: str):
    """Prod with its GCP region moved (residency opened so any region is allowed)."""
    cfg = platform_config("prod")
    cfg["dataResidency"] = "global"
    return run_plan("prod", platform=json.loads(json.dumps(cfg).replace("us-central1", gcp_region)))


def test_dual_region_codes_are_the_gcs_multi_regions_and_partners_share_one():
    assert (dual_region_location("us-central1"), dual_region_partner("us-central1")) == ("US", "us-east4")
    assert dual_region_location("europe-west4") == "EU" and dual_region_location("asia-northeast1") == "ASIA"
    for region in ("europe-west4", "europe-west1", "asia-northeast1", "asia-southeast1", "us-west4"):
        partner = dual_region_partner(region)
        assert partner and partner != region and dual_region_location(partner) == dual_region_location(region)
    # no configurable dual-region: a plain answer for validation, not an exception
    assert dual_region_partner("australia-southeast1") is None and dual_region_location("europe-west2") is None


def test_a_european_prod_model_bucket_is_an_eu_dual_region():
    models = _prod_in("europe-west4").one(BUCKET, "*-models")
    assert models.inputs["location"] == "EU"  # not "EUROPE", which GCS rejects
    locations = models.inputs["customPlacementConfig"]["dataLocations"]
    assert locations[0] == "EUROPE-WEST4" and dual_region_location(locations[1].lower()) == "EU"
    assert models.inputs["rpo"] == "ASYNC_TURBO"


def _members(plan, key_name: str) -> dict[str, str]:
    """The API whose service agent is granted -> URN of the grant, for the grants on one key. Agents come from
    their generated identity (member unknown until applied) or their lookup (the GCS agent), never hand-built."""
    graph = Graph(plan)
    return {agent_api(graph, m): m.urn for m in plan.of_type(KEY_MEMBER) if m.name.startswith(f"{key_name}-agent-")}


def test_the_storage_key_is_usable_by_filestore_and_gcs_and_both_wait_for_it():
    prod_plan = run_plan("prod", platform=gcp_training_config())  # GKE training with its Filestore hot tier
    grants = _members(prod_plan, "gcp-us-central1-gcs")
    gcs, filer = "storage.googleapis.com", "file.googleapis.com"
    assert set(grants) == {gcs, filer}
    assert prod_plan.by_urn(grants[gcs]).inputs["member"] == (
        "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com")  # the mocks' lookup
    assert all(m.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter" for m in prod_plan.of_type(KEY_MEMBER))
    filestore = prod_plan.one(FILESTORE)
    assert grants[filer] in filestore.dependencies, "Filestore is created only once its agent may use the key"
    for bucket in prod_plan.of_type(BUCKET):
        if bucket.inputs["location"] == "US-CENTRAL1":  # the dual-region models bucket has its own key (below)
            assert grants[gcs] in bucket.dependencies, bucket.name


def test_without_filestore_the_key_grants_only_gcs(prod_plan):
    plan = prod_plan  # prod's GCP region keeps buckets only
    assert not plan.of_type(FILESTORE)
    assert list(_members(plan, "gcp-us-central1-gcs")) == ["storage.googleapis.com"]


def test_the_gke_cluster_waits_for_its_etcd_key_grant(prod_plan):
    cluster = prod_plan.one("gcp:container/cluster:Cluster")
    (grant,) = _members(prod_plan, "gcp-us-central1-gke-etcd").values()
    assert grant in cluster.dependencies


def test_training_may_list_its_own_checkpoint_prefix_only():
    plan = run_plan("prod", platform=gcp_training_config())
    grant = plan.one(GCS_IAM, "gcp-us-central1-charlm-checkpoints-*")
    assert grant.inputs["role"] == "roles/storage.objectUser"
    bucket = "aiplat-prod-us-central1-checkpoints"
    assert grant.inputs["condition"]["expression"] == (
        f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/charlm/") || '
        f'(resource.type == "storage.googleapis.com/Bucket" && resource.name == "projects/_/buckets/{bucket}" && '
        'api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("charlm/"))')
