"""Cost estimates from plans and previews: a dated price catalog, a usage file, the estimator and cost diffs.

``estimate_monthly_total(plan)`` is the one number review and the budget policy need; ``estimate(plan)`` gives
line items with cost components (min / expected / max) and the unpriced and free resources; ``diff_preview`` and
``diff_plans_cost`` compare two states the way ``pulumi preview --json`` describes a change.
"""
from blueprint.cost.diff import CostDiff, diff_estimates, diff_plans_cost, diff_preview
from blueprint.cost.estimate import estimate, estimate_monthly_total
from blueprint.cost.model import Classified, CostComponent, CostEstimate, LineItem, Range
from blueprint.cost.prices import Price, PriceBook, load_prices
from blueprint.cost.usage import Usage, UsageError, load_usage

__all__ = ["Classified", "CostComponent", "CostDiff", "CostEstimate", "LineItem", "Price", "PriceBook", "Range",
           "Usage", "UsageError", "budget_check", "diff_estimates", "diff_plans_cost", "diff_preview", "estimate",
           "estimate_monthly_total", "load_prices", "load_usage"]


def budget_check(plan, budget_usd: float | None = None) -> tuple[float, float | None, bool]:
    """(expected monthly USD, budget, over budget?) for `plan`; the budget defaults to the stack spec's."""
    result = estimate(plan)
    budget = budget_usd if budget_usd is not None else result.budget_usd
    return result.total.expected, budget, budget is not None and result.total.expected > budget
