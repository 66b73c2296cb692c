"""What a plan holds (its resources and its validated spec), and its exchange format: ``pulumi preview --json``,
which ``Plan.from_preview_json`` reads back, so an offline plan and a real preview take one code path."""
from __future__ import annotations

import fnmatch
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from blueprint.spec import PlatformSpec
from blueprint.spec.load import spec_from_config

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker for a value known only after apply
_NOT_LOADED = object()


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None  # "<provider urn>::<provider id>" as the engine writes it
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    secret_paths: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    op: str = "create"

    @property
    def provider_urn(self) -> str | None:
        return self.provider.rsplit("::", 1)[0] if self.provider else None

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")

    def get(self, path: str, default: Any = None) -> Any:
        """Read a nested input by dotted path with ``[i]`` indexes, e.g. ``metadataOptions.httpTokens``."""
        value: Any = self.inputs
        for part in path.replace("]", "").replace("[", ".").split("."):
            if isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, dict) and part in value:
                value = value[part]
            else:
                return default
        return value


@dataclass
class Plan:
    stack: str
    project: str
    resources: list[PlannedResource]
    config: dict[str, str] = field(default_factory=dict)
    # the program's log messages ({"severity", "message"}), as `pulumi preview --json` lists them
    diagnostics: list[dict[str, str]] = field(default_factory=list)
    _spec: Any = field(default=_NOT_LOADED, init=False, repr=False, compare=False)

    @property
    def spec(self) -> PlatformSpec | None:
        """The validated spec the plan was made from: set by the engine, which validated it; a plan read from a
        preview or rebuilt from policy resources loads its config's spec once, when first asked (None: it has
        none). An invalid spec is a ``SpecError``."""
        if self._spec is _NOT_LOADED:
            self._spec = spec_from_config(self.config, self.stack)
        return self._spec

    @spec.setter
    def spec(self, value: PlatformSpec | None) -> None:
        self._spec = value

    def __iter__(self) -> Iterator[PlannedResource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> PlannedResource:
        """The single resource of a type (and name glob); raises if there is not exactly one."""
        found = [r for r in self.of_type(type_token) if name is None or fnmatch.fnmatch(r.name, name)]
        if len(found) != 1:
            raise LookupError(f"expected one {type_token} named {name or '*'}, found "
                              f"{[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> PlannedResource | None:
        return next((r for r in self.resources if r.urn == urn), None)

    def children(self, urn: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == urn]

    def descendants(self, urn: str) -> list[PlannedResource]:
        out, todo = [], [urn]
        while todo:
            kids = self.children(todo.pop())
            out += kids
            todo += [k.urn for k in kids]
        return out

    def counts_by_type(self) -> Counter:
        return Counter(r.type for r in self.resources)

    def to_preview_json(self) -> dict[str, Any]:
        """The plan in the shape ``pulumi preview --json`` prints."""
        steps = []
        for r in self.resources:
            new_state = {"urn": r.urn, "custom": r.custom, "type": r.type, "inputs": r.inputs,
                         "outputs": r.outputs, "parent": r.parent or "", "provider": r.provider or "",
                         "dependencies": r.dependencies, "propertyDependencies": r.property_dependencies}
            if r.secret_paths:
                new_state["secretInputs"] = r.secret_paths
            steps.append({"op": r.op, "urn": r.urn, "provider": r.provider or "", "newState": new_state})
        return {"config": self.config, "steps": steps, "diagnostics": list(self.diagnostics),
                "changeSummary": dict(Counter(r.op for r in self.resources))}

    def dumps(self) -> str:
        return json.dumps(self.to_preview_json(), indent=2, sort_keys=False)

    @classmethod
    def from_preview_json(cls, doc: dict[str, Any], stack: str = "") -> "Plan":
        """Read a real ``pulumi preview --json`` (or our own output). Deleted resources keep their old state."""
        resources = []
        for step in doc.get("steps", []):
            state = step.get("newState") or step.get("oldState") or {}
            urn = step.get("urn") or state.get("urn", "")
            type_ = state.get("type") or urn.split("::")[2].split("$")[-1]
            resources.append(PlannedResource(
                urn=urn, type=type_, name=urn.split("::")[-1], custom=state.get("custom", True),
                parent=state.get("parent") or None, provider=state.get("provider") or None,
                dependencies=list(state.get("dependencies", [])),
                property_dependencies=dict(state.get("propertyDependencies", {})),
                inputs=dict(state.get("inputs", {})), secret_paths=list(state.get("secretInputs", [])),
                outputs=dict(state.get("outputs", {})), op=step.get("op", "same")))
        if not stack and resources:
            stack = resources[0].urn.split("::")[0].removeprefix("urn:pulumi:")
        project = resources[0].urn.split("::")[1] if resources else ""
        return cls(stack=stack, project=project, resources=resources, config=doc.get("config", {}),
                   diagnostics=[{"severity": d.get("severity", ""), "message": d.get("message", "")}
                                for d in doc.get("diagnostics", []) if isinstance(d, dict)])


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN
