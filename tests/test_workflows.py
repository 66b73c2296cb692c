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

from cli.main import build_parser

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
                for line in step.get("run", "").replace("\\\n", " ").splitlines():  # join continued lines
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
    assert {job["uses"] for job in jobs.values()} == {"./.github/workflows/pulumi-up.yml"}  # one `up`, pack and all
    up = _load(REPO / jobs["prod"]["uses"])
    job = up["jobs"]["up"]
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


SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"


def _pull_request_jobs() -> dict[str, dict]:
    return _load(REPO / ".github" / "workflows" / "pull-request.yml")["jobs"]


def _pull_request_steps() -> list[dict]:
    """Every step of the pull-request workflow, job after job (review, preview, comment)."""
    return [step for job in _pull_request_jobs().values() for step in job["steps"]]


def _step(steps: list[dict], pred) -> dict:
    found = [s for s in steps if pred(s)]
    assert len(found) == 1, [s.get("name", s.get("uses")) for s in found]
    return found[0]


def test_policy_results_go_to_code_scanning_as_sarif_from_the_base_repository_only():
    steps = _pull_request_steps()
    policy = _step(steps, lambda s: "blueprint policy" in s.get("run", ""))
    args = shlex.split(policy["run"].split(".venv/bin/blueprint ", 1)[1])
    sarif = args[args.index("--out") + 1]
    assert args[args.index("--format") + 1] == "sarif" and policy.get("continue-on-error") is True
    upload = _step(steps, lambda s: s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == sarif
    assert SAME_REPO in upload["if"]  # a fork's read-only token cannot upload


def test_the_review_comment_is_found_by_its_hidden_marker_and_updated_in_place():
    from cli.commands.review import MARKER
    steps = _pull_request_steps()
    review = _step(steps, lambda s: "blueprint review" in s.get("run", ""))
    out = shlex.split(review["run"].split(".venv/bin/blueprint ", 1)[1])
    report = out[out.index("--out") + 1]
    assert out[out.index("--format") + 1] == "markdown"  # --out writes the output in --format, instead of stdout
    assert review.get("continue-on-error") is True  # review exits 1 on a failure; the comment must still be posted
    comment = _step(steps, lambda s: s.get("uses", "").startswith("actions/github-script@"))
    script = comment["with"]["script"]
    assert f"'{MARKER}'" in script and f"readFileSync('{report}'" in script
    assert "c.body.startsWith(marker)" in script and "updateComment" in script and "createComment" in script
    jobs = _pull_request_jobs()
    assert comment in jobs["comment"]["steps"] and SAME_REPO in jobs["comment"]["if"]
    assert steps.index(review) < steps.index(comment)
    upload = _step(steps, lambda s: s.get("uses", "").startswith("actions/upload-artifact@") and
                   s["with"]["name"] == "review")
    assert upload["with"]["path"] == report and upload in jobs["review"]["steps"]


def test_credential_gated_previews_run_the_policy_pack_for_every_stack_where_the_spec_says():
    """One preview job per stack, on the runner `blueprint deployer` names for it (a preview reads the clusters as
    `pulumi up` does), with the policy pack; the runners are looked up only where credentials are configured."""
    jobs, steps = _pull_request_jobs(), _pull_request_steps()
    where = _step(steps, lambda s: "blueprint deployer" in s.get("run", ""))
    for gate in ("vars.AWS_ROLE_ARN != ''", "vars.GCP_WORKLOAD_IDENTITY_PROVIDER != ''", SAME_REPO):
        assert gate in where["if"]
    args = shlex.split(where["run"].split(".venv/bin/blueprint ", 1)[1].split(">>", 1)[0])
    stacks = sorted(p.name.split(".")[1] for p in (REPO / "stacks").glob("Pulumi.*.yaml"))
    assert sorted(args[i + 1] for i, a in enumerate(args) if a == "--stack") == stacks
    assert args[args.index("--format") + 1] == "github" and where["env"]["RUNNER_LABELS"] == "${{ vars.DEPLOY_RUNNER_LABELS }}"
    review, preview = jobs["review"], jobs["preview"]
    assert review["outputs"]["runners"] == f"${{{{ steps.{where['id']}.outputs.runs_on }}}}"
    assert sorted(preview["strategy"]["matrix"]["stack"]) == stacks and preview["strategy"]["fail-fast"] is False
    assert preview["runs-on"] == "${{ fromJSON(needs.review.outputs.runners)[matrix.stack] }}"
    assert "needs.review.outputs.runners != ''" in preview["if"]
    run = _step(preview["steps"], lambda s: "pulumi preview --stack" in s.get("run", ""))
    assert 'pulumi preview --stack "$STACK" --policy-pack policies --json' in run["run"]
    assert run["env"]["STACK"] == "${{ matrix.stack }}"
    assert (REPO / "policies" / "PulumiPolicy.yaml").is_file()
    fail = _step(steps, lambda s: "steps.previews.outputs.failed" in s.get("if", ""))
    assert fail in jobs["comment"]["steps"] and "exit 1" in fail["run"]
    assert set(jobs["comment"]["needs"]) == {"review", "preview"} and "always()" in jobs["comment"]["if"]


def _kubeconfig_tools(steps: list[dict], gke_output: str) -> None:
    """The AWS CLI (`aws eks get-token`) is installed when missing; gcloud with gke-gcloud-auth-plugin where the
    stack has GKE, after the Google credentials (setup-gcloud authenticates with them)."""
    aws = _step(steps, lambda s: "aws eks get-token" in s.get("name", ""))
    assert "command -v aws" in aws["run"] and "awscli.amazonaws.com" in aws["run"]
    gcloud = _step(steps, lambda s: s.get("uses", "").startswith("google-github-actions/setup-gcloud@"))
    assert gcloud["with"]["install_components"] == "gke-gcloud-auth-plugin" and gke_output in gcloud["if"]
    auth = _step(steps, lambda s: s.get("uses", "").startswith("google-github-actions/auth@"))
    aws_auth = _step(steps, lambda s: s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    pulumi = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("pulumi/actions@"))
    assert steps.index(aws_auth) < steps.index(aws) < pulumi and steps.index(auth) < steps.index(gcloud) < pulumi


def test_previews_install_what_the_kubeconfigs_need():
    _kubeconfig_tools(_pull_request_jobs()["preview"]["steps"], "fromJSON(needs.review.outputs.gke)[matrix.stack]")


def test_pulumi_up_runs_where_the_spec_says_and_installs_what_the_kubeconfigs_need():
    jobs = _load(REPO / ".github" / "workflows" / "pulumi-up.yml")["jobs"]
    where, up = jobs["where"], jobs["up"]
    step = _step(where["steps"], lambda s: "blueprint deployer" in s.get("run", ""))
    line = re.sub(r"\$\{\{.*?\}\}", "EXPR", step["run"])  # a GitHub expression is one word
    args = shlex.split(line.split(".venv/bin/blueprint ", 1)[1].split(">>", 1)[0])
    assert args[:3] == ["deployer", "--stack", "EXPR"] and "inputs.stack" in step["run"] and "github" in args
    assert step["env"]["RUNNER_LABELS"] == "${{ vars.DEPLOY_RUNNER_LABELS }}"
    assert where["runs-on"] == "ubuntu-latest" and where["outputs"]["runs_on"] == "${{ steps.deployer.outputs.runs_on }}"
    assert up["needs"] == "where" and up["runs-on"] == "${{ fromJSON(needs.where.outputs.runs_on) }}"
    _kubeconfig_tools(up["steps"], "needs.where.outputs.gke == 'true'")


def _run_step(step: dict, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          cwd=cwd, env=env, capture_output=True, text=True)


def test_a_failed_preview_skips_its_cost_diff_and_is_named(tmp_path):
    """Run each stack's preview step with a `pulumi` that fails for staging, then the comment job's assembly: no
    cost diff of staging's half-written JSON, and staging named as failed."""
    jobs = _pull_request_jobs()
    preview = _step(jobs["preview"]["steps"], lambda s: "pulumi preview --stack" in s.get("run", ""))
    assemble = _step(jobs["comment"]["steps"], lambda s: s.get("id") == "previews")
    bin_dir, venv = tmp_path / "bin", tmp_path / ".venv" / "bin"
    bin_dir.mkdir()
    venv.mkdir(parents=True)
    (bin_dir / "pulumi").write_text('#!/bin/bash\nif [ "$3" = staging ]; then echo "{\\"steps\\": ["; exit 255; fi\n'
                                    'echo \'{"steps": []}\'\n')
    (venv / "blueprint").write_text(f'#!/bin/bash\n"{sys.executable}" -c "import json,sys; json.load(open(sys.argv[1]))'
                                    '" "$6" || exit 3\necho "diffed $4"\n')
    for f in (bin_dir / "pulumi", venv / "blueprint"):
        f.chmod(0o755)
    for stack in ("dev", "staging", "prod"):
        result = _run_step(preview, tmp_path, {"PATH": f"{bin_dir}:/usr/bin:/bin", "STACK": stack})
        assert result.returncode == 0 and "exits 3" not in result.stderr, result.stderr
    (tmp_path / "review.md").write_text("<!-- blueprint-review -->\n")
    output = tmp_path / "github_output"
    result = _run_step(assemble, tmp_path, {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output)})
    assert result.returncode == 0, result.stderr
    review = (tmp_path / "review.md").read_text()
    assert "diffed dev" in review and "diffed prod" in review and "diffed staging" not in review
    assert "`pulumi preview` failed for `staging`" in review
    assert review.index("diffed dev") < review.index("failed for `staging`") < review.index("diffed prod")
    assert output.read_text().strip() == "failed=staging"


def test_operations_doc_says_how_prod_gets_required_reviewers():
    text = (REPO / "docs" / "operations.md").read_text()
    section = text.split("## Require approval for prod", 1)[1].split("\n## ", 1)[0]
    assert "Settings" in section and "Environments" in section and "Required reviewers" in section
    assert "`prod`" in section
