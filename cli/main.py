"""``blueprint``: the platform's offline tooling: plan, policy and cost per stack, review (all three), render,
and where `pulumi up` must run (deployer)."""
from __future__ import annotations

import argparse
import sys

from blueprint.plan import PlanError
from blueprint.spec import SpecError, StackFileError
from cli.commands import cost, deployer, plan, policy, render, review

COMMANDS = [plan, policy, cost, review, render, deployer]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blueprint", description=__doc__.split(":", 1)[1].strip())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (SpecError, StackFileError, PlanError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
