"""The docs say what the commands do: the command page is each command's real help, and the pages name them."""
from __future__ import annotations

import re
from pathlib import Path

from blueprint import docs
from blueprint.cli import build_parser

REPO = Path(__file__).resolve().parents[1]


def test_command_page_is_the_parsers_help():
    assert docs.OUT.read_text() == docs.render(), "docs/commands.md is stale: run `python -m blueprint.docs`"


def test_command_page_covers_every_command_and_subcommand():
    page = docs.OUT.read_text()
    names = [name for name, _ in docs._commands(build_parser())]
    assert {"plan", "policy", "cost", "cost diff", "review", "render"} <= set(names)
    for name in names:
        assert f"## blueprint {name}\n" in page


def test_readme_and_operations_name_only_real_commands():
    known = {name.split()[0] for name, _ in docs._commands(build_parser())}
    for page in ("README.md", "docs/operations.md", "docs/architecture.md"):
        used = set(re.findall(r"`blueprint ([a-z]+)", (REPO / page).read_text()))
        assert used <= known, f"{page} names {used - known}"


def test_architecture_page_has_a_mermaid_diagram_of_the_platform():
    text = (REPO / "docs" / "architecture.md").read_text()
    diagram = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert diagram and diagram.group(1).startswith("flowchart")
    for part in ("EKS", "GKE", "GpuNodePool", "FSx", "Filestore", "Transit Gateway", "HA VPN"):
        assert part in diagram.group(1), part


def test_readme_cost_breakdown_is_what_blueprint_cost_prints_for_prod(capsys):
    from blueprint.cli import main

    readme = (REPO / "README.md").read_text()
    block = re.search(r"`blueprint cost --stack prod`.*?```text\n(.*?)```", readme, re.S).group(1).splitlines()[1:]
    assert main(["cost", "--stack", "prod"]) == 0
    printed = {" ".join(line.split()) for line in capsys.readouterr().out.splitlines()}
    stale = [line for line in block if " ".join(line.split()) not in printed]
    assert len(block) > 10 and not stale, f"README cost lines no longer printed: {stale}"
