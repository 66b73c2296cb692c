"""The layers (docs/architecture.md, "Layers"): every import points down, the packages of one layer do not import each
other, the platform imports nothing of the workload images but their contract, the lower layers use only the
third-party packages they are allowed, no module import cycle, and imports sit at module top."""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("blueprint", "cli", "components", "policies", "workloads")
PROGRAM = "__main__"  # the Pulumi program (the repository root's __main__.py)


@dataclass(frozen=True)
class Layer:
    name: str
    rank: int
    packages: tuple[str, ...]
    third_party: tuple[str, ...] | None = None  # None: any third-party package


# Ordered bottom-up; a module belongs to the layer of its longest matching package.
LAYERS = (
    Layer("catalog", 0, ("blueprint.catalog",), ("yaml",)),
    Layer("contract", 0, ("workloads.contract",), ()),
    Layer("spec", 1, ("blueprint", "blueprint.spec"), ("pydantic", "yaml")),
    Layer("plan", 2, ("blueprint.plan",), ("pydantic", "yaml", "pulumi")),
    Layer("cost", 3, ("blueprint.cost",)),
    Layer("components", 4, ("components",)),
    Layer("policies", 4, ("policies",)),
    Layer("cli", 5, ("cli",)),
    Layer("program", 5, (PROGRAM,)),
)
APPS = "workloads"  # the images: they import only their contract among ours; the platform imports only the contract
CONTRACT = "workloads.contract"
# Imports kept inside a function, each with its reason: (module, imported module) -> why. Empty: every import of the
# platform is at its module's top.
FUNCTION_LEVEL: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    source: str
    target: str  # one of our modules
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``: checked for direction, not a runtime edge
    in_function: bool


def layer_of(module: str) -> Layer | None:
    found = [(len(p), layer) for layer in LAYERS for p in layer.packages if module == p or module.startswith(p + ".")]
    return max(found, key=lambda f: f[0])[1] if found else None


def ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES or module == PROGRAM


def _resolve(name: str, modules: set[str]) -> str:
    """The module an import names: itself if it is a module, else its longest prefix that is one."""
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def _function_nodes(tree: ast.AST) -> set[int]:
    return {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            for n in ast.walk(f) if n is not f}


def imports_of(module: str, source: str, modules: set[str], is_package: bool) -> tuple[list[Import], set[str]]:
    """Our imports of a module (resolved to modules), and the top-level names of the third-party ones."""
    tree = ast.parse(source)
    typed, in_fn = _type_checking_nodes(tree), _function_nodes(tree)
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []
    third: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if ours(name):
                found.append(Import(module, _resolve(name, modules), node.lineno, id(node) in typed,
                                    id(node) in in_fn))
            elif top != "__future__" and top not in sys.stdlib_module_names:
                third.add(top)
    return found, third


