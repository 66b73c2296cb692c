"""The clusters enforce the NetworkPolicies the workloads declare, rather than accepting and ignoring them."""
from __future__ import annotations

import json

import pytest

from tests.k8s.conftest import spec_of, workload_plan

ADDON = "aws:eks/addon:Addon"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_eks_vpc_cni_runs_its_network_policy_agent(stack):
    """The VPC CNI add-on leaves network policy off by default: EKS would then ignore every default-deny."""
    spec, plan = spec_of(stack), workload_plan(stack)
    eks_regions = [r for r in spec.regions if r.cloud.value == "aws"]
    cnis = [a for a in plan.of_type(ADDON) if a.inputs["addonName"] == "vpc-cni"]
    assert len(cnis) == len(eks_regions) and eks_regions, "one VPC CNI add-on per EKS cluster"
    for cni in cnis:
        assert json.loads(cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}, cni.name
    others = [a for a in plan.of_type(ADDON) if a.inputs["addonName"] != "vpc-cni"]
    assert all("configurationValues" not in a.inputs for a in others)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_gke_cluster_runs_dataplane_v2(stack):
    """GKE enforces NetworkPolicy through Dataplane V2 (the metadata-server egress in components/k8s assumes it)."""
    spec, plan = spec_of(stack), workload_plan(stack)
    clusters = plan.of_type("gcp:container/cluster:Cluster")
    assert len(clusters) == sum(r.cloud.value == "gcp" for r in spec.regions)
    assert all(c.inputs["datapathProvider"] == "ADVANCED_DATAPATH" for c in clusters)
