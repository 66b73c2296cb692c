"""The pull-request comment, character for character, against golden files (UPDATE_GOLDEN=1 rewrites them)."""
from __future__ import annotations

import os
from pathlib import Path

from blueprint.cost import diff_preview, estimate
from blueprint.cost.format import render_diff_markdown, render_markdown
from blueprint.plan import Plan
from tests.cost.helpers import usage
from tests.cost.preview_fixture import preview_doc

GOLDEN = Path(__file__).with_name("golden")


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def _usage():
    return usage({"resource_usage": {"nat": {"monthly_data_processed_gb": 200}}})


def test_estimate_markdown_matches_golden():
    plan = Plan.from_preview_json(preview_doc(), stack="prod")
    est = estimate(plan, _usage())
    est.budget_usd = 1000.0
    _check("estimate.md", render_markdown(est))


def test_diff_markdown_matches_golden():
    _check("diff.md", render_diff_markdown(diff_preview(preview_doc(), usage=_usage()), "origin/main"))


def test_diff_markdown_nested_without_marker_is_the_golden_a_level_down():
    """``blueprint review`` nests the section under a stack heading and carries its own marker."""
    from blueprint.cost.format import DIFF_MARKER
    nested = render_diff_markdown(diff_preview(preview_doc(), usage=_usage()), "origin/main", marker=False, level=4)
    golden = (GOLDEN / "diff.md").read_text()
    assert golden.startswith(DIFF_MARKER + "\n### ") and DIFF_MARKER not in nested
    assert nested == "#" + golden.removeprefix(DIFF_MARKER + "\n")
