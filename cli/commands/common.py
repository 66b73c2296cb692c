"""Helpers every command shares: which stacks to act on, and turning errors into clear exits."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from blueprint.plan.engine import REPO
from blueprint.plan.model import Plan
from blueprint.spec import FULL_KEY
from blueprint.spec.load import SpecError, placeholder_error


def all_stacks(root: Path = REPO) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (root / "stacks").glob("Pulumi.*.yaml"))


def add_stack_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", "-s", action="append", metavar="NAME",
                        help="stack to act on (repeatable); default: every stack in stacks/")


def stacks_from(args: argparse.Namespace) -> list[str]:
    return args.stack or all_stacks()


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
