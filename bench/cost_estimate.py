"""Benchmark: time to estimate the cost of the three shipped stacks and of a diff, side by side with planning.

Run: ``.venv/bin/python bench/cost_estimate.py``. Prints, per stack, the plan time, the estimate time (best of N)
and their ratio, then the time of a cost diff between two prod plans (a pool resized, a NAT gateway removed) read
both as two plans and as one preview document, against the plan time.
"""
from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blueprint.cost import diff_plans_cost, diff_preview, estimate, load_usage  # noqa: E402
from blueprint.plan import Plan, run_plan  # noqa: E402
from blueprint.plan.diff import diff_plans  # noqa: E402

REPEAT = 5


def best(fn, repeat: int = REPEAT) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def changed(plan: Plan) -> Plan:
    """prod with the us-east-1 serving pool at 6 nodes minimum and one NAT gateway (and its address) gone."""
    head = copy.deepcopy(plan)
    for r in head.resources:
        if r.name == "aws-us-east-1-serve-l4" and r.type == "aws:eks/nodeGroup:NodeGroup":
            r.inputs["scalingConfig"].update(minSize=6.0, desiredSize=6.0)
    head.resources = [r for r in head.resources if r.name != "aws-us-west-2-nat-us-west-2c"]
    return head


def main() -> None:
    print(f"{'stack':<9} {'resources':>9} {'plan s':>8} {'estimate s':>11} {'estimate/plan':>14} {'expected $/mo':>14}")
    plans = {}
    for stack in ("dev", "staging", "prod"):
        t = time.perf_counter()
        plans[stack] = run_plan(stack)
        plan_s = time.perf_counter() - t
        usage = load_usage(stack)
        est_s, est = best(lambda: estimate(plans[stack], usage))
        print(f"{stack:<9} {len(plans[stack]):>9} {plan_s:>8.3f} {est_s:>11.4f} {est_s / plan_s:>14.4f} "
              f"{est.total.expected:>14,.0f}")
    base, head = plans["prod"], changed(plans["prod"])
    usage = load_usage("prod")
    two_s, diff = best(lambda: diff_plans_cost(base, head, usage))
    preview = diff_plans(base, head).to_preview_json()
    one_s, diff2 = best(lambda: diff_preview(preview, "prod", usage))
    t = time.perf_counter()
    run_plan("prod")
    plan_s = time.perf_counter() - t
    print()
    print(f"{'prod diff':<28} {'seconds':>9} {'vs plan':>9} {'delta $/mo':>12}")
    print(f"{'plan (for reference)':<28} {plan_s:>9.3f} {1:>9.3f} {'':>12}")
    print(f"{'two plans (cost diff --base)':<28} {two_s:>9.4f} {two_s / plan_s:>9.4f} {diff.delta.expected:>+12,.0f}")
    print(f"{'one preview (--preview)':<28} {one_s:>9.4f} {one_s / plan_s:>9.4f} {diff2.delta.expected:>+12,.0f}")


if __name__ == "__main__":
    main()
