"""Compare two plans as a preview would: which resources are created, deleted, updated or unchanged.
Notes: docs/architecture.md, "Plan"."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from blueprint.plan.model import Plan, PlannedResource


@dataclass
class Step:
    op: str  # create | delete | update | same
    old: PlannedResource | None
    new: PlannedResource | None

    @property
    def resource(self) -> PlannedResource:
        return self.new or self.old  # type: ignore[return-value]


@dataclass
class PlanDiff:
    steps: list[Step] = field(default_factory=list)

    def of(self, op: str) -> list[Step]:
        return [s for s in self.steps if s.op == op]

    def summary(self) -> Counter:
        return Counter(s.op for s in self.steps)

    def to_preview_json(self) -> dict[str, Any]:
        """The diff as preview steps: create has newState, delete has oldState, update has both."""
        def state(r: PlannedResource | None) -> dict[str, Any] | None:
            if r is None:
                return None
            return {"urn": r.urn, "type": r.type, "custom": r.custom, "inputs": r.inputs, "parent": r.parent or "",
                    "provider": r.provider or ""}

        steps = []
        for s in self.steps:
            step: dict[str, Any] = {"op": s.op, "urn": s.resource.urn}
            if s.old is not None:
                step["oldState"] = state(s.old)
            if s.new is not None:
                step["newState"] = state(s.new)
            steps.append(step)
        return {"steps": steps, "changeSummary": dict(self.summary())}


def _comparable(r: PlannedResource) -> tuple:
    return (r.type, r.inputs, r.parent, r.provider_urn)


def diff_plans(base: Plan | None, head: Plan) -> PlanDiff:
    """Steps from `base` to `head`, in head order then deletions; a missing base means everything is new."""
    old = {r.urn: r for r in (base or [])}
    steps: list[Step] = []
    for r in head:
        prior = old.pop(r.urn, None)
        if prior is None:
            steps.append(Step("create", None, r))
        else:
            steps.append(Step("same" if _comparable(prior) == _comparable(r) else "update", prior, r))
    steps += [Step("delete", r, None) for r in old.values()]
    return PlanDiff(steps)
