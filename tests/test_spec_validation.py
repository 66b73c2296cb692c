"""Invalid stack configs fail before any resource is declared, with the stack, the key path and allowed values."""
from __future__ import annotations

import shutil

import pytest
import yaml

from blueprint import catalog
from blueprint.plan.engine import PlanError, run_plan, run_program
from blueprint.spec.load import StackFileError, stack_config
from blueprint.spec import FULL_KEY, SpecError, load_spec
from tests.conftest import GCP_HOT_TIER, platform_config


def _error(stack: str, platform: dict) -> SpecError:
    with pytest.raises(SpecError) as info:
        run_plan(stack, platform=platform)
    return info.value


def _pool(cfg: dict, region: int = 0, pool: int = 0) -> dict:
    return cfg["regions"][region]["gpuPools"][pool]


def test_shipped_stacks_are_valid(any_stack):
    raw = platform_config(any_stack)
    spec = load_spec(raw, stack=any_stack)
    assert spec.stack == any_stack and spec.regions


def test_unknown_accelerator():
    cfg = platform_config("dev")
    _pool(cfg)["accelerator"] = "tpu-v5"
    err = _error("dev", cfg)
    text = str(err)
    assert "stack 'dev'" in text
    assert f"{FULL_KEY}.regions[0].gpuPools[0].accelerator: unknown accelerator 'tpu-v5'" in text
    assert "allowed values: " + ", ".join(catalog.accelerators()) in text


def test_unknown_accelerator_is_one_error_not_a_workload_mismatch_too():
    """prod's training workload asks for h100 on the pool: a bad pool accelerator must not also show up as a
    workload mismatch listing the bad value among the allowed ones."""
    cfg = platform_config("prod")
    _pool(cfg)["accelerator"] = "tpu-v5"
    err = _error("prod", cfg)
    assert [i.path for i in err.issues] == ["regions[0].gpuPools[0].accelerator"]
    assert "tpu-v5" not in err.issues[0].allowed


def test_workload_asking_for_an_unknown_accelerator_says_unknown():
    cfg = platform_config("prod")
    cfg["workloads"]["training"]["accelerator"] = "tpu-v5"
    (issue,) = _error("prod", cfg).issues
    assert (issue.path, issue.message) == ("workloads.training.accelerator", "unknown accelerator 'tpu-v5'")
    assert issue.allowed == tuple(catalog.accelerators())


def test_unknown_instance_type():
    cfg = platform_config("dev")
    _pool(cfg)["instanceType"] = "g5.13xlarge"
    text = str(_error("dev", cfg))
    assert f"{FULL_KEY}.regions[0].gpuPools[0].instanceType: unknown aws GPU instance type 'g5.13xlarge'" in text
    assert "g5.12xlarge" in text and "p5.48xlarge" in text


def test_instance_type_must_carry_the_accelerator():
    cfg = platform_config("dev")
    _pool(cfg)["instanceType"] = "g6.xlarge"  # carries l4, pool says a10g
    text = str(_error("dev", cfg))
    assert "g6.xlarge carries l4, not a10g; allowed values: g5.12xlarge, g5.2xlarge, g5.48xlarge, g5.xlarge" in text


def test_region_that_does_not_exist_for_the_cloud():
    cfg = platform_config("dev")
    cfg["regions"][0]["region"] = "us-central1"  # a GCP region given as AWS
    text = str(_error("dev", cfg))
    assert f"{FULL_KEY}.regions[0].region: 'us-central1' is not an aws region" in text
    assert "us-east-1, us-east-2" in text
    gcp = platform_config("prod")
    gcp["regions"][2]["region"] = "us-east-1"
    assert f"{FULL_KEY}.regions[2].region: 'us-east-1' is not a gcp region" in str(_error("prod", gcp))


def test_region_that_does_not_offer_the_gpu():
    cfg = platform_config("dev")
    cfg["regions"][0]["region"] = "us-west-1"  # a10g only
    cfg["regions"][0]["gpuPools"] = [_pool(cfg, 0, 1)]  # the l4 serving pool
    cfg["workloads"] = {}
    text = str(_error("dev", cfg))
    assert f"{FULL_KEY}.regions[0].gpuPools[0].accelerator: aws/us-west-1 does not offer l4" in text
    assert f"catalog as of {catalog.as_of()}" in text
    assert "allowed values: us-east-1" in text


