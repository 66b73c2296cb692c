"""A deploy path that cannot work is one clear error before any resource is declared (``access.deployer``)."""
from __future__ import annotations

import pytest

from blueprint.plan.engine import run_plan
from blueprint.spec import FULL_KEY, SpecError, load_spec
from blueprint.spec.model import EksEndpoint, GkeEndpoint
from tests.conftest import DEPLOYER_ROLE, platform_config

DOCUMENTATION = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "203.0.113.7/32"]


def _issues(stack: str, cfg: dict) -> list:
    with pytest.raises(SpecError) as info:
        run_plan(stack, platform=cfg)  # fails in validation, so the program declares nothing
    assert f"stack '{stack}'" in str(info.value)
    return info.value.issues


def _one(stack: str, cfg: dict):
    (issue,) = _issues(stack, cfg)
    return issue


def _deployer(cfg: dict) -> dict:
    return cfg.setdefault("access", {}).setdefault("deployer", {})


def test_shipped_stacks_each_declare_a_deployer_and_get_the_tier_defaults(any_stack):
    spec = load_spec(platform_config(any_stack), stack=any_stack)
    assert spec.runner_region() is spec.regions[0]
    expected = EksEndpoint.public_allowlist if any_stack == "dev" else EksEndpoint.private
    assert spec.eks_endpoint is expected and spec.gke_endpoint is GkeEndpoint.dns_endpoint


@pytest.mark.parametrize("cidr", DOCUMENTATION)
@pytest.mark.parametrize("where", ["egressCidrs", "apiAuthorizedCidrs", "peerCidrs"])
def test_documentation_ranges_are_refused(where, cidr):
    cfg = platform_config("dev")
    if where == "apiAuthorizedCidrs":
        cfg["regions"][0][where], path = [cidr], f"regions[0].{where}[0]"
    elif where == "peerCidrs":
        cfg["access"]["deployer"] = {"awsRoleArn": DEPLOYER_ROLE, "peerCidrs": [cidr], "egressCidrs": ["52.94.0.0/24"]}
        path = f"access.deployer.{where}[0]"
    else:
        _deployer(cfg)[where], path = [cidr], f"access.deployer.{where}[0]"
    issue = next(i for i in _issues("dev", cfg) if i.path == path)
    assert "documentation range (RFC 5737)" in issue.message


def test_the_old_dev_allow_list_is_refused_with_the_key_path():
    cfg = platform_config("dev")
    cfg["regions"][0]["apiAuthorizedCidrs"] = ["203.0.113.0/24"]
    with pytest.raises(SpecError) as info:
        run_plan("dev", platform=cfg)
    assert f"{FULL_KEY}.regions[0].apiAuthorizedCidrs[0]: '203.0.113.0/24' is in 203.0.113.0/24" in str(info.value)


@pytest.mark.parametrize("value, words", [
    ("not-a-cidr", "'not-a-cidr' is not a CIDR block"),
    ("52.94.0.1/24", "has host bits set"),
    ("2001:db8::/32", "is IPv6"),
    ("10.0.0.0/8", "not a public range"),
])
def test_invalid_allow_list_cidrs_are_refused(value, words):
    cfg = platform_config("dev")
    cfg["regions"][0]["apiAuthorizedCidrs"] = [value]
    issue = _one("dev", cfg)
    assert issue.path == "regions[0].apiAuthorizedCidrs[0]" and words in issue.message


def test_the_whole_internet_only_in_development():
    dev = platform_config("dev")
    _deployer(dev)["egressCidrs"] = ["0.0.0.0/0"]
    assert load_spec(dev, stack="dev").access.deployer.egress_cidrs == ["0.0.0.0/0"]
    for stack in ("staging", "prod"):
        cfg = platform_config(stack)
        _deployer(cfg).update(eksEndpoint="public-allowlist", egressCidrs=["52.94.0.0/24", "0.0.0.0/0"])
        issue = _one(stack, cfg)
        assert issue.path == "access.deployer.egressCidrs[1]" and "only a development stack" in issue.message


@pytest.mark.parametrize("stack, key, mode, allowed", [
    ("staging", "eksEndpoint", None, ("public-allowlist",)),
    ("prod", "eksEndpoint", "private", ("public-allowlist",)),
    ("prod", "gkeEndpoint", "private", ("dns-endpoint",)),
])
def test_private_only_without_a_deployer_network(stack, key, mode, allowed):
    cfg = platform_config(stack)
    cfg["access"] = {"deployer": {"awsRoleArn": DEPLOYER_ROLE, "egressCidrs": ["52.94.0.0/24"]}}
    if key == "gkeEndpoint":
        cfg["access"]["deployer"].update(eksEndpoint="public-allowlist", gkeEndpoint=mode)
    issue = _one(stack, cfg)
    assert issue.path == f"access.deployer.{key}" and "need" in issue.message and issue.allowed == allowed


def test_public_allowlist_without_the_deployers_egress():
    cfg = platform_config("dev")
    cfg["access"] = {"deployer": {"awsRoleArn": DEPLOYER_ROLE}}  # no runner subnet, no egress addresses
    issue = _one("dev", cfg)
    assert issue.path == "access.deployer.egressCidrs" and "runnerSubnet" in issue.message


