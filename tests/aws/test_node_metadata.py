"""Pods cannot reach the node's instance metadata (IMDSv2, hop limit 1), and nothing in the clusters needs them to:
every AWS-calling pod has its region and credentials from elsewhere (first-up review round 1, aws 5)."""
from __future__ import annotations

import pytest

from blueprint.spec import Cloud, load_spec
from tests.conftest import STACKS, platform_config, shipped_plan

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


@pytest.mark.parametrize("stack", STACKS)
def test_every_node_launch_template_keeps_pods_off_instance_metadata(stack):
    """EKS best practices ("Restrict access to the instance profile assigned to the worker node"): IMDSv2 only and
    a hop limit of 1, so a pod's network namespace (one hop more) gets no token and no node-role credentials."""
    templates = shipped_plan(stack).of_type(LAUNCH_TEMPLATE)
    assert templates
    for lt in templates:
        meta = lt.inputs["metadataOptions"]
        assert (meta["httpTokens"], meta["httpPutResponseHopLimit"], meta["httpEndpoint"]) == ("required", 1, "enabled"), \
            lt.name


@pytest.mark.parametrize("stack", STACKS)
def test_aws_calling_pods_get_their_region_without_imds(stack):
    """The cluster autoscaler (chart ``awsRegion`` -> AWS_REGION) and the Mountpoint volume (``stsRegion``) are told
    their region; without it Mountpoint's driver asks IMDS for the STS region of pod-level IRSA credentials."""
    plan, spec = shipped_plan(stack), load_spec(platform_config(stack), stack=stack)
    for region in (r for r in spec.regions if r.cloud is Cloud.aws):
        ca = plan.one("kubernetes:helm.sh/v3:Release", f"aws-{region.region}-addons-cluster-autoscaler")
        assert ca.inputs["values"]["awsRegion"] == region.region
    volumes = [pv for pv in plan.of_type("kubernetes:core/v1:PersistentVolume")
               if pv.get("spec.csi.driver") == "s3.csi.aws.com"]
    assert volumes
    for pv in volumes:
        attrs = pv.get("spec.csi.volumeAttributes")
        assert attrs["authenticationSource"] == "pod" and attrs["stsRegion"] in {r.region for r in spec.regions}
