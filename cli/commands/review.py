"""``blueprint review``: what a reviewer reads, in one place: plan changes, policy results and cost, per stack.
Notes: docs/architecture.md, "Command line"."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from blueprint.cost import BudgetVerdict, CostDiff, CostEstimate, diff_plans_cost, estimate
from blueprint.cost.format import render_diff_markdown, unpriced_markdown
from blueprint.cost.model import UNKNOWN
from blueprint.plan import Plan, run_plan
from blueprint.plan.diff import PlanDiff, diff_plans
from blueprint.plan.git import plan_at_ref
from cli.commands.common import add_out_arg, add_stack_arg, plan_of, stack_placeholders, stacks_from
from cli.output import check_writable, emit, progress
from cli.policy_run import Report, Violation, evaluate_plan

HELP = "plan, policy and cost for every stack in one report; with --base REF, the change against REF"
MARKER = "<!-- blueprint-review -->"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help=HELP, description=HELP)
    add_stack_arg(p)
    p.add_argument("--base", metavar="REF", help="git ref to compare against (e.g. origin/main)")
    p.add_argument("--format", choices=["markdown", "table"], default="table", help="output format (default table)")
    add_out_arg(p, "the report")
    p.set_defaults(run=run)


@dataclass
class StackReview:
    stack: str
    head: Plan
    diff: PlanDiff
    policy: Report
    # With a base ref: the per-resource change `blueprint cost diff` shows (a stack new at REF cost nothing before).
    cost_diff: CostDiff | None = None
    head_cost: float = 0.0  # without a base ref: the head's expected monthly cost (with one, cost_diff has it)
    # documentation placeholders `pulumi up` refuses (blueprint/spec/placeholders.py): (config key, why)
    placeholders: list[tuple[str, str]] | None = None
    head_estimate: CostEstimate | None = None  # the head's estimate: its budget verdict and unpriced resources

    @property
    def verdict(self) -> BudgetVerdict:
        """The budget gate's one verdict (over, within, unknown) of the head."""
        assert self.head_estimate is not None, "set by review_stack"
        return self.head_estimate.verdict()

    @property
    def mandatory_failures(self) -> list[Violation]:
        return self.policy.blocking

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.policy.violations if not v.blocking]

    @property
    def unpriced(self) -> list:
        return self.head_estimate.unpriced if self.head_estimate is not None else []

    @property
    def cost_before(self) -> float | None:
        """None without a base: there is nothing to compare with."""
        return None if self.cost_diff is None else self.cost_diff.before.expected

    @property
    def cost_after(self) -> float:
        return self.head_cost if self.cost_diff is None else self.cost_diff.after.expected

    @property
    def cost_delta(self) -> float | None:
        """None without a base: there is nothing to compare with."""
        return None if self.cost_before is None else self.cost_after - self.cost_before


def review_stack(stack: str, base_ref: str | None, args: argparse.Namespace | None = None) -> StackReview:
    head = plan_of(args, stack, run_plan) if args is not None else run_plan(stack)
    if base_ref:
        progress(stack, f"planning at {base_ref}")
    base = plan_at_ref(base_ref, stack) if base_ref else None
    found = stack_placeholders(head)
    progress(stack, "evaluating policies and cost")
    common = dict(stack=stack, head=head, policy=evaluate_plan(head),
                  placeholders=[(i.path, i.message) for i in found.issues] if found else None)
    if base_ref:  # base is None for a stack new at REF: everything is created and its "before" cost is zero
        cost_diff = diff_plans_cost(base, head)
        return StackReview(**common, diff=diff_plans(base, head), cost_diff=cost_diff,
                           head_estimate=cost_diff.after_estimate)
    head_estimate = estimate(head)
    return StackReview(**common, diff=diff_plans(head, head), head_cost=head_estimate.total.expected,
                       head_estimate=head_estimate)


def _money(x: float | None) -> str:
    return "n/a" if x is None else f"${x:,.0f}"


def _delta(x: float | None) -> str:
    return "n/a" if x is None else ("+" if x >= 0 else "-") + _money(abs(x))


