"""The budget gate fails closed (issue 19): an unpriced GPU pool, or unpriced resources beyond
``budget.unpricedThresholdUsd``, make the verdict unknown: a mandatory failure of `blueprint policy`, `review`
and `cost` in staging and production, a visible warning in development; the unpriced list shows in every format."""
from __future__ import annotations

import json

import pytest

from cli.main import main
from blueprint.cost import CostEstimate, estimate
from blueprint.cost.context import PRICERS
from blueprint.cost.model import NO_BUDGET, OVER, UNKNOWN, WITHIN, Classified
from tests.conftest import plan_commands_with, shipped_plan
from tests.cost.helpers import HOURS, approx, gcp_provider, priced
from tests.policies.helpers import evaluate, spec_for

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
A3_US_EAST4 = 88.555756  # a3-highgpu-8g on-demand in us-east4, billing catalog 2026-07-30 (the machine, GPUs, SSD)


def _always_on_pool(machine: str, region: str):
    def program():
        import pulumi_gcp.container as container
        container.NodePool("train", cluster="c", location=region, node_locations=[f"{region}-a"], node_count=1,
                           node_config={"machine_type": machine, "disk_type": "pd-ssd", "disk_size_gb": 200},
                           opts=gcp_provider(region))
    return program


def test_an_always_on_a3_pool_in_us_east4_is_now_priced_and_counted():
    """Issue 19's bypass: this pool read "UNPRICED ... within budget" because GCP compute was priced in us-central1
    only. us-east4 is priced now, so the pool is in the total at its own region's rate."""
    est = priced(_always_on_pool("a3-highgpu-8g", "us-east4"))
    assert est.unpriced == []
    machine = est.item("train").components[0]
    assert machine.unit_price == A3_US_EAST4 and machine.price.kind == "reading"
    assert machine.monthly.expected == approx(HOURS * A3_US_EAST4)  # $64,645.70 a month
    assert est.item("train").region == "gcp/us-east4"


@pytest.mark.parametrize("tier,blocking", [("staging", True), ("prod", True), ("dev", False)])
def test_an_unpriced_always_on_gpu_pool_fails_the_staging_and_prod_budget_check(tier, blocking):
    """a3-megagpu-8g has no us-central1 price (the billing catalog lists none there): whatever the budget, the
    verdict is unknown; the budget policy fails it in staging and production and warns in development."""
    plan = __import__("blueprint.plan.engine", fromlist=["run_program"]).run_program(
        _always_on_pool("a3-megagpu-8g", "us-central1"))
    est = estimate(plan)
    [unpriced] = est.unpriced
    assert unpriced.gpu and "no gcp on-demand price for 'a3-megagpu-8g' in us-central1" in unpriced.reason
    # reference: the dearest region that lists the machine (asia-southeast1), plus its boot disk here
    assert unpriced.reference_usd == approx(HOURS * 119.974645 + 200 * 0.17)
    report = evaluate(plan, spec_for(tier), ["stack-within-budget"])
    [violation] = report.violations
    assert violation.blocking is blocking  # mandatory outside development, advisory (a warning) in it
    assert violation.message.startswith("budget verdict unknown: 1 GPU pool(s) not priced (train)")


def _estimate(unpriced, expected_items=(), budget=10_000.0, threshold=0.0, tier="staging"):
    est = CostEstimate(stack="s", items=list(expected_items), unpriced=list(unpriced), budget_usd=budget, tier=tier,
                       unpriced_threshold_usd=threshold)
    return est.verdict()


def test_verdict_rules():
    nat = Classified("urn::nat", "aws:ec2/natGateway:NatGateway", "no price in me-central-1", reference_usd=33.0)
    db = Classified("urn::db", "aws:rds/instance:Instance", "no pricer for this resource type")
    gpu = Classified("urn::pool", NODE_GROUP, "no pricer for this resource type", gpu=True, reference_usd=10.0)
    assert _estimate([]).state == WITHIN
    assert _estimate([], budget=None).state == NO_BUDGET
    # a reference price within the spec's threshold is tolerated and counted against the budget
    assert _estimate([nat], threshold=0).state == UNKNOWN
    within = _estimate([nat], threshold=50)
    assert within.state == WITHIN and within.reference_usd == 33.0 and "+ $33 unpriced" in within.reason()
    assert _estimate([nat], threshold=50, budget=20).state == OVER  # 0 priced + 33 by reference > 20
    # no reference price, or a GPU pool: unknown whatever the threshold
    assert _estimate([db], threshold=1e9).state == UNKNOWN
    assert _estimate([gpu], threshold=1e9).state == UNKNOWN
    # unknown blocks in staging and production only
    assert _estimate([gpu], tier="production").blocks and _estimate([gpu], tier="staging").blocks
    assert not _estimate([gpu], tier="development").blocks


def test_over_budget_has_one_meaning_the_verdicts():
    """Unpriced resources counted at their reference price can put a stack over budget while the priced part is
    within it: the estimate's JSON says over budget exactly when its verdict does."""
    nat = Classified("urn::nat", "aws:ec2/natGateway:NatGateway", "no price in me-central-1", reference_usd=33.0)
    est = CostEstimate(stack="s", items=[], unpriced=[nat], budget_usd=20.0, tier="staging",
                       unpriced_threshold_usd=50.0)
    assert est.total.expected == 0 and est.verdict().state == OVER
    assert est.as_dict()["over_budget"] is True and est.verdict().over_budget


