"""Workload plans with a cluster provider in every region.

Until the AWS/GCP compute branches land, ``RegionalCompute.k8s_provider`` is None in the shipped program, so
these tests run the real region components plus ``deploy_workloads`` under the engine, with a
``pulumi_kubernetes.Provider`` created here in place of the cluster's. After the merge the shipped-stack tests
(``test_shipped.py``) cover the same assertions on ``shipped_plan``.
"""
from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from blueprint.plan import Plan
from blueprint.plan.engine import run_program, stack_config
from blueprint.spec import FULL_KEY, PlatformSpec, address_plan, load_spec
from components.k8s import deploy_workloads
from components.platform import _compute_class
from tests.conftest import platform_config

_cache: dict[str, Plan] = {}


def spec_of(stack: str, platform: dict | None = None) -> PlatformSpec:
    return load_spec(platform if platform is not None else platform_config(stack), stack=stack)


def workload_plan(stack: str, platform: dict | None = None) -> Plan:
    """Regions (real components) with a test k8s provider each, then the workloads; cached for shipped stacks."""
    if platform is None and stack in _cache:
        return _cache[stack]
    config, secrets = stack_config(stack, platform)

    def program() -> None:
        spec = load_spec(json.loads(config[FULL_KEY]), stack=stack)
        addresses = address_plan(spec)
        computes = {}
        for region in spec.regions:
            compute = _compute_class(region.cloud)(spec, region, addresses[region.key])
            compute.k8s_provider = k8s.Provider(f"{compute.child_name}-k8s",
                                                opts=pulumi.ResourceOptions(parent=compute))
            computes[region.key] = compute
        deploy_workloads(spec, computes)

    plan = run_program(program, stack=stack, config=config, secret_keys=secrets)
    if platform is None:
        _cache[stack] = plan
    return plan
