"""`blueprint deployer`: where `pulumi up` runs for a stack, as the workflows read it ($GITHUB_OUTPUT lines)."""
from __future__ import annotations

import json

import pytest

from cli.main import main
from cli.commands.deployer import HOSTED, describe, runs_on
from blueprint.spec import load_spec
from tests.conftest import DEPLOYER_ROLE, platform_config, shipped_plan

LABELS = json.dumps({"dev": ["self-hosted", "aiplat-dev"], "staging": ["self-hosted", "aiplat-stg"],
                     "prod": ["self-hosted", "aiplat-prod"]})


def _github(capsys, *args: str) -> tuple[int, dict, str]:
    rc = main(["deployer", *args, "--format", "github"])
    out, err = capsys.readouterr()
    return rc, dict(line.split("=", 1) for line in out.splitlines()), err


@pytest.mark.parametrize("stack, gke", [("dev", False), ("staging", False), ("prod", True)])
def test_shipped_stacks_run_on_their_in_network_runner(capsys, stack, gke):
    rc, out, _ = _github(capsys, "--stack", stack, "--runner-labels", LABELS)
    assert rc == 0 and json.loads(out["runs_on"]) == json.loads(LABELS)[stack]
    assert out["in_network"] == "true" and out["gke"] == json.dumps(gke)


def test_an_in_network_stack_without_runner_labels_is_one_clear_error(capsys):
    rc, out, err = _github(capsys, "--stack", "prod", "--runner-labels", '{"dev": ["self-hosted"]}')
    assert rc == 1 and not out
    assert "stack 'prod' deploys from inside the network" in err and "DEPLOY_RUNNER_LABELS" in err
    rc, _, err = _github(capsys, "--stack", "prod", "--runner-labels", "[self-hosted")
    assert rc == 1 and "DEPLOY_RUNNER_LABELS is not JSON" in err


def test_several_stacks_give_objects_by_stack(capsys):
    rc, out, _ = _github(capsys, "--stack", "dev", "--stack", "prod", "--runner-labels", '["self-hosted"]')
    assert rc == 0 and json.loads(out["runs_on"]) == {"dev": ["self-hosted"], "prod": ["self-hosted"]}
    assert json.loads(out["gke"]) == {"dev": False, "prod": True}


def test_a_deployer_on_the_internet_runs_on_a_github_hosted_runner():
    cfg = platform_config("prod")
    cfg["access"] = {"deployer": {"awsRoleArn": DEPLOYER_ROLE, "eksEndpoint": "public-allowlist", "egressCidrs": ["52.94.0.0/24"]}}
    info = describe(load_spec(cfg, stack="prod"))
    assert info["inNetwork"] is False and runs_on(info, "") == HOSTED
    assert [c["endpoint"] for c in info["clusters"]] == ["public endpoint (allow-list)"] * 2 + ["DNS endpoint (IAM)"]
    assert info["tools"] == ["aws", "gcloud", "gke-gcloud-auth-plugin"]


def test_the_runner_subnet_it_names_is_the_one_planned(capsys, any_stack):
    assert main(["deployer", "--stack", any_stack, "--format", "json"]) == 0
    (info,) = json.loads(capsys.readouterr().out)  # always a list, one object per stack
    (subnet,) = [s for s in shipped_plan(any_stack).of_type("aws:ec2/subnet:Subnet")
                 if s.inputs["tags"].get("aiplatform.io/role") == "deployer-runner"]
    assert info["deployer"] == {"kind": "runner-subnet", "region": "aws/us-east-1", "cidr": subnet.inputs["cidrBlock"]}


def test_the_bootstrap_pass_leaves_out_exactly_what_needs_a_reachable_cluster(capsys):
    """`pulumi up $(blueprint deployer --format bootstrap)` creates the runner subnet and every cloud resource but
    no Kubernetes object: it excludes each kubernetes.Provider (by the URN the engine gives it, every ancestor's
    type included) and its dependents."""
    from cli.commands.deployer import engine_urn

    plan = shipped_plan("prod")
    assert main(["deployer", "--stack", "prod", "--format", "bootstrap"]) == 0
    flags = capsys.readouterr().out.split()
    providers = plan.of_type("pulumi:providers:kubernetes")
    assert flags[-1] == "--exclude-dependents" and flags[:-1:2] == ["--exclude"] * len(providers)
    assert set(flags[1:-1:2]) == {engine_urn(plan, p) for p in providers}
    assert all(f"::aiplatform:{c}:Region$aiplatform:{c}:" in u for u in flags[1:-1:2] for c in [u.split(":")[7]])
    dependents, grew = {p.urn for p in providers}, True
    while grew:
        more = {r.urn for r in plan if r.urn not in dependents and (
            r.provider_urn in dependents or r.parent in dependents or set(r.dependencies) & dependents)}
        dependents |= more
        grew = bool(more)
    assert all(r.urn in dependents for r in plan if r.type.startswith("kubernetes:"))
    first_pass = [r for r in plan if "access:DeployerRunner" in r.urn or r.type in (
        "aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster", "aws:ec2transitgateway/transitGateway:TransitGateway")]
    assert len(first_pass) > 5 and not {r.urn for r in first_pass} & dependents
