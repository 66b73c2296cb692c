"""Offline policy evaluation: the CrossGuard pack in ``policies/`` run on a plan, and its reports."""
from blueprint.policy.evaluate import Note, Report, Violation, evaluate_plan, resolve_enforcement

__all__ = ["Note", "Report", "Violation", "evaluate_plan", "resolve_enforcement"]
