"""``blueprint``: the platform's offline tooling: validate, plan, policy and cost per stack, review (all three),
render, and where `pulumi up` must run (deployer)."""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from importlib import metadata

from blueprint.cost.usage import UsageError
from blueprint.plan import PlanError
from blueprint.spec import SpecError, StackFileError
from blueprint.spec.load import STACKS_DIR_ENV
from blueprint.spec.yamlfile import InputFileError
from cli.commands import cost, deployer, plan, policy, render, review, validate
from cli.output import UserError

COMMANDS = [validate, plan, policy, cost, review, render, deployer]
DIST = "gpu-ai-platform-blueprint"
EPILOG = ("exit codes: 0 ok; 1 a policy or budget gate failed, or a mistake in the input (one message names the file, "
          "key or flag); 2 wrong usage of the command line; 3 an internal error (a bug: the traceback is printed). "
          "Conventions shared by every command: docs/commands.md.")
# What the user got wrong: printed as one message, exit 1, no traceback.
USER_ERRORS = (SpecError, StackFileError, UsageError, InputFileError)
BUG_EXIT = 3


def version() -> str:
    try:
        return metadata.version(DIST)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blueprint", description=__doc__.split(":", 1)[1].strip(), epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--stacks-dir", metavar="DIR",
                        help=f"read Pulumi.<stack>.yaml and usage.<stack>.yaml from DIR instead of the project's "
                             f"stacks/ (also ${STACKS_DIR_ENV})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def _is_user_error(exc: PlanError) -> bool:
    """A plan that failed on the user's input (the program's RunError, a spec error) or with no cause at all."""
    chain, current = [], exc.__cause__
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return not chain or any(type(e).__name__ == "RunError" or isinstance(e, USER_ERRORS) for e in chain)


def _bug(exc: BaseException) -> int:
    traceback.print_exception(exc.__cause__ if isinstance(exc, PlanError) and exc.__cause__ else exc)
    print(f"error: internal error in blueprint {version()}: this is a bug, not a problem with your input; please "
          "report it with the traceback above", file=sys.stderr)
    return BUG_EXIT


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    saved = os.environ.get(STACKS_DIR_ENV)
    if args.stacks_dir:
        if not os.path.isdir(args.stacks_dir):
            parser.error(f"--stacks-dir {args.stacks_dir}: no such folder")
        os.environ[STACKS_DIR_ENV] = os.path.abspath(args.stacks_dir)
    try:
        return _run(parser, args)
    finally:
        if saved is None:
            os.environ.pop(STACKS_DIR_ENV, None)
        else:
            os.environ[STACKS_DIR_ENV] = saved


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        return args.run(args)
    except UserError as exc:
        prefix = f"{parser.prog} {args.command}: " if exc.code == 2 else ""  # usage errors read as argparse's
        print(f"{prefix}error: {exc}", file=sys.stderr)
        return exc.code
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except PlanError as exc:
        if _is_user_error(exc):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return _bug(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place a bug is reported as one
        return _bug(exc)


if __name__ == "__main__":
    sys.exit(main())
