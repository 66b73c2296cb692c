"""Small programs declaring real SDK resources, priced with a usage file written for the test."""
from __future__ import annotations

import copy

import pytest
import yaml

from blueprint.cost import PriceBook, Usage, estimate
from blueprint.catalog.prices import PRICES_FILE
from blueprint.plan.engine import run_program

HOURS = 730


def usage(doc: dict | None = None) -> Usage:
    """Only what the test states: no defaults, no stack file."""
    return Usage().overlay(doc or {}, "test")


def priced(program, usage_doc: dict | None = None, prices: PriceBook | None = None):
    return estimate(run_program(program), usage(usage_doc), prices)


def shipped_doc() -> dict:
    return copy.deepcopy(yaml.safe_load(PRICES_FILE.read_text()))


def book(add: dict | None = None, remove: tuple[tuple[str, str, str | None], ...] = ()) -> PriceBook:
    """The shipped catalog with readings added ({service: {region: {sku: entry}}}) and entries removed
    ((service, region, sku or None for the whole region))."""
    doc = shipped_doc()
    for service, regions in (add or {}).items():
        block = doc["services"].setdefault(service, {"unit": "hour", "source": "aws-spot-price-history",
                                                     "read": "2026-12-01", "regions": {}})
        doc["sources"].setdefault("aws-spot-price-history", {"url": "https://docs.aws.amazon.com/spot", "title": "t"})
        for region, skus in regions.items():
            block["regions"].setdefault(region, {}).update(skus)
    for service, region, sku in remove:
        regions = doc["services"][service]["regions"]
        if sku is None:
            regions.pop(region)
        else:
            regions[region].pop(sku)
    return PriceBook(doc)


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