def test_min_greater_than_max():
    cfg = platform_config("dev")
    _pool(cfg)["scaling"] = {"min": 3, "desired": 3, "max": 2}
    text = str(_error("dev", cfg))
    assert f"{FULL_KEY}.regions[0].gpuPools[0].scaling: need min <= desired <= max, got min=3 desired=3 max=2" in text


@pytest.mark.parametrize("stack, change, path", [
    ("dev", lambda c: c["regions"][0]["systemPool"].update(scaling={"min": 3, "desired": 2, "max": 4}),
     "regions[0].systemPool.scaling"),
    ("staging", lambda c: c["regions"][1]["systemPool"].update(scaling={"min": 2, "desired": 5, "max": 4}),
     "regions[1].systemPool.scaling"),
    ("dev", lambda c: c["workloads"]["serving"].update(replicas={"min": 3, "desired": 3, "max": 2}),
     "workloads.serving.replicas"),
])
def test_min_desired_max_is_checked_for_system_pools_and_replicas(stack, change, path):
    cfg = platform_config(stack)
    change(cfg)
    (issue,) = _error(stack, cfg).issues
    assert issue.path == path and issue.message.startswith("need min <= desired <= max, got min=")


def test_keda_needs_at_least_one_replica():
    """At zero pods nothing exports the queue-depth metric KEDA scales on, so it would never scale up."""
    cfg = platform_config("prod")  # keda: true
    cfg["workloads"]["serving"]["replicas"] = {"min": 0, "desired": 0, "max": 12}
    (issue,) = _error("prod", cfg).issues
    assert issue.path == "workloads.serving.replicas.min" and "KEDA" in issue.message
    cfg["workloads"]["serving"]["keda"] = False  # without KEDA nothing scales up from zero: a service with no pods
    (issue,) = _error("prod", cfg).issues
    assert issue.path == "workloads.serving.replicas" and "no pods" in issue.message


def test_pool_zone_that_is_not_in_the_region():
    cfg = platform_config("dev")
    _pool(cfg)["zones"] = ["us-west-2a"]
    text = str(_error("dev", cfg))
    assert f"{FULL_KEY}.regions[0].gpuPools[0].zones[0]: 'us-west-2a' is not a zone of aws/us-east-1; " \
           "allowed values: us-east-1a, us-east-1b" in text


@pytest.mark.parametrize("stack, region, zone, built", [
    ("dev", 0, "us-east-1d", "us-east-1a, us-east-1b"),  # dev builds 2 of us-east-1's 4 zones
    ("prod", 2, "us-central1-f", "us-central1-a, us-central1-b, us-central1-c"),  # prod builds 3 of 4
])
def test_pool_zone_must_be_one_the_network_builds(stack, region, zone, built):
    """A catalog zone beyond zoneCount has no subnet: it used to crash the AWS plan with a KeyError."""
    cfg = platform_config(stack)
    _pool(cfg, region, 1)["zones"] = [zone]
    (issue,) = _error(stack, cfg).issues
    assert issue.path == f"regions[{region}].gpuPools[1].zones[0]"
    assert "the network builds only its first" in issue.message and ", ".join(issue.allowed) == built
    cfg["regions"][region]["zoneCount"] = 4
    load_spec(cfg, stack=stack)  # raising zoneCount builds it


def test_training_pool_in_a_region_without_storage_must_say_where_its_data_lives():
    cfg = platform_config("staging")
    cfg["regions"][1]["storage"] = None
    cfg["workloads"]["serving"]["regions"] = ["aws/us-east-1"]  # serving loads from its own region's bucket
    cfg["regions"][1]["gpuPools"].append({"name": "train-l4", "accelerator": "l4", "instanceType": "g6.12xlarge",
                                          "capacityType": "spot", "purpose": "training",
                                          "scaling": {"min": 0, "desired": 0, "max": 2}})
    (issue,) = _error("staging", cfg).issues
    assert issue.path == "regions[1].gpuPools[1]" and "which has no storage" in issue.message
    assert issue.allowed == ("aws/us-east-1",)
    _pool(cfg, 1, 1)["storageRegion"] = "aws/us-west-2"  # itself: no storage there
    (issue,) = _error("staging", cfg).issues
    assert issue.path == "regions[1].gpuPools[1].storageRegion" and issue.allowed == ("aws/us-east-1",)
    _pool(cfg, 1, 1)["storageRegion"] = "aws/us-east-1"
    assert load_spec(cfg, stack="staging").regions[1].gpu_pools[1].storage_region == "aws/us-east-1"


