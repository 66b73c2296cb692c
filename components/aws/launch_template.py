"""Launch templates for EKS managed node groups: IMDSv2 only, an encrypted gp3 root volume, and, for GPU pools,
EFA interfaces, a cluster placement group and capacity reservations. Pure argument builders plus one resource."""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec


def efa_interfaces(count: int, security_group_id: pulumi.Input[str]) -> list[dict[str, Any]]:
    """One EFA device per network card: card 0 also carries IP traffic ("efa"), the rest are EFA-only."""
    return [{"device_index": 0 if card == 0 else 1, "network_card_index": card,
             "interface_type": "efa" if card == 0 else "efa-only", "delete_on_termination": True,
             "security_groups": [security_group_id]} for card in range(count)]


def capacity_reservation(reservation_id: str) -> dict[str, Any]:
    return {"capacity_reservation_preference": "capacity-reservations-only",
            "capacity_reservation_target": {"capacity_reservation_id": reservation_id}}


def node_launch_template(name: str, spec: PlatformSpec, *, volume_key: aws.kms.Key, disk_gb: int,
                         opts: pulumi.ResourceOptions, network_interfaces: list[dict[str, Any]] | None = None,
                         placement_group: aws.ec2.PlacementGroup | None = None, reservation_id: str | None = None,
                         capacity_block: bool = False, hop_limit: int = 2) -> aws.ec2.LaunchTemplate:
    """The template every node pool uses. Hop limit 2 lets pods on the host network reach IMDS; tokens are required."""
    return aws.ec2.LaunchTemplate(
        name,
        update_default_version=True,
        metadata_options={"http_endpoint": "enabled", "http_tokens": "required",
                          "http_put_response_hop_limit": hop_limit, "instance_metadata_tags": "disabled"},
        block_device_mappings=[{"device_name": "/dev/xvda",
                                "ebs": {"volume_size": disk_gb, "volume_type": "gp3", "iops": 3000, "throughput": 250,
                                        "encrypted": "true", "kms_key_id": volume_key.arn,
                                        "delete_on_termination": "true"}}],
        network_interfaces=network_interfaces,
        placement={"group_name": placement_group.name} if placement_group is not None else None,
        capacity_reservation_specification=capacity_reservation(reservation_id) if reservation_id else None,
        instance_market_options={"market_type": "capacity-block"} if capacity_block else None,
        tag_specifications=[{"resource_type": kind, "tags": spec.aws_tags()} for kind in ("instance", "volume")],
        tags=spec.aws_tags(), opts=opts)
