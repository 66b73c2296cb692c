"""Usage the plan cannot know: the documented defaults (``usage_defaults.yaml``) overlaid by the stack's own file.
Notes: docs/architecture.md, "Cost"."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from blueprint.plan.model import PlannedResource
from blueprint.spec.load import REPO

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

    def for_resource(self, r: PlannedResource) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.by_type.get(r.type, {}))
        for pattern, attrs in self.by_resource:
            if fnmatch.fnmatchcase(r.name, pattern) or fnmatch.fnmatchcase(r.urn, pattern):
                out.update(attrs)
        return out

    def overlay(self, doc: dict[str, Any], origin: str) -> "Usage":
        unknown = set(doc) - KNOWN_KEYS
        if unknown:
            raise UsageError(f"{origin}: unknown keys {sorted(unknown)}; allowed: {sorted(KNOWN_KEYS)}")
        for type_, attrs in (doc.get("resource_type_default_usage") or {}).items():
            self.by_type.setdefault(type_, {}).update(_attrs(attrs, origin, type_))
        for pattern, attrs in (doc.get("resource_usage") or {}).items():
            self.by_resource.append((pattern, _attrs(attrs, origin, pattern)))
        for i, t in enumerate(doc.get("transfers") or []):
            try:
                self.transfers.append(Transfer(str(t["from"]), str(t["to"]), float(t["monthly_gb"])))
            except (KeyError, TypeError, ValueError):
                raise UsageError(f"{origin}: transfers[{i}] needs from, to (cloud/region) and monthly_gb") from None
        self.files.append(origin)
        return self


def _attrs(attrs: Any, origin: str, key: str) -> dict[str, Any]:
    if not isinstance(attrs, dict):
        raise UsageError(f"{origin}: '{key}' must map attribute names to values, got {attrs!r}")
    return dict(attrs)


def _read(path: Path) -> dict[str, Any]:
    with path.open() as f:
        doc = yaml.safe_load(f) or {}
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: a usage file is a mapping")
    return doc


def stack_usage_file(stack: str, root: Path = REPO) -> Path:
    return root / "stacks" / f"usage.{stack}.yaml"


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
