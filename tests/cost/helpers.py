"""Small programs declaring real SDK resources, priced with a usage file written for the test."""
from __future__ import annotations

import pytest

from blueprint.cost import Usage, estimate
from blueprint.plan.engine import run_program

HOURS = 730


def usage(doc: dict | None = None) -> Usage:
    """Only what the test states: no defaults, no stack file."""
    return Usage().overlay(doc or {}, "test")


def priced(program, usage_doc: dict | None = None):
    return estimate(run_program(program), usage(usage_doc))


def aws_provider(region: str = "us-east-1"):
    import pulumi
    import pulumi_aws as aws
    return pulumi.ResourceOptions(provider=aws.Provider(f"aws-{region}", region=region))


def gcp_provider(region: str = "us-central1"):
    import pulumi
    import pulumi_gcp as gcp
    return pulumi.ResourceOptions(provider=gcp.Provider(f"gcp-{region}", region=region, project="p-test-123"))


def component(item, name_part: str):
    found = [c for c in item.components if c.name.startswith(name_part)]
    assert len(found) == 1, [c.name for c in item.components]
    return found[0]


approx = pytest.approx
