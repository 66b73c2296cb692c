"""The GitHub workflows users run: schema-valid, internally consistent, and calling only real `blueprint` commands.

actionlint is not installable here, so the schema check is check-jsonschema's vendored SchemaStore
`github-workflow` schema (the one editors use), plus the cross-file checks a linter would do: every `needs`
names a job, every reusable workflow exists and gets exactly its declared inputs, and every `blueprint ...` line
parses with the real command-line parser.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from blueprint.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def _load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def _check_jsonschema(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           *map(str, paths)], capture_output=True, text=True)


def test_there_are_pull_request_and_deploy_workflows():
    triggers = {p.name: _load(p)["on"] for p in WORKFLOWS}
    assert any("pull_request" in t for t in triggers.values()), triggers
    assert any("push" in t for t in triggers.values()), triggers


def test_workflows_validate_against_the_github_workflow_schema():
    result = _check_jsonschema(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: broken\non: [push]\njobs:\n  build:\n    steps: [{run: echo hi}]\n")  # no runs-on
    result = _check_jsonschema(broken)
    assert result.returncode != 0 and "runs-on" in result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_needs_and_reusable_workflows_resolve(path):
    jobs = _load(path)["jobs"]
    for name, job in jobs.items():
        needs = job.get("needs", [])
        for need in [needs] if isinstance(needs, str) else needs:
            assert need in jobs, f"{path.name}: job {name} needs unknown job {need}"
        uses = job.get("uses", "")
        if uses.startswith("./"):
            called = _load(REPO / uses)
            declared = called["on"]["workflow_call"].get("inputs", {})
            given = job.get("with", {})
            assert set(given) <= set(declared), f"{path.name}: {name} passes undeclared inputs"
            assert {k for k, v in declared.items() if v.get("required")} <= set(given), f"{path.name}: {name}"


def _blueprint_invocations() -> list[tuple[str, list[str]]]:
    found = []
    for path in WORKFLOWS:
        for job in _load(path)["jobs"].values():
            for step in job.get("steps", []):
                for line in step.get("run", "").splitlines():
                    line = line.split(">", 1)[0].split("||", 1)[0].strip()
                    if ".venv/bin/blueprint " in line:
                        line = re.sub(r"\$\{\{.*?\}\}", "EXPR", line)  # a GitHub expression is one word
                        args = shlex.split(line.split(".venv/bin/blueprint ", 1)[1])
                        found.append((path.name, args))
    return found


def test_workflows_call_the_tools_the_project_has():
    invocations = _blueprint_invocations()
    commands = {args[0] for _, args in invocations}
    assert {"plan", "policy", "review", "cost"} <= commands, commands
    parser = build_parser()
    for name, args in invocations:
        args = [a if not a.startswith("$") else "x" for a in args]
        try:
            parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"{name}: `blueprint {' '.join(args)}` does not parse")


def test_deploy_goes_dev_then_staging_then_prod_with_the_policy_pack():
    deploy = next(_load(p) for p in WORKFLOWS if "push" in _load(p)["on"])
    jobs = deploy["jobs"]
    order = [job["with"]["stack"] for job in jobs.values()]
    assert order == ["dev", "staging", "prod"]
    assert jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    up = _load(REPO / jobs["prod"]["uses"])
    (job,) = up["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}"  # prod waits for its GitHub environment's reviewers
    pulumi = next(s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions"))
    assert pulumi["with"]["command"] == "up" and pulumi["with"]["policyPacks"] == "policies"


def test_files_the_workflows_install_from_exist():
    for path in WORKFLOWS:
        for job in _load(path)["jobs"].values():
            for step in job.get("steps", []):
                for line in step.get("run", "").splitlines():
                    if "pip install" in line:
                        words = shlex.split(line.split("#", 1)[0])
                        for flag, value in zip(words, words[1:]):
                            if flag in ("-r", "--requirement", "-c", "--constraint"):
                                assert (REPO / value).is_file(), f"{path.name}: {value} does not exist"
