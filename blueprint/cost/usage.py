"""Usage the plan cannot know: the documented defaults (``usage_defaults.yaml``) overlaid by the stack's own file.
Notes: docs/architecture.md, "Cost"."""
from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blueprint.plan.model import Plan, PlannedResource
from blueprint.spec.load import REPO, stacks_dir
from blueprint.spec.yamlfile import InputFileError, read_yaml

DEFAULTS_FILE = Path(__file__).with_name("usage_defaults.yaml")
KNOWN_KEYS = {"version", "resource_type_default_usage", "resource_usage", "transfers"}


class UsageError(ValueError):
    """A usage file that does not have the documented layout."""


@dataclass
class Transfer:
    source: str  # cloud/region
    dest: str
    monthly_gb: float


@dataclass
class Usage:
    by_type: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_resource: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # What the user's files (not the defaults) give: (file, "type" or "resource", type token or glob, attributes)
    given: list[tuple[str, str, str, tuple[str, ...]]] = field(default_factory=list)
    read: set[tuple[str, str]] = field(default_factory=set)  # (URN, attribute) the estimator asked for

    def for_resource(self, r: PlannedResource) -> dict[str, Any]:
        out = _Recorded(self.by_type.get(r.type, {}))
        out.urn, out.read = r.urn, self.read
        for pattern, attrs in self.by_resource:
            if matches(pattern, r):
                out.update(attrs)
        return out

    def unmatched(self, plan: Plan) -> list[str]:
        """Warnings, as Infracost gives them: a user's usage entry that names no resource of the plan, or an
        attribute the estimator never read for the resources it names (misspelt, or not used by that type)."""
        out = []
        for origin, kind, selector, attrs in self.given:
            hit = [r for r in plan if (r.type == selector if kind == "type" else matches(selector, r))]
            label = f"{origin}: {'resource_type_default_usage' if kind == 'type' else 'resource_usage'} '{selector}'"
            if not hit:
                out.append(f"{label} matches no resource of stack {plan.stack}")
                continue
            for attr in attrs:
                if not any((r.urn, attr) in self.read for r in hit):
                    types = ", ".join(sorted({r.type for r in hit}))
                    out.append(f"{label}: attribute '{attr}' is not used by the estimate of {types} (see the "
                               "attributes in blueprint/cost/usage_defaults.yaml)")
        return out

    def overlay(self, doc: dict[str, Any], origin: str) -> "Usage":
        unknown = set(doc) - KNOWN_KEYS
        if unknown:
            raise UsageError(f"{origin}: unknown keys {sorted(unknown)}; allowed: {sorted(KNOWN_KEYS)}")
        user = origin != str(DEFAULTS_FILE)
        for section in ("resource_type_default_usage", "resource_usage"):
            if not isinstance(doc.get(section) or {}, dict):
                raise UsageError(f"{origin}: '{section}' must map names to attributes, got {doc[section]!r}")
        for type_, attrs in (doc.get("resource_type_default_usage") or {}).items():
            self.by_type.setdefault(type_, {}).update(_attrs(attrs, origin, type_))
            if user:
                self.given.append((origin, "type", str(type_), tuple(attrs)))
        for pattern, attrs in (doc.get("resource_usage") or {}).items():
            self.by_resource.append((str(pattern), _attrs(attrs, origin, pattern)))
            if user:
                self.given.append((origin, "resource", str(pattern), tuple(attrs)))
        if not isinstance(doc.get("transfers") or [], list):
            raise UsageError(f"{origin}: transfers is a list of {{from, to, monthly_gb}}")
        for i, t in enumerate(doc.get("transfers") or []):
            try:
                _check_value(t["monthly_gb"], origin, f"transfers[{i}].monthly_gb")
                self.transfers.append(Transfer(str(t["from"]), str(t["to"]), float(t["monthly_gb"])))
            except (KeyError, TypeError, ValueError):
                raise UsageError(f"{origin}: transfers[{i}] needs from, to (cloud/region) and monthly_gb") from None
        self.files.append(origin)
        return self


class _Recorded(dict):
    """A resource's usage attributes that remember which ones the estimator asked for."""

    urn: str
    read: set[tuple[str, str]]

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add((self.urn, key))
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add((self.urn, key))
        return super().__getitem__(key)


def matches(pattern: str, r: PlannedResource) -> bool:
    return fnmatch.fnmatchcase(r.name, pattern) or fnmatch.fnmatchcase(r.urn, pattern)


def _check_value(value: Any, origin: str, at: str) -> None:
    """Usage quantities are finite numbers of at least zero (a text value such as an endpoint kind is the pricer's to
    judge); booleans are not numbers."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_value(v, origin, f"{at}.{k}")
    elif isinstance(value, bool):
        raise UsageError(f"{origin}: {at}: expected a number, got {str(value).lower()}")
    elif isinstance(value, (int, float)) and (not math.isfinite(value) or value < 0):
        raise UsageError(f"{origin}: {at}: must be a finite number of at least 0, got {value}")


def _attrs(attrs: Any, origin: str, key: str) -> dict[str, Any]:
    if not isinstance(attrs, dict):
        raise UsageError(f"{origin}: '{key}' must map attribute names to values, got {attrs!r}")
    for name, value in attrs.items():
        _check_value(value, origin, f"{key}.{name}")
    return dict(attrs)


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = read_yaml(path, "a usage file")
    except InputFileError as exc:
        raise UsageError(str(exc)) from None
    doc = {} if doc is None else doc
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: a usage file is a mapping with keys {', '.join(sorted(KNOWN_KEYS))}, got a "
                         f"{type(doc).__name__}")
    return doc


def stack_usage_file(stack: str, root: Path = REPO) -> Path:
    return stacks_dir(root) / f"usage.{stack}.yaml"


def load_usage(stack: str | None = None, extra: Path | None = None, root: Path = REPO) -> Usage:
    """Defaults, then ``stacks/usage.<stack>.yaml`` when it exists, then ``extra`` (e.g. ``--usage FILE``)."""
    usage = Usage().overlay(_read(DEFAULTS_FILE), str(DEFAULTS_FILE))
    if stack:
        path = stack_usage_file(stack, root)
        if path.exists():
            usage.overlay(_read(path), str(path))
    if extra is not None:
        usage.overlay(_read(extra), str(extra))
    return usage
