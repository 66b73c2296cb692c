"""The plan carries its validated spec: set by the engine, loaded once for a plan read back from JSON or rebuilt
inside the policy pack; an invalid spec is an error for every reader, never "no budget" or strict defaults."""
from __future__ import annotations

import json

import pytest

import blueprint.plan.model as plan_model
from blueprint.cost import budget_verdict, diff_preview, estimate
from blueprint.cost.model import NO_BUDGET
from blueprint.plan import Plan
from blueprint.spec import FULL_KEY, SpecError
from blueprint.spec.load import SECRET_PLACEHOLDER, spec_from_config
from cli.policy_run import evaluate_plan
from policies import _framework
from tests.conftest import platform_config, shipped_plan


def _plan_with(platform) -> Plan:
    dev = shipped_plan("dev")
    value = platform if isinstance(platform, str) else json.dumps(platform)
    return Plan(stack="dev", project=dev.project, resources=dev.resources, config={**dev.config, FULL_KEY: value})


def _broken() -> dict:
    cfg = platform_config("dev")
    cfg["regions"][0]["gpuPools"][0]["accelerator"] = "tpu-v5"
    return cfg


def test_the_engine_sets_the_spec_it_validated(monkeypatch):
    def no_reload(*_):
        raise AssertionError("run_plan's plan must not parse its config again")
    monkeypatch.setattr(plan_model, "spec_from_config", no_reload)
    plan = shipped_plan("dev")
    assert plan.spec is not None and plan.spec.stack == "dev" and plan.spec.budget.monthly_usd == 8000


def test_a_plan_read_from_its_json_loads_its_spec_once(monkeypatch):
    calls = []

    def counted(config, stack):
        calls.append(stack)
        return spec_from_config(config, stack)
    monkeypatch.setattr(plan_model, "spec_from_config", counted)
    original = shipped_plan("staging")
    read = Plan.from_preview_json(json.loads(original.dumps()))
    assert read.spec == original.spec and read.spec is read.spec
    assert calls == ["staging"]


def test_an_invalid_spec_is_an_error_for_cost_and_policy():
    plan = _plan_with(_broken())
    with pytest.raises(SpecError, match="unknown accelerator 'tpu-v5'"):
        estimate(plan)
    with pytest.raises(SpecError, match="unknown accelerator 'tpu-v5'"):
        evaluate_plan(plan)


def test_a_plan_without_a_spec_has_no_budget_and_no_policy_settings():
    dev = shipped_plan("dev")
    bare = Plan(stack="dev", project=dev.project, resources=dev.resources, config={})
    assert bare.spec is None and budget_verdict(bare).state == NO_BUDGET
    with pytest.raises(SpecError, match="holds no platform spec"):
        evaluate_plan(bare)


def test_encrypted_leaves_stay_encrypted_and_plain_credentials_are_refused():
    cfg = platform_config("dev")
    cfg["budget"]["alertWebhookUrl"] = SECRET_PLACEHOLDER  # how the engine passes a `secure:` leaf on
    assert _plan_with(cfg).spec.budget.alert_webhook_url is not None
    cfg["budget"]["alertWebhookUrl"] = "https://hooks.example.com/T000/B000/XXXX"
    with pytest.raises(SpecError, match="a credential given in plain text"):
        _ = _plan_with(cfg).spec


def test_a_preview_that_masks_the_spec_is_priced_against_the_stacks_budget():
    dev = shipped_plan("dev")
    doc = {**dev.to_preview_json(), "config": {FULL_KEY: SECRET_PLACEHOLDER}}
    diff = diff_preview(doc, stack="dev", context=dev)
    assert diff.after_estimate is not None and diff.after_estimate.budget_usd == 8000


def test_the_pack_refuses_an_invalid_spec_in_its_environment(monkeypatch):
    monkeypatch.setenv("PULUMI_STACK", "dev")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({FULL_KEY: json.dumps(_broken())}))
    with pytest.raises(SpecError, match="unknown accelerator 'tpu-v5'"):
        _framework.context_from_environment()


def test_an_invalid_stack_file_is_an_error_for_the_pack_and_a_missing_one_means_strict(tmp_path):
    """Without the CLI's config the pack reads the stack file: a broken spec there fails, no stack file is strict."""
    from blueprint.spec.load import spec_from_environment
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.qa.yaml").write_text(json.dumps({"config": {FULL_KEY: _broken()}}))
    with pytest.raises(SpecError, match="unknown accelerator 'tpu-v5'"):
        spec_from_environment({"PULUMI_STACK": "qa"}, root=tmp_path)
    assert spec_from_environment({"PULUMI_STACK": "gone"}, root=tmp_path) is None
