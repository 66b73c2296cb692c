"""What an estimate holds: line items per resource, each a list of priced cost components with min/expected/max."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from blueprint.cost.prices import Price


@dataclass(frozen=True)
class Range:
    """Monthly amounts at the pool minimums, the expected usage, and the maximums."""

    min: float = 0.0
    expected: float = 0.0
    max: float = 0.0

    @classmethod
    def flat(cls, x: float) -> "Range":
        return cls(x, x, x)

    def __add__(self, other: "Range") -> "Range":
        return Range(self.min + other.min, self.expected + other.expected, self.max + other.max)

    def __sub__(self, other: "Range") -> "Range":
        return Range(self.min - other.min, self.expected - other.expected, self.max - other.max)

    def __mul__(self, k: float) -> "Range":
        return Range(self.min * k, self.expected * k, self.max * k)

    def as_dict(self) -> dict[str, float]:
        return {"min": round(self.min, 4), "expected": round(self.expected, 4), "max": round(self.max, 4)}


@dataclass
class CostComponent:
    name: str
    unit: str
    price: Price
    quantity: Range | None  # None: usage unknown, so the component is listed at its unit price only

    @property
    def unit_price(self) -> float:
        return self.price.usd

    @property
    def monthly(self) -> Range:
        return Range() if self.quantity is None else self.quantity * self.price.usd

    @property
    def usage_unknown(self) -> bool:
        return self.quantity is None

    def describe_unknown(self) -> str:
        return f"priced at ${self.price.usd:,.4g} per {self.unit}, usage unknown"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "unit": self.unit, "unit_price": self.price.usd,
                "quantity": None if self.quantity is None else self.quantity.as_dict(),
                "monthly": self.monthly.as_dict(), "usage_unknown": self.usage_unknown,
                "price_source": self.price.source, "price_read": self.price.read}


@dataclass
class LineItem:
    urn: str
    type: str
    name: str
    region: str  # cloud/region, "aws/global" for global services
    component: str  # the nearest component resource, e.g. "aws:GpuNodePool aws-us-east-1-train-h100"
    components: list[CostComponent] = field(default_factory=list)

    @property
    def monthly(self) -> Range:
        total = Range()
        for c in self.components:
            total = total + c.monthly
        return total

    def as_dict(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "region": self.region,
                "component": self.component, "monthly": self.monthly.as_dict(),
                "cost_components": [c.as_dict() for c in self.components]}


@dataclass
class Classified:
    """A resource that carries no line item: free of charge, or a type the estimator cannot price (yet)."""

    urn: str
    type: str
    reason: str


@dataclass
class CostEstimate:
    stack: str
    items: list[LineItem]
    unpriced: list[Classified] = field(default_factory=list)
    free: list[Classified] = field(default_factory=list)
    prices_as_of: str = ""
    usage_files: list[str] = field(default_factory=list)
    budget_usd: float | None = None

    @property
    def total(self) -> Range:
        out = Range()
        for item in self.items:
            out = out + item.monthly
        return out

    @property
    def over_budget(self) -> bool:
        return self.budget_usd is not None and self.total.expected > self.budget_usd

    def by_region(self) -> dict[str, Range]:
        out: dict[str, Range] = defaultdict(Range)
        for item in self.items:
            out[item.region] = out[item.region] + item.monthly
        return dict(sorted(out.items()))

    def by_component(self) -> dict[tuple[str, str], Range]:
        out: dict[tuple[str, str], Range] = defaultdict(Range)
        for item in self.items:
            out[(item.region, item.component)] = out[(item.region, item.component)] + item.monthly
        return dict(sorted(out.items()))

    def usage_unknown(self) -> list[tuple[LineItem, CostComponent]]:
        return [(i, c) for i in self.items for c in i.components if c.usage_unknown]

    def item(self, urn_or_name: str) -> LineItem:
        found = [i for i in self.items if urn_or_name in (i.urn, i.name)]
        if len(found) != 1:
            raise LookupError(f"expected one line item for {urn_or_name}, found {len(found)}")
        return found[0]

    def unpriced_types(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for u in self.unpriced:
            out[u.type] += 1
        return dict(sorted(out.items()))

    def free_types(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for u in self.free:
            out[u.type] += 1
        return dict(sorted(out.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "currency": "USD", "prices_as_of": self.prices_as_of,
                "usage_files": self.usage_files, "monthly": self.total.as_dict(), "budget_usd": self.budget_usd,
                "over_budget": self.over_budget,
                "by_region": {k: v.as_dict() for k, v in self.by_region().items()},
                "by_component": [{"region": r, "component": c, "monthly": v.as_dict()}
                                 for (r, c), v in self.by_component().items()],
                "resources": [i.as_dict() for i in self.items],
                "usage_unknown": [{"urn": i.urn, "component": c.name, "unit": c.unit, "unit_price": c.unit_price}
                                  for i, c in self.usage_unknown()],
                "unpriced": [{"urn": u.urn, "type": u.type, "reason": u.reason} for u in self.unpriced],
                "free": self.free_types()}
