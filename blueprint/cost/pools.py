"""Node pool arithmetic shared by EKS node groups and GKE node pools (one rule set for both clouds).

Node-hours per month bracket what the autoscaler can do: ``min`` is the scaling minimum always on, ``max`` the
maximum always on, ``expected`` the usage file's ``average_nodes`` x ``monthly_hours`` (defaults: the desired size,
730 h), never below the minimum. Reserved capacity is billed whether used or not, so it is flat: ``reserved_nodes``
(default: the desired size) x 730 h at the reservation's rate. An On-Demand Capacity Reservation (AWS ODCR, GCP
specific reservation) bills at the on-demand rate; an AWS Capacity Block at its own effective hourly rate for
``monthly_hours``. Pools launched with ``capacity-reservations-only`` cannot grow past the reservation.
"""
from __future__ import annotations

from dataclasses import dataclass

from blueprint.cost.context import Ctx, Unpriced
from blueprint.cost.model import CostComponent, Range
from blueprint.cost.prices import Price

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
    if shape.capacity == SPOT and on_demand is not None and on_demand.usd > 0 and rate is not on_demand:
        what = f"spot, {100 * (1 - rate.usd / on_demand.usd):.0f}% below on-demand ${on_demand.usd:,.4g}/h"
    elif shape.capacity == SPOT:
        what = "spot price not in catalog: priced at on-demand (upper bound)"
    elif shape.capacity == RESERVED:
        what = "reserved: on-demand rate, billed whether used or not"
    elif shape.capacity == CAPACITY_BLOCK:
        what = "capacity block, effective hourly rate"
    else:
        what = "on-demand"
    return CostComponent(f"{label} ({detail}, {what})", "hours", rate, hours)


def pick_rate(ctx: Ctx, shape: PoolShape, service_prefix: str, sku: str) -> tuple[Price, Price | None]:
    """The hourly rate for the pool's capacity type and the on-demand rate (for the discount)."""
    on_demand = ctx.find_price(f"{service_prefix}-on-demand", sku)
    if shape.capacity == SPOT:
        spot = ctx.find_price(f"{service_prefix}-spot", sku)
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
