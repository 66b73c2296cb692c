"""Helpers every command shares: which stacks to act on, and turning errors into clear exits."""
from __future__ import annotations

import argparse
import json
import sys

from blueprint.plan.model import Plan
from blueprint.spec import FULL_KEY
from blueprint.spec.load import SpecError, known_stacks, placeholder_error


def add_stack_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", "-s", action="append", metavar="NAME",
                        help="stack to act on (repeatable); default: every stack in stacks/")


def stacks_from(args: argparse.Namespace) -> list[str]:
    return args.stack or known_stacks()


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
