"""The quotas a stack needs at its pools' maximum size, and its Elastic IPs, by the providers' quota names
(docs/first-deployment.md lists them for the shipped stacks)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from blueprint.spec.model import CapacityType, Cloud, PlatformSpec

# EC2 vCPU quotas by instance family (docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html).
# Instances in an On-Demand Capacity Reservation count against the On-Demand quota.
AWS_FAMILIES = {"p": "P", "g": "G and VT"}
AWS_STANDARD = "Standard (A, C, D, H, I, M, R, T, Z)"
# Compute Engine GPU quota metrics by GKE accelerator (cloud.google.com/compute/resource-usage#gpu_quota); Spot VMs
# use the PREEMPTIBLE_ variant; every GPU also counts against the project-wide GPUS_ALL_REGIONS.
GCP_GPU_METRICS = {"nvidia-h100-80gb": "NVIDIA_H100_GPUS", "nvidia-h100-mega-80gb": "NVIDIA_H100_MEGA_GPUS",
                   "nvidia-h200-141gb": "NVIDIA_H200_GPUS", "nvidia-a100-80gb": "NVIDIA_A100_80GB_GPUS",
                   "nvidia-tesla-a100": "NVIDIA_A100_GPUS", "nvidia-l4": "NVIDIA_L4_GPUS"}


# VPC Elastic IP addresses per region (Service Quotas "EC2-VPC Elastic IPs", default 5): one per NAT gateway.
EIP_QUOTA = "EC2-VPC Elastic IPs"


def nat_gateway_zones(spec: PlatformSpec, region) -> tuple[str, ...]:
    """The zones with a NAT gateway of their own (components/aws/network.py): each zone in production, so a zone
    outage keeps the others' egress; one shared NAT otherwise."""
    zones = spec.zones(region)
    return tuple(zones) if spec.is_production else tuple(zones[:1])


def elastic_ips(spec: PlatformSpec, region) -> int:
    """The region's NAT gateways' addresses, and the deployer runner subnet's own NAT where it lives."""
    runner = spec.runner_region()
    return len(nat_gateway_zones(spec, region)) + (1 if runner is not None and runner.key == region.key else 0)


@dataclass(frozen=True)
class QuotaNeed:
    cloud: str
    scope: str   # region, or "global"
    quota: str
    amount: int
    unit: str


def aws_quota(instance_type: str, spot: bool) -> str:
    family = AWS_FAMILIES.get(instance_type[0], AWS_STANDARD)
    return f"All {family} Spot Instance Requests" if spot else f"Running On-Demand {family} instances"


def quota_needs(spec: PlatformSpec) -> list[QuotaNeed]:
    """vCPUs (AWS) and GPUs (GCP) the pools reach at ``scaling.max``, the system pools included on AWS; and the
    Elastic IPs of each AWS region."""
    totals: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for region in spec.regions:
        if region.cloud is Cloud.aws:
            totals[("aws", region.region, EIP_QUOTA, "addresses")] = elastic_ips(spec, region)
            system = region.system_pool
            totals[("aws", region.region, aws_quota(system.instance_type, False), "vCPUs")] += \
                general_purpose_vcpus(system.instance_type) * system.scaling.max
            for pool in region.gpu_pools:
                quota = aws_quota(pool.instance_type, pool.capacity_type is CapacityType.spot)
                totals[("aws", region.region, quota, "vCPUs")] += pool.facts(Cloud.aws).vcpus * pool.scaling.max
        else:
            for pool in region.gpu_pools:
                facts = pool.facts(Cloud.gcp)
                metric = GCP_GPU_METRICS[facts.gke_accelerator]
                if pool.capacity_type is CapacityType.spot:
                    metric = f"PREEMPTIBLE_{metric}"
                gpus = facts.gpus * pool.scaling.max
                totals[("gcp", region.region, metric, "GPUs")] += gpus
                totals[("gcp", "global", "GPUS_ALL_REGIONS", "GPUs")] += gpus
    return [QuotaNeed(c, s, q, n, u) for (c, s, q, u), n in sorted(totals.items())]


def general_purpose_vcpus(instance_type: str) -> int:
    """vCPUs of an M/C/R instance from its size (large 2, xlarge 4, Nxlarge 4N), as EC2 names them."""
    size = instance_type.split(".")[1]
    return 2 if size == "large" else 4 * int(size.removesuffix("xlarge") or 1)


def markdown(stacks: dict[str, PlatformSpec]) -> str:
    """One table for several stacks, as docs/first-deployment.md shows it."""
    rows = ["| stack | cloud | region | quota | needed at max |", "| --- | --- | --- | --- | --- |"]
    for name, spec in stacks.items():
        rows += [f"| {name} | {q.cloud} | {q.scope} | {q.quota} | {q.amount} {q.unit} |" for q in quota_needs(spec)]
    return "\n".join(rows)
