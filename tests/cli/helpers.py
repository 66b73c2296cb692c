"""Stack folders for CLI tests: a copy of a shipped stack file (and its usage file), as text or edited, that
``blueprint --stacks-dir`` reads instead of stacks/."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import yaml

from blueprint.spec import FULL_KEY
from blueprint.spec.load import REPO
from cli.main import main


def stack_dir(tmp_path: Path, stack: str = "dev", edit: Callable[[dict], None] | None = None,
              text: str | None = None) -> Path:
    """``tmp_path/stacks`` with ``stack``'s file: the shipped one, ``edit``ed (on its platform object) or ``text``."""
    folder = tmp_path / "stacks"
    folder.mkdir(exist_ok=True)
    shutil.copy(REPO / "stacks" / f"usage.{stack}.yaml", folder)
    target = folder / f"Pulumi.{stack}.yaml"
    if text is not None:
        target.write_text(text)
    elif edit is not None:
        doc = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())
        edit(doc["config"][FULL_KEY])
        target.write_text(yaml.safe_dump(doc, sort_keys=False))
    else:
        shutil.copy(REPO / "stacks" / f"Pulumi.{stack}.yaml", target)
    return folder


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``blueprint ARGV`` in process: (exit code, stdout, stderr); argparse's own exits become their code."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def shipped_text(stack: str) -> str:
    return (REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text()