def test_a_runner_no_route_reaches_from_is_refused_and_the_hub_is_offered():
    """Hub-and-spoke spokes do not link: a runner in spoke us-east-1 cannot reach spoke us-west-2's private API."""
    cfg = platform_config("prod")
    cfg["network"].update(topology="hub-and-spoke", hub="gcp/us-central1")
    cfg["access"]["deployer"] = {"awsRoleArn": DEPLOYER_ROLE, "runnerSubnet": {"region": "aws/us-east-1"}}
    issue = _one("prod", cfg)
    assert issue.path == "access.deployer.runnerSubnet.region"
    assert "reaches the private API endpoint of aws/us-west-2" in issue.message and issue.allowed == ()
    cfg["network"]["hub"] = "aws/us-east-1"
    assert load_spec(cfg, stack="prod").runner_region().key == "aws/us-east-1"


def test_a_private_gke_endpoint_needs_the_runner_linked_to_it():
    cfg = platform_config("prod")
    cfg["network"].update(topology="hub-and-spoke", hub="aws/us-west-2")
    cfg["access"]["deployer"] = {"awsRoleArn": DEPLOYER_ROLE, "runnerSubnet": {"region": "aws/us-east-1"}, "eksEndpoint": "public-allowlist",
                                 "gkeEndpoint": "private"}
    issue = _one("prod", cfg)
    assert issue.path == "access.deployer.runnerSubnet.region" and "gcp/us-central1" in issue.message
    assert issue.allowed == ("aws/us-west-2",)


def test_a_peer_network_needs_a_dedicated_link_into_each_cloud_it_reaches_privately():
    cfg = platform_config("prod")
    cfg["access"]["deployer"] = {"awsRoleArn": DEPLOYER_ROLE, "peerCidrs": ["172.20.0.0/24"], "gkeEndpoint": "private"}
    aws, gcp = _issues("prod", cfg)
    assert aws.path == gcp.path == "access.deployer.peerCidrs"
    assert "directConnectGatewayId" in aws.message and "interconnectAttachmentUrls" in gcp.message
    cfg["network"]["dedicated"] = {
        "directConnectGatewayId": "5f2a3b4c-1d2e-4f50-8a9b-0c1d2e3f4a5b", "peerAsn": 65010,
        "interconnectAttachmentUrls": ["https://www.googleapis.com/compute/v1/projects/p/global/interconnects/a"]}
    assert load_spec(cfg, stack="prod").access.deployer.peer_cidrs == ["172.20.0.0/24"]


def test_a_peer_network_inside_the_supernet_is_refused():
    cfg = platform_config("prod")
    cfg["network"]["dedicated"] = {"directConnectGatewayId": "5f2a3b4c-1d2e-4f50-8a9b-0c1d2e3f4a5b"}
    cfg["access"]["deployer"] = {"awsRoleArn": DEPLOYER_ROLE, "peerCidrs": ["10.100.0.0/24"]}
    issue = _one("prod", cfg)
    assert issue.path == "access.deployer.peerCidrs[0]" and "overlaps the supernet" in issue.message


def test_the_deployer_runs_in_one_place_and_a_runner_needs_an_aws_region():
    cfg = platform_config("prod")
    cfg["access"]["deployer"]["peerCidrs"] = ["172.20.0.0/24"]
    assert any(i.path == "access.deployer.peerCidrs" and "one place" in i.message for i in _issues("prod", cfg))
    cfg = platform_config("prod")
    cfg["access"]["deployer"]["runnerSubnet"] = {"region": "gcp/us-central1"}
    issue = _one("prod", cfg)
    assert issue.path == "access.deployer.runnerSubnet.region" and issue.allowed == ("aws/us-east-1", "aws/us-west-2")


def test_allow_lists_only_where_there_is_a_public_endpoint():
    prod = platform_config("prod")
    prod["regions"][2]["apiAuthorizedCidrs"] = ["52.94.0.0/24"]
    issue = _one("prod", prod)
    assert issue.path == "regions[2].apiAuthorizedCidrs" and "DNS endpoint with IAM" in issue.message
    staging = platform_config("staging")
    staging["regions"][1]["apiAuthorizedCidrs"] = ["52.94.0.0/24"]
    issue = _one("staging", staging)
    assert issue.path == "regions[1].apiAuthorizedCidrs" and issue.allowed == ("public-allowlist",)
    staging["access"]["deployer"]["eksEndpoint"] = "public-allowlist"
    assert load_spec(staging, stack="staging").regions[1].api_authorized_cidrs == ["52.94.0.0/24"]


def test_unknown_modes_name_the_allowed_values():
    cfg = platform_config("prod")
    cfg["access"]["deployer"]["eksEndpoint"] = "public"
    issue = _one("prod", cfg)
    assert issue.path == "access.deployer.eksEndpoint" and issue.allowed == ("private", "public-allowlist")


def test_the_deployers_role_is_required_with_an_eks_cluster_and_must_be_a_role_named_once():
    """EKS makes only a cluster's creator admin, once; the runner's full `up` needs its own role to be admin
    whoever ran the bootstrap pass (first-up review round 1, aws 4)."""
    cfg = platform_config("dev")
    del cfg["access"]["deployer"]["awsRoleArn"]
    issue = _one("dev", cfg)
    assert issue.path == "access.deployer.awsRoleArn" and "required with an AWS region" in issue.message
    cfg["access"]["deployer"]["awsRoleArn"] = "arn:aws:iam::123456789012:user/deployer"
    issue = _one("dev", cfg)
    assert issue.path == "access.deployer.awsRoleArn" and "is not an IAM role ARN" in issue.message
    cfg = platform_config("staging")
    cfg["clusterAdminRoleArns"].append(DEPLOYER_ROLE)
    issue = _one("staging", cfg)
    assert issue.path == "clusterAdminRoleArns[1]" and "the deployer's role" in issue.message
