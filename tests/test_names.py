"""One home per wire name: the values of ``blueprint/spec/names.py`` (labels, taints, namespaces, annotation keys...)
are spelled nowhere else in the platform's code; tests and docs may spell them to check and explain behaviour."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from blueprint.spec import names
from blueprint.spec.model import GpuPool

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("blueprint", "cli", "components", "policies", "__main__.py")
HOME = REPO / "blueprint" / "spec" / "names.py"
# Literals that spell a name's value for another fact; each says which.
COINCIDENCES = {
    ("blueprint/spec/model.py", "training"): "Purpose.training, a pool's purpose (not the namespace)",
    ("blueprint/spec/model.py", "serving"): "Purpose.serving, a pool's purpose (not the namespace)",
    ("blueprint/plan/git.py", "archive"): "`git archive`, the command",
    ("components/k8s/gateway.py", "platform"): "the shared Gateway object's name (not the config key)",
    ("components/interconnect/admission.py", "serving"): "the name of the admitted serving-port rule",
    ("blueprint/catalog/charts.py", "keda"): "the KEDA chart's name (not its namespace)",
    ("blueprint/plan/order_rules_k8s.py", "keda"): "the KEDA chart's name, installing the keda.sh CRDs",
    ("components/k8s/cluster_services.py", "keda"): "the KEDA chart's name, as CHARTS keys it",
}


def values() -> set[str]:
    """Every string names.py defines: constants, the members of its tuples and maps, the GPU taint's fields."""
    out: set[str] = set()

    def collect(v) -> None:
        if isinstance(v, str):
            out.add(v)
        elif isinstance(v, (tuple, list, set, frozenset)):
            for x in v:
                collect(x)
        elif isinstance(v, dict):
            for k, x in v.items():
                collect(k)
                collect(x)
        elif isinstance(v, names.Taint):
            collect((v.key, v.value, v.effect))

    for key, value in vars(names).items():
        if key.isupper():
            collect(value)
    return out


def qualified(value: str) -> bool:
    """A value with a separator is matched inside longer literals too ("aiplatform.io/pool=system")."""
    return any(c in value for c in "./:")


def spellings(source: str, wanted: set[str]) -> list[tuple[int, str, str]]:
    """(line, literal, value) for each string literal, docstrings aside, that spells one of ``wanted``."""
    tree = ast.parse(source)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            for v in wanted:
                if node.value == v or (qualified(v) and v in node.value):
                    found.append((node.lineno, node.value, v))
    return found


def _files() -> list[Path]:
    return sorted(p for top in SCANNED for p in ([REPO / top] if top.endswith(".py") else (REPO / top).rglob("*.py"))
                  if p != HOME)


def test_names_are_spelled_only_in_names_py():
    wanted, found = values(), []
    for path in _files():
        rel = path.relative_to(REPO).as_posix()
        for line, literal, value in spellings(path.read_text(), wanted):
            if (rel, value) not in COINCIDENCES:
                found.append(f"{rel}:{line}: {literal!r} spells {value!r}: import it from blueprint/spec/names.py")
    assert not found, "\n".join(found)


def test_every_coincidence_is_still_there():
    """A coincidence that went away is removed from the list, so the list cannot hide a new spelling later."""
    wanted = values()
    present = {(p.relative_to(REPO).as_posix(), v) for p in _files() for _, _, v in spellings(p.read_text(), wanted)}
    assert set(COINCIDENCES) <= present, set(COINCIDENCES) - present


@pytest.mark.parametrize("source,value", [
    ('SELECTOR = {"aiplatform.io/pool": "system"}\n', "aiplatform.io/pool"),
    ('x = f"aiplatform.io/{key}"\n', "aiplatform.io"),
    ('ANNOTATION = "eks.amazonaws.com/role-arn"\n', "eks.amazonaws.com/role-arn"),
    ('ns = "kube-system"\n', "kube-system"),
    ('tol = {"key": "nvidia.com/gpu", "effect": "NoSchedule"}\n', "NoSchedule"),
])
def test_the_check_finds_a_spelled_name(source, value):
    assert value in {v for _, _, v in spellings(source, values())}


def test_the_check_ignores_docstrings_and_other_words():
    source = '"""Pods tolerate nvidia.com/gpu in kube-system."""\nx = "trainer"\n'
    assert spellings(source, values()) == []


def test_the_pool_labels_and_taint_come_from_names():
    pool = GpuPool.model_validate({"name": "p", "accelerator": "l4", "instanceType": "g6.xlarge",
                                   "capacityType": "spot", "purpose": "serving",
                                   "scaling": {"min": 0, "desired": 0, "max": 1}})
    assert pool.labels == {names.POOL_LABEL: "p", names.ACCELERATOR_LABEL: "l4", names.CAPACITY_TYPE_LABEL: "spot",
                           names.PURPOSE_LABEL: "serving"}
    assert pool.taint is names.GPU_TAINT
    assert names.GPU_TAINT.toleration() == {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                            "effect": "NoSchedule"}
    assert names.GPU_TAINT.cloud_effect == "NO_SCHEDULE" and names.K8S_TAINT_EFFECTS["NO_SCHEDULE"] == "NoSchedule"
