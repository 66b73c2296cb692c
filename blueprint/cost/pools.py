"""Node pool arithmetic shared by EKS node groups and GKE node pools (one rule set for both clouds).
Notes: docs/architecture.md, "Cost"."""
from __future__ import annotations

from dataclasses import dataclass, replace

from blueprint.catalog.prices import Price
from blueprint.cost.context import Ctx, Unpriced
from blueprint.cost.model import CostComponent, Range

ON_DEMAND, SPOT, RESERVED, CAPACITY_BLOCK = "on-demand", "spot", "reserved", "capacity-block"


@dataclass(frozen=True)
class PoolShape:
    min: int
    desired: int
    max: int
    capacity: str  # on-demand | spot | reserved | capacity-block


def node_hours(shape: PoolShape, ctx: Ctx) -> Range:
    hours = ctx.hours
    run_hours = float(ctx.usage.get("monthly_hours", hours))
    if shape.capacity in (RESERVED, CAPACITY_BLOCK):
        nodes = float(ctx.usage.get("reserved_nodes", max(shape.desired, shape.min)))
        return Range.flat(nodes * (hours if shape.capacity == RESERVED else run_hours))
    average = float(ctx.usage.get("average_nodes", shape.desired))
    low, high = shape.min * hours, shape.max * hours
    expected = min(max(average * run_hours, low), max(high, low))
    return Range(low, expected, high)


def instance_component(label: str, detail: str, shape: PoolShape, ctx: Ctx, rate: Price, on_demand: Price | None,
                       hours: Range) -> CostComponent:
    """The compute line: names the capacity type, and the spot discount against on-demand where both are known."""
    top = on_demand if shape.capacity == SPOT and on_demand is not None and on_demand is not rate else None
    if top is not None and on_demand.usd > 0:
        what = (f"spot, {100 * (1 - rate.usd / on_demand.usd):.0f}% below on-demand ${on_demand.usd:,.4g}/h; "
                "max at on-demand")
    elif shape.capacity == SPOT:
        what = f"spot price not read for {ctx.region}: priced at on-demand (upper bound)"
    elif shape.capacity == RESERVED:
        what = "reserved: on-demand rate, billed whether used or not"
    elif shape.capacity == CAPACITY_BLOCK:
        what = "capacity block, effective hourly rate"
    else:
        what = "on-demand"
    return CostComponent(f"{label} ({detail}, {what})", "hours", rate, hours, max_price=top)


def interruption_overhead(shape: PoolShape, ctx: Ctx, compute: CostComponent) -> list[CostComponent]:
    """Spot pools: the node-hours re-run after preemptions (work since the last checkpoint, restart), at the same
    rates as the pool's own hours (usage ``spot_interruption_overhead``, a fraction of them)."""
    fraction = float(ctx.usage.get("spot_interruption_overhead", 0) or 0)
    if shape.capacity != SPOT or fraction <= 0 or compute.quantity is None:
        return []
    return [CostComponent(f"Spot interruption overhead ({100 * fraction:g}% of node-hours re-run after "
                          "preemptions)", "hours", compute.price, compute.quantity * fraction,
                          max_price=compute.max_price)]


def pick_rate(ctx: Ctx, shape: PoolShape, service_prefix: str, sku: str,
              zones: tuple[str, ...] = ()) -> tuple[Price, Price | None]:
    """The hourly rate for the pool's capacity type and the on-demand rate (spot's max column, and its discount).

    A spot reading per zone prices a pool pinned to zones at its dearest zone; otherwise the region's value (the
    refresh script writes the highest zone price there)."""
    on_demand = ctx.find_price(f"{service_prefix}-on-demand", sku)
    if shape.capacity == SPOT:
        spot = ctx.find_price(f"{service_prefix}-spot", sku)
        if spot is not None and zones and all(spot.zone(z) is not None for z in zones):
            spot = replace(spot, usd=max(spot.zone(z) for z in zones))  # type: ignore[type-var]
        rate = spot or on_demand
    elif shape.capacity == CAPACITY_BLOCK:
        rate = ctx.find_price("ec2-capacity-block", sku)
    else:
        rate = on_demand
    if rate is None:
        raise Unpriced(f"no {ctx.cloud} {shape.capacity} price for '{sku}' in {ctx.region}")
    return rate, on_demand


def per_node_volume(name: str, ctx: Ctx, price: Price, amount_per_node: float, hours: Range) -> CostComponent:
    """A per-node monthly quantity (GB of disk, extra IOPS) scaled by node-months."""
    return CostComponent(name, price.unit, price, hours * (amount_per_node / ctx.hours))
