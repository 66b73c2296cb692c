"""Hand-computed node pool and cluster costs: on-demand, spot, reserved, GKE machine + attached GPUs."""
from __future__ import annotations

from tests.cost.helpers import HOURS, approx, aws_provider, component, gcp_provider, priced

G6_2XL, P5, P5_SPOT, GP3, GP3_THROUGHPUT = 0.9776, 55.04, 24.768, 0.08, 0.04


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


def test_spot_pool_uses_spot_rate_and_usage_file_averages():
    est = priced(_node_group("train", "p5.48xlarge", "SPOT", (0, 0, 2)),
                 {"resource_usage": {"train": {"average_nodes": 2, "monthly_hours": 100}}})
    compute = component(est.item("train"), "Instance usage")
    assert compute.unit_price == P5_SPOT
    assert "spot, 55% below on-demand $55.04/h" in compute.name
    assert (compute.monthly.min, compute.monthly.expected, compute.monthly.max) == \
        approx((0.0, 2 * 100 * P5_SPOT, 2 * HOURS * P5_SPOT))  # 0 / 4,953.60 / 36,161.28


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


def test_gke_gpu_pool_prices_machine_and_attached_gpus_at_spot():
    est = priced(_gke_pool("h100", "a3-highgpu-8g", [{"type": "nvidia-h100-80gb", "count": 8}], True,
                           {"total_min_node_count": 0, "total_max_node_count": 2}, 1))
    item = est.item("h100")
    machine, gpus = component(item, "Machine"), component(item, "GPU")
    assert machine.monthly.expected == approx(1 * HOURS * 3.7839)  # 2,762.25
    assert gpus.monthly.expected == approx(8 * HOURS * 5.8632)  # 34,241.09
    assert gpus.monthly.max == approx(2 * 8 * HOURS * 5.8632) and gpus.monthly.min == 0
    assert "spot, 40% below on-demand $9.8/h" in gpus.name
    assert component(item, "Boot disk").monthly.expected == approx(200 * 0.17)
    assert item.region == "gcp/us-central1"


def test_gke_on_demand_l4_pool_and_implicit_gpus_from_the_catalog():
    listed = priced(_gke_pool("l4", "g2-standard-8", [{"type": "nvidia-l4", "count": 1}], False,
                              {"total_min_node_count": 1, "total_max_node_count": 6}, 2, ("pd-balanced", 100)))
    implicit = priced(_gke_pool("l4", "g2-standard-8", [], False,
                                {"total_min_node_count": 1, "total_max_node_count": 6}, 2, ("pd-balanced", 100)))
    for est in (listed, implicit):
        item = est.item("l4")
        assert item.monthly.expected == approx(2 * HOURS * (0.29355 + 0.56) + 2 * 100 * 0.10)  # 1,266.18
        assert item.monthly.max == approx(6 * HOURS * (0.29355 + 0.56) + 6 * 100 * 0.10)


A3_ULTRA, H200, HYPERDISK_BALANCED = 9.092, 9.30, 0.08
POOL = "gcp:container/nodePool:NodePool"


def test_gke_hyperdisk_boot_disk_is_priced_and_a_disk_without_a_price_leaves_the_rest_of_the_pool_priced():
    scaling = {"total_min_node_count": 1, "total_max_node_count": 2}
    est = priced(_gke_pool("h200", "a3-ultragpu-8g", [], False, scaling, 1, ("hyperdisk-balanced", 500)))
    item = est.item("h200")
    assert component(item, "Boot disk (hyperdisk-balanced").monthly.expected == approx(500 * HYPERDISK_BALANCED)
    assert item.monthly.expected == approx(HOURS * (A3_ULTRA + 8 * H200) + 500 * HYPERDISK_BALANCED)  # 60,987.70
    assert est.unpriced == []
    # no price for the disk type: the machine and its GPUs stay in the total, the disk is listed as unpriced
    est = priced(_gke_pool("h200", "a3-ultragpu-8g", [], False, scaling, 1, ("hyperdisk-extreme", 500)))
    item = est.item("h200")
    assert item.monthly.expected == approx(HOURS * (A3_ULTRA + 8 * H200))
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
    assert est.item("l4").monthly.expected == approx(3 * HOURS * (0.29355 + 0.56) + 3 * 100 * 0.10)
    capped = priced(_gke_pool("l4", "g2-standard-8", [], False, {"total_min_node_count": 1, "total_max_node_count": 4},
                              2, ("pd-balanced", 100), zones=three))
    assert capped.item("l4").monthly.expected == approx(4 * HOURS * (0.29355 + 0.56) + 4 * 100 * 0.10)


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


def test_system_pool_without_launch_template_uses_the_node_group_disk_size():
    def program():
        import pulumi_aws as aws
        aws.eks.NodeGroup("sys", cluster_name="c", node_role_arn="arn:aws:iam::123456789012:role/n",
                          subnet_ids=["s"], instance_types=["m6i.large"], disk_size=50,
                          scaling_config={"min_size": 2, "desired_size": 2, "max_size": 3}, opts=aws_provider())
    item = priced(program).item("sys")
    assert item.monthly.expected == approx(2 * HOURS * 0.096 + 2 * 50 * 0.08)
