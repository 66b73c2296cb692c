"""Hand-computed node pool and cluster costs: on-demand, spot (read or not), reserved, GKE whole machines."""
from __future__ import annotations

from tests.cost.helpers import HOURS, approx, aws_provider, book, component, gcp_provider, priced

G6_2XL, P5, GP3, GP3_THROUGHPUT = 0.9776, 55.04, 0.08, 0.04
P5_SPOT_ZONES = {"us-east-1a": 21.5, "us-east-1b": 24.768}  # a reading per zone, as `refresh` writes them


def _node_group(name, instance_type, capacity, scaling, *, lt_args=None):
    def program():
        import pulumi_aws as aws
        opts = aws_provider()
        lt = aws.ec2.LaunchTemplate(f"{name}-lt", block_device_mappings=[{
            "device_name": "/dev/xvda", "ebs": {"volume_size": 200, "volume_type": "gp3", "iops": 3000,
                                                "throughput": 250}}], **(lt_args or {}), opts=opts)
        aws.eks.NodeGroup(name, cluster_name="c", node_role_arn="arn:aws:iam::123456789012:role/n",
                          subnet_ids=["subnet-1"], instance_types=[instance_type], capacity_type=capacity,
                          scaling_config={"min_size": scaling[0], "desired_size": scaling[1], "max_size": scaling[2]},
                          launch_template={"id": lt.id, "version": lt.latest_version.apply(str)}, opts=opts)
    return program


def test_on_demand_gpu_node_group_brackets_min_desired_max():
    est = priced(_node_group("serve", "g6.2xlarge", "ON_DEMAND", (1, 2, 4)))
    item = est.item("serve")
    compute = component(item, "Instance usage")
    assert compute.unit_price == G6_2XL and "on-demand" in compute.name
    assert compute.monthly.min == approx(1 * HOURS * G6_2XL)
    assert compute.monthly.expected == approx(2 * HOURS * G6_2XL)  # 1,427.30
    assert compute.monthly.max == approx(4 * HOURS * G6_2XL)
    assert component(item, "Root volume (gp3").monthly.expected == approx(2 * 200 * GP3)  # $32
    assert component(item, "Root volume throughput").monthly.expected == approx(2 * 125 * GP3_THROUGHPUT)  # $10
    assert item.monthly.expected == approx(1427.296 + 32 + 10)
    assert [f.reason for f in est.free if f.type == "aws:ec2/launchTemplate:LaunchTemplate"] == \
        ["priced through the node group that launches it"]


def test_aws_spot_pool_without_a_spot_reading_is_priced_at_on_demand_and_says_so():
    est = priced(_node_group("train", "p5.48xlarge", "SPOT", (0, 0, 2)),
                 {"resource_usage": {"train": {"average_nodes": 2, "monthly_hours": 100}}})
    compute = component(est.item("train"), "Instance usage")
    assert compute.unit_price == P5 and compute.max_price is None
    assert "spot price not read for us-east-1: priced at on-demand (upper bound)" in compute.name
    assert (compute.monthly.min, compute.monthly.expected, compute.monthly.max) == \
        approx((0.0, 2 * 100 * P5, 2 * HOURS * P5))


def test_spot_pool_with_a_reading_is_expected_at_spot_and_max_at_on_demand_plus_reruns():
    prices = book({"aws/ec2-spot": {"us-east-1": {"p5.48xlarge": {"usd": 24.768, "zones": P5_SPOT_ZONES}}}})
    est = priced(_node_group("train", "p5.48xlarge", "SPOT", (0, 0, 2)),
                 {"resource_usage": {"train": {"average_nodes": 2, "monthly_hours": 100,
                                               "spot_interruption_overhead": 0.05}}}, prices)
    item = est.item("train")
    compute = component(item, "Instance usage")
    assert compute.unit_price == 24.768 and compute.max_price.usd == P5
    assert "spot, 55% below on-demand $55.04/h; max at on-demand" in compute.name
    # max: every node-hour of the scaling maximum at on-demand (a pool whose spot falls back or rises)
    assert (compute.monthly.min, compute.monthly.expected, compute.monthly.max) == \
        approx((0.0, 2 * 100 * 24.768, 2 * HOURS * P5))  # 0 / 4,953.60 / 80,358.40
    rerun = component(item, "Spot interruption overhead (5% of node-hours")
    assert rerun.monthly.expected == approx(0.05 * 2 * 100 * 24.768)  # 247.68
    assert rerun.monthly.max == approx(0.05 * 2 * HOURS * P5)


