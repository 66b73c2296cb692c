"""``blueprint plan``: run the real program offline and show what it declares."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from blueprint.plan import Plan, run_plan
from cli.commands.common import add_stack_arg, stacks_from, warn_placeholders

HELP = "plan stacks offline: resource tree and counts by type, or the plan as `pulumi preview --json`"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help=HELP, description=HELP)
    add_stack_arg(p)
    p.add_argument("--json", action="store_true", help="print the plan in the shape of `pulumi preview --json`")
    p.add_argument("--out", type=Path, metavar="FILE", help="with --json: write to FILE instead of stdout")
    p.set_defaults(run=run)


def render_tree(plan: Plan) -> str:
    lines = [f"stack {plan.stack}: {len(plan)} resources"]
    roots = [r for r in plan if r.parent is None]

    def walk(urn: str, depth: int) -> None:
        for child in sorted(plan.children(urn), key=lambda r: (r.type, r.name)):
            lines.append(f"{'  ' * depth}+ {child.type}  {child.name}")
            walk(child.urn, depth + 1)

    for root in roots:
        lines.append(f"+ {root.type}  {root.name}")
        walk(root.urn, 1)
    lines.append("")
    lines.append(f"{'count':>6}  type")
    for type_, n in sorted(plan.counts_by_type().items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"{n:>6}  {type_}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    stacks = stacks_from(args)
    if args.json:
        if len(stacks) != 1:
            print("error: --json needs exactly one --stack", file=sys.stderr)
            return 2
        plan = run_plan(stacks[0])
        text = json.dumps(plan.to_preview_json(), indent=2)
        warn_placeholders([plan])
        if args.out:
            args.out.write_text(text + "\n")
        else:
            print(text)
        return 0
    for stack in stacks:
        plan = run_plan(stack)
        print(render_tree(plan))
        print()
        warn_placeholders([plan])
    return 0
