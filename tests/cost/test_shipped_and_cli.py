"""The shipped stacks' estimates (believable totals, nothing unpriced), the API review and policy call, and the
`blueprint cost` / `cost diff` commands with the budget gate."""
from __future__ import annotations

import json

import pytest

from cli.main import main
from blueprint.cost import budget_verdict, estimate
from blueprint.plan import Plan
from tests.conftest import plan_commands_with, shipped_plan
from tests.cost.helpers import HOURS, approx
from tests.cost.preview_fixture import preview_doc


def test_prod_reserved_h100_pool_is_two_p5_at_list_price():
    est = estimate(shipped_plan("prod"))
    pool = est.item("aws-us-east-1-train-h100")
    reservation = pool.components[0]
    assert reservation.unit_price == 55.04 and "reserved" in reservation.name
    assert reservation.monthly.expected == approx(2 * HOURS * 55.04)  # $80,358.40
    assert pool.region == "aws/us-east-1" and pool.component == "aws:GpuNodePool aws-us-east-1-train-h100"


@pytest.mark.parametrize("stack,low,high", [("dev", 300, 3000), ("staging", 2000, 20000), ("prod", 90_000, 200_000)])
def test_shipped_stacks_have_believable_totals_within_budget_and_nothing_unpriced(stack, low, high):
    est = estimate(shipped_plan(stack))
    assert low < est.total.expected < high
    assert est.total.min <= est.total.expected <= est.total.max
    assert est.budget_usd is not None and not est.verdict().over_budget
    assert est.unpriced == []
    regions = {r.key for r in shipped_plan(stack).spec.regions}
    assert {i.region for i in est.items if i.type != "usage:transfer"} >= regions
    assert budget_verdict(shipped_plan(stack)).expected == approx(est.total.expected)


def _with_budget(plan: Plan, usd: float) -> Plan:
    """The plan with another budget in its spec (a config map as a preview's: the plan loads its spec from it)."""
    platform = {**json.loads(plan.config["aiplatform:platform"]), "budget": {"monthlyUsd": usd}}
    return Plan(stack=plan.stack, project=plan.project, resources=plan.resources,
                config={**plan.config, "aiplatform:platform": json.dumps(platform)})


def test_budget_verdict_reads_the_spec_budget():
    verdict = budget_verdict(shipped_plan("dev"))
    assert verdict.budget == 8000 and not verdict.over_budget and verdict.expected > 0
    assert budget_verdict(_with_budget(shipped_plan("dev"), 10.0)).over_budget is True


