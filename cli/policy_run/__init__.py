"""Offline policy evaluation: the CrossGuard pack in ``policies/`` run on a plan, and its reports."""
from cli.policy_run.evaluate import Note, Report, Violation, evaluate_plan, resolve_enforcement

__all__ = ["Note", "Report", "Violation", "evaluate_plan", "resolve_enforcement"]
