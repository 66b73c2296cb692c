"""``blueprint policy``: the CrossGuard pack in ``policies/`` evaluated on each stack's offline plan.
Notes: docs/architecture.md, "Command line"."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from blueprint.plan import run_plan
from cli.commands.common import add_out_arg, add_stack_arg, plan_of, stacks_from, warn_placeholders
from cli.output import check_writable, emit, progress
from cli.policy_run import evaluate_plan
from cli.policy_run.pack_config import read_pack_config
from cli.policy_run.report import render, to_json, to_sarif

HELP = "evaluate the policy pack on each stack's offline plan (table, markdown, sarif or json)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("policy", help=HELP, description=HELP)
    add_stack_arg(p)
    p.add_argument("--format", choices=["table", "markdown", "sarif", "json"], default="table",
                   help="output format (default table); sarif for GitHub code scanning")
    add_out_arg(p)
    p.add_argument("--policy-pack-config", type=Path, metavar="FILE",
                   help="the JSON file `pulumi preview --policy-pack-config` takes (enforcement overrides)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    pack_config = read_pack_config(args.policy_pack_config) if args.policy_pack_config else None
    stacks = stacks_from(args)
    check_writable(args.out)
    plans = [plan_of(args, stack, run_plan) for stack in stacks]
    reports = []
    for plan in plans:
        progress(plan.stack, "evaluating policies")
        reports.append(evaluate_plan(plan, pack_config=pack_config))
    if args.format == "sarif":  # one SARIF log, one run per stack
        docs = [to_sarif(r) for r in reports]
        docs[0]["runs"] = [run for d in docs for run in d["runs"]]
        text = json.dumps(docs[0], indent=2)
    elif args.format == "json":  # always a list, one object per stack (each names its stack)
        text = json.dumps([to_json(r) for r in reports], indent=2, default=str)
    else:
        text = "\n\n".join(render(r, args.format) for r in reports)
    emit(text, args.out)
    warn_placeholders(plans)
    failed = [r.stack for r in reports if r.failed]
    if failed:
        print(f"policy: mandatory policy failures in {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
