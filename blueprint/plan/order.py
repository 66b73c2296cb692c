"""Creation order: does each resource of a plan wait, in ``pulumi up``, for what its cloud needs to exist first?
The rules live in ``order_rules.py``; docs/first-deployment.md explains the model."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from blueprint.plan.model import Plan, PlannedResource
from blueprint.plan.order_graph import Graph, Rule
from blueprint.plan.order_rules import RULES


@dataclass(frozen=True)
class Violation:
    rule: str
    urn: str
    type: str
    need: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.urn.rsplit('::', 1)[-1]} ({self.type}): {self.need}"


def cloud_resources(plan: Plan) -> Iterator[PlannedResource]:
    """What a cloud API creates: custom resources (components and the stack are bookkeeping)."""
    return (r for r in plan if r.custom)


def violations(plan: Plan, rules: list[Rule] | None = None) -> list[Violation]:
    graph = Graph(plan)
    found = []
    for r in cloud_resources(plan):
        for rule in rules or RULES:
            if rule.covers(r.type):
                found += [Violation(rule.name, r.urn, r.type, need) for need in rule.check(graph, r)]
    return found


def unclassified(plan: Plan, rules: list[Rule] | None = None) -> list[str]:
    """Resource types no classifying rule speaks for: a new type must be given a rule, never ignored."""
    types = {r.type for r in cloud_resources(plan)}
    return sorted(t for t in types if not any(rule.classifies and rule.covers(t) for rule in rules or RULES))


__all__ = ["Graph", "Rule", "Violation", "cloud_resources", "unclassified", "violations"]
