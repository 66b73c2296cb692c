"""``blueprint cost``: monthly cost of stacks from their plans, and ``cost diff``: the cost of a change.
Notes: docs/architecture.md, "Command line"."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from blueprint.cost import diff_estimates, diff_preview, estimate, load_usage
from blueprint.cost.format import render_diff_markdown, render_diff_table, render_json, render_markdown, render_table
from blueprint.cost.model import OVER, UNKNOWN
from blueprint.plan import Plan, run_plan
from blueprint.plan.git import plan_at_ref
from cli.commands.common import add_stack_arg, stacks_from, warn_placeholders

HELP = "monthly cost estimate per stack (breakdown, budget gate); 'cost diff' for the cost of a change"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cost", help=HELP, description=HELP)
    _common(p)
    p.set_defaults(run=run)
    nested = p.add_subparsers(dest="cost_command", metavar="SUBCOMMAND")
    d = nested.add_parser("diff", help="cost change against a git ref, a saved plan, or a real preview",
                          description="cost change against a git ref, a saved plan, or a real preview")
    _common(d)
    source = d.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", metavar="REF|PLAN.json",
                        help="git ref to plan the stack at, or a plan / preview JSON file as the base")
    source.add_argument("--preview", type=Path, metavar="PREVIEW.json",
                        help="a real `pulumi preview --json` of the change (old and new states per step)")
    d.add_argument("--head", type=Path, metavar="PLAN.json", help="with --base: the new plan (default: plan now)")
    d.set_defaults(run=run_diff)


def _common(p: argparse.ArgumentParser) -> None:
    add_stack_arg(p)
    p.add_argument("--format", choices=["table", "markdown", "json"], default="table", help="default table")
    p.add_argument("--usage", type=Path, metavar="FILE", help="usage file read after the stack's own")
    p.add_argument("--out", type=Path, metavar="FILE", help="write the output to FILE as well")


def _emit(args: argparse.Namespace, text: str) -> None:
    print(text)
    if args.out:
        args.out.write_text(text if text.endswith("\n") else text + "\n")


def run(args: argparse.Namespace) -> int:
    plans = [run_plan(stack) for stack in stacks_from(args)]
    results = [estimate(plan, load_usage(plan.stack, extra=args.usage)) for plan in plans]
    if args.format == "json":
        text = json.dumps([json.loads(render_json(r)) for r in results] if len(results) > 1
                          else results[0].as_dict(), indent=2)
    else:
        render = render_markdown if args.format == "markdown" else render_table
        text = ("\n\n" if args.format == "table" else "\n").join(render(r) for r in results)
    _emit(args, text)
    warn_placeholders(plans)
    return 1 if _report_verdicts([(r.stack, r.verdict()) for r in results]) else 0


def _report_verdicts(verdicts) -> bool:
    """Say on stderr why each stack's budget gate blocks or warns; True when one blocks."""
    blocked = False
    for stack, v in verdicts:
        if v.state in (OVER, UNKNOWN):
            kind = "fails its budget gate" if v.blocks else "budget warning (development)"
            print(f"cost: stack {stack} {kind}: {v.reason()}", file=sys.stderr)
        blocked = blocked or v.blocks
    return blocked


def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SystemExit(f"error: cannot read {path}: {exc}") from None


def run_diff(args: argparse.Namespace) -> int:
    stacks = stacks_from(args)
    if len(stacks) != 1:
        print("error: cost diff needs exactly one --stack", file=sys.stderr)
        return 2
    stack = stacks[0]
    usage = load_usage(stack, extra=args.usage)
    if args.preview:
        # The stack's plan fills in what the preview leaves out (unchanged resources, without --show-sames).
        diff = diff_preview(_load_json(args.preview), stack=stack, usage=usage, context=run_plan(stack))
        base_name = str(args.preview)
    else:
        base_name = args.base
        if Path(args.base).suffix == ".json" and Path(args.base).exists():
            base = Plan.from_preview_json(_load_json(Path(args.base)), stack=stack)
        else:
            base = plan_at_ref(args.base, stack)
        head = Plan.from_preview_json(_load_json(args.head), stack=stack) if args.head else run_plan(stack)
        diff = diff_estimates(estimate(base, usage) if base is not None else None, estimate(head, usage))
    if args.format == "json":
        text = render_json(diff)
    elif args.format == "markdown":
        text = render_diff_markdown(diff, base_name)
    else:
        text = render_diff_table(diff, base_name)
    _emit(args, text)
    after = diff.after_estimate
    return 1 if after is not None and _report_verdicts([(stack, after.verdict())]) else 0
