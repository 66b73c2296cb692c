"""The offline plan engine runs the real program for every stack and records a faithful graph."""
from __future__ import annotations

import json

from cli.main import main
from blueprint.plan import UNKNOWN, Plan, run_plan
from blueprint.spec import address_plan, load_spec
from tests.conftest import platform_config, shipped_plan


def test_every_stack_plans_with_one_root_and_parents(any_stack):
    plan = shipped_plan(any_stack)
    roots = [r for r in plan if r.parent is None]
    assert [r.type for r in roots] == ["pulumi:pulumi:Stack"]
    urns = {r.urn for r in plan}
    assert all(r.parent in urns for r in plan if r.parent is not None)
    assert len(urns) == len(plan), "URNs are unique"


def test_regions_match_the_spec_and_cidrs_match_the_address_plan(any_stack):
    plan = shipped_plan(any_stack)
    spec = load_spec(platform_config(any_stack), stack=any_stack)
    addresses = address_plan(spec)
    region_components = [r for r in plan if r.type in ("aiplatform:aws:Region", "aiplatform:gcp:Region")]
    assert sorted(r.name for r in region_components) == sorted(x.key.replace("/", "-") for x in spec.regions)
    for vpc in plan.of_type("aws:ec2/vpc:Vpc"):
        key = "aws/" + vpc.name.removeprefix("aws-").removesuffix("-vpc")
        assert vpc.inputs["cidrBlock"] == str(addresses[key].block)


def test_custom_resources_use_an_explicit_provider_declared_in_the_stack(any_stack):
    plan = shipped_plan(any_stack)
    providers = {r.urn for r in plan if r.is_provider}
    for r in plan:
        if r.custom and not r.is_provider:
            assert r.provider_urn in providers, f"{r.urn} uses a default provider"
            assert "::default" not in r.provider


def test_every_aws_provider_is_pinned_to_its_region(prod_plan):
    # the stack-wide bootstrap (account IAM, project APIs) has a provider of its own on each cloud
    bootstrap = ("aiplatform:aws:Account", "aiplatform:gcp:Project")
    providers = [p for p in prod_plan if p.is_provider and not any(b in p.urn for b in bootstrap)]
    regions = sorted(p.inputs["region"] for p in providers if p.type == "pulumi:providers:aws")
    assert regions == ["us-east-1", "us-west-2"]
    gcp = prod_plan.one("pulumi:providers:gcp", "gcp-us-central1")
    assert gcp.inputs["project"] == "aiplat-prod-ml" and gcp.inputs["region"] == "us-central1"
    (global_gcp,) = [p for p in providers if p.type == "pulumi:providers:gcp" and "region" not in p.inputs]
    assert global_gcp.inputs["project"] == "aiplat-prod-ml"  # for the global VPC only


def test_computed_values_are_unknown_as_in_a_real_preview(prod_plan):
    subnet = prod_plan.one("gcp:compute/subnetwork:Subnetwork", "*-nodes")
    assert subnet.inputs["network"] == UNKNOWN
    network = prod_plan.one("gcp:compute/network:Network")
    assert network.urn in subnet.dependencies
    assert subnet.property_dependencies["network"] == [network.urn]


def test_several_stacks_plan_in_one_process_without_leaking():
    first = run_plan("dev")
    run_plan("prod")
    again = run_plan("dev")
    assert sorted(r.urn for r in first) == sorted(r.urn for r in again)
    assert all(":dev::" in r.urn for r in again)


def test_json_has_the_shape_of_pulumi_preview(capsys):
    assert main(["plan", "--stack", "prod", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["steps"] and doc["changeSummary"]["create"] == len(doc["steps"])
    for step in doc["steps"]:
        assert step["op"] == "create" and step["urn"] == step["newState"]["urn"]
        assert {"type", "urn", "parent", "provider", "inputs"} <= set(step["newState"])
    assert Plan.from_preview_json(doc).counts_by_type() == shipped_plan("prod").counts_by_type()


def test_plan_prints_tree_and_counts(capsys):
    assert main(["plan", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stack dev: ")
    assert "+ pulumi:pulumi:Stack  aiplatform-dev" in out
    assert "  + aiplatform:aws:Region  aws-us-east-1" in out
    assert " 1  aws:ec2/vpc:Vpc" in out or "aws:ec2/vpc:Vpc" in out.split("count  type")[1]


def test_cli_reports_spec_errors_with_exit_code(capsys, monkeypatch):
    assert main(["plan", "--stack", "nope"]) == 1
    assert "no stack 'nope'" in capsys.readouterr().err
