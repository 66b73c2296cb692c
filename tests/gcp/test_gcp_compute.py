"""The GCP region of the prod stack, a GCP-only stack, and the cross-cloud pool interface."""
from __future__ import annotations

import pytest

from blueprint import catalog
from blueprint.plan import run_plan
from blueprint.spec import Cloud, FULL_KEY, SpecError, address_plan, load_spec
from components.compute import scheduling_for
from tests.conftest import platform_config

NODE_POOL = "gcp:container/nodePool:NodePool"


def test_network_subnet_router_nat_and_firewall(prod_plan):
    spec = load_spec(platform_config("prod"), stack="prod")
    ranges = address_plan(spec)["gcp/us-central1"]
    (network,) = prod_plan.of_type("gcp:compute/network:Network")
    assert network.inputs["autoCreateSubnetworks"] is False and network.inputs["routingMode"] == "GLOBAL"
    subnet = prod_plan.one("gcp:compute/subnetwork:Subnetwork")
    assert subnet.inputs["ipCidrRange"] == str(ranges.nodes)
    assert subnet.inputs["privateIpGoogleAccess"] is True
    assert {r["rangeName"]: r["ipCidrRange"] for r in subnet.inputs["secondaryIpRanges"]} == {
        "pods": str(ranges.pods), "services": str(ranges.services)}
    router = prod_plan.one("gcp:compute/router:Router")
    assert router.inputs["bgp"]["asn"] == 65515.0
    nat = prod_plan.one("gcp:compute/routerNat:RouterNat")
    assert nat.inputs["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    rules = {f.name.split("-", 2)[-1]: f.inputs for f in prod_plan.of_type("gcp:compute/firewall:Firewall")}
    assert rules["allow-private"]["sourceRanges"] == ["10.64.0.0/10"]
    assert rules["deny-all-ingress"]["denies"] == [{"protocol": "all"}]
    control = next(v for k, v in rules.items() if k.endswith("allow-control-plane"))
    assert control["sourceRanges"] == [str(ranges.control_plane)]
    assert all("0.0.0.0/0" not in r.get("sourceRanges", []) for k, r in rules.items() if "allow" in k)


def test_cluster_is_private_hardened_and_encrypted(prod_plan):
    cluster = prod_plan.one("gcp:container/cluster:Cluster")
    i = cluster.inputs
    assert i["privateClusterConfig"]["enablePrivateNodes"] is True
    assert i["privateClusterConfig"]["enablePrivateEndpoint"] is True
    blocks = [b["cidrBlock"] for b in i["masterAuthorizedNetworksConfig"]["cidrBlocks"]]
    assert blocks == ["10.64.0.0/10"] and "0.0.0.0/0" not in blocks
    assert i["workloadIdentityConfig"]["workloadPool"] == "aiplat-prod-ml.svc.id.goog"
    assert i["enableShieldedNodes"] is True
    assert i["releaseChannel"]["channel"] == "STABLE"
    assert i["datapathProvider"] == "ADVANCED_DATAPATH"
    assert i["databaseEncryption"]["state"] == "ENCRYPTED"
    assert i["addonsConfig"]["gcsFuseCsiDriverConfig"]["enabled"] is True
    assert i["addonsConfig"]["gcpFilestoreCsiDriverConfig"]["enabled"] is True
    assert i["removeDefaultNodePool"] is True
    assert "DCGM" in i["monitoringConfig"]["enableComponents"]
    key = prod_plan.one("gcp:kms/cryptoKey:CryptoKey", "*gke-etcd")
    assert key.inputs["rotationPeriod"] == "7776000s"


def test_gpu_pools_match_the_spec(prod_plan):
    h100 = prod_plan.one(NODE_POOL, "gcp-us-central1-train-h100").inputs
    l4 = prod_plan.one(NODE_POOL, "gcp-us-central1-serve-l4").inputs
    assert h100["nodeConfig"]["machineType"].startswith("a3-")
    assert l4["nodeConfig"]["machineType"].startswith("g2-")
    assert h100["nodeConfig"]["guestAccelerators"] == [{"type": "nvidia-h100-80gb", "count": 8.0,
                                                        "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}}]
    assert l4["nodeConfig"]["guestAccelerators"][0]["type"] == "nvidia-l4"
    assert h100["nodeConfig"]["spot"] is True and l4["nodeConfig"]["spot"] is False
    assert h100["placementPolicy"] == {"type": "COMPACT"} and h100["nodeLocations"] == ["us-central1-a"]
    assert "placementPolicy" not in l4
    for pool in (h100, l4):
        assert pool["nodeConfig"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
        assert pool["nodeConfig"]["gvnic"] == {"enabled": True}
        assert pool["nodeConfig"]["shieldedInstanceConfig"]["enableSecureBoot"] is True
        assert pool["nodeConfig"]["workloadMetadataConfig"]["mode"] == "GKE_METADATA"
    assert h100["autoscaling"]["totalMinNodeCount"] == 0.0 and h100["autoscaling"]["totalMaxNodeCount"] == 2.0


def test_initial_nodes_are_per_zone_and_stay_within_the_pools_limits(prod_plan):
    """GKE creates initialNodeCount nodes in every zone: the total at creation never passes the spec's max."""
    spec = load_spec(platform_config("prod"), stack="prod")
    region = spec.region("gcp/us-central1")
    pools = {f"gcp-us-central1-{p.name}": (p.scaling, False) for p in region.gpu_pools}
    pools["gcp-us-central1-system"] = (region.system_pool.scaling, True)
    for name, (scaling, is_system) in pools.items():
        inputs = prod_plan.one(NODE_POOL, name).inputs
        created = inputs["initialNodeCount"] * len(inputs["nodeLocations"])
        assert created <= scaling.max, name
        if is_system:  # add-ons need nodes from the start
            assert created >= max(scaling.desired, 1), name
        else:  # no GPU node beyond the desired size; the autoscaler adds up to the minimum
            assert created <= scaling.desired, name
    serve = prod_plan.one(NODE_POOL, "gcp-us-central1-serve-l4").inputs
    assert len(serve["nodeLocations"]) > 2  # desired 2 over more zones than that: none per zone at creation
    assert serve["initialNodeCount"] == 0 and serve["autoscaling"]["totalMinNodeCount"] == 1.0


def test_same_labels_on_both_clouds(prod_plan):
    aws = prod_plan.one("aws:eks/nodeGroup:NodeGroup", "aws-us-east-1-serve-l4").inputs["labels"]
    gcp = prod_plan.one(NODE_POOL, "gcp-us-central1-serve-l4").inputs["nodeConfig"]["labels"]
    # every label workloads select on is on both; AWS adds only the autoscaler's GPU label (GKE sets its own)
    assert {k: v for k, v in aws.items() if not k.startswith("k8s.amazonaws.com/")} == gcp
    assert set(aws) - set(gcp) == {"k8s.amazonaws.com/accelerator"}


def test_pool_interface_is_cloud_neutral():
    spec = load_spec(platform_config("prod"), stack="prod")
    aws_pool = spec.region("aws/us-east-1").pool("serve-l4")
    gcp_pool = spec.region("gcp/us-central1").pool("serve-l4")
    a, g = scheduling_for(aws_pool, Cloud.aws), scheduling_for(gcp_pool, Cloud.gcp)
    assert (a.node_selector, a.tolerations, a.accelerator) == (g.node_selector, g.tolerations, g.accelerator)


def test_reserved_gcp_pool_uses_a_specific_reservation():
    cfg = platform_config("prod")
    cfg["regions"][2]["gpuPools"][0].update(capacityType="reserved", reservationId="a3-reservation-1")
    pool = run_plan("prod", platform=cfg).one(NODE_POOL, "gcp-us-central1-train-h100").inputs
    assert pool["nodeConfig"]["reservationAffinity"] == {
        "consumeReservationType": "SPECIFIC_RESERVATION", "key": "compute.googleapis.com/reservation-name",
        "values": ["a3-reservation-1"]}
    assert pool["nodeConfig"]["spot"] is False


def _gcp_only() -> dict:
    cfg = platform_config("prod")
    gcp = cfg["regions"][2]
    eu = {**gcp, "region": "europe-west4", "storage": None,
          "gpuPools": [{**gcp["gpuPools"][1], "instanceType": "g2-standard-8"}]}
    cfg["regions"] = [gcp, eu]
    cfg["workloads"] = {}
    cfg.pop("access")  # no AWS region for a runner subnet; GKE's DNS endpoint needs no deployer network
    return cfg


def test_gcp_only_stack_shares_one_vpc_and_has_no_aws():
    plan = run_plan("prod", platform=_gcp_only())
    assert not [r for r in plan if r.type.startswith("aws:") or r.type == "pulumi:providers:aws"]
    assert len(plan.of_type("gcp:compute/network:Network")) == 1
    (network,) = plan.of_type("gcp:compute/network:Network")
    subnets = plan.of_type("gcp:compute/subnetwork:Subnetwork")
    assert len(subnets) == 2 and all(network.urn in s.dependencies for s in subnets)
    assert len(plan.of_type("gcp:container/cluster:Cluster")) == 2


def test_aws_only_stack_declares_nothing_on_gcp(dev_plan):
    assert not [r for r in dev_plan if r.type.startswith(("gcp:", "pulumi:providers:gcp"))]


def test_gcp_stack_needs_a_project():
    cfg = _gcp_only()
    del cfg["gcpProject"]
    with pytest.raises(SpecError, match=f"{FULL_KEY}.gcpProject: a stack with a GCP region needs the GCP project id"):
        run_plan("prod", platform=cfg)


def test_compact_placement_on_a_type_without_it_is_an_error():
    cfg = platform_config("prod")
    cfg["regions"][2]["gpuPools"][1]["compactPlacement"] = True  # g2-standard-8
    with pytest.raises(SpecError, match=r"gpuPools\[1\]\.compactPlacement: g2-standard-8 does not support compact"):
        run_plan("prod", platform=cfg)


@pytest.mark.parametrize("machine, accelerator, gke_type, disk, region", [
    ("a3-highgpu-8g", "h100", "nvidia-h100-80gb", "pd-ssd", "us-central1"),
    # same GPU, its own GKE accelerator type; priced (so allowed) where the billing catalog lists it (issue 19)
    ("a3-megagpu-8g", "h100", "nvidia-h100-mega-80gb", "pd-ssd", "us-east4"),
    ("a3-ultragpu-8g", "h200", "nvidia-h200-141gb", "hyperdisk-balanced", "us-central1"),  # boots from Hyperdisk only
    ("a2-ultragpu-8g", "a100-80gb", "nvidia-a100-80gb", "pd-ssd", "us-central1"),
])
def test_gke_accelerator_and_boot_disk_come_from_the_machine_type(machine, accelerator, gke_type, disk, region):
    cfg = platform_config("prod")
    cfg["regions"][2]["region"] = region
    cfg["regions"][2]["gpuPools"][0].update(instanceType=machine, accelerator=accelerator, zones=[f"{region}-a"])
    serving = cfg["workloads"]["serving"]
    serving["regions"] = [r.replace("gcp/us-central1", f"gcp/{region}") for r in serving["regions"]]
    config = run_plan("prod", platform=cfg).one(NODE_POOL, f"gcp-{region}-train-h100").inputs["nodeConfig"]
    assert config["machineType"] == machine
    assert [(a["type"], a["count"]) for a in config["guestAccelerators"]] == [(gke_type, 8.0)]
    assert config["diskType"] == disk


def test_every_gcp_machine_names_its_gke_accelerator_and_boot_disk():
    for name in catalog.instance_types("gcp"):
        facts = catalog.instance("gcp", name)
        assert facts.gke_accelerator and facts.gke_accelerator.startswith("nvidia-"), name
        assert facts.boot_disk in ("pd-ssd", "pd-balanced", "hyperdisk-balanced"), name


def test_gpu_pools_use_the_zones_the_cluster_is_built_in(prod_plan):
    """us-central1 has four catalog zones; prod builds three, and every pool without its own zones uses those."""
    spec = load_spec(platform_config("prod"), stack="prod")
    built = list(spec.zones(spec.region("gcp/us-central1")))
    assert built == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert prod_plan.one(NODE_POOL, "gcp-us-central1-serve-l4").inputs["nodeLocations"] == built
    assert prod_plan.one(NODE_POOL, "gcp-us-central1-system").inputs["nodeLocations"] == built


@pytest.mark.parametrize("change, key, expected", [
    (lambda p: p.update(capacityType="reserved", reservationId="a3-res", reservationType="capacity-block"),
     "reservationType", "reservationType 'capacity-block' exists on AWS only"),
    (lambda p: p.update(reservationType="capacity-block"), "reservationType",
     "reservationType 'capacity-block' exists on AWS only"),
    (lambda p: p.update(reservationId="a3-res"), "reservationId", "a reservation id needs capacityType 'reserved'"),
    (lambda p: p.update(efa=True), "efa", "EFA exists on AWS only; use compactPlacement on GCP"),
])
def test_aws_only_and_reservation_settings_are_errors_on_gcp(change, key, expected):
    cfg = platform_config("prod")
    change(cfg["regions"][2]["gpuPools"][0])
    with pytest.raises(SpecError) as info:
        run_plan("prod", platform=cfg)
    (issue,) = info.value.issues
    assert issue.path == f"regions[2].gpuPools[0].{key}" and issue.message.startswith(expected)


def _gcp_only_with_workloads() -> dict:
    """prod on GCP alone: us-central1 trains and serves behind one global load balancer, us-east4 has a serving
    pool (nothing copies models between GCP regions, so serving stays where training exports)."""
    cfg = platform_config("prod")
    central = cfg["regions"][2]
    east = {**central, "region": "us-east4", "storage": {},
            "gpuPools": [{**central["gpuPools"][1], "zones": None}]}
    cfg["regions"] = [central, east]
    train = {**cfg["workloads"]["training"], "region": "gcp/us-central1", "nodes": 2}
    serve = {**cfg["workloads"]["serving"], "regions": ["gcp/us-central1"],
             "globalRouting": "gcp-global-lb"}
    serve.pop("dns", None)  # the Route 53 zone needs an AWS account; a GCP-only stack keeps its names elsewhere
    cfg["workloads"] = {"training": train, "serving": serve}
    cfg.pop("access")  # no AWS region for a runner subnet; GKE's DNS endpoint needs no deployer network
    return cfg


def test_a_gcp_only_stack_with_workloads_passes_the_policies_and_is_fully_priced():
    """Issue 4: a stack with only GCP plans and passes its checks, workloads included."""
    from blueprint.cost import estimate
    from cli.policy_run import evaluate_plan

    cfg = _gcp_only_with_workloads()
    plan = run_plan("prod", platform=cfg)
    assert not [r for r in plan if r.type.startswith("aws:") or r.type == "pulumi:providers:aws"]
    assert len(plan.of_type("gcp:container/cluster:Cluster")) == 2
    assert plan.of_type("kubernetes:batch/v1:Job") and len(plan.of_type("kubernetes:apps/v1:Deployment")) >= 2
    result = evaluate_plan(plan, load_spec(cfg, stack="prod"))
    assert not [v for v in result.violations if v.enforcement == "mandatory"], result.violations
    est = estimate(plan)
    # both GCP regions are priced (issue 19: us-east4 was not, and its GPU pool slipped past the budget gate)
    assert est.unpriced == [] and est.verdict().state == "within budget", est.unpriced
    assert {"gcp/us-central1", "gcp/us-east4"} <= {i.region for i in est.items}
