"""The command line of a generated file: write it, or (``--check``) say whether the committed copy is up to date."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def write_or_check(out: Path, text: str, prog: str, description: str, argv: list[str] | None = None) -> int:
    """``python -m <prog> [--check]``: write ``text`` to ``out``, or exit 1 when ``out`` differs from it."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=description)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {out.name} is not up to date")
    args = parser.parse_args(argv)
    if args.check:
        stale = not out.exists() or out.read_text() != text
        print(f"{out} is {f'stale: run python -m {prog}' if stale else 'up to date'}", file=sys.stderr)
        return 1 if stale else 0
    out.write_text(text)
    print(f"wrote {out}", file=sys.stderr)
    return 0
