"""Shared fixtures: plans of the shipped stacks (planned once per session) and editable copies of their config."""
from __future__ import annotations

import copy

import pytest

from blueprint.plan import Plan, run_plan
from blueprint.spec import FULL_KEY
from blueprint.spec.load import read_stack_file
from cli.commands import cost, deployer, plan, policy, render, review

STACKS = ("dev", "staging", "prod")
_cache: dict[str, Plan] = {}


def shipped_plan(stack: str) -> Plan:
    """The offline plan of a shipped stack; cached because every test reads the same three."""
    if stack not in _cache:
        _cache[stack] = run_plan(stack)
    return _cache[stack]


def platform_config(stack: str) -> dict:
    """A deep copy of a shipped stack's ``aiplatform:platform`` object, for tests that change it."""
    return copy.deepcopy(read_stack_file(stack)[FULL_KEY])


def plan_commands_with(monkeypatch, planner) -> None:
    """Make every ``blueprint`` command plan its stacks with ``planner(stack)`` (a broken or poorer variant)."""
    for command in (cost, deployer, plan, policy, render, review):
        monkeypatch.setattr(command, "run_plan", planner)


@pytest.fixture(params=STACKS)
def any_stack(request) -> str:
    return request.param


@pytest.fixture
def prod_plan() -> Plan:
    return shipped_plan("prod")


@pytest.fixture
def dev_plan() -> Plan:
    return shipped_plan("dev")


@pytest.fixture
def staging_plan() -> Plan:
    return shipped_plan("staging")
