"""The project files a real user's Pulumi CLI and a newcomer rely on."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "tests" / "schemas" / "pulumi-project.schema.json"  # vendored, see tests/schemas/SOURCE.md
SHARED_SCHEMA = REPO.parent / "shared" / "schemas" / "pulumi-project.schema.json"


def test_pulumi_yaml_matches_the_cli_schema():
    schema = json.loads(SCHEMA.read_text())
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    jsonschema.validate(project, schema)
    assert project["runtime"]["name"] == "python" and project["stackConfigDir"] == "stacks"
    with pytest.raises(jsonschema.ValidationError):  # the schema does reject a project without a runtime
        jsonschema.validate({k: v for k, v in project.items() if k != "runtime"}, schema)


@pytest.mark.skipif(not SHARED_SCHEMA.exists(), reason="no ../shared/schemas beside this checkout to compare with")
def test_vendored_project_schema_is_the_shared_one():
    assert json.loads(SCHEMA.read_text()) == json.loads(SHARED_SCHEMA.read_text())


def test_every_stack_file_holds_only_namespaced_config():
    for path in (REPO / "stacks").glob("Pulumi.*.yaml"):
        doc = yaml.safe_load(path.read_text())
        assert set(doc) <= {"config", "environment", "secretsprovider", "encryptionsalt", "encryptedkey"}, path
        assert all(":" in key for key in doc["config"]), path


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", text.split("## Quick start", 1)[1].split("\n## ", 1)[0], re.S)
    return [line for block in blocks for line in block.strip().splitlines() if not line.startswith("#")]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    commands = _readme_commands()
    assert len(commands) == 2, commands
    ci = (REPO / ".ci" / "run").read_text()
    assert commands[1] in ci, "CI must run the README's test command verbatim"
    assert "pytest" in commands[1] and "blueprint" in commands[0]