def test_pool_and_workload_storage_regions_must_agree():
    cfg = platform_config("prod")
    _pool(cfg)["storageRegion"] = "aws/us-west-2"  # the workload trains on it with aws/us-east-1's storage
    (issue,) = _error("prod", cfg).issues
    assert issue.path == "workloads.training.storageRegion" and issue.allowed == ("aws/us-west-2",)
    cfg["workloads"]["training"]["storageRegion"] = "aws/us-west-2"
    load_spec(cfg, stack="prod")


def test_cluster_admin_roles_must_be_role_arns():
    cfg = platform_config("staging")
    cfg["clusterAdminRoleArns"] = ["arn:aws:iam::123456789012:user/alice"]
    (issue,) = _error("staging", cfg).issues
    assert issue.path == "clusterAdminRoleArns[0]" and "is not an IAM role ARN" in issue.message


def test_overlapping_cidrs_name_both_ranges():
    cfg = platform_config("staging")
    cfg["regions"][1]["cidr"] = "10.64.128.0/17"  # inside us-east-1's allocated 10.64.0.0/16
    text = str(_error("staging", cfg))
    assert "address range 10.64.128.0/17 of aws/us-west-2 overlaps 10.64.0.0/16 of aws/us-east-1" in text
    assert f"{FULL_KEY}.regions[1].cidr" in text


def test_missing_owner_tag():
    cfg = platform_config("prod")
    del cfg["tags"]["owner"]
    text = str(_error("prod", cfg))
    assert "stack 'prod'" in text and f"{FULL_KEY}.tags.owner: required but missing" in text


def test_enum_value_lists_allowed_values():
    cfg = platform_config("dev")
    _pool(cfg)["capacityType"] = "preemptible"
    text = str(_error("dev", cfg))
    assert f"{FULL_KEY}.regions[0].gpuPools[0].capacityType" in text
    assert "allowed values: spot, on-demand, reserved" in text


def test_unknown_key_lists_allowed_keys():
    cfg = platform_config("dev")
    cfg["regions"][0]["gpuPool"] = []
    text = str(_error("dev", cfg))
    assert f"{FULL_KEY}.regions[0].gpuPool: unknown key 'gpuPool'" in text
    assert "gpuPools" in text and "systemPool" in text


def test_every_problem_is_reported_at_once():
    shape = platform_config("dev")
    _pool(shape)["capacityType"] = "cheap"
    del shape["tags"]["costCenter"]
    assert {i.path for i in _error("dev", shape).issues} == {"tags.costCenter", "regions[0].gpuPools[0].capacityType"}
    semantic = platform_config("dev")
    _pool(semantic)["accelerator"] = "tpu"
    _pool(semantic, 0, 1)["scaling"] = {"min": 2, "desired": 1, "max": 2}
    assert {i.path for i in _error("dev", semantic).issues} == {
        "regions[0].gpuPools[0].accelerator", "regions[0].gpuPools[1].scaling"}


def test_plain_text_secret_is_rejected():
    cfg = platform_config("dev")
    cfg["budget"]["alertWebhookUrl"] = "https://hooks.example.com/T000/B000/XXXX"
    text = str(_error("dev", cfg))
    assert f"{FULL_KEY}.budget.alertWebhookUrl: a credential given in plain text" in text
    assert "pulumi config set --secret --path" in text


def test_encrypted_secret_is_accepted(tmp_path):
    (tmp_path / "stacks").mkdir()
    stack = yaml.safe_load((catalog._DATA.parents[2] / "stacks" / "Pulumi.dev.yaml").read_text())
    stack["config"][FULL_KEY]["budget"]["alertWebhookUrl"] = {"secure": "v1:AAAAbase64ciphertext=="}
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack))
    config, secret_keys = stack_config("dev", root=tmp_path)
    assert secret_keys == [FULL_KEY]
    assert "AAAAbase64ciphertext" not in config[FULL_KEY]


def test_reservation_id_needs_reserved_capacity():
    cfg = platform_config("prod")
    cfg["regions"][0]["gpuPools"][0]["capacityType"] = "spot"
    text = str(_error("prod", cfg))
    assert f"{FULL_KEY}.regions[0].gpuPools[0].reservationId: a reservation id needs capacityType 'reserved'" in text


