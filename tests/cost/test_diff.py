"""Cost diffs: a preview's create / update / delete / replace / create-replacement / delete-replaced steps,
and two offline plans (the shape `cost diff --base` compares)."""
from __future__ import annotations

import json

from blueprint.cost import diff_estimates, diff_preview, estimate
from blueprint.plan import Plan
from blueprint.plan.diff import diff_plans
from tests.cost.helpers import HOURS, approx, usage
from tests.cost.preview_fixture import preview_doc

ROOT_DISK = 2 * 20 * 0.08  # two nodes' 20 GB gp3 root volumes (no launch template), same on both sides


def _by_name(diff):
    return {c.name: c for c in diff.changes}


def test_each_step_kind_moves_the_total_the_right_way():
    diff = diff_preview(preview_doc(), usage=usage())
    c = _by_name(diff)
    assert (c["nat"].op, c["nat"].delta.expected) == ("create", approx(HOURS * 0.045))
    assert (c["ip"].op, c["ip"].delta.expected) == ("delete", approx(-HOURS * 0.005))
    assert (c["eks"].op, c["eks"].delta.expected) == ("update", approx(HOURS * (0.60 - 0.10)))
    assert c["serve"].op == "replace"
    assert c["serve"].before.expected == approx(2 * HOURS * 0.9776 + ROOT_DISK)
    assert c["serve"].after.expected == approx(2 * HOURS * 0.8048 + ROOT_DISK)
    assert (c["hot"].op, c["hot"].delta.expected) == ("replace", approx((2400 - 1200) * 0.145))
    assert (c["key"].op, c["key"].delta.expected) == ("same", 0)
    assert "shared" not in c  # the read step is not the stack's cost
    expected_delta = HOURS * 0.045 - HOURS * 0.005 + HOURS * 0.5 + 2 * HOURS * (0.8048 - 0.9776) + 1200 * 0.145
    assert diff.delta.expected == approx(expected_delta)  # +315.91


def test_replacement_steps_are_not_double_counted():
    diff = diff_preview(preview_doc(), usage=usage())
    serve = [c for c in diff.changes if c.name == "serve"]
    assert len(serve) == 1
    before = 1.0 + HOURS * 0.005 + HOURS * 0.10 + 2 * HOURS * 0.9776 + ROOT_DISK + 1200 * 0.145
    after = 1.0 + HOURS * 0.045 + HOURS * 0.60 + 2 * HOURS * 0.8048 + ROOT_DISK + 2400 * 0.145
    assert (diff.before.expected, diff.after.expected) == (approx(before), approx(after))


def test_min_and_max_follow_the_pool_bounds():
    diff = diff_preview(preview_doc(), usage=usage())
    serve = _by_name(diff)["serve"]
    assert serve.delta.min == approx(1 * HOURS * (0.8048 - 0.9776))
    assert serve.delta.max == approx(4 * HOURS * (0.8048 - 0.9776))


def test_two_plans_diff_the_same_as_their_preview():
    doc = preview_doc()
    diff = diff_preview(doc, usage=usage())
    # The same change as two offline plans: the base holds the old states, the head the new ones.
    old = {"steps": [{"op": "same", "urn": s["urn"], "newState": s.get("oldState") or s["newState"]}
                     for s in doc["steps"] if s["op"] not in ("create", "read", "create-replacement")
                     or s.get("oldState")]}
    new = {"steps": [{"op": "same", "urn": s["urn"], "newState": s["newState"]}
                     for s in doc["steps"] if s.get("newState") and s["op"] not in ("read", "delete", "delete-replaced")]}
    base, head = Plan.from_preview_json(old, stack="prod"), Plan.from_preview_json(new, stack="prod")
    from_plans = diff_estimates(estimate(base, usage()), estimate(head, usage()))
    assert from_plans.delta.expected == approx(diff.delta.expected)
    # And the plan engine's own diff, written as preview steps, prices to the same change.
    assert diff_preview(diff_plans(base, head).to_preview_json(), "prod", usage()).delta.expected == \
        approx(diff.delta.expected)


def test_a_new_stack_is_all_creates():
    head = Plan.from_preview_json(json.loads(json.dumps(preview_doc())), stack="prod")
    diff = diff_estimates(None, estimate(head, usage()))
    assert {c.op for c in diff.changes} == {"create"}
    assert diff.before.expected == 0 and diff.delta.expected == diff.after.expected > 0


def test_a_preview_without_same_steps_prices_with_the_stacks_plan_as_context():
    """`pulumi preview --json` omits unchanged resources (no --show-sames): the providers that give each changed
    resource its region among them. The stack's plan supplies them, so the change prices as with every step."""
    full = preview_doc()
    context = Plan.from_preview_json({"steps": [s for s in full["steps"] if s["op"] == "same"]}, stack="prod")
    real = {**full, "steps": [s for s in full["steps"] if s["op"] != "same"]}
    with_sames = diff_preview(full, "prod", usage())
    diff = diff_preview(real, "prod", usage(), context=context)
    assert diff.after_estimate.unpriced == [] and diff.before_estimate.unpriced == []
    assert diff.delta.as_dict() == with_sames.delta.as_dict()
    assert (diff.before.expected, diff.after.expected) == (approx(with_sames.before.expected),
                                                           approx(with_sames.after.expected))
    assert {c.name: c.region for c in diff.changed()} == {c.name: c.region for c in with_sames.changed()}
    assert _by_name(diff)["key"].op == "same"


def test_cost_diff_command_reads_a_preview_of_the_real_stack_without_same_steps(tmp_path, capsys):
    """A change to the real prod program, written as the CLI writes a preview (no same steps): the command
    prices it with the stack's plan as context, to the delta of the two plans."""
    from cli.main import main
    from blueprint.plan import run_plan
    from tests.conftest import platform_config, shipped_plan
    cfg = platform_config("prod")
    cfg["regions"][0]["storage"]["hot"]["capacityGib"] = 12000  # FSx for Lustre in us-east-1: 9600 -> 12000 GiB
    base, head = shipped_plan("prod"), run_plan("prod", platform=cfg)
    doc = diff_plans(base, head).to_preview_json()
    doc["steps"] = [s for s in doc["steps"] if s["op"] != "same"]
    assert not any(s["urn"].split("::")[2].startswith("pulumi:providers:") for s in doc["steps"])
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(doc))
    assert main(["cost", "diff", "--preview", str(path), "--stack", "prod", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = diff_estimates(estimate(base), estimate(head)).delta.expected
    assert want > 100 and out["delta"]["expected"] == approx(want)
    assert [c["region"] for c in out["changes"]] and {c["region"] for c in out["changes"]} == {"aws/us-east-1"}
