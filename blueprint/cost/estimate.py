"""The estimator: each planned resource's type and inputs to priced cost components, with usage and totals."""
from __future__ import annotations

from pathlib import Path

from blueprint import catalog
from blueprint.catalog.prices import PriceBook, load_prices
from blueprint.cost import aws as _aws  # noqa: F401 - registers the AWS pricers
from blueprint.cost import gcp as _gcp  # noqa: F401 - registers the GCP pricers
from blueprint.cost.context import PRICERS, Ctx, Free, PlanIndex, Unpriced, region_of
from blueprint.cost.free import free_reason
from blueprint.cost.model import Classified, CostComponent, CostEstimate, LineItem, Range
from blueprint.cost.usage import Usage, load_usage
from blueprint.plan.model import Plan, PlannedResource

TRANSFER_TYPE = "usage:transfer"
GONE_OPS = {"delete", "delete-replaced", "discard"}  # a plan read from a preview: the state after the change


POOL_TYPES = ("aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool")
GPU_MACHINES = frozenset(t for cloud in catalog.CLOUDS for t in catalog.instance_types(cloud))
CPU_MACHINES = frozenset(t for cloud in catalog.CLOUDS for t in catalog.system_instance_types(cloud))


def _budget(plan: Plan) -> tuple[float | None, str | None, float]:
    """(budget.monthlyUsd, tier, budget.unpricedThresholdUsd) of the plan's spec; a plan without one (a program
    fragment in a test) has no budget."""
    spec = plan.spec
    if spec is None:
        return None, None, 0.0
    return spec.budget.monthly_usd, spec.tier.value, spec.budget.unpriced_threshold_usd


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def is_gpu(r: PlannedResource, index: PlanIndex) -> bool:
    """A resource the budget gate must never wave through unpriced: it names a GPU machine type or guest
    accelerators, or it is a node pool whose machine type is not a known CPU type (fail closed)."""
    names = _strings(r.inputs)
    if r.type == POOL_TYPES[0]:
        for lt in index.siblings(r, "aws:ec2/launchTemplate:LaunchTemplate"):
            names |= _strings(lt.inputs.get("instanceType"))
    if names & GPU_MACHINES or r.get("nodeConfig.guestAccelerators"):
        return True
    return r.type in POOL_TYPES and not (names & CPU_MACHINES)


def _reference(fn, r: PlannedResource, ctx: Ctx) -> float | None:
    """The max-column estimate of an unpriced resource at other regions' rates for the same SKUs, or None."""
    ctx.reference, ctx.unpriced_parts = True, []
    try:
        components = fn(r, ctx)
    except (Unpriced, Free):
        return None
    if ctx.unpriced_parts:
        return None
    return sum(c.monthly.max for c in components if not c.usage_unknown)


def estimate(plan: Plan, usage: Usage | None = None, prices: PriceBook | None = None,
             usage_file: Path | None = None) -> CostEstimate:
    """Price every resource of `plan`; `usage` defaults to the defaults plus ``stacks/usage.<stack>.yaml``."""
    usage = usage or load_usage(plan.stack, extra=usage_file)
    prices = prices or load_prices()
    index = PlanIndex(plan)
    budget, tier, threshold = _budget(plan)
    result = CostEstimate(stack=plan.stack, items=[], prices_as_of=prices.as_of, usage_files=list(usage.files),
                          budget_usd=budget, tier=tier, unpriced_threshold_usd=threshold)
    regions: set[str] = set()
    seen: set[str] = set()
    for r in plan:
        if not r.custom or r.op in GONE_OPS or r.urn in seen:
            continue  # components are not billed; a preview's deletions are gone after the change; one per URN
        seen.add(r.urn)
        if r.op == "read":
            result.free.append(Classified(r.urn, r.type, "read from outside the stack, not managed here"))
            continue
        fn = PRICERS.get(r.type)
        if fn is None:
            reason = free_reason(r)
            if reason is not None:
                result.free.append(Classified(r.urn, r.type, reason))
            else:
                result.unpriced.append(Classified(r.urn, r.type, "no pricer for this resource type",
                                                  gpu=is_gpu(r, index)))
            continue
        cloud = r.type.split(":", 1)[0]
        region = region_of(r, index)
        ctx = Ctx(r, index, prices, usage.for_resource(r), cloud, region)
        try:
            components = fn(r, ctx)
        except Free as exc:
            result.free.append(Classified(r.urn, r.type, str(exc)))
            continue
        except Unpriced as exc:
            reference = _reference(fn, r, Ctx(r, index, prices, usage.for_resource(r), cloud, region))
            result.unpriced.append(Classified(r.urn, r.type, str(exc), gpu=is_gpu(r, index), reference_usd=reference))
            continue
        regions.add(f"{cloud}/{region}")
        result.items.append(LineItem(r.urn, r.type, r.name, ctx.where or f"{cloud}/{ctx.label or region}",
                                     index.component_of(r), components))
        result.unpriced += [Classified(r.urn, r.type, reason) for reason in ctx.unpriced_parts]
    result.items += _transfers(usage, prices, regions, result)
    return result


def _transfers(usage: Usage, prices: PriceBook, regions: set[str], result: CostEstimate) -> list[LineItem]:
    """GB moved between regions (usage ``transfers``), for regions the plan has: inter-region within a cloud,
    internet egress across clouds, at the source region's rate."""
    items = []
    for t in usage.transfers:
        if t.source not in regions or t.dest not in regions:
            continue
        cloud, region = t.source.split("/", 1)
        kind = "inter-region" if t.dest.split("/", 1)[0] == cloud else "internet-egress"
        price = prices.get(cloud, "network" if cloud == "gcp" else "data-transfer", region, kind)
        urn = f"usage:transfer:{t.source}->{t.dest}"
        if price is None:
            result.unpriced.append(Classified(urn, TRANSFER_TYPE, f"no {kind} transfer price for {t.source}"))
            continue
        items.append(LineItem(urn, TRANSFER_TYPE, f"{t.source} -> {t.dest}", t.source, "data transfer",
                              [CostComponent(f"Data transfer ({kind})", "GB", price, Range.flat(t.monthly_gb))]))
    return items
