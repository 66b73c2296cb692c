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


DEPLOYER_ROLE = "arn:aws:iam::123456789012:role/aiplatform-deployer"  # the shipped stacks' access.deployer.awsRoleArn
GCP_HOT_TIER = {"kind": "filestore", "capacityGib": 2560, "filestoreTier": "ZONAL"}


def gcp_training_config() -> dict:
    """prod with training on GKE: the a3 pool, reading a Filestore hot tier in its region, and serving where the
    model is exported (nothing replicates models out of a GCP region: blueprint/spec/validate.py)."""
    cfg = platform_config("prod")
    cfg["workloads"]["training"].update(region="gcp/us-central1", pool="train-h100")
    cfg["workloads"]["serving"].update(regions=["gcp/us-central1"], globalRouting="none")
    gcp = next(r for r in cfg["regions"] if r["cloud"] == "gcp")
    gcp["storage"] = {"hot": dict(GCP_HOT_TIER)}
    return cfg

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
