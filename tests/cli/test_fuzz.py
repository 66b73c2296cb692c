"""Fuzzing the shipped stack files (issue 17): wrong types, deleted keys, duplicate keys, extreme numbers and unicode
put anywhere in dev and staging. Every run either validates and then plans, or fails with one clear message naming
the stack: never a traceback. Bounded and derandomized, so CI runs the same examples every time."""
from __future__ import annotations

import copy
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprint.spec import FULL_KEY
from blueprint.spec.load import REPO
from tests.cli.helpers import run_cli

STACKS = ("dev", "staging")
SHIPPED = {s: yaml.safe_load((REPO / "stacks" / f"Pulumi.{s}.yaml").read_text()) for s in STACKS}

EXTREME = st.sampled_from([0, -1, 2**63, -(2**63), 10**400, 1e308, -1e-308, math.inf, -math.inf, math.nan, 0.5])
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), EXTREME,
    st.text(max_size=30), st.sampled_from(["yes", "no", "on", "1", "1.0", "", " ", "ünïcödé-名前", "a" * 300,
                                           "🚀", "\u202e", "null", "~", "aws/us-east-1", "10.0.0.0/8"]),
)
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=3), st.dictionaries(st.text(max_size=8), SCALAR, max_size=3))


def _paths(node: Any, at: tuple = ()) -> list[tuple]:
    """Every key and index under the platform object, so a mutation can land anywhere."""
    out = [at] if at else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*at, i))
    return out


def _apply(doc: dict, path: tuple, kind: str, value: Any) -> None:
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if kind == "delete":
        del parent[last]
    elif kind == "replace":
        parent[last] = value
    elif kind == "wrap":  # a value where a list was expected, a list where a value was
        parent[last] = [parent[last]]
    elif kind == "rename" and isinstance(parent, dict):
        parent[f"{last}X" if isinstance(last, str) else "x"] = parent.pop(last)


@st.composite
def mutated(draw) -> tuple[str, str]:
    """(stack, stack file text) with one to three mutations, sometimes a key given twice in the text."""
    stack = draw(st.sampled_from(STACKS))
    doc = copy.deepcopy(SHIPPED[stack])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc["config"][FULL_KEY])
        if not paths:
            break
        path = (*("config", FULL_KEY), *draw(st.sampled_from(paths)))
        _apply(doc, path, draw(st.sampled_from(["delete", "replace", "replace", "wrap", "rename"])), draw(VALUE))
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=draw(st.booleans()))
    if draw(st.integers(0, 4)) == 0:  # a duplicate key: one line of a block mapping given twice
        lines = text.splitlines(keepends=True)
        keyed = [i for i, line in enumerate(lines) if re.match(r"^ *[A-Za-z]\w*: \S", line)]
        if keyed:
            i = draw(st.sampled_from(keyed))
            lines.insert(i + 1, lines[i])
            text = "".join(lines)
    return stack, text


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(mutated())
def test_a_mutated_stack_file_plans_or_fails_with_one_clear_message(capsys, case):
    stack, text = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / f"Pulumi.{stack}.yaml").write_text(text)
        rc, out, err = run_cli(capsys, "--stacks-dir", tmp, "validate", "--stack", stack)
        assert "Traceback" not in err and "bug" not in err, err
        assert rc in (0, 1), (rc, err)
        if rc == 1:
            assert out.startswith(f"stack '{stack}': ") and len(out.strip()) > len(f"stack '{stack}': "), out
            return
        # valid for the spec: the program must plan it (or refuse it with a clear message of its own)
        rc, out, err = run_cli(capsys, "--stacks-dir", tmp, "plan", "--stack", stack)
        assert "Traceback" not in err and "bug" not in err, err
        assert rc == 0 or (rc == 1 and err.startswith("error: ")), err
