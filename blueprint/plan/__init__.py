"""The offline plan engine and the plan model shared with policy, cost and render."""
from blueprint.plan.engine import PlanError, run_plan
from blueprint.plan.model import UNKNOWN, Plan, PlannedResource, is_unknown

__all__ = ["Plan", "PlannedResource", "UNKNOWN", "is_unknown", "run_plan", "PlanError"]
