"""Helpers every command shares: which stacks to act on, and turning errors into clear exits."""
from __future__ import annotations

import argparse
from pathlib import Path

from blueprint.plan.engine import REPO


def all_stacks(root: Path = REPO) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (root / "stacks").glob("Pulumi.*.yaml"))


def add_stack_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", "-s", action="append", metavar="NAME",
                        help="stack to act on (repeatable); default: every stack in stacks/")


def stacks_from(args: argparse.Namespace) -> list[str]:
    return args.stack or all_stacks()
