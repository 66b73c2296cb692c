"""Planning a stack at another git ref: the tree is exported safely and planned with that tree's own entry point."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from blueprint.plan.git import entry_module, export_tree


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def test_a_committed_absolute_symlink_is_left_out_of_the_export(tmp_path):
    """main once tracked a `.venv` symlink to an absolute path; tarfile's data filter refused the whole archive, so
    `review --base` could not plan any ref that had it."""
    repo, out = tmp_path / "repo", tmp_path / "out"
    (repo / "stacks").mkdir(parents=True)
    (repo / "stacks" / "Pulumi.dev.yaml").write_text("config: {}\n")
    (repo / ".venv").symlink_to("/usr")
    (repo / "up").symlink_to("../outside")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    export_tree("HEAD", out, repo)
    assert (out / "stacks" / "Pulumi.dev.yaml").read_text() == "config: {}\n"
    assert not (out / ".venv").exists() and not (out / ".venv").is_symlink()
    assert not (out / "up").is_symlink()


def test_the_base_tree_plans_with_its_own_entry_point(tmp_path):
    """`python -m cli` since the command line moved out of blueprint/; `python -m blueprint` in older trees."""
    assert entry_module(tmp_path) == "blueprint"
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "__main__.py").write_text("")
    assert entry_module(tmp_path) == "cli"
