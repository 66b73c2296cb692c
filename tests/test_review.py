"""`blueprint review --base REF` on a branch that adds a region, in a temporary git repository with two commits.

The copy is the project's own tree, so the base plan comes from the base commit's program and stack file (as in a
pull request), and the head plan from the branch's.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
NEW_REGION = {
    "cloud": "aws", "region": "us-east-2", "systemPool": {"instanceType": "m6i.xlarge"},
    # On-demand training outside prod: the spot-for-training guardrail is mandatory in staging.
    "gpuPools": [{"name": "train-l4", "accelerator": "l4", "instanceType": "g6.12xlarge",
                  "capacityType": "on-demand", "purpose": "training", "scaling": {"min": 0, "desired": 1, "max": 2}}],
}


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def branch_adding_a_region(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("review") / "repo"
    files = _git(REPO, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in files:
        if (REPO / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    stack_file = repo / "stacks" / "Pulumi.staging.yaml"
    doc = yaml.safe_load(stack_file.read_text())
    doc["config"]["aiplatform:platform"]["regions"].append(NEW_REGION)
    stack_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    _git(repo, "commit", "-q", "-am", "add us-east-2")
    return repo


def _review(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.run([sys.executable, "-m", "cli", "review", "--stack", "staging", "--base", "HEAD~1",
                           *args], cwd=repo, env=env, capture_output=True, text=True, timeout=600)


def _money_text(x: float) -> str:
    from blueprint.cost.format import money
    return money(x)


def _money(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def test_review_shows_new_resources_policy_failures_and_cost_delta(branch_adding_a_region):
    out_file = branch_adding_a_region / "review.md"
    result = _review(branch_adding_a_region, "--format", "markdown", "--out", str(out_file))
    # the new region's on-demand training pool breaks a mandatory staging policy: the report is written, exit 1
    assert result.returncode == 1, result.stderr
    markdown = out_file.read_text()
    assert result.stdout == ""  # --out: instead of stdout, as in every command

    # New resources: the whole region, and nothing of the existing regions is deleted.
    created = re.search(r"<summary>(\d+) to create</summary>(.*?)</details>", markdown, re.S)
    assert created, markdown
    names = created.group(2)
    assert "aws:eks/cluster:Cluster` aws-us-east-2-eks" in names
    assert "aws:eks/nodeGroup:NodeGroup` aws-us-east-2-train-l4" in names
    assert "to delete" not in markdown

    # The mandatory guardrail fails on the new on-demand training pool.
    failures = markdown.split("**Mandatory policy failures**", 1)[1].split("Expected monthly cost", 1)[0]
    assert re.search(r"\| \S*spot\S* \| `[^`]*train-l4[^`]*` \|", failures), failures

    # The monthly cost goes up by what the new region costs.
    cost = re.search(r"Expected monthly cost (\$[\d,]+) \(before: (\$[\d,]+)\)", markdown)
    assert cost, markdown
    after, before = _money(cost.group(1)), _money(cost.group(2))
    assert after > before > 0
    row = next(line for line in markdown.splitlines() if line.startswith("| staging |"))
    delta = row.split("|")[8].strip()
    assert delta.startswith("+") and abs(_money(delta[1:]) - (after - before)) <= 1.0

    # Under the stack, the per-resource breakdown `blueprint cost diff --format markdown` renders, with the
    # comment's one hidden marker (the workflow finds the comment to update by it).
    assert markdown.startswith("<!-- blueprint-review -->\n") and markdown.count("<!-- blueprint-") == 1
    section = markdown.split("### staging", 1)[1].split("#### Cost change: `staging` against `HEAD~1`", 1)[1]
    eks = re.search(r"^\| create \| `aws-us-east-2-eks` \| `aws:eks/cluster:Cluster` \| aws/us-east-2 \| \$0 "
                    r"\| (\$[\d,.]+) \| \+(\$[\d,.]+) \|$", section, re.M)
    assert eks, section
    assert eks.group(1) == eks.group(2) and _money(eks.group(1)) > 0
    assert f"({_money_text(before)} → {_money_text(after)})" in section


def test_review_fails_the_pull_request_on_a_mandatory_failure(branch_adding_a_region):
    result = _review(branch_adding_a_region)
    assert result.returncode == 1
    assert "mandatory policy failed" in result.stderr


def test_review_costs_come_from_the_cost_diff_with_a_base_and_have_no_delta_without():
    """A stack new at REF (no base plan) cost nothing before; without REF there is no before and no delta."""
    from cli.commands.review import StackReview
    from blueprint.cost import diff_plans_cost
    from blueprint.plan import Plan
    from tests.cost.preview_fixture import preview_doc

    head = Plan.from_preview_json(preview_doc(), stack="prod")
    new_stack = StackReview(stack="prod", head=head, diff=None, policy=None,
                            cost_diff=diff_plans_cost(None, head))
    assert new_stack.cost_before == 0 and new_stack.cost_after > 0
    assert new_stack.cost_delta == new_stack.cost_after == new_stack.cost_diff.after.expected
    as_is = StackReview(stack="prod", head=head, diff=None, policy=None, head_cost=123.0)
    assert (as_is.cost_before, as_is.cost_after, as_is.cost_delta) == (None, 123.0, None)
