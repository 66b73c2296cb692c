"""GPU allowlists and maxima per tier: shipped stacks carry limits (their files have no policy section) and pass;
a stack over its tier's default fails by name; stack config still overrides."""
from __future__ import annotations

import pytest

from blueprint.plan.engine import run_plan
from blueprint.spec.model import Tier
from policies._facts import pool_of
from policies._framework import PolicySettings
from policies._limits import TIER_LIMITS
from tests.conftest import STACKS, platform_config, shipped_plan
from tests.policies.helpers import check, evaluate, spec_for
from tests.policies.test_resource_policies import node_group

GPU_LIMITS = ["gpu-instance-allowlist", "gpu-max-per-pool", "gpu-max-per-stack"]


def _gpu_pools(plan):
    return [p for p in (pool_of(r.type, r.inputs) for r in plan.resources) if p is not None and p.is_gpu]


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_carry_tier_limits_with_headroom_and_pass(stack):
    spec = spec_for(stack)
    assert spec.policy.allowed_instance_types is None and spec.policy.max_gpus_per_pool is None  # no policy section
    settings = PolicySettings.from_spec(spec)
    assert settings.allowed_instance_types and settings.max_gpus_per_pool and settings.max_gpus_per_stack
    plan = shipped_plan(stack)
    pools = _gpu_pools(plan)
    assert pools and {p.instance_type for p in pools} <= settings.allowed_instance_types
    # Headroom: a shipped stack can grow by a quarter before its tier's limits stop it.
    assert max(p.max_gpus for p in pools) * 1.25 <= settings.max_gpus_per_pool
    assert sum(p.max_gpus for p in pools) * 1.25 <= settings.max_gpus_per_stack
    report = evaluate(plan, names=GPU_LIMITS)
    assert report.violations == [] and report.unknown == []


def test_tiers_allow_what_the_issue_says():
    dev, prod = TIER_LIMITS[Tier.development].instance_types, TIER_LIMITS[Tier.production].instance_types
    assert {"g5.12xlarge", "g6.xlarge", "g6e.12xlarge", "g2-standard-8"} <= dev
    assert not {"p5.48xlarge", "p4d.24xlarge", "a3-highgpu-8g"} & dev
    assert {"p5.48xlarge", "p5e.48xlarge", "a3-highgpu-8g", "a3-ultragpu-8g", "g6.2xlarge", "g2-standard-8"} <= prod
    assert not {"g5.12xlarge", "p4d.24xlarge", "a2-highgpu-8g"} & prod
    assert TIER_LIMITS[Tier.development].max_gpus_per_stack < TIER_LIMITS[Tier.staging].max_gpus_per_stack \
        < TIER_LIMITS[Tier.production].max_gpus_per_stack


def test_dev_stack_over_its_tier_default_fails_by_name():
    cfg = platform_config("dev")
    pools = {p["name"]: p for p in cfg["regions"][0]["gpuPools"]}
    pools["train-a10g"]["scaling"]["max"] = 5  # 5 x 4 A10G = 20 GPUs > 16 per pool
    pools["serve-l4"]["instanceType"] = "g6.12xlarge"
    pools["serve-l4"]["scaling"]["max"] = 4  # 4 x 4 L4 = 16 GPUs, at the pool limit; 36 in all > 32 per stack
    report = evaluate(run_plan("dev", platform=cfg), names=GPU_LIMITS)
    by_policy = report.by_policy()
    assert set(by_policy) == {"gpu-max-per-pool", "gpu-max-per-stack"}, [v.message for v in report.violations]
    assert len(by_policy["gpu-max-per-pool"]) == 1 and "20 GPUs" in by_policy["gpu-max-per-pool"][0].message
    assert "development tier default" in by_policy["gpu-max-per-pool"][0].message
    stack_message = by_policy["gpu-max-per-stack"][0].message
    assert "36 GPUs" in stack_message and "limit is 32" in stack_message


def test_dev_tier_rejects_h100_and_config_overrides():
    bad = check("gpu-instance-allowlist", node_group("p5.48xlarge"), spec_for("dev"))
    assert [v.policy for v in bad] == ["gpu-instance-allowlist"] and "development tier default" in bad[0].message
    assert check("gpu-instance-allowlist", node_group("g6e.12xlarge"), spec_for("dev")) == []
    assert check("gpu-instance-allowlist", node_group("p5.48xlarge"), spec_for("dev", allowedInstanceTypes=[
        "p5.48xlarge"])) == []
    assert check("gpu-max-per-pool", node_group("p5.48xlarge", max_size=4), spec_for("dev"))  # 32 > 16
    assert check("gpu-max-per-pool", node_group("p5.48xlarge", max_size=4), spec_for("dev", maxGpusPerPool=32)) == []


def test_settings_without_a_spec_use_the_production_tier():
    strict = PolicySettings.strict("x")
    prod = TIER_LIMITS[Tier.production]
    assert strict.allowed_instance_types == prod.instance_types
    assert (strict.max_gpus_per_pool, strict.max_gpus_per_stack) == (prod.max_gpus_per_pool, prod.max_gpus_per_stack)


def test_every_settings_path_sets_all_gpu_limits_and_their_sources(monkeypatch):
    """Policies read the limits without a None check: from a spec, from nothing, and inside ``pulumi preview``."""
    from policies._framework import context_from_environment
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    monkeypatch.setenv("PULUMI_STACK", "no-such-stack")
    paths = [PolicySettings.from_spec(spec_for(s)) for s in STACKS] + [PolicySettings.strict(),
                                                                        context_from_environment().settings]
    for settings in paths:
        assert settings.allowed_instance_types and settings.max_gpus_per_pool and settings.max_gpus_per_stack
        assert all("tier default" in settings.source_of(k)
                   for k in ("allowedInstanceTypes", "maxGpusPerPool", "maxGpusPerStack"))


def test_an_empty_allowlist_allows_nothing_and_says_so():
    bad = check("gpu-instance-allowlist", node_group("g6e.12xlarge"), spec_for("dev", allowedInstanceTypes=[]))
    assert len(bad) == 1 and "(policy.allowedInstanceTypes); allowed: none" in bad[0].message, bad
