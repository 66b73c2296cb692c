"""The cloud seam: each region type implements the whole interface, and the Kubernetes components ask the region
instead of branching on its cloud (the branches left are counted, so a new one fails here)."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from blueprint.spec.names import GKE_WI_ANNOTATION, IRSA_ANNOTATION
from components.aws.region import AwsRegion
from components.compute import RegionalCompute
from components.gcp.region import GcpRegion

REPO = Path(__file__).resolve().parents[1]
BRANCH = re.compile(r"(is|is not|==|!=) Cloud\.(aws|gcp)")
# Left in components/k8s: which compute homes the Route 53 zone and the global modes, and the per-cloud entry point
# (ACM certificate + NLB / Certificate Manager + address), not yet behind the seam.
K8S_BRANCHES_LEFT = 4


@pytest.mark.parametrize("region_type", [AwsRegion, GcpRegion])
def test_each_region_type_implements_the_whole_interface(region_type):
    assert issubclass(region_type, RegionalCompute) and not region_type.__abstractmethods__
    assert RegionalCompute.__abstractmethods__  # the base declares behaviour, not None-able attributes


def test_the_identity_binding_is_each_clouds_own():
    assert AwsRegion.identity_annotations(None, "arn:aws:iam::1:role/r") == {IRSA_ANNOTATION: "arn:aws:iam::1:role/r"}
    assert GcpRegion.identity_annotations(None, "sa@p.iam") == {GKE_WI_ANNOTATION: "sa@p.iam"}
    assert AwsRegion.identity_egress(None) == []
    ports = {rule["ports"][0]["port"] for rule in GcpRegion.identity_egress(None)}
    assert ports == {988, 80}  # the GKE metadata server (Dataplane V2 and not)


def test_global_routing_membership_per_cloud():
    member = {(t.__name__, m): t.answers_global_name(None, m) for t in (AwsRegion, GcpRegion)
              for m in ("route53-latency", "global-accelerator", "gcp-global-lb")}
    assert member == {("AwsRegion", "route53-latency"): True, ("AwsRegion", "global-accelerator"): True,
                      ("AwsRegion", "gcp-global-lb"): False, ("GcpRegion", "route53-latency"): True,
                      ("GcpRegion", "global-accelerator"): False, ("GcpRegion", "gcp-global-lb"): True}
    assert not GcpRegion.fronted_by_gateway(None, "gcp-global-lb") and GcpRegion.fronted_by_gateway(None, "none")
    assert AwsRegion.fronted_by_gateway(None, "gcp-global-lb")


def test_a_gcp_region_is_measured_as_its_nearest_aws_region():
    fake = SimpleNamespace(region=SimpleNamespace(region="europe-west4"))
    assert GcpRegion.latency_region.fget(fake) == "eu-central-1"
    assert AwsRegion.latency_region.fget(SimpleNamespace(region=SimpleNamespace(region="us-west-2"))) == "us-west-2"


def test_no_new_cloud_branch_in_the_kubernetes_components():
    found = [f"{p.relative_to(REPO)}:{i}" for p in sorted((REPO / "components" / "k8s").glob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if BRANCH.search(line)]
    assert len(found) <= K8S_BRANCHES_LEFT, "ask the region (RegionalCompute) instead:\n" + "\n".join(found)
