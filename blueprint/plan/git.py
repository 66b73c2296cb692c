"""Plan a stack as it was at another git ref, for diffs in pull requests. Notes: docs/architecture.md, "Plan"."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from blueprint.plan.engine import PlanError
from blueprint.plan.model import Plan
from blueprint.spec.load import REPO


def _git(root: Path, *args: str) -> bytes:
    try:
        return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True).stdout
    except subprocess.CalledProcessError as exc:
        raise PlanError(f"git {' '.join(args)} failed: {exc.stderr.decode().strip()}") from None


def _safe_or_skipped(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """tarfile's ``data`` filter, except that a member it refuses (a link to an absolute path or out of the tree,
    such as a committed ``.venv`` symlink) is left out instead of failing the whole export."""
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError:
        return None


def export_tree(ref: str, dest: Path, root: Path = REPO) -> None:
    """Write the files of `ref` into `dest` (like a checkout, without touching the work tree or index)."""
    archive = _git(root, "archive", "--format=tar", ref)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter=_safe_or_skipped)


def entry_module(tree: Path) -> str:
    """The module that runs ``blueprint`` in ``tree``: ``cli``, or ``blueprint`` in trees from before the CLI moved
    into its own package (a base ref older than that still plans)."""
    return "cli" if (tree / "cli" / "__main__.py").exists() else "blueprint"


def plan_at_ref(ref: str, stack: str, root: Path = REPO) -> Plan | None:
    """The plan of `stack` at `ref`, or None when the stack did not exist there (a new stack: all creates)."""
    with tempfile.TemporaryDirectory(prefix="blueprint-base-") as tmp:
        base = Path(tmp)
        export_tree(ref, base, root)
        if not (base / "stacks" / f"Pulumi.{stack}.yaml").exists():
            return None
        out = base / "plan.json"
        env = {**os.environ, "PYTHONPATH": str(base)}
        proc = subprocess.run([sys.executable, "-m", entry_module(base), "plan", "--stack", stack, "--json", "--out",
                               str(out)], cwd=base, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise PlanError(f"planning {stack} at {ref} failed:\n{proc.stderr.strip()}")
        return Plan.from_preview_json(json.loads(out.read_text()), stack=stack)
