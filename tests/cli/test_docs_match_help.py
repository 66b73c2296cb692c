"""docs/commands.md matches `--help` (issue 17): every flag each command's real help prints is in that command's
section, the shared flags and exit codes are documented once, and `python -m cli.docs --help` writes nothing."""
from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys

import pytest

from cli import docs
from cli.main import build_parser, main
from blueprint.spec.load import REPO

COMMANDS = [name for name, _ in docs._commands(build_parser())]


def _section(page: str, name: str) -> str:
    return page.split(f"## blueprint {name}\n", 1)[1].split("\n## ", 1)[0]


def _help(*argv: str) -> str:
    """What `blueprint ARGV --help` prints, through the real entry point (in process: importing it takes seconds)."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNS", "80")  # another width than the page's: the flags must match all the same
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
            main([*argv, "--help"])
    assert done.value.code == 0
    return out.getvalue()


def _usage_flags(text: str) -> set[str]:
    """The long flags of the help's usage lines: what the command takes (its prose may name other commands' flags)."""
    return set(re.findall(r"(--[a-z][\w-]*)", text.split("\n\n", 1)[0]))


@pytest.mark.parametrize("name", COMMANDS)
def test_every_flag_of_a_commands_help_is_in_its_section(name):
    page = docs.OUT.read_text()
    flags = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", _help(*name.split())))
    assert {"--help", "--stack"} <= flags
    section = _section(page, name)
    missing = sorted(f for f in flags if f not in section)
    assert not missing, f"docs/commands.md, blueprint {name}: {missing}"


def test_shared_flags_and_exit_codes_are_documented_once():
    """A flag of two commands or more, or of `blueprint` itself, has one meaning, written in "Conventions"."""
    page = docs.OUT.read_text()
    conventions = page.split("## Conventions\n", 1)[1].split("\n## blueprint ", 1)[0]
    used_by: dict[str, set[str]] = {f: {"blueprint"} for f in _usage_flags(_help())}
    for name in COMMANDS:
        for flag in _usage_flags(_help(*name.split())):
            used_by.setdefault(flag, set()).add(name)
    shared = {f for f, names in used_by.items() if len(names) > 1 or "blueprint" in names}
    assert {"--stack", "--out", "--format", "--region", "--usage", "--stacks-dir"} <= shared
    for flag in shared - {"--help", "--version"}:
        assert f"`{flag}" in conventions, flag
    exit_codes = conventions.split("**Exit codes.**", 1)[1]
    for code in ("0:", "1:", "2:", "3:"):
        assert code in exit_codes


def test_docs_help_does_not_rewrite_the_page():
    before = docs.OUT.stat().st_mtime_ns, docs.OUT.read_text()
    proc = subprocess.run([sys.executable, "-m", "cli.docs", "--help"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)
    assert proc.returncode == 0 and "--check" in proc.stdout
    assert (docs.OUT.stat().st_mtime_ns, docs.OUT.read_text()) == before
    assert docs.main(["--check"]) == 0
