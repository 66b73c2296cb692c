"""Helpers every command shares: which stacks (and regions) to act on, and turning errors into clear exits."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from blueprint.plan.model import Plan
from blueprint.spec import FULL_KEY
from blueprint.spec.load import SpecError, known_stacks, placeholder_error, read_stack_file
from blueprint.spec.select import select_regions
from cli.output import UserError, progress


def add_stack_arg(parser: argparse.ArgumentParser, *, regions: bool = True) -> None:
    parser.add_argument("--stack", "-s", action="append", metavar="NAME",
                        help="stack to act on (repeatable); default: every stack in stacks/, in promotion order")
    if regions:
        parser.add_argument("--region", "-r", action="append", metavar="CLOUD/REGION",
                            help="act on this region of each stack only (repeatable), e.g. aws/us-east-1; the "
                                 "workloads and routing of other regions are left out")


def add_out_arg(parser: argparse.ArgumentParser, what: str = "the output") -> None:
    parser.add_argument("--out", "-o", type=Path, metavar="FILE",
                        help=f"write {what} to FILE instead of stdout (written whole, or not at all)")


def stacks_from(args: argparse.Namespace) -> list[str]:
    stacks = args.stack or known_stacks()
    if not stacks:
        raise UserError("no stack files (stacks/Pulumi.<stack>.yaml) to act on")
    return stacks


def plan_of(args: argparse.Namespace, stack: str, run_plan, phase: str = "planning") -> Plan:
    """``run_plan`` of ``stack`` (the command's own, so tests can replace it), cut to ``--region`` where given."""
    progress(stack, phase)
    regions = getattr(args, "region", None)
    if not regions:
        return run_plan(stack)
    platform, issues = select_regions(read_stack_file(stack).get(FULL_KEY), regions)
    if issues:
        raise SpecError(stack, issues, "cannot select regions")
    return run_plan(stack, platform=platform)


def stack_placeholders(plan: Plan) -> SpecError | None:
    """The stack's documentation placeholders (``blueprint/spec/placeholders.py``), read from the plan's config."""
    raw = plan.config.get(FULL_KEY)
    platform = json.loads(raw) if isinstance(raw, str) else raw
    return placeholder_error(platform, stack=plan.stack) if isinstance(platform, dict) else None


def warn_placeholders(plans: list[Plan]) -> None:
    """A template stack plans fine offline; say on stderr which keys ``pulumi up`` will refuse until replaced."""
    for plan in plans:
        found = stack_placeholders(plan)
        if found is not None:
            print(f"note: {found}", file=sys.stderr)