def test_cost_command_prints_the_breakdown(capsys):
    assert main(["cost", "--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert "aws/us-east-1" in out and "aws:GpuNodePool aws-us-east-1-train-h100" in out
    assert "Capacity reservation (Linux, p5.48xlarge" in out and "TOTAL" in out and "within budget" in out


def test_cost_command_json_and_over_budget_exit(monkeypatch, capsys, tmp_path):
    dev = shipped_plan("dev")
    poor = Plan(stack="dev", project=dev.project, resources=dev.resources,
                config={**dev.config, "aiplatform:platform": json.dumps(
                    {**json.loads(dev.config["aiplatform:platform"]), "budget": {"monthlyUsd": 100}})})
    plan_commands_with(monkeypatch, lambda stack: poor)
    assert main(["cost", "--stack", "dev", "--format", "json", "--out", str(tmp_path / "c.json")]) == 1
    captured = capsys.readouterr()
    (doc,) = json.loads((tmp_path / "c.json").read_text())  # always a list, one object per stack
    assert doc["over_budget"] is True and doc["budget_usd"] == 100 and doc["monthly"]["expected"] > 100
    assert doc["budget_verdict"]["state"] == "over budget" and doc["budget_verdict"]["blocks"] is True
    assert "stack dev fails its budget gate" in captured.err and "exceeds the budget of $100/month" in captured.err


def test_cost_diff_reads_a_real_preview(tmp_path, capsys):
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(preview_doc()))
    assert main(["cost", "diff", "--preview", str(path), "--stack", "prod", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["delta"]["expected"] == approx(315.912 + 1500 * 0.045)  # plus prod's NAT data usage
    assert {c["op"] for c in doc["changes"]} == {"create", "delete", "update", "replace"}


def test_cost_diff_against_a_saved_base_plan(tmp_path, capsys):
    base = tmp_path / "base.json"
    base.write_text(json.dumps(shipped_plan("staging").to_preview_json()))
    head = tmp_path / "head.json"
    doc = shipped_plan("staging").to_preview_json()
    doc["steps"] = [s for s in doc["steps"] if not s["urn"].endswith("::aws-us-west-2-serve-l4")]
    head.write_text(json.dumps(doc))
    assert main(["cost", "diff", "--base", str(base), "--head", str(head), "--stack", "staging",
                 "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!-- blueprint-cost-diff -->")
    assert "| delete | `aws-us-west-2-serve-l4` |" in out


def test_cost_diff_exits_1_when_the_change_leaves_the_stack_over_budget(monkeypatch, capsys, tmp_path):
    dev = shipped_plan("dev")
    base = tmp_path / "base.json"
    base.write_text(json.dumps(dev.to_preview_json()))
    poor = Plan(stack="dev", project=dev.project, resources=dev.resources,
                config={**dev.config, "aiplatform:platform": json.dumps(
                    {**json.loads(dev.config["aiplatform:platform"]), "budget": {"monthlyUsd": 100}})})
    plan_commands_with(monkeypatch, lambda stack: poor)
    assert main(["cost", "diff", "--base", str(base), "--stack", "dev", "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["delta"]["expected"] == approx(0)  # no change, but over budget all the same
    assert "stack dev fails its budget gate" in captured.err
    plan_commands_with(monkeypatch, lambda stack: dev)
    assert main(["cost", "diff", "--base", str(base), "--stack", "dev", "--format", "json"]) == 0


def test_cost_diff_needs_one_stack(capsys):
    assert main(["cost", "diff", "--base", "HEAD", "--stack", "dev", "--stack", "prod"]) == 2


def test_derived_prices_are_marked_derived_in_every_format(monkeypatch, capsys):
    """prod's us-west-2 NAT gateway is priced by a derivation (us-east-1's reading): each format says so, with the
    formula; the us-east-1 one is a reading with its source and date."""
    from blueprint.cost.format import render_json, render_markdown, render_table
    est = estimate(shipped_plan("prod"))
    table, markdown, doc = render_table(est), render_markdown(est), json.loads(render_json(est))
    assert "      [derived] NAT gateway: 730 hours x $0.045" in table
    assert "  aws/vpc:us-west-2:nat-gateway-hour: $0.045 per hour = derived: us_east_1 (us_east_1 = " \
           "aws/vpc:us-east-1:nat-gateway-hour)" in table
    assert "| `aws-us-west-2-nat-us-west-2a` | NAT gateway | 730 hours x $0.045 [derived] |" in markdown
    assert "| `aws/vpc:us-west-2:nat-gateway-hour` | 0.045 | hour | derived: us_east_1 (" in markdown
    nat = {r["name"]: r["cost_components"][0] for r in doc["resources"] if r["type"] == "aws:ec2/natGateway:NatGateway"}
    west, east = nat["aws-us-west-2-nat-us-west-2a"], nat["aws-us-east-1-nat-us-east-1a"]
    assert west["price_kind"] == "derived" and west["price_formula"] == "us_east_1"
    assert west["price_inputs"] == {"us_east_1": "aws/vpc:us-east-1:nat-gateway-hour"} and "price_read" not in west
    assert east["price_kind"] == "reading" and east["price_source"] == "aws-vpc" and east["price_read"]
    assert "aws/vpc:us-west-2:nat-gateway-hour" in {p["price"] for p in doc["derived_prices"]}
