"""Reading resource properties the way the CLI hands them over: behind the SDK's proxy that raises on values known
only after apply. ``peek`` asks "is it set at all" without the check; ``at`` reads and lets the proxy raise."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import _DictProxy, _is_unknown


def peek(m: Any, key: str) -> Any:
    """A value without the unknown check: for "is it set at all" questions, where unknown still means set."""
    if isinstance(m, _DictProxy):
        return m["__target"].get(key)
    return m.get(key) if isinstance(m, Mapping) else None


def present(m: Any, path: str) -> bool:
    """The input is set (known or known only after apply)."""
    parent, _, leaf = path.rpartition(".")
    holder = at(m, parent) if parent else m
    return peek(holder, leaf) is not None


def at(m: Any, path: str, default: Any = None) -> Any:
    """Read ``a.b[0].c``; missing is ``default``, unknown raises ``UnknownValueError`` as in ``pulumi preview``."""
    value = m
    for part in path.replace("]", "").replace("[", ".").split("."):
        if isinstance(value, Mapping) and peek(value, part) is not None:
            value = value[part]
        elif isinstance(value, Sequence) and not isinstance(value, str) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return default
    return value


def items(value: Any) -> list:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def truthy(value: Any) -> bool:
    """Booleans some SDK fields carry as strings ("true")."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def falsy(value: Any) -> bool:
    """Explicitly false (``False`` or "false"), as opposed to unset."""
    return value is False or (isinstance(value, str) and value.lower() == "false")


def is_unknown(value: Any) -> bool:
    return _is_unknown(value)


def as_mapping(value: Any) -> Mapping:
    """Provider settings and policy documents arrive JSON-encoded; objects pass through."""
    if isinstance(value, str) and not _is_unknown(value):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


def plain(value: Any) -> Any:
    """A proxy-free copy for walking whole trees (Helm values); unknown leaves stay the SDK's unknown marker."""
    if isinstance(value, _DictProxy):
        value = value["__target"]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(v) for v in value]
    return value
