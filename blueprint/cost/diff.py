"""Cost of a change: two plans, or one ``pulumi preview --json`` with old and new states per step.
Notes: docs/architecture.md, "Cost"."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from blueprint.cost.estimate import estimate
from blueprint.cost.model import CostEstimate, LineItem, Range
from blueprint.cost.usage import Usage
from blueprint.plan.model import Plan

REPLACE_OPS = {"replace", "create-replacement", "delete-replaced", "import-replacement"}
NO_STATE_OPS = {"read", "discard", "refresh", "remove-pending-replace"}


@dataclass
class CostChange:
    urn: str
    type: str
    name: str
    region: str
    component: str
    op: str  # create | delete | update | replace | same
    before: Range
    after: Range

    @property
    def delta(self) -> Range:
        return self.after - self.before


@dataclass
class CostDiff:
    stack: str
    changes: list[CostChange] = field(default_factory=list)
    before_estimate: CostEstimate | None = None
    after_estimate: CostEstimate | None = None

    @property
    def before(self) -> Range:
        return sum((c.before for c in self.changes), Range())

    @property
    def after(self) -> Range:
        return sum((c.after for c in self.changes), Range())

    @property
    def delta(self) -> Range:
        return self.after - self.before

    def changed(self) -> list[CostChange]:
        """Changes that move money, largest expected delta first."""
        moving = [c for c in self.changes if c.op != "same" and (c.delta.expected or c.delta.max or c.delta.min)]
        return sorted(moving, key=lambda c: -abs(c.delta.expected))

    def of(self, op: str) -> list[CostChange]:
        return [c for c in self.changes if c.op == op]

    def as_dict(self) -> dict[str, Any]:
        after = self.after_estimate
        return {"stack": self.stack, "currency": "USD", "before": self.before.as_dict(),
                "after": self.after.as_dict(), "delta": self.delta.as_dict(),
                "budget_usd": after.budget_usd if after else None,
                "budget_verdict": after.verdict().as_dict() if after else None,
                "unpriced": [u.as_dict() for u in after.unpriced] if after else [],
                "derived_prices": after.derived_prices_dict() if after else [],
                "changes": [{"urn": c.urn, "type": c.type, "op": c.op, "region": c.region, "component": c.component,
                             "before": c.before.as_dict(), "after": c.after.as_dict(), "delta": c.delta.as_dict()}
                            for c in self.changed()]}


def diff_estimates(before: CostEstimate | None, after: CostEstimate, ops: dict[str, str] | None = None) -> CostDiff:
    """Match line items by URN; `ops` (from a preview) names each URN's step, else it is inferred."""
    old = {i.urn: i for i in (before.items if before else [])}
    new = {i.urn: i for i in after.items}
    changes = []
    for urn in list(new) + [u for u in old if u not in new]:
        a, b = new.get(urn), old.get(urn)
        item: LineItem = a or b  # type: ignore[assignment]
        if ops and urn in ops:
            op = ops[urn]
        elif b is None:
            op = "create"
        elif a is None:
            op = "delete"
        else:
            op = "same" if a.monthly == b.monthly else "update"
        changes.append(CostChange(urn, item.type, item.name, item.region, item.component, op,
                                  b.monthly if b else Range(), a.monthly if a else Range()))
    return CostDiff(after.stack, changes, before, after)


def diff_plans_cost(base: Plan | None, head: Plan, usage: Usage | None = None) -> CostDiff:
    """The cost change from `base` (None: a new stack) to `head`."""
    return diff_estimates(estimate(base, usage) if base is not None else None, estimate(head, usage))


def _fold(steps: list[dict[str, Any]]) -> tuple[dict[str, dict], dict[str, dict], dict[str, str]]:
    """Old and new state per URN, and one op per URN (replacement steps folded into ``replace``)."""
    old: dict[str, dict] = {}
    new: dict[str, dict] = {}
    seen: dict[str, set[str]] = {}
    for step in steps:
        op = step.get("op", "same")
        if op in NO_STATE_OPS:
            continue
        urn = step.get("urn") or (step.get("newState") or step.get("oldState") or {}).get("urn", "")
        seen.setdefault(urn, set()).add(op)
        if step.get("oldState") and op not in ("create", "create-replacement"):
            old.setdefault(urn, step["oldState"])
        if step.get("newState") and op not in ("delete", "delete-replaced"):
            new.setdefault(urn, step["newState"])
        if op == "same" and step.get("newState") and urn not in old:
            old[urn] = step["newState"]  # an unchanged resource: the same state on both sides
    ops = {}
    for urn, kinds in seen.items():
        if kinds & REPLACE_OPS:
            ops[urn] = "replace"
        else:
            ops[urn] = next(iter(kinds - {"same"}), "same")
    return old, new, ops


def _plan_of(states: dict[str, dict], doc: dict[str, Any], stack: str) -> Plan:
    steps = [{"op": "same", "urn": urn, "newState": state} for urn, state in states.items()]
    return Plan.from_preview_json({"config": doc.get("config", {}), "steps": steps}, stack=stack)


def diff_preview(doc: dict[str, Any], stack: str = "", usage: Usage | None = None,
                 context: Plan | None = None) -> CostDiff:
    """The cost of the change a real ``pulumi preview --json`` (or ``PlanDiff.to_preview_json()``) describes.

    Without ``--show-sames`` the CLI leaves unchanged resources out of the steps, among them the providers that
    hold each resource's region and the launch templates node groups read. ``context`` (the stack's plan) supplies
    every resource no step mentions, as unchanged on both sides, so changed resources price in their real region.
    """
    old, new, ops = _fold(doc.get("steps", []))
    if context is not None:
        mentioned = set(ops) | {s.get("urn") for s in doc.get("steps", [])}
        for r in context:
            if r.urn not in mentioned:
                state = {"urn": r.urn, "type": r.type, "custom": r.custom, "inputs": r.inputs, "parent": r.parent,
                         "provider": r.provider, "dependencies": r.dependencies,
                         "propertyDependencies": r.property_dependencies}
                old[r.urn] = new[r.urn] = state
                ops[r.urn] = "same"
    head = _plan_of(new, doc, stack)
    stack = stack or head.stack or _plan_of(old, doc, "").stack
    head.stack = stack
    base = _plan_of(old, doc, stack)
    if context is not None and not doc.get("config"):
        base.config = head.config = dict(context.config)
    if context is not None and head.spec is None:  # the preview's config holds no spec: the stack's (budget, tier)
        base.spec = head.spec = context.spec
    return diff_estimates(estimate(base, usage), estimate(head, usage), ops)
