"""What users of Pulumi, Infracost and Checkov expect of the CLI (issue 17): `validate`, `--region`, `--depth`,
progress on a terminal only, the stack-file JSON Schema, stacks in promotion order, one JSON shape."""
from __future__ import annotations

import io
import json

import jsonschema
import pytest
import yaml

from blueprint.spec import schema
from blueprint.spec.load import REPO
from tests.cli.helpers import run_cli, stack_dir


def test_validate_checks_every_shipped_stack_in_promotion_order(capsys):
    rc, out, err = run_cli(capsys, "validate")
    assert rc == 0, out + err
    assert out.splitlines() == ["stack 'dev': valid", "stack 'staging': valid", "stack 'prod': valid"]


def test_region_plans_one_region_of_a_stack(capsys):
    rc, out, err = run_cli(capsys, "plan", "--stack", "staging", "--region", "aws/us-west-2")
    assert rc == 0, err
    assert "aws-us-west-2-eks" in out and "aws-us-east-1" not in out
    rc, full, _ = run_cli(capsys, "plan", "--stack", "staging")
    assert "aws-us-east-1-eks" in full and "aws-us-west-2-eks" in full


def test_an_unknown_region_lists_the_stacks_regions(capsys):
    rc, _, err = run_cli(capsys, "plan", "--stack", "staging", "--region", "aws/eu-west-9")
    assert rc == 1 and "Traceback" not in err
    assert "--region aws/eu-west-9: not a region of this stack; allowed values: aws/us-east-1, aws/us-west-2" in err


def test_depth_limits_the_cost_breakdown(capsys):
    depths = {}
    for depth in (1, 2, 3, 4):
        rc, out, _ = run_cli(capsys, "cost", "--stack", "dev", "--depth", str(depth))
        assert rc == 0
        depths[depth] = out
    assert len(depths[1].splitlines()) < len(depths[2].splitlines()) < len(depths[3].splitlines()) \
        < len(depths[4].splitlines())
    total = [line for line in depths[4].splitlines() if line.startswith("TOTAL")]
    assert all(total[0] in depths[d] for d in (1, 2, 3))  # the same total at every depth
    resource_line = "aws-us-east-1-train-a10g  (aws:eks/nodeGroup:NodeGroup)"
    assert resource_line in depths[3] and resource_line not in depths[2]
    _, default, _ = run_cli(capsys, "cost", "--stack", "dev")
    assert default == depths[4]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_stderr_only_on_a_terminal(capsys, monkeypatch):
    rc, out, err = run_cli(capsys, "policy", "--stack", "dev")
    assert rc == 0 and "blueprint: dev:" not in out + err  # a pipe, a CI log: nothing but the result
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    rc, out, _ = run_cli(capsys, "policy", "--stack", "dev")
    assert rc == 0 and "blueprint: dev:" not in out
    assert "blueprint: dev: planning...\nblueprint: dev: evaluating policies...\n" in terminal.getvalue()


def test_plan_out_writes_the_tree_instead_of_stdout(tmp_path, capsys):
    rc, out, _ = run_cli(capsys, "plan", "--stack", "dev", "--out", str(tmp_path / "plan.txt"))
    assert rc == 0 and out == ""
    assert (tmp_path / "plan.txt").read_text().startswith("stack dev: ")


@pytest.mark.parametrize("command", [["policy"], ["cost"], ["validate"], ["deployer"]])
def test_json_is_always_a_list_of_stacks(capsys, command):
    rc, out, err = run_cli(capsys, *command, "--stack", "dev", "--format", "json")
    assert rc == 0, err
    doc = json.loads(out)
    assert isinstance(doc, list) and len(doc) == 1 and doc[0]["stack"] == "dev"


def test_the_shipped_stack_file_schema_is_generated_from_the_spec():
    assert schema.OUT.read_text() == schema.render(), "stale: run python -m blueprint.spec.schema"
    assert schema.main(["--check"]) == 0


def _stack_doc(path) -> dict:
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))  # dates as the text written


def test_the_shipped_stacks_validate_against_the_schema_and_mistakes_do_not():
    validator = jsonschema.Draft202012Validator(json.loads(schema.OUT.read_text()))
    for path in sorted((REPO / "stacks").glob("Pulumi.*.yaml")):
        errors = list(validator.iter_errors(_stack_doc(path)))
        assert not errors, (path.name, [e.message for e in errors])
    doc = _stack_doc(REPO / "stacks" / "Pulumi.dev.yaml")
    platform = doc["config"]["aiplatform:platform"]
    platform["regions"][0]["gpuPools"][0]["scaling"]["min"] = True
    platform["tier"] = "qa"
    platform["budget"]["alertWebhookUrl"] = "https://plain.example.com"
    messages = [e.message for e in validator.iter_errors(doc)]
    assert any("True is not of type 'integer'" in m for m in messages)
    assert any("'qa' is not one of" in m for m in messages)
    platform["budget"]["alertWebhookUrl"] = {"secure": "v1:abc"}
    assert len(list(validator.iter_errors(doc))) == len(messages) - 1  # the encrypted form is the one allowed


def test_stacks_dir_reads_stack_files_from_elsewhere(tmp_path, capsys):
    folder = stack_dir(tmp_path, "prod")
    rc, out, _ = run_cli(capsys, "--stacks-dir", str(folder), "validate")
    assert rc == 0 and out.splitlines() == ["stack 'prod': valid"]
