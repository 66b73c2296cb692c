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
