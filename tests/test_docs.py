"""The docs say what the commands do: the command page is each command's real help, and the pages name them."""
from __future__ import annotations

import re
from pathlib import Path

from cli import docs
from cli.main import build_parser

REPO = Path(__file__).resolve().parents[1]


def test_command_page_is_the_parsers_help():
    assert docs.OUT.read_text() == docs.render(), "docs/commands.md is stale: run `python -m cli.docs`"


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
    from cli.main import main

    readme = (REPO / "README.md").read_text()
    block = re.search(r"`blueprint cost --stack prod`.*?```text\n(.*?)```", readme, re.S).group(1).splitlines()[1:]
    assert main(["cost", "--stack", "prod"]) == 0
    printed = {" ".join(line.split()) for line in capsys.readouterr().out.splitlines()}
    stale = [line for line in block if " ".join(line.split()) not in printed]
    assert len(block) > 10 and not stale, f"README cost lines no longer printed: {stale}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation but '-' and '_' dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_pages_name_headings_that_exist():
    """first-deployment.md and operations.md's "First deployment" point to each other instead of repeating; a
    renamed heading must not leave a link to nowhere."""
    pages = ["README.md", *(str(p.relative_to(REPO)) for p in sorted((REPO / "docs").glob("*.md")))]
    anchors = {page: {_slug(h) for h in re.findall(r"^#+ (.*)$", (REPO / page).read_text(), re.M)} for page in pages}
    broken, links = [], set()
    for page in pages:
        for target, anchor in re.findall(r"\]\(([\w./-]*\.md)?#([\w-]+)\)", (REPO / page).read_text()):
            path = str((REPO / page).parent.joinpath(target).resolve().relative_to(REPO)) if target else page
            links.add((page, path))
            if anchor not in anchors.get(path, set()):
                broken.append(f"{page} -> {path}#{anchor}")
    assert not broken, broken
    assert ("docs/first-deployment.md", "docs/operations.md") in links
    assert ("docs/operations.md", "docs/first-deployment.md") in links