def render_markdown(reviews: list[StackReview], base_ref: str | None) -> str:
    # `blueprint cost diff --format markdown`'s text, a heading level below the stack's, without its own hidden
    # marker (the comment's marker is the review's).
    title = f"against `{base_ref}`" if base_ref else "of the stacks as they are"
    lines = [MARKER, f"## Platform review {title}", "",
             "| stack | created | updated | deleted | mandatory policy failures | advisory | monthly cost | delta "
             "| budget | budget verdict | unpriced |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for r in reviews:
        s = r.diff.summary()
        lines.append(f"| {r.stack} | {s['create']} | {s['update']} | {s['delete']} | {len(r.mandatory_failures)} "
                     f"| {len(r.advisory)} | {_money(r.cost_after)} | {_delta(r.cost_delta)} "
                     f"| {_money(r.verdict.budget)} | {r.verdict.state} | {len(r.unpriced)} |")
    for r in reviews:
        lines += ["", f"### {r.stack}", ""]
        if base_ref:
            for op in ("create", "update", "delete"):
                steps = r.diff.of(op)
                if steps:
                    lines.append(f"<details><summary>{len(steps)} to {op}</summary>\n")
                    lines += [f"- `{s.resource.type}` {s.resource.name}" for s in steps[:200]]
                    lines.append("\n</details>\n")
        if r.placeholders:
            lines += ["**Must be replaced before deploying** (`pulumi up` refuses these documentation "
                      "placeholders)", ""]
            lines += [f"- `{path}`: {why}" for path, why in r.placeholders]
            lines.append("")
        if r.mandatory_failures:
            lines += ["**Mandatory policy failures**", "", "| policy | resource | message |", "| --- | --- | --- |"]
            lines += [f"| {v.policy} | `{v.resource.rsplit('::', 1)[-1]}` | {v.message} |"
                      for v in r.mandatory_failures]
        else:
            lines.append("No mandatory policy failures.")
        lines.append("")
        over = " **over budget**" if r.verdict.over_budget else ""
        lines.append(f"Expected monthly cost {_money(r.cost_after)} (before: {_money(r.cost_before)}), "
                     f"budget {_money(r.verdict.budget)}{over}. Budget verdict: **{r.verdict.state}**"
                     f"{' (blocks)' if r.verdict.blocks else ''}: {r.verdict.reason()}.")
        if r.cost_diff is not None:  # set only with a base ref; its section lists the unpriced resources
            lines += ["", render_diff_markdown(r.cost_diff, base_ref, marker=False, level=4)]
        elif r.unpriced:
            lines += ["", *unpriced_markdown(r.unpriced)]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_table(reviews: list[StackReview]) -> str:
    out = [f"{'stack':<10} {'resources':>9} {'+':>5} {'~':>5} {'-':>5} {'mandatory':>9} {'advisory':>8} "
           f"{'monthly $':>12} {'delta $':>12} {'budget $':>12} {'verdict':>13} {'unpriced':>8}"]
    for r in reviews:
        s = r.diff.summary()
        out.append(f"{r.stack:<10} {len(r.head):>9} {s['create']:>5} {s['update']:>5} {s['delete']:>5} "
                   f"{len(r.mandatory_failures):>9} {len(r.advisory):>8} {r.cost_after:>12,.0f} "
                   f"{'n/a' if r.cost_delta is None else format(r.cost_delta, '+,.0f'):>12} {r.verdict.budget:>12,.0f} "
                   f"{r.verdict.state:>13} {len(r.unpriced):>8}")
    for r in reviews:
        for v in r.mandatory_failures:
            out.append(f"  {r.stack}: MANDATORY {v.policy}: {v.resource.rsplit('::', 1)[-1]}: {v.message}")
        for path, why in r.placeholders or []:
            out.append(f"  {r.stack}: must be replaced before deploying: {path}: {why}")
        if r.verdict.state == UNKNOWN:
            out.append(f"  {r.stack}: {'BUDGET GATE' if r.verdict.blocks else 'budget warning'}: {r.verdict.reason()}")
        for u in r.unpriced:
            out.append(f"  {r.stack}: UNPRICED {'GPU pool ' if u.gpu else ''}{u.type} {u.name}: {u.reason}")
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    stacks = stacks_from(args)
    check_writable(args.out)
    reviews = [review_stack(stack, args.base, args) for stack in stacks]
    text = render_markdown(reviews, args.base).rstrip("\n") if args.format == "markdown" else render_table(reviews)
    emit(text, args.out)
    failed = any(r.policy.failed or r.verdict.blocks for r in reviews)
    if failed:
        print("review: a mandatory policy failed, a budget is exceeded, or a budget verdict is unknown in staging or "
              "production", file=sys.stderr)
    return 1 if failed else 0
