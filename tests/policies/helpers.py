"""Run small programs (real SDK resource classes) or shipped plans through the policy pack."""
from __future__ import annotations

import datetime as dt

import pulumi

from blueprint.plan.engine import run_program
from cli.policy_run import evaluate_plan
from cli.policy_run.evaluate import spec_of
from blueprint.spec import FULL_KEY, load_spec
from policies import ALL_POLICIES
from tests.conftest import platform_config

BY_NAME = {p.name: p for p in ALL_POLICIES}
TODAY = dt.date.today()  # spec validation judges exemptions on the real date too


def spec_for(stack: str = "prod", **policy):
    cfg = platform_config(stack)
    if policy:
        cfg["policy"] = {**cfg.get("policy", {}), **policy}
    return load_spec(cfg, stack=stack)


def evaluate(plan, spec=None, names=None, today=TODAY, **kw):
    """``spec`` None: the spec the plan was made from (the real program), else prod's (small programs)."""
    if spec is None:
        spec = spec_of(plan) if FULL_KEY in plan.config else spec_for()
    return evaluate_plan(plan, spec, today=today,
                         policies=[BY_NAME[n] for n in names] if names else None, **kw)


def check(name: str, program, spec=None):
    """Violations of one policy on what ``program`` declares (planned under the mock runtime)."""
    report = evaluate(run_program(program), spec, [name])
    assert not report.unknown, report.unknown
    return report.violations


def opts(**kw) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(**kw)
