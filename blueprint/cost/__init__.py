"""Cost estimates from plans and previews: usage files, the estimator, the budget verdict and cost diffs.
Notes: docs/architecture.md, "Cost"."""
from blueprint.catalog.prices import Price, PriceBook, load_prices
from blueprint.cost.diff import CostDiff, diff_estimates, diff_plans_cost, diff_preview
from blueprint.cost.estimate import estimate
from blueprint.cost.model import BudgetVerdict, Classified, CostComponent, CostEstimate, LineItem, Range
from blueprint.cost.usage import Usage, UsageError, load_usage
from blueprint.plan.model import Plan

__all__ = ["BudgetVerdict", "Classified", "CostComponent", "CostDiff", "CostEstimate", "LineItem", "Price",
           "PriceBook", "Range", "Usage", "UsageError", "budget_verdict", "diff_estimates", "diff_plans_cost",
           "diff_preview", "estimate", "load_prices", "load_usage"]


def budget_verdict(plan: Plan) -> BudgetVerdict:
    """The budget verdict of ``plan`` with its stack's usage, against the budget of the plan's spec."""
    return estimate(plan).verdict()
