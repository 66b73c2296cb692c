"""Launch templates for EKS managed node groups: IMDSv2 only with a hop limit of 1, an encrypted gp3 root volume,
and, for GPU pools, EFA interfaces, a cluster placement group and capacity reservations."""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec

IMDS_HOP_LIMIT = 1  # a pod's own network namespace is one hop more: IMDSv2 tokens never reach it


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
                         placement_group: pulumi.Input[str] | None = None, reservation_id: str | None = None,
                         capacity_block: bool = False) -> aws.ec2.LaunchTemplate:
    """The template every node pool uses: IMDSv2 tokens required, hop limit 1, so only processes on the host network
    (kubelet, aws-node, kube-proxy, the Pod Identity agent, the EFA plugin) reach IMDS and no other pod can take the
    node role's credentials (EKS best practices, "Restrict access to the instance profile assigned to the worker
    node"; rationale and what relies on it instead: docs/architecture.md, "Node metadata")."""
    return aws.ec2.LaunchTemplate(
        name,
        update_default_version=True,
        metadata_options={"http_endpoint": "enabled", "http_tokens": "required",
                          "http_put_response_hop_limit": IMDS_HOP_LIMIT, "instance_metadata_tags": "disabled"},
        block_device_mappings=[{"device_name": "/dev/xvda",
                                "ebs": {"volume_size": disk_gb, "volume_type": "gp3", "iops": 3000, "throughput": 250,
                                        "encrypted": "true", "kms_key_id": volume_key.arn,
                                        "delete_on_termination": "true"}}],
        network_interfaces=network_interfaces,
        placement={"group_name": placement_group} if placement_group is not None else None,
        capacity_reservation_specification=capacity_reservation(reservation_id) if reservation_id else None,
        instance_market_options={"market_type": "capacity-block"} if capacity_block else None,
        tag_specifications=[{"resource_type": kind, "tags": spec.aws_tags()} for kind in ("instance", "volume")],
        tags=spec.aws_tags(), opts=opts)
