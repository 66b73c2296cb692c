"""Cost estimates from plans and previews: a dated price catalog, a usage file, the estimator and cost diffs.

``estimate(plan)`` gives line items with cost components (min / expected / max), the unpriced and free resources
and the budget verdict (``CostEstimate.verdict()``, which fails closed on what it cannot price);
``estimate_monthly_total(plan)`` is the expected total alone; ``diff_preview`` and ``diff_plans_cost`` compare two
states the way ``pulumi preview --json`` describes a change.
"""
from blueprint.cost.diff import CostDiff, diff_estimates, diff_plans_cost, diff_preview
from blueprint.cost.estimate import estimate, estimate_monthly_total
from blueprint.cost.model import BudgetVerdict, Classified, CostComponent, CostEstimate, LineItem, Range
from blueprint.cost.prices import Price, PriceBook, load_prices
from blueprint.cost.usage import Usage, UsageError, load_usage

__all__ = ["BudgetVerdict", "Classified", "CostComponent", "CostDiff", "CostEstimate", "LineItem", "Price",
           "PriceBook", "Range", "Usage", "UsageError", "budget_check", "budget_verdict", "diff_estimates",
           "diff_plans_cost", "diff_preview", "estimate", "estimate_monthly_total", "load_prices", "load_usage"]


def budget_verdict(plan, budget_usd: float | None = None, threshold_usd: float | None = None,
                   tier: str | None = None) -> BudgetVerdict:
    """The budget verdict of `plan` with its stack's usage; budget, ``budget.unpricedThresholdUsd`` and tier default
    to the plan's spec (a plan rebuilt inside ``pulumi preview`` has none: the budget policy passes its settings)."""
    est = estimate(plan)
    est.budget_usd = est.budget_usd if budget_usd is None else budget_usd
    est.unpriced_threshold_usd = est.unpriced_threshold_usd if threshold_usd is None else threshold_usd
    est.tier = est.tier if tier is None else tier
    return est.verdict()


def budget_check(plan, budget_usd: float | None = None) -> tuple[float, float | None, bool]:
    """(expected monthly USD, budget, over budget?) for `plan`; the budget defaults to the stack spec's."""
    result = estimate(plan)
    budget = budget_usd if budget_usd is not None else result.budget_usd
    return result.total.expected, budget, budget is not None and result.total.expected > budget
