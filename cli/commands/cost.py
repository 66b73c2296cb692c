"""``blueprint cost``: monthly cost of stacks from their plans, and ``cost diff``: the cost of a change.
Notes: docs/architecture.md, "Command line"."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from blueprint.cost import diff_estimates, diff_preview, estimate, load_usage
from blueprint.cost.format import (
    DEPTHS, render_diff_markdown, render_diff_table, render_json, render_markdown, render_table,
)
from blueprint.cost.model import OVER, UNKNOWN
from blueprint.plan import Plan, run_plan
from blueprint.plan.git import plan_at_ref
from blueprint.spec.yamlfile import InputFileError, read_text
from cli.commands.common import add_out_arg, add_stack_arg, plan_of, stacks_from, warn_placeholders
from cli.output import UserError, check_writable, emit, progress

HELP = "monthly cost estimate per stack (breakdown, budget gate); 'cost diff' for the cost of a change"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cost", help=HELP, description=HELP)
    _common(p)
    p.add_argument("--depth", type=int, choices=sorted(DEPTHS), default=max(DEPTHS),
                   help="table breakdown down to " + ", ".join(f"{k} {v}" for k, v in DEPTHS.items())
                        + f" (default {max(DEPTHS)})")
    p.set_defaults(run=run)
    nested = p.add_subparsers(dest="cost_command", metavar="SUBCOMMAND")
    d = nested.add_parser("diff", help="cost change against a git ref, a saved plan, or a real preview",
                          description="cost change against a git ref, a saved plan, or a real preview")
    _common(d, one_stack=True)
    source = d.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", metavar="REF|PLAN.json",
                        help="git ref to plan the stack at, or a plan / preview JSON file as the base")
    source.add_argument("--preview", type=Path, metavar="PREVIEW.json",
                        help="a real `pulumi preview --json` of the change (old and new states per step)")
    d.add_argument("--head", type=Path, metavar="PLAN.json", help="with --base: the new plan (default: plan now)")
    d.set_defaults(run=run_diff)


def _common(p: argparse.ArgumentParser, one_stack: bool = False) -> None:
    if one_stack:
        p.add_argument("--stack", "-s", action="append", required=True, metavar="NAME",
                       help="the stack to act on (exactly one)")
    else:
        add_stack_arg(p)
    p.add_argument("--format", choices=["table", "markdown", "json"], default="table",
                   help="output format (default table); json: " + (
                       "the diff object" if one_stack else "a list, one object per stack"))
    p.add_argument("--usage", type=Path, metavar="FILE",
                   help="usage file read after the stack's own stacks/usage.<stack>.yaml")
    add_out_arg(p)


def _usage(stack: str, extra: Path | None):
    """The stack's usage; problems in ``--usage FILE`` name the flag."""
    if extra is not None and (extra.is_dir() or not extra.exists()):
        raise UserError(f"--usage {extra}: {'is a directory' if extra.is_dir() else 'no such file'}; give a usage "
                        "YAML file (layout: blueprint/cost/usage_defaults.yaml)")
    return load_usage(stack, extra=extra)


def run(args: argparse.Namespace) -> int:
    stacks = stacks_from(args)
    check_writable(args.out)
    usages = {stack: _usage(stack, args.usage) for stack in stacks}  # a bad usage file fails before any plan
    plans = [plan_of(args, stack, run_plan) for stack in stacks]
    results = []
    for plan in plans:
        progress(plan.stack, "estimating cost")
        results.append(estimate(plan, usages[plan.stack]))
        warn_usage(usages[plan.stack], plan)
    if args.format == "json":  # always a list, one object per stack (each names its stack)
        text = json.dumps([json.loads(render_json(r)) for r in results], indent=2)
    elif args.format == "markdown":
        text = "\n".join(render_markdown(r) for r in results)
    else:
        text = "\n\n".join(render_table(r, args.depth) for r in results)
    emit(text, args.out)
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


def warn_usage(usage, plan: Plan) -> None:
    """Usage keys no resource of the plan reads, on stderr (as Infracost warns): a misspelt name is not an error,
    but it is never silent."""
    for warning in usage.unmatched(plan):
        print(f"warning: {warning}", file=sys.stderr)


def _load_json(path: Path, flag: str) -> dict:
    try:
        doc = json.loads(read_text(path, "a plan or preview JSON file"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{flag} {path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except InputFileError as exc:
        raise UserError(f"{flag} {exc}") from None
    problem = preview_problem(doc, needs_op=flag == "--preview")
    if problem:
        raise UserError(f"{flag} {path}: not a `pulumi preview --json` or `blueprint plan --json` document: {problem}")
    return doc


URN = re.compile(r"^urn:pulumi:[^:]+::[^:]+::[^:].*::.+$")


def preview_problem(doc, needs_op: bool) -> str | None:
    """Why ``doc`` is not the shape of a preview (None when it is): an object with a list of steps, each with a URN
    and the state it describes (``newState``, or ``oldState`` for a delete)."""
    if not isinstance(doc, dict):
        return f"expected a JSON object with \"steps\", got a {type(doc).__name__}"
    if "steps" not in doc:
        return "it has no \"steps\" (an empty object is not an empty plan; an empty plan has \"steps\": [])"
    if not isinstance(doc["steps"], list):
        return "\"steps\" must be a list"
    for i, step in enumerate(doc["steps"]):
        if not isinstance(step, dict):
            return f"steps[{i}] must be an object"
        states = [step.get(k) for k in ("newState", "oldState") if step.get(k) is not None]
        if not states or not all(isinstance(s, dict) for s in states):
            return f"steps[{i}] has no newState or oldState object"
        urn = step.get("urn") or states[0].get("urn")
        if not isinstance(urn, str) or not URN.match(urn):
            return f"steps[{i}] has no URN (urn:pulumi:<stack>::<project>::<type>::<name>), got {urn!r}"
        if needs_op and not isinstance(step.get("op"), str):
            return f"steps[{i}] has no \"op\" (create, update, delete, same, replace...)"
    return None


def run_diff(args: argparse.Namespace) -> int:
    if len(args.stack) != 1:
        raise UserError(f"--stack: cost diff acts on exactly one stack, got {len(args.stack)}", 2)
    stack = args.stack[0]
    check_writable(args.out)
    usage = _usage(stack, args.usage)
    if args.preview:
        # The stack's plan fills in what the preview leaves out (unchanged resources, without --show-sames).
        doc = _load_json(args.preview, "--preview")
        diff = diff_preview(doc, stack=stack, usage=usage, context=plan_of(args, stack, run_plan))
        base_name = str(args.preview)
    else:
        base_name = args.base
        if Path(args.base).suffix == ".json":
            base = Plan.from_preview_json(_load_json(Path(args.base), "--base"), stack=stack)
        else:
            progress(stack, f"planning at {args.base}")
            base = plan_at_ref(args.base, stack)
        head = (Plan.from_preview_json(_load_json(args.head, "--head"), stack=stack) if args.head
                else plan_of(args, stack, run_plan))
        diff = diff_estimates(estimate(base, usage) if base is not None else None, estimate(head, usage))
    if args.format == "json":
        text = render_json(diff)
    elif args.format == "markdown":
        text = render_diff_markdown(diff, base_name)
    else:
        text = render_diff_table(diff, base_name)
    emit(text, args.out)
    after = diff.after_estimate
    return 1 if after is not None and _report_verdicts([(stack, after.verdict())]) else 0
