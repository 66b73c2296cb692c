"""``blueprint plan``: run the real program offline and show what it declares."""
from __future__ import annotations

import argparse
import json

from blueprint.plan import Plan, run_plan
from cli.commands.common import add_out_arg, add_stack_arg, plan_of, stacks_from, warn_placeholders
from cli.output import UserError, check_writable, emit

HELP = "plan stacks offline: resource tree and counts by type, or the plan as `pulumi preview --json`"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help=HELP, description=HELP)
    add_stack_arg(p)
    p.add_argument("--json", action="store_true", help="print the plan in the shape of `pulumi preview --json`")
    add_out_arg(p)
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
    check_writable(args.out)
    if args.json:
        if len(stacks) != 1:
            raise UserError("--json needs exactly one --stack (its shape is one stack's `pulumi preview --json`)", 2)
        plan = plan_of(args, stacks[0], run_plan)
        emit(json.dumps(plan.to_preview_json(), indent=2), args.out)
        warn_placeholders([plan])
        return 0
    texts = []
    for stack in stacks:
        plan = plan_of(args, stack, run_plan)
        texts.append(render_tree(plan) + "\n")
        warn_placeholders([plan])
    emit("\n".join(texts), args.out)
    return 0
