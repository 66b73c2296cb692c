"""Workload plans for the k8s tests: the real program, shipped stacks cached, variants planned on demand."""
from __future__ import annotations

from blueprint.plan import Plan, run_plan
from blueprint.spec import PlatformSpec, load_spec
from tests.conftest import platform_config, shipped_plan


def spec_of(stack: str, platform: dict | None = None) -> PlatformSpec:
    return load_spec(platform if platform is not None else platform_config(stack), stack=stack)


def workload_plan(stack: str, platform: dict | None = None) -> Plan:
    """The real program's plan: the shipped stack (cached), or the stack with `platform` in place of its spec."""
    return shipped_plan(stack) if platform is None else run_plan(stack, platform=platform)
