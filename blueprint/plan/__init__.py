"""The offline plan engine and the plan model shared with policy, cost and render."""
from blueprint.plan.model import UNKNOWN, Plan, PlannedResource, is_unknown

__all__ = ["Plan", "PlannedResource", "UNKNOWN", "is_unknown", "run_plan", "PlanError"]


def __getattr__(name: str):
    # The engine imports the Pulumi SDK; load it only when a plan is actually run.
    if name in ("run_plan", "PlanError"):
        from blueprint.plan import engine
        return getattr(engine, name)
    raise AttributeError(name)