def test_spot_overhead_is_off_without_usage_and_never_on_other_capacity_types():
    est = priced(_node_group("serve", "g6.2xlarge", "ON_DEMAND", (1, 2, 4)),
                 {"resource_type_default_usage": {"aws:eks/nodeGroup:NodeGroup": {"spot_interruption_overhead": 0.2}}})
    assert not [c for c in est.item("serve").components if c.name.startswith("Spot interruption")]
    spot = priced(_node_group("train", "p5.48xlarge", "SPOT", (0, 1, 2)))
    assert not [c for c in spot.item("train").components if c.name.startswith("Spot interruption")]


def test_reserved_pool_is_the_reservation_billed_flat_at_on_demand():
    est = priced(_node_group("reserved", "p5.48xlarge", "ON_DEMAND", (2, 2, 4), lt_args={
        "capacity_reservation_specification": {"capacity_reservation_preference": "capacity-reservations-only",
                                               "capacity_reservation_target": {"capacity_reservation_id": "cr-1"}}}))
    compute = component(est.item("reserved"), "Capacity reservation")
    assert compute.unit_price == P5 and "reserved" in compute.name
    assert compute.monthly.min == compute.monthly.expected == compute.monthly.max == approx(2 * HOURS * P5)  # 80,358.40


def test_reserved_nodes_from_usage_override_the_desired_size():
    est = priced(_node_group("reserved", "p5.48xlarge", "ON_DEMAND", (2, 2, 4), lt_args={
        "capacity_reservation_specification": {"capacity_reservation_target": {"capacity_reservation_id": "cr-1"}}}),
        {"resource_usage": {"reserved": {"reserved_nodes": 4}}})
    assert component(est.item("reserved"), "Capacity reservation").monthly.expected == approx(4 * HOURS * P5)


def _gke_pool(name, machine, accelerators, spot, autoscaling, initial, disk=("pd-ssd", 200),
              zones=("us-central1-a",)):
    def program():
        import pulumi_gcp.container as container
        container.NodePool(name, cluster="c", location="us-central1", node_locations=list(zones),
                           initial_node_count=initial, autoscaling=autoscaling,
                           node_config={"machine_type": machine, "spot": spot, "disk_type": disk[0],
                                        "disk_size_gb": disk[1], "guest_accelerators": accelerators},
                           opts=gcp_provider())
    return program


A3_HIGH, A3_HIGH_SPOT, G2_8 = 88.49, 50.609541, 0.853624  # whole machines, us-central1 (billing catalog)


def test_gke_gpu_pool_is_one_whole_machine_line_at_spot_with_max_at_on_demand():
    """The catalog's machine price includes the 8 H100s and the 6,000 GiB of local SSD an A3 always carries."""
    est = priced(_gke_pool("h100", "a3-highgpu-8g", [{"type": "nvidia-h100-80gb", "count": 8}], True,
                           {"total_min_node_count": 0, "total_max_node_count": 2}, 1))
    item = est.item("h100")
    machine = component(item, "Machine (a3-highgpu-8g, incl. 8 x nvidia-h100-80gb")
    assert not [c for c in item.components if c.name.startswith("GPU")]  # never counted twice
    assert machine.monthly.expected == approx(1 * HOURS * A3_HIGH_SPOT)  # 36,944.97
    assert machine.monthly.max == approx(2 * HOURS * A3_HIGH)  # 129,195.40: spot falling back to on-demand
    assert machine.monthly.min == 0
    assert "spot, 43% below on-demand $88.49/h" in machine.name
    assert component(item, "Boot disk").monthly.expected == approx(200 * 0.17)
    assert item.region == "gcp/us-central1"