def test_workload_pool_must_exist():
    cfg = platform_config("dev")
    cfg["workloads"]["training"]["pool"] = "train-h100"
    text = str(_error("dev", cfg))
    assert f"{FULL_KEY}.workloads.training.pool: no GPU pool 'train-h100' in aws/us-east-1" in text
    assert "allowed values: train-a10g" in text


def test_workload_gpu_type_no_pool_provides():
    cfg = platform_config("prod")
    cfg["workloads"]["serving"]["accelerator"] = "h200"
    text = str(_error("prod", cfg))
    assert "the workload asks for h200 but pool 'serve-l4' has l4 (no pool in aws/us-east-1 provides h200" in text


def test_bad_config_declares_nothing_even_inside_the_program(tmp_path):
    """The program itself validates too (for `pulumi up`): a bad spec stops it before any resource."""
    import json
    import runpy

    from blueprint.spec.load import REPO

    cfg = platform_config("dev")
    _pool(cfg)["accelerator"] = "tpu-v5"
    with pytest.raises(PlanError) as info:
        run_program(lambda: runpy.run_path(str(REPO / "__main__.py"), run_name="__main__"), stack="dev",
                    config={FULL_KEY: json.dumps(cfg)})
    assert "regions[0].gpuPools[0].accelerator: unknown accelerator 'tpu-v5'" in str(info.value)
    assert "Traceback" not in str(info.value)


def test_unknown_stack_names_known_stacks(tmp_path):
    shutil.copytree(catalog._DATA.parents[2] / "stacks", tmp_path / "stacks")
    with pytest.raises(StackFileError, match="known stacks: dev, staging, prod"):
        stack_config("qa", root=tmp_path)


@pytest.mark.parametrize("gib,ok", [(1200, True), (2400, True), (9600, True), (1024, False), (3600, False)])
def test_fsx_capacity_must_be_a_persistent_2_size(gib, ok):
    cfg = platform_config("staging")
    cfg["regions"][0]["storage"]["hot"]["capacityGib"] = gib
    if ok:
        load_spec(cfg, stack="staging")
        return
    err = _error("staging", cfg)
    assert f"{FULL_KEY}.regions[0].storage.hot.capacityGib" in str(err)
    assert "stack 'staging'" in str(err) and "allowed values: 1200, 2400" in str(err)


def test_filestore_tier_without_customer_managed_keys_is_refused():
    cfg = platform_config("prod")
    cfg["regions"][2]["storage"] = {"hot": {**GCP_HOT_TIER, "filestoreTier": "BASIC_SSD"}}
    (issue,) = _error("prod", cfg).issues
    assert issue.path == "regions[2].storage.hot.filestoreTier"
    assert "got 'BASIC_SSD'" in issue.message and issue.allowed == ("ZONAL", "REGIONAL", "ENTERPRISE")


def test_production_gcp_storage_region_needs_a_dual_region_partner():
    """Prod model buckets are dual-region (turbo replication); London has no configurable dual-region."""
    cfg = platform_config("prod")
    gcp = cfg["regions"][2]
    gcp["region"] = "europe-west2"
    for pool in gcp["gpuPools"]:
        pool.pop("zones", None)
        pool["accelerator"], pool["instanceType"] = "l4", "g2-standard-8"
    err = _error("prod", cfg)
    issue = next(i for i in err.issues if i.path == "regions[2].region")
    assert "europe-west2 is in no GCS multi-region" in issue.message
    assert "us-central1" in issue.allowed and "europe-west4" in issue.allowed and "europe-west2" not in issue.allowed


@pytest.mark.parametrize("gib,ok", [(1024, True), (2560, True), (9984, True), (12800, True), (1500, False),
                                    (10000, False), (11000, False), (102400 + 2560, False)])
def test_filestore_zonal_capacity_must_be_a_size_filestore_creates(gib, ok):
    """cloud.google.com/filestore/docs/service-tiers-zonal: 1-9.75 TiB by 256 GiB, 10-100 TiB by 2.5 TiB."""
    cfg = platform_config("prod")
    cfg["regions"][2]["storage"] = {"hot": {**GCP_HOT_TIER, "capacityGib": gib}}
    if ok:
        load_spec(cfg, stack="prod")
        return
    (issue,) = _error("prod", cfg).issues
    assert issue.path == "regions[2].storage.hot.capacityGib" and "Filestore Zonal" in issue.message
    assert issue.allowed == ("1024-9984 in steps of 256", "10240-102400 in steps of 2560")
