"""What an estimate holds: line items per resource, each a list of priced cost components with min/expected/max."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from blueprint.catalog.prices import Price


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
    # The rate of the max column where it differs (spot pools: on-demand, what a pool that falls back pays).
    max_price: Price | None = None

    @property
    def unit_price(self) -> float:
        return self.price.usd

    @property
    def monthly(self) -> Range:
        if self.quantity is None:
            return Range()
        q, top = self.quantity, (self.max_price or self.price).usd
        return Range(q.min * self.price.usd, q.expected * self.price.usd, q.max * top)

    @property
    def derived(self) -> bool:
        """The unit price (or the max column's) is derived, not read: every output format says so."""
        return self.price.derived or (self.max_price is not None and self.max_price.derived)

    @property
    def usage_unknown(self) -> bool:
        return self.quantity is None

    def describe_unknown(self) -> str:
        return f"priced at ${self.price.usd:,.4g} per {self.unit}, usage unknown"

    def as_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "unit": self.unit, "unit_price": self.price.usd,
               "quantity": None if self.quantity is None else self.quantity.as_dict(),
               "monthly": self.monthly.as_dict(), "usage_unknown": self.usage_unknown, **_provenance(self.price)}
        if self.max_price is not None:
            out["max_unit_price"] = {"unit_price": self.max_price.usd, **_provenance(self.max_price)}
        return out


def _provenance(p: Price) -> dict[str, Any]:
    """``price_kind`` reading (source, read date) or derived (formula, inputs): never one dressed as the other."""
    if p.derived:
        return {"price_kind": "derived", "price": p.ref, "price_formula": p.formula, "price_inputs": dict(p.inputs)}
    return {"price_kind": "reading", "price": p.ref, "price_source": p.source, "price_read": p.read}


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
    gpu: bool = False  # unpriced: a GPU pool (or a resource naming GPU machines), never tolerated by the budget gate
    # unpriced: its max-column estimate at the highest rate the catalog lists for the same SKUs in other regions
    # (a reference, shown as such, never added to the totals); None when there is no such rate (unbounded)
    reference_usd: float | None = None

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    def as_dict(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "reason": self.reason, "gpu": self.gpu,
                "reference_usd": None if self.reference_usd is None else round(self.reference_usd, 2)}