def test_gke_zone_pinned_spot_pool_pays_its_zones_reading():
    prices = book({"gcp/compute-spot": {"us-central1": {"a3-highgpu-8g": {
        "usd": 60.0, "source": "gcp-catalog-cyclenerd", "read": "2026-07-30",
        "zones": {"us-central1-a": 45.0, "us-central1-b": 60.0}}}}})
    pool = _gke_pool("h100", "a3-highgpu-8g", [], True, {"total_min_node_count": 0, "total_max_node_count": 2}, 1)
    assert component(priced(pool, prices=prices).item("h100"), "Machine").unit_price == 45.0
    both = _gke_pool("h100", "a3-highgpu-8g", [], True, {"total_min_node_count": 0, "total_max_node_count": 2}, 1,
                     zones=("us-central1-a", "us-central1-b"))
    assert component(priced(both, prices=prices).item("h100"), "Machine").unit_price == 60.0  # the dearer zone


def test_gke_on_demand_l4_pool_with_or_without_listed_gpus():
    listed = priced(_gke_pool("l4", "g2-standard-8", [{"type": "nvidia-l4", "count": 1}], False,
                              {"total_min_node_count": 1, "total_max_node_count": 6}, 2, ("pd-balanced", 100)))
    implicit = priced(_gke_pool("l4", "g2-standard-8", [], False,
                                {"total_min_node_count": 1, "total_max_node_count": 6}, 2, ("pd-balanced", 100)))
    for est in (listed, implicit):
        item = est.item("l4")
        assert item.monthly.expected == approx(2 * HOURS * G2_8 + 2 * 100 * 0.10)  # 1,266.28
        assert item.monthly.max == approx(6 * HOURS * G2_8 + 6 * 100 * 0.10)


def test_gpus_on_a_machine_whose_price_does_not_include_them_leave_the_pool_unpriced_as_a_gpu_pool():
    est = priced(_gke_pool("t4", "n2-standard-8", [{"type": "nvidia-tesla-t4", "count": 1}], False,
                           {"total_min_node_count": 1, "total_max_node_count": 2}, 1))
    assert not est.items or not [i for i in est.items if i.name == "t4"]
    [u] = est.unpriced
    assert u.gpu and "nvidia-tesla-t4" in u.reason


A3_ULTRA, H200, LOCAL_SSD, HYPERDISK_BALANCED = 9.092, 9.30, 0.08, 0.08  # parts of the derived A3 Ultra price
A3_ULTRA_MACHINE = A3_ULTRA + 8 * H200 + 12000 * LOCAL_SSD / HOURS
POOL = "gcp:container/nodePool:NodePool"


def test_gke_hyperdisk_boot_disk_is_priced_and_a_disk_without_a_price_leaves_the_rest_of_the_pool_priced():
    scaling = {"total_min_node_count": 1, "total_max_node_count": 2}
    est = priced(_gke_pool("h200", "a3-ultragpu-8g", [], False, scaling, 1, ("hyperdisk-balanced", 500)))
    item = est.item("h200")
    assert component(item, "Boot disk (hyperdisk-balanced").monthly.expected == approx(500 * HYPERDISK_BALANCED)
    assert item.monthly.expected == approx(HOURS * A3_ULTRA_MACHINE + 500 * HYPERDISK_BALANCED)  # 61,947.70
    machine = component(item, "Machine")
    assert machine.price.derived and machine.derived and "12000 * local_ssd / 730" in machine.price.formula
    assert est.unpriced == []
    # no price for the disk type: the machine and its GPUs stay in the total, the disk is listed as unpriced
    est = priced(_gke_pool("h200", "a3-ultragpu-8g", [], False, scaling, 1, ("hyperdisk-extreme", 500)))
    item = est.item("h200")
    assert item.monthly.expected == approx(HOURS * A3_ULTRA_MACHINE)
    assert not [c for c in item.components if c.name.startswith("Boot disk")]
    assert [(u.type, u.reason) for u in est.unpriced] == [(POOL, (
        "boot disk (hyperdisk-extreme) not in the estimate (the rest of this resource is): "
        "no gcp/disks price for 'hyperdisk-extreme' in us-central1"))]


def test_gke_hyperdisk_iops_and_throughput_above_the_baseline_are_listed_unpriced():
    def program():
        import pulumi_gcp.container as container
        container.NodePool("h200", cluster="c", location="us-central1", node_locations=["us-central1-a"],
                           node_count=1, node_config={"machine_type": "a3-ultragpu-8g", "boot_disk": {
                               "disk_type": "hyperdisk-balanced", "size_gb": 200, "provisioned_iops": 6000,
                               "provisioned_throughput": 140}}, opts=gcp_provider())
    est = priced(program)
    assert component(est.item("h200"), "Boot disk (hyperdisk-balanced, 200 GB").monthly.expected == \
        approx(200 * HYPERDISK_BALANCED)
    assert [(u.type, u.reason) for u in est.unpriced] == [(POOL, (
        "boot disk IOPS above 3,000 not in the estimate (the rest of this resource is): "
        "provisioned 6,000 IOPS on hyperdisk-balanced: not in the catalog"))]


