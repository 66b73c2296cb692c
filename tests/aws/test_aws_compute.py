"""The AWS regions the prod, staging and dev stacks declare, asserted on the real program's plan."""
from __future__ import annotations

import pytest

from blueprint.plan import Plan, run_plan
from blueprint.plan.order import Graph
from blueprint.spec import FULL_KEY, SpecError, load_spec
from tests.conftest import STACKS, platform_config, shipped_plan

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def _in_region(plan: Plan, type_token: str, region: str) -> list:
    return [r for r in plan.of_type(type_token) if f"aws-{region}" in r.name]


def _pool(plan: Plan, region: str, pool: str):
    return plan.one(NODE_GROUP, f"aws-{region}-{pool}")


def _template_of(plan: Plan, node_group) -> dict:
    (lt_urn,) = node_group.property_dependencies["launchTemplate"]
    return plan.by_urn(lt_urn)


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_prod_network_per_region(prod_plan, region):
    private = [s for s in _in_region(prod_plan, "aws:ec2/subnet:Subnet", region) if "-private-" in s.name]
    public = [s for s in _in_region(prod_plan, "aws:ec2/subnet:Subnet", region) if "-public-" in s.name]
    assert len({s.inputs["availabilityZone"] for s in private}) == 3, "three AZs in prod"
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in private + public)
    assert all(s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
    nats = [n for n in _in_region(prod_plan, "aws:ec2/natGateway:NatGateway", region) if "aws:Network$" in n.urn]
    assert len(nats) == 3, "a NAT per AZ in prod (the deployer runner's own NAT aside)"
    endpoints = {e.inputs["serviceName"].rsplit(".", 1)[-1] if "ecr" not in e.inputs["serviceName"]
                 else e.inputs["serviceName"].split(f"{region}.")[1]: e.inputs["vpcEndpointType"]
                 for e in _in_region(prod_plan, "aws:ec2/vpcEndpoint:VpcEndpoint", region)}
    assert endpoints["s3"] == "Gateway"
    assert {endpoints[k] for k in ("ecr.api", "ecr.dkr", "sts", "eks")} == {"Interface"}
    (flow,) = _in_region(prod_plan, "aws:ec2/flowLog:FlowLog", region)
    assert flow.inputs["trafficType"] == "ALL"


def test_dev_has_two_azs_and_one_nat(dev_plan):
    private = [s for s in dev_plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert len(private) == 2
    assert len([n for n in dev_plan.of_type("aws:ec2/natGateway:NatGateway") if "aws:Network$" in n.urn]) == 1


def test_cluster_is_private_encrypted_logged_and_pinned(prod_plan):
    for cluster in prod_plan.of_type("aws:eks/cluster:Cluster"):
        vpc = cluster.inputs["vpcConfig"]
        assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
        assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
        assert set(cluster.inputs["enabledClusterLogTypes"]) == {"api", "audit", "authenticator",
                                                                  "controllerManager", "scheduler"}
        assert cluster.inputs["version"] == "1.35"
        assert cluster.inputs["accessConfig"]["authenticationMode"] == "API"
    assert len(prod_plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")) == 2


def test_dev_public_endpoint_only_for_the_deployer_runners_nat_address(dev_plan):
    """Development's public-allowlist endpoint admits one address: the Elastic IP of the runner subnet's NAT."""
    (cluster,) = dev_plan.of_type("aws:eks/cluster:Cluster")
    vpc = cluster.inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["endpointPrivateAccess"] is True
    (eip,) = [e for e in dev_plan.of_type("aws:ec2/eip:Eip") if "access:DeployerRunner$" in e.urn]
    assert len(vpc["publicAccessCidrs"]) == 1 and eip.urn in cluster.property_dependencies["vpcConfig"]


def test_secrets_key_rotates(prod_plan):
    keys = prod_plan.of_type("aws:kms/key:Key")
    assert keys and all(k.inputs["enableKeyRotation"] is True for k in keys)


def test_every_gpu_pool_is_tainted_labelled_nvidia_and_imdsv2(any_stack):
    plan = shipped_plan(any_stack)
    pools = [r for r in plan.of_type(NODE_GROUP) if not r.name.endswith("-system")]
    assert pools
    for ng in pools:
        assert ng.inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
        assert ng.inputs["amiType"] == "AL2023_x86_64_NVIDIA"
        assert {"aiplatform.io/accelerator", "aiplatform.io/capacity-type", "aiplatform.io/purpose"} <= set(ng.inputs["labels"])
        lt = _template_of(plan, ng)
        assert lt.inputs["metadataOptions"]["httpTokens"] == "required"
        ebs = lt.inputs["blockDeviceMappings"][0]["ebs"]
        assert ebs["volumeType"] == "gp3" and ebs["encrypted"] == "true"


def test_efa_and_placement_only_where_supported(prod_plan):
    p5 = _pool(prod_plan, "us-east-1", "train-h100")
    lt = _template_of(prod_plan, p5)
    interfaces = lt.inputs["networkInterfaces"]
    assert len(interfaces) == 32 and interfaces[0]["interfaceType"] == "efa"
    assert all(i["interfaceType"] == "efa-only" for i in interfaces[1:])
    assert "placement" in lt.inputs and len(p5.inputs["subnetIds"]) == 1
    g6 = _pool(prod_plan, "us-east-1", "serve-l4")
    g6_lt = _template_of(prod_plan, g6)
    assert "networkInterfaces" not in g6_lt.inputs and "placement" not in g6_lt.inputs
    assert len(g6.inputs["subnetIds"]) == 3
    groups = prod_plan.of_type("aws:ec2/placementGroup:PlacementGroup")
    # the spot pool's group is the stack's; the reserved pool's is the one its ODCR was created in (next test)
    assert sorted(g.name for g in groups) == ["aws-us-west-2-train-h100-spot-placement"]
    assert all(g.inputs["strategy"] == "cluster" for g in groups)


def test_a_reserved_pool_launches_into_the_placement_group_its_odcr_was_created_in(prod_plan):
    """EC2 fills an ODCR in a cluster placement group only if the reservation was made in that group; the stack
    cannot create the group after the reservation it targets (first-up review round 1, aws 7)."""
    lt = _template_of(prod_plan, _pool(prod_plan, "us-east-1", "train-h100"))
    assert lt.inputs["placement"] == {"groupName": "aiplat-prod-us-east-1-train-h100"}
    assert lt.inputs["capacityReservationSpecification"]["capacityReservationPreference"] == "capacity-reservations-only"
    cfg = platform_config("prod")
    del cfg["regions"][0]["gpuPools"][0]["placementGroup"]
    with pytest.raises(SpecError) as err:
        load_spec(cfg, stack="prod")
    (issue,) = err.value.issues
    assert issue.path == "regions[0].gpuPools[0].placementGroup" and "was created in" in issue.message
    cfg["regions"][0]["gpuPools"][0].update(efa=False, compactPlacement=False)
    load_spec(cfg, stack="prod")  # no cluster placement: nothing to name
    cfg["regions"][1]["gpuPools"][0]["placementGroup"] = "my-group"  # a spot pool: the stack creates its group
    with pytest.raises(SpecError, match=r"regions\[1\]\.gpuPools\[0\]\.placementGroup: placementGroup names"):
        load_spec(cfg, stack="prod")


def test_capacity_types_follow_the_spec(prod_plan, dev_plan):
    reserved = _pool(prod_plan, "us-east-1", "train-h100")
    assert reserved.inputs["capacityType"] == "ON_DEMAND"
    target = _template_of(prod_plan, reserved).inputs["capacityReservationSpecification"]
    assert target["capacityReservationTarget"]["capacityReservationId"] == "cr-0a1b2c3d4e5f60789"
    assert _pool(prod_plan, "us-west-2", "train-h100-spot").inputs["capacityType"] == "SPOT"
    assert _pool(prod_plan, "us-east-1", "serve-l4").inputs["capacityType"] == "ON_DEMAND"
    assert {ng.inputs["capacityType"] for ng in dev_plan.of_type(NODE_GROUP) if "system" not in ng.name} == {"SPOT"}


def test_capacity_block_reservation():
    cfg = platform_config("prod")
    cfg["regions"][0]["gpuPools"][0]["reservationType"] = "capacity-block"
    del cfg["regions"][0]["gpuPools"][0]["placementGroup"]  # an ODCR's group; a Capacity Block names none
    plan = run_plan("prod", platform=cfg)
    ng = _pool(plan, "us-east-1", "train-h100")
    assert ng.inputs["capacityType"] == "CAPACITY_BLOCK"
    assert _template_of(plan, ng).inputs["instanceMarketOptions"] == {"marketType": "capacity-block"}


def test_scaling_and_autoscaler_tags_allow_scale_from_zero(prod_plan):
    ng = _pool(prod_plan, "us-west-2", "train-h100-spot")
    assert ng.inputs["scalingConfig"] == {"minSize": 0.0, "desiredSize": 0.0, "maxSize": 2.0}
    tags = ng.inputs["tags"]
    assert tags["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"] == "8"
    assert tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] == "present:NoSchedule"
    asg_tags = [t for t in prod_plan.of_type("aws:autoscaling/tag:Tag") if t.parent == ng.parent]
    assert {t.inputs["tag"]["key"] for t in asg_tags} == set(k for k in tags if k.startswith("k8s.io/"))


def test_addons_tolerate_the_pool_taint(prod_plan):
    releases = {r.inputs["chart"]: r for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release")
                if "us-east-1" in r.name}
    assert {"nvidia-device-plugin", "dcgm-exporter", "cluster-autoscaler"} <= set(releases)
    for chart in ("nvidia-device-plugin", "dcgm-exporter"):
        assert releases[chart].inputs["values"]["tolerations"] == [
            {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]
    addons = {a.inputs["addonName"] for a in prod_plan.of_type("aws:eks/addon:Addon") if "us-east-1" in a.name}
    assert {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver"} <= addons


def test_every_child_uses_its_regions_provider(prod_plan):
    account = "aiplatform:aws:Account"  # IAM is global: the account-wide roles have their own provider
    providers = {p.inputs["region"]: p.urn for p in prod_plan.of_type("pulumi:providers:aws") if account not in p.urn}
    for r in prod_plan:
        # Route 53 is global: the serving zone's records and global routing use the first AWS region's provider
        if r.type.startswith("aws:") and not any(f"aiplatform:{c}" in r.urn for c in (
                "workloads:GlobalRouting", "workloads:ServingZone", "aws:Account")):
            region = next(reg for reg in providers if f"aws-{reg}" in r.urn)
            assert r.provider_urn == providers[region], r.urn


def test_a_kubernetes_provider_per_cluster(prod_plan):
    k8s = prod_plan.of_type("pulumi:providers:kubernetes")
    assert sorted(p.name for p in k8s) == ["aws-us-east-1-eks-k8s", "aws-us-west-2-eks-k8s", "gcp-us-central1-gke-k8s"]


def test_adding_a_region_adds_a_full_region_and_changes_nothing_else():
    base = shipped_plan("staging")
    cfg = platform_config("staging")
    cfg["regions"].append({"cloud": "aws", "region": "eu-west-2", "systemPool": {"instanceType": "m6i.xlarge"},
                           "gpuPools": [{"name": "serve-l4", "accelerator": "l4", "instanceType": "g6.2xlarge",
                                         "capacityType": "on-demand", "purpose": "serving",
                                         "scaling": {"min": 1, "desired": 1, "max": 2}}]})
    grown = run_plan("staging", platform=cfg)
    before = {r.urn: r for r in base}
    after = {r.urn: r for r in grown}
    assert set(before) <= set(after)
    added = [after[u] for u in set(after) - set(before)]
    assert added and all("eu-west-2" in r.urn or r.type.startswith("aiplatform:network") for r in added)
    assert any(r.type == "aws:eks/cluster:Cluster" for r in added)
    for urn, old in before.items():
        if old.type.startswith(("aws:", "kubernetes:", "gcp:")):
            assert after[urn].inputs == old.inputs, urn


@pytest.mark.parametrize("change, key, expected", [
    (lambda c: c["regions"][0]["gpuPools"][1].update(efa=True), "regions[0].gpuPools[1].efa",
     "g6.2xlarge has no EFA support; allowed values: g5.48xlarge"),
    (lambda c: c["regions"][0]["gpuPools"][0].update(capacityType="spot"), "regions[0].gpuPools[0].reservationId",
     "a reservation id needs capacityType 'reserved', not 'spot'"),
    (lambda c: c["regions"][1].update(region="us-west-1"), "regions[1].gpuPools[0].accelerator",
     "aws/us-west-1 does not offer h100"),
    (lambda c: c["regions"][0]["gpuPools"][0].update(zones=["us-east-1a", "us-east-1b"]),
     "regions[0].gpuPools[0].zones", "EFA and cluster placement need a single zone"),
])
def test_invalid_combinations_are_clear_errors(change, key, expected):
    cfg = platform_config("prod")
    change(cfg)
    with pytest.raises(SpecError) as info:
        run_plan("prod", platform=cfg)
    assert f"{FULL_KEY}.{key}: {expected}" in str(info.value)


@pytest.mark.parametrize("stack", STACKS)
def test_the_deployer_and_each_admin_role_get_an_access_entry_and_the_cluster_admin_policy(stack):
    """The API auth mode grants nothing by itself: each role needs an entry and a cluster-scoped policy. EKS's
    one-time grant to whoever created the cluster is off (terraform-aws-eks); the deployer's role is granted
    explicitly, and the Kubernetes provider waits for that grant (first-up review round 1, aws 4)."""
    plan, spec = shipped_plan(stack), load_spec(platform_config(stack), stack=stack)
    roles = [spec.access.deployer.aws_role_arn, *spec.cluster_admin_role_arns]
    clusters = plan.of_type("aws:eks/cluster:Cluster")
    entries = plan.of_type("aws:eks/accessEntry:AccessEntry")
    associations = plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert len(entries) == len(associations) == len(clusters) * len(roles)
    graph = Graph(plan)
    for cluster in clusters:
        assert cluster.inputs["accessConfig"] == {"authenticationMode": "API",
                                                  "bootstrapClusterCreatorAdminPermissions": False}
        assert "accessConfig.bootstrapClusterCreatorAdminPermissions" in cluster.options["ignoreChanges"]
        mine = [a for a in associations if cluster.urn in a.dependencies]
        assert sorted(a.inputs["principalArn"] for a in mine) == sorted(roles)
        for assoc in mine:
            assert assoc.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
            assert assoc.inputs["accessScope"] == {"type": "cluster"}
            (entry,) = [e for e in entries if e.urn in assoc.dependencies]
            assert entry.inputs["principalArn"] == assoc.inputs["principalArn"] and entry.inputs["type"] == "STANDARD"
        (provider,) = [p for p in plan.of_type("pulumi:providers:kubernetes") if graph.cluster_of(p) == cluster.urn]
        (deployer,) = [a for a in mine if a.inputs["principalArn"] == spec.access.deployer.aws_role_arn]
        assert graph.waits(provider, deployer)


@pytest.mark.parametrize("change, key, expected", [
    (lambda p: p.update(capacityType="spot", reservationType="capacity-block", reservationId=None,
                        placementGroup=None),
     "reservationType", "reservationType 'capacity-block' needs capacityType 'reserved', not 'spot'"),
    (lambda p: p.update(capacityType="on-demand", reservationType="odcr", reservationId=None, placementGroup=None),
     "reservationType", "reservationType 'odcr' needs capacityType 'reserved', not 'on-demand'"),
    (lambda p: p.pop("zones"), "zones", "a reserved pool (odcr) is bound to the one Availability Zone"),
    (lambda p: p.update(reservationType="capacity-block", efa=False, zones=["us-east-1a", "us-east-1b"],
                        placementGroup=None),
     "zones", "a reserved pool (capacity-block) is bound to the one Availability Zone"),
])
def test_reservation_settings_are_never_ignored(change, key, expected):
    """A reservation type on a pool that is not reserved did nothing; a reserved pool spread over zones launched
    outside its zone-bound ODCR or Capacity Block."""
    cfg = platform_config("prod")
    change(cfg["regions"][0]["gpuPools"][0])
    with pytest.raises(SpecError) as info:
        run_plan("prod", platform=cfg)
    (issue,) = info.value.issues
    assert issue.path == f"regions[0].gpuPools[0].{key}" and issue.message.startswith(expected)
    if key == "zones":
        assert issue.allowed == ("us-east-1a", "us-east-1b", "us-east-1c")


def test_pool_zone_outside_the_built_zones_is_a_spec_error_not_a_crash():
    cfg = platform_config("dev")
    cfg["regions"][0]["gpuPools"][1]["zones"] = ["us-east-1d"]
    with pytest.raises(SpecError, match=r"gpuPools\[1\]\.zones\[0\]: 'us-east-1d' is a zone of aws/us-east-1, but"):
        run_plan("dev", platform=cfg)
    cfg["regions"][0]["zoneCount"] = 4
    ng = run_plan("dev", platform=cfg).one(NODE_GROUP, "aws-us-east-1-serve-l4")
    assert len(ng.inputs["subnetIds"]) == 1