@dataclass
class CostEstimate:
    stack: str
    items: list[LineItem]
    unpriced: list[Classified] = field(default_factory=list)
    free: list[Classified] = field(default_factory=list)
    prices_as_of: str = ""
    usage_files: list[str] = field(default_factory=list)
    budget_usd: float | None = None
    tier: str | None = None  # the spec's tier: an unknown budget verdict fails staging and production only
    unpriced_threshold_usd: float = 0.0  # budget.unpricedThresholdUsd

    def verdict(self) -> "BudgetVerdict":
        """The budget gate's verdict: within, over, unknown (fails closed on what it cannot price) or no budget."""
        return BudgetVerdict.of(self)

    @property
    def total(self) -> Range:
        out = Range()
        for item in self.items:
            out = out + item.monthly
        return out

    def derived_prices_dict(self) -> list[dict[str, Any]]:
        return [{"price": p.ref, "usd": p.usd, "unit": p.unit, "formula": p.formula, "inputs": dict(p.inputs)}
                for p in self.derived_prices()]

    def derived_prices(self) -> list[Price]:
        """Each derived price the estimate uses, once (every output format lists them with their formulas)."""
        seen: dict[str, Price] = {}
        for i in self.items:
            for c in i.components:
                for p in (c.price, c.max_price):
                    if p is not None and p.derived:
                        seen.setdefault(p.ref or p.formula, p)
        return [seen[k] for k in sorted(seen)]

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

    def free_types(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for u in self.free:
            out[u.type] += 1
        return dict(sorted(out.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "currency": "USD", "prices_as_of": self.prices_as_of,
                "usage_files": self.usage_files, "monthly": self.total.as_dict(), "budget_usd": self.budget_usd,
                "over_budget": self.verdict().over_budget,
                "by_region": {k: v.as_dict() for k, v in self.by_region().items()},
                "by_component": [{"region": r, "component": c, "monthly": v.as_dict()}
                                 for (r, c), v in self.by_component().items()],
                "resources": [i.as_dict() for i in self.items],
                "usage_unknown": [{"urn": i.urn, "component": c.name, "unit": c.unit, "unit_price": c.unit_price}
                                  for i, c in self.usage_unknown()],
                "unpriced": [u.as_dict() for u in self.unpriced],
                "derived_prices": self.derived_prices_dict(),
                "budget_verdict": self.verdict().as_dict(),
                "free": self.free_types()}


WITHIN, OVER, UNKNOWN, NO_BUDGET = "within budget", "over budget", "unknown", "no budget"
GATED_TIERS = ("staging", "production")  # where an unknown verdict is a failure; a warning in development


@dataclass(frozen=True)
class BudgetVerdict:
    """Fails closed: an unpriced GPU pool, an unpriced resource with no reference price, or unpriced resources whose
    reference estimates together exceed ``budget.unpricedThresholdUsd`` make the verdict unknown. Unpriced resources
    within the threshold count at their reference estimate against the budget."""

    state: str
    expected: float
    budget: float | None
    tier: str | None
    threshold: float
    gpu_unpriced: tuple[Classified, ...] = ()
    unbounded: tuple[Classified, ...] = ()
    referenced: tuple[Classified, ...] = ()

    @classmethod
    def of(cls, est: "CostEstimate") -> "BudgetVerdict":
        gpu = tuple(u for u in est.unpriced if u.gpu)
        unbounded = tuple(u for u in est.unpriced if not u.gpu and u.reference_usd is None)
        referenced = tuple(u for u in est.unpriced if not u.gpu and u.reference_usd is not None)
        reference = sum(u.reference_usd or 0.0 for u in referenced)
        expected = est.total.expected
        if est.budget_usd is None:
            state = NO_BUDGET
        elif expected > est.budget_usd:
            state = OVER  # the priced part alone is over: nothing unpriced can bring it back
        elif gpu or unbounded or reference > est.unpriced_threshold_usd:
            state = UNKNOWN
        else:
            state = OVER if expected + reference > est.budget_usd else WITHIN
        return cls(state, expected, est.budget_usd, est.tier, est.unpriced_threshold_usd, gpu, unbounded, referenced)

    @property
    def over_budget(self) -> bool:
        return self.state == OVER

    @property
    def reference_usd(self) -> float:
        return sum(u.reference_usd or 0.0 for u in self.referenced)

    @property
    def blocks(self) -> bool:
        """Over budget anywhere, or unknown in staging and production (a warning in development)."""
        return self.state == OVER or (self.state == UNKNOWN and self.tier in GATED_TIERS)

    def reason(self) -> str:
        money = f"expected ${self.expected:,.0f}/month"
        if self.state == NO_BUDGET:
            return "no budget in the spec"
        if self.state == OVER:
            extra = f" (+ ${self.reference_usd:,.0f} unpriced, by reference)" if self.reference_usd else ""
            return f"{money}{extra} exceeds the budget of ${self.budget:,.0f}/month"
        if self.state == WITHIN:
            extra = f" (+ ${self.reference_usd:,.0f} unpriced, by reference)" if self.reference_usd else ""
            return f"{money}{extra} is within the budget of ${self.budget:,.0f}/month"
        why = []
        if self.gpu_unpriced:
            why.append(f"{len(self.gpu_unpriced)} GPU pool(s) not priced ({_names(self.gpu_unpriced)})")
        if self.unbounded:
            why.append(f"{len(self.unbounded)} resource(s) with no price at all ({_names(self.unbounded)})")
        if self.reference_usd > self.threshold:
            why.append(f"${self.reference_usd:,.0f}/month of unpriced resources by reference, over "
                       f"budget.unpricedThresholdUsd ${self.threshold:,.0f}")
        return (f"budget verdict unknown: {'; '.join(why)}; the priced part is {money} of "
                f"${self.budget:,.0f}/month")

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "blocks": self.blocks, "tier": self.tier, "expected": round(self.expected, 2),
                "budget_usd": self.budget, "unpriced_threshold_usd": self.threshold,
                "unpriced_reference_usd": round(self.reference_usd, 2), "reason": self.reason(),
                "gpu_unpriced": [u.urn for u in self.gpu_unpriced], "unbounded": [u.urn for u in self.unbounded]}


def _names(items: tuple[Classified, ...]) -> str:
    names = [u.name for u in items]
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