def test_gke_initial_nodes_count_in_every_zone_within_the_total_limits():
    three = ("us-central1-a", "us-central1-b", "us-central1-c")
    est = priced(_gke_pool("l4", "g2-standard-8", [], False, {"total_min_node_count": 1, "total_max_node_count": 6},
                           1, ("pd-balanced", 100), zones=three))
    assert est.item("l4").monthly.expected == approx(3 * HOURS * G2_8 + 3 * 100 * 0.10)
    capped = priced(_gke_pool("l4", "g2-standard-8", [], False, {"total_min_node_count": 1, "total_max_node_count": 4},
                              2, ("pd-balanced", 100), zones=three))
    assert capped.item("l4").monthly.expected == approx(4 * HOURS * G2_8 + 4 * 100 * 0.10)


def test_cluster_fees_standard_and_extended_support():
    def program():
        import pulumi_aws as aws
        import pulumi_gcp.container as container
        opts = aws_provider()
        for name, version, support in (("std", "1.35", "STANDARD"), ("old", "1.29", "EXTENDED")):
            aws.eks.Cluster(name, role_arn="arn:aws:iam::123456789012:role/c", version=version,
                            upgrade_policy={"support_type": support}, vpc_config={"subnet_ids": ["s-1", "s-2"]},
                            opts=opts)
        container.Cluster("gke", location="us-central1", remove_default_node_pool=True, initial_node_count=1,
                          opts=gcp_provider())
    est = priced(program)
    assert est.item("std").monthly.expected == approx(0.10 * HOURS)  # $73
    assert est.item("old").monthly.expected == approx(0.60 * HOURS)  # $438: 1.29 is out of standard support
    assert "extended support" in est.item("old").components[0].name
    assert est.item("gke").monthly.expected == approx(0.10 * HOURS)
    # usage the test did not state: cross-zone traffic and Cloud Logging are listed, priced per unit
    assert {c.name.split(" (")[0] for c in est.item("gke").components if c.usage_unknown} == \
        {"Cross-zone traffic", "Cloud Logging ingestion"}
    assert [c.name.split(" (")[0] for c in est.item("std").components if c.usage_unknown] == ["Cross-AZ traffic"]


def test_cross_zone_traffic_is_billed_in_both_directions_and_logging_per_gib():
    def program():
        import pulumi_aws as aws
        import pulumi_gcp.container as container
        aws.eks.Cluster("eks", role_arn="arn:aws:iam::123456789012:role/c", version="1.35",
                        vpc_config={"subnet_ids": ["s-1"]}, opts=aws_provider("eu-west-1"))
        container.Cluster("gke", location="europe-west4", initial_node_count=1, opts=gcp_provider("europe-west4"))
    est = priced(program, {"resource_usage": {"*": {"monthly_cross_az_gb": 1000, "monthly_log_ingested_gib": 200}}})
    assert component(est.item("eks"), "Cross-AZ traffic").monthly.expected == approx(1000 * 2 * 0.01)
    gke = est.item("gke")
    assert component(gke, "Cross-zone traffic").monthly.expected == approx(1000 * 2 * 0.01)
    assert component(gke, "Cloud Logging ingestion").monthly.expected == approx(200 * 0.50)
    assert est.item("eks").region == "aws/eu-west-1" and gke.region == "gcp/europe-west4"


def test_system_pool_without_launch_template_uses_the_node_group_disk_size():
    def program():
        import pulumi_aws as aws
        aws.eks.NodeGroup("sys", cluster_name="c", node_role_arn="arn:aws:iam::123456789012:role/n",
                          subnet_ids=["s"], instance_types=["m6i.large"], disk_size=50,
                          scaling_config={"min_size": 2, "desired_size": 2, "max_size": 3}, opts=aws_provider())
    item = priced(program).item("sys")
    assert item.monthly.expected == approx(2 * HOURS * 0.096 + 2 * 50 * 0.08)