def problems(sources: dict[str, str], packages: frozenset[str] = frozenset()) -> list[str]:
    """Every layering problem of a module set (module name -> source; ``packages``: the names that are packages)."""
    modules = set(sources)
    out: list[str] = []
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, source in sorted(sources.items()):
        found, third = imports_of(module, source, modules, module in packages)
        layer = layer_of(module)
        app = module.split(".")[0] == APPS and not module.startswith(CONTRACT)
        if layer is not None and layer.third_party is not None:
            for name in sorted(third - set(layer.third_party)):
                out.append(f"{module} ({layer.name}) imports third-party {name}; {layer.name} may use only "
                           f"{', '.join(layer.third_party) or 'the standard library'}")
        for imp in found:
            target = imp.target
            where = f"{module}:{imp.line}"
            if not imp.type_only and target != module:
                edges[module].add(target)
            if imp.in_function and (module, target) not in FUNCTION_LEVEL and not module.startswith(APPS + "."):
                out.append(f"{where} imports {target} inside a function (move it to the module's top, or list it "
                           "in FUNCTION_LEVEL with its reason)")
            if target.split(".")[0] == APPS and not target.startswith(CONTRACT):
                if not module.startswith(APPS + "."):
                    out.append(f"{where} imports {target}: the platform imports only {CONTRACT} of the workloads")
                continue
            if app:
                if not target.startswith(CONTRACT):
                    out.append(f"{where} imports {target}: the workload images import only {CONTRACT} of ours")
                continue
            to = layer_of(target)
            if layer is None or to is None:
                continue
            if to.rank > layer.rank:
                out.append(f"{where} imports {target}: {layer.name} (layer {layer.rank}) may not import "
                           f"{to.name} (layer {to.rank}) above it")
            elif to.rank == layer.rank and to.name != layer.name:
                out.append(f"{where} imports {target}: {layer.name} and {to.name} are one layer and do not import "
                           "each other")
    out += [f"import cycle: {' -> '.join(c)}" for c in cycles(edges)]
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan), as a closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_path(sorted(component)[0], set(component), edges))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _path(start: str, component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A cycle through ``start`` inside ``component`` (breadth first, so the shortest)."""
    parents: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges.get(v, ())):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if w in component and w not in parents:
                parents[w] = v
                queue.append(w)
    return [start, start]


def repository_sources() -> tuple[dict[str, str], frozenset[str]]:
    sources: dict[str, str] = {PROGRAM: (REPO / "__main__.py").read_text()}
    packages = set()
    for top in PACKAGES:
        for path in sorted((REPO / top).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
                packages.add(".".join(parts))
            sources[".".join(parts)] = path.read_text()
    return sources, frozenset(packages)


# --- the repository ------------------------------------------------------------------------------------------------
def test_every_import_points_down_and_nothing_forms_a_cycle():
    sources, packages = repository_sources()
    assert len(sources) > 100
    found = problems(sources, packages)
    assert not found, "\n".join(found)


def test_every_module_of_the_platform_has_a_layer():
    sources, _ = repository_sources()
    missing = [m for m in sources if layer_of(m) is None and m.split(".")[0] != APPS]
    assert missing == []


# --- the checker itself, on synthetic module sets ------------------------------------------------------------------
CLEAN = {
    "blueprint.catalog": "import yaml\n",
    "blueprint.spec.model": "import pydantic\nfrom blueprint import catalog\n",
    "blueprint.plan.engine": "import pulumi\nfrom blueprint.spec.model import X\n",
    "blueprint.cost.estimate": "from blueprint.plan.engine import run_plan\nfrom blueprint.spec import model\n",
    "components.k8s": "import pulumi_kubernetes\nfrom blueprint.spec.model import X\n"
                      "from workloads.contract import PORT\n",
    "policies.stack": "from blueprint.cost.estimate import estimate\n",
    "cli.main": "from policies.stack import P\nfrom components.k8s import K\n",
    "workloads.contract": "import os\n",
    "workloads.serve": "import torch\nfrom workloads.contract import PORT\n",
}
PACKAGE_NAMES = frozenset({"blueprint.catalog", "components.k8s"})


def test_checker_accepts_a_set_that_only_points_down():
    assert problems(CLEAN, PACKAGE_NAMES) == []


@pytest.mark.parametrize("module,source,expected", [
    ("blueprint.spec.model", "from blueprint.cost.estimate import estimate\n", "spec (layer 1) may not import cost"),
    ("blueprint.plan.engine", "def f():\n    from cli.main import main\n", "plan (layer 2) may not import cli"),
    ("blueprint.catalog", "from blueprint.spec import model\n", "catalog (layer 0) may not import spec"),
    ("workloads.contract", "from blueprint.catalog import X\n", "contract and catalog are one layer"),
    ("components.k8s", "from policies.stack import P\n", "components and policies are one layer"),
    ("policies.stack", "from components.k8s import K\n", "policies and components are one layer"),
    ("components.k8s", "from workloads.serve import app\n", "the platform imports only workloads.contract"),
    ("workloads.serve", "from blueprint.spec.model import X\n", "the workload images import only workloads.contract"),
    ("blueprint.spec.model", "import pulumi\n", "imports third-party pulumi; spec may use only pydantic, yaml"),
    ("workloads.contract", "import yaml\n", "contract may use only the standard library"),
    ("blueprint.cost.estimate", "def f():\n    from blueprint.plan.engine import run_plan\n", "inside a function"),
])
def test_checker_reports_each_kind_of_problem(module, source, expected):
    found = problems({**CLEAN, module: CLEAN[module] + source}, PACKAGE_NAMES)
    assert any(expected in p for p in found), found


def test_checker_reports_a_cycle_with_its_path_and_not_a_type_only_one():
    looped = {**CLEAN, "blueprint.spec.names": "from blueprint.spec.model import X\n",
              "blueprint.spec.model": CLEAN["blueprint.spec.model"] + "from blueprint.spec.names import Y\n"}
    assert "import cycle: blueprint.spec.model -> blueprint.spec.names -> blueprint.spec.model" in \
        problems(looped, PACKAGE_NAMES)
    typed = {**looped, "blueprint.spec.names": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                               "    from blueprint.spec.model import X\n"}
    assert problems(typed, PACKAGE_NAMES) == []


def test_checker_resolves_relative_imports_and_package_members():
    relative = {**CLEAN, "components.k8s.gateway": "from . import entry\n",
                "components.k8s.entry": "from .gateway import G\n"}
    found = problems(relative, PACKAGE_NAMES)
    assert "import cycle: components.k8s.entry -> components.k8s.gateway -> components.k8s.entry" in found


def test_the_architecture_page_names_every_layer():
    text = (REPO / "docs" / "architecture.md").read_text()
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    assert "```mermaid\nflowchart BT" in section
    for layer in LAYERS:
        for package in layer.packages:
            path = "__main__.py" if package == PROGRAM else package.replace(".", "/") + (
                ".py" if package == CONTRACT else "/")
            assert f"`{path}`" in section or package == "blueprint", (layer.name, path)
