"""What a pricer needs to know about one resource: its region, its component, its siblings, usage and prices."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from blueprint.catalog.prices import Price, PriceBook
from blueprint.cost.model import CostComponent, Range
from blueprint.plan.model import Plan, PlannedResource, is_unknown

_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")  # us-central1-a -> us-central1
_AWS_AZ = re.compile(r"^([a-z]{2}-[a-z]+-\d)[a-z]$")  # us-east-1a -> us-east-1
MULTI_REGIONS = {"us", "eu", "asia"}


class Unpriced(Exception):
    """The resource costs money but the catalog cannot price it (a missing SKU, region or input)."""


class Free(Exception):
    """This particular resource carries no charge (e.g. a gateway VPC endpoint)."""


class PlanIndex:
    """Lookups over one plan, computed once: providers' regions, parents, components and siblings."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.by_urn = {r.urn: r for r in plan}
        self.children: dict[str | None, list[PlannedResource]] = {}
        for r in plan:
            self.children.setdefault(r.parent, []).append(r)

    def provider_region(self, r: PlannedResource) -> str | None:
        urn = r.provider_urn
        provider = self.by_urn.get(urn) if urn else None
        if provider is not None:
            region = provider.inputs.get("region")
            if isinstance(region, str) and region and not is_unknown(region):
                return region
        cloud = r.type.split(":", 1)[0]
        region = self.plan.config.get(f"{cloud}:region")  # a default provider reads the stack config
        return region if isinstance(region, str) and region else None

    def component_of(self, r: PlannedResource) -> str:
        parent = self.by_urn.get(r.parent) if r.parent else None
        while parent is not None:
            if not parent.custom and parent.type != "pulumi:pulumi:Stack":
                return f"{parent.type.split(':', 1)[1] if parent.type.startswith('aiplatform:') else parent.type} " \
                       f"{parent.name}"
            parent = self.by_urn.get(parent.parent) if parent.parent else None
        return "(stack)"

    def siblings(self, r: PlannedResource, type_: str) -> list[PlannedResource]:
        return [s for s in self.children.get(r.parent, []) if s.type == type_ and s.urn != r.urn]


def known(value: Any) -> bool:
    return value is not None and not is_unknown(value)


def region_of(r: PlannedResource, index: PlanIndex) -> str:
    """The resource's region as the price catalog keys it ("us-east-1", "us-central1", "multi-region/us", "global")."""
    for key in ("region", "location"):
        value = r.inputs.get(key)
        if isinstance(value, str) and known(value) and value:
            value = value.lower()
            for pattern in (_ZONE, _AWS_AZ):
                m = pattern.match(value)
                if m:
                    return m.group(1)
            return f"multi-region/{value}" if value in MULTI_REGIONS else value
    return index.provider_region(r) or "global"


@dataclass
class Ctx:
    resource: PlannedResource
    index: PlanIndex
    prices: PriceBook
    usage: dict[str, Any]
    cloud: str
    region: str
    label: str | None = None  # the region to report when it differs from the lookup region (GCS locations)
    where: str | None = None  # "cloud/region" to report for a resource of another provider (a GKE Gateway)
    unpriced_parts: list[str] = field(default_factory=list)  # listed as unpriced beside the resource's line item
    # Reference mode, for a resource that cannot be priced: a price missing in its region is taken at the highest
    # rate the catalog lists for the same SKU in any other region (an estimate for the budget gate, never a total).
    reference: bool = False

    @property
    def hours(self) -> float:
        return self.prices.hours_per_month

    def price(self, service: str, sku: str, region: str | None = None, cloud: str | None = None) -> Price:
        found = self.find_price(service, sku, region, cloud)
        if found is None:
            raise Unpriced(f"no {cloud or self.cloud}/{service} price for '{sku}' in {region or self.region}")
        return found

    def find_price(self, service: str, sku: str, region: str | None = None, cloud: str | None = None) -> Price | None:
        """``cloud`` defaults to the resource's; a GCP transfer job bills its S3 source at an AWS price."""
        cloud = cloud or self.cloud
        found = self.prices.get(cloud, service, region or self.region, sku)
        if found is not None or not self.reference:
            return found
        elsewhere = [p for r in self.prices.regions_with(cloud, service, sku)
                     if (p := self.prices.get(cloud, service, r, sku)) is not None]
        return max(elsewhere, key=lambda p: p.usd, default=None)

    def unpriced_part(self, part: str, reason: str) -> None:
        """One part of a resource the catalog cannot price: listed as unpriced, the other parts stay priced
        (a pool is not dropped from the total for want of its boot disk's price)."""
        self.unpriced_parts.append(f"{part} not in the estimate (the rest of this resource is): {reason}")

    def part_price(self, part: str, service: str, sku: str, region: str | None = None) -> Price | None:
        """``price`` for one part of a resource: a missing price is an unpriced part, not an unpriced resource."""
        try:
            return self.price(service, sku, region)
        except Unpriced as exc:
            self.unpriced_part(part, str(exc))
            return None

    def flat(self, name: str, price: Price, quantity: float, unit: str | None = None) -> CostComponent:
        return CostComponent(name, unit or price.unit, price, Range.flat(quantity))

    def hourly(self, name: str, price: Price, count: float = 1.0) -> CostComponent:
        return CostComponent(name, "hours", price, Range.flat(count * self.hours))

    def metered(self, name: str, price: Price, key: str, scale: float = 1.0) -> CostComponent:
        """A usage-priced component: the quantity comes from the usage file, or stays unknown."""
        value = self.usage.get(key)
        quantity = Range.flat(float(value) * scale) if value is not None else None
        return CostComponent(name, price.unit, price, quantity)


PRICERS: dict[str, Any] = {}


def pricer(*types: str):
    """Register a function ``(resource, ctx) -> list[CostComponent]`` as the pricer of these type tokens."""
    def register(fn):
        for t in types:
            PRICERS[t] = fn
        return fn
    return register