def test_over_budget_is_over_even_with_something_unpriced():
    from blueprint.cost.model import CostComponent, LineItem, Range
    from blueprint.catalog.prices import Price
    item = LineItem("urn::x", "t", "x", "aws/us-east-1", "c",
                    [CostComponent("c", "hours", Price(1.0, "hour", "s", "2026-01-01"), Range.flat(20_000))])
    gpu = Classified("urn::pool", NODE_GROUP, "r", gpu=True)
    assert _estimate([gpu], [item]).state == OVER


@pytest.fixture
def no_node_group_pricer(monkeypatch):
    """A resource type the estimator does not know (as a new GPU pool type would be after a merge)."""
    monkeypatch.delitem(PRICERS, NODE_GROUP)
    plan_commands_with(monkeypatch, shipped_plan)


def test_commands_fail_closed_in_staging(no_node_group_pricer, capsys, tmp_path):
    assert main(["policy", "--stack", "staging"]) == 1
    out = capsys.readouterr()
    assert "stack-within-budget" in out.out and "budget verdict unknown" in out.out
    assert main(["review", "--stack", "staging"]) == 1
    table = capsys.readouterr().out
    assert "unknown" in table and "BUDGET GATE: budget verdict unknown" in table
    assert "UNPRICED GPU pool aws:eks/nodeGroup:NodeGroup aws-us-east-1-train-l40s" in table
    assert main(["review", "--stack", "staging", "--format", "markdown", "--out", str(tmp_path / "r.md")]) == 1
    markdown = (tmp_path / "r.md").read_text()
    assert "Budget verdict: **unknown** (blocks)" in markdown and "| GPU pool | `aws:eks/nodeGroup:NodeGroup` |" in \
        markdown
    assert main(["cost", "--stack", "staging"]) == 1
    captured = capsys.readouterr()
    assert "BUDGET VERDICT UNKNOWN - fails the budget gate" in captured.out
    assert "stack staging fails its budget gate: budget verdict unknown" in captured.err


def test_dev_only_warns(no_node_group_pricer, capsys):
    assert main(["policy", "--stack", "dev"]) == 0
    assert "budget verdict unknown" in capsys.readouterr().out  # reported, advisory
    assert main(["cost", "--stack", "dev"]) == 0
    captured = capsys.readouterr()
    assert "BUDGET VERDICT UNKNOWN - a warning in development" in captured.out
    assert "stack dev budget warning (development)" in captured.err
    assert main(["review", "--stack", "dev"]) == 0


def test_the_unpriced_list_shows_in_every_format_of_cost_and_cost_diff(no_node_group_pricer, capsys, tmp_path):
    pool = "aws-us-east-1-train-l40s"
    main(["cost", "--stack", "staging", "--format", "json"])
    (doc,) = json.loads(capsys.readouterr().out)  # always a list, one object per stack
    assert pool in {u["urn"].rsplit("::", 1)[-1] for u in doc["unpriced"] if u["gpu"]}
    assert doc["budget_verdict"]["state"] == "unknown" and doc["budget_verdict"]["blocks"] is True
    main(["cost", "--stack", "staging", "--format", "markdown"])
    assert f"| GPU pool | `{NODE_GROUP}` | `{pool}` |" in capsys.readouterr().out
    main(["cost", "--stack", "staging"])
    assert f"  GPU {NODE_GROUP}  {pool}: no pricer for this resource type" in capsys.readouterr().out
    base = tmp_path / "base.json"
    base.write_text(json.dumps(shipped_plan("staging").to_preview_json()))
    for fmt, expected in (("table", f"  GPU {NODE_GROUP}  {pool}"), ("markdown", f"| GPU pool | `{NODE_GROUP}` | `{pool}`"),
                          ("json", f'"urn": "{[r.urn for r in shipped_plan("staging") if r.custom and r.name == pool][0]}"')):
        assert main(["cost", "diff", "--base", str(base), "--stack", "staging", "--format", fmt]) == 1
        out = capsys.readouterr().out
        assert expected in out, fmt
        assert "unknown" in out


def test_shipped_stacks_are_priced_and_within_budget():
    for stack in ("dev", "staging", "prod"):
        verdict = estimate(shipped_plan(stack)).verdict()
        assert verdict.state == WITHIN and not verdict.blocks, (stack, verdict.reason())


def test_the_threshold_is_a_spec_key_checked_for_sign():
    from blueprint.spec import SpecError, load_spec
    from tests.conftest import platform_config
    cfg = platform_config("staging")
    cfg["budget"]["unpricedThresholdUsd"] = 250
    assert load_spec(cfg, stack="staging").budget.unpriced_threshold_usd == 250
    cfg["budget"]["unpricedThresholdUsd"] = -1
    with pytest.raises(SpecError, match="budget.unpricedThresholdUsd"):
        load_spec(cfg, stack="staging")
