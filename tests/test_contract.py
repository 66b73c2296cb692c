"""One home for what the images and the manifests agree on: the values of ``workloads/contract.py`` are spelled nowhere
else in the platform or the images, and the Dockerfiles ship the contract and declare its ports and user."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from workloads import contract

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("blueprint", "cli", "components", "policies", "workloads", "__main__.py")
HOME = REPO / "workloads" / "contract.py"
IMAGES = ("serve", "train")
# Literals that spell a contract value for another fact; each says which.
COINCIDENCES = {
    ("workloads/serve/app.py", "workloads.serve"): "the server's logger and app title (not its entry point)",
    ("workloads/serve/engine.py", "workloads.serve"): "the server's logger name",
    ("workloads/serve/scheduler.py", "workloads.serve"): "the server's logger name",
    ("policies/kubernetes.py", "/tmp"): "prose of a remediation message, naming the images' scratch directory",
}


def values() -> set[str | int]:
    """Every string and every number above 2 the contract defines (1 and 2, the bug exit codes, are everywhere)."""
    out: set[str | int] = set()
    for key, value in vars(contract).items():
        if key.isupper():
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, str) or (isinstance(v, int) and v > 2):
                    out.add(v)
    return out


def spellings(source: str, wanted: set[str | int]) -> list[tuple[int, object, str | int]]:
    """(line, literal, value) for each literal, docstrings aside, that spells one of ``wanted``; a path ("/readyz")
    is found inside longer strings too (f"https://{host}/readyz" holds it as a piece of its own)."""
    tree = ast.parse(source)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in docstrings or isinstance(node.value, bool):
            continue
        for v in wanted:
            if type(node.value) is type(v) and (node.value == v or (isinstance(v, str) and v.startswith("/")
                                                                   and v in node.value)):
                found.append((node.lineno, node.value, v))
    return found


def _files() -> list[Path]:
    return sorted(p for top in SCANNED for p in ([REPO / top] if top.endswith(".py") else (REPO / top).rglob("*.py"))
                  if p != HOME)


def test_contract_values_are_spelled_only_in_the_contract():
    wanted, found = values(), []
    for path in _files():
        rel = path.relative_to(REPO).as_posix()
        for line, literal, value in spellings(path.read_text(), wanted):
            if (rel, value) not in COINCIDENCES:
                found.append(f"{rel}:{line}: {literal!r} spells {value!r}: import it from workloads/contract.py")
    assert not found, "\n".join(found)


def test_every_coincidence_is_still_there():
    wanted = values()
    present = {(p.relative_to(REPO).as_posix(), v) for p in _files() for _, _, v in spellings(p.read_text(), wanted)}
    assert set(COINCIDENCES) <= present, set(COINCIDENCES) - present


@pytest.mark.parametrize("source,value", [
    ("PORT = 8080\n", 8080),
    ('probe = {"path": "/readyz", "port": 1}\n', "/readyz"),
    ('url = f"https://{host}/readyz"\n', "/readyz"),
    ('codes = [143, 75]\n', 75),
    ('cmd = ["python", "-m", "workloads.serve"]\n', "workloads.serve"),
    ('q = "serve_queue_depth"\n', "serve_queue_depth"),
])
def test_the_check_finds_a_spelled_value(source, value):
    assert value in {v for _, _, v in spellings(source, values())}


def test_the_check_ignores_docstrings_small_numbers_and_booleans():
    source = '"""Exits 75 and serves /readyz on 8080."""\nx = [1, 2, True]\nlog = "workloads.serve.engine"\n'
    assert spellings(source, values()) == []


def test_the_contract_is_standard_library_only():
    tree = ast.parse(HOME.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__"}, imported


@pytest.mark.parametrize("image", IMAGES)
def test_the_images_ship_the_contract(image):
    """Each image copies the workloads package (contract.py with it) and imports its entry point at build time."""
    text = (REPO / "workloads" / image / "Dockerfile").read_text()
    copies = re.findall(r"^COPY\s+(\S+)\s+(\S+)", text, re.M)
    assert any(HOME.relative_to(REPO).as_posix().startswith(src.rstrip("/") + "/") for src, _ in copies), copies
    assert "ENV PYTHONPATH=/app" in text or "PYTHONPATH=/app" in text


def test_the_images_expose_the_contracts_ports_and_run_as_its_user():
    exposed = {image: {int(p) for line in re.findall(r"^EXPOSE\s+(.+)$", text, re.M) for p in line.split()}
               for image in IMAGES for text in [(REPO / "workloads" / image / "Dockerfile").read_text()]}
    assert exposed == {"serve": {contract.SERVE_PORT},
                       "train": {contract.TRAIN_RDZV_PORT, contract.TRAIN_METRICS_PORT}}
    for image in IMAGES:
        text = (REPO / "workloads" / image / "Dockerfile").read_text()
        assert f"USER {contract.RUN_AS_UID}:{contract.RUN_AS_GID}" in text, image
        assert f"useradd --uid {contract.RUN_AS_UID}" in text, image
        assert f"HOME={contract.SCRATCH_PATH}" in text and f"TMPDIR={contract.SCRATCH_PATH}" in text, image
