"""``aiplatform:aws:GpuNodePool``: an EKS managed node group of GPU instances, from one ``GpuPool`` spec.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from blueprint.spec import CapacityType, Cloud, GpuPool, PlatformSpec
from blueprint.spec.names import EFA_NODE_LABEL, EFA_RESOURCE, GPU_RESOURCE
from components.aws.iam import ServiceRole
from components.aws.launch_template import efa_interfaces, node_launch_template
from components.compute import GpuNodePoolBase

AMI_TYPE = "AL2023_x86_64_NVIDIA"


def capacity_type(pool: GpuPool) -> str:
    """The EKS capacity type: ODCRs run as ON_DEMAND targeted by the launch template; Capacity Blocks have their own."""
    if pool.capacity_type is CapacityType.spot:
        return "SPOT"
    if pool.capacity_type is CapacityType.reserved and pool.reservation_type == "capacity-block":
        return "CAPACITY_BLOCK"
    return "ON_DEMAND"


# The cluster autoscaler's AWS GPU label: a node carrying it but not yet advertising nvidia.com/gpu (device plugin
# still starting) is counted as unready instead of triggering a second scale-up.
CA_GPU_LABEL = "k8s.amazonaws.com/accelerator"


def node_labels(pool: GpuPool) -> dict[str, str]:
    """The spec's shared labels plus the AWS-only ones the autoscaler and the EFA device plugin select on."""
    labels = {**pool.labels, CA_GPU_LABEL: pool.accelerator}
    if pool.uses_efa(Cloud.aws):
        labels[EFA_NODE_LABEL] = "true"
    return labels


def autoscaler_tags(cluster_name: str, pool: GpuPool, gpus: int) -> dict[str, str]:
    """Node-template tags the cluster autoscaler reads from the ASG to scale a pool up from zero nodes.

    Every extended resource a pod requests must be here, or the autoscaler believes a new node cannot fit the pod:
    GPUs always, EFA devices on EFA pools (training pods request ``vpc.amazonaws.com/efa``).
    """
    prefix = "k8s.io/cluster-autoscaler/node-template"
    tags = {"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{cluster_name}": "owned",
            f"{prefix}/resources/{GPU_RESOURCE}": str(gpus)}
    if pool.uses_efa(Cloud.aws):
        tags[f"{prefix}/resources/{EFA_RESOURCE}"] = str(pool.facts(Cloud.aws).efa_interfaces)
    tags.update({f"{prefix}/label/{k}": v for k, v in node_labels(pool).items()})
    tags[f"{prefix}/taint/{pool.taint.key}"] = f"{pool.taint.value}:{pool.taint.effect}"
    return tags


class GpuNodePool(GpuNodePoolBase):
    node_group: aws.eks.NodeGroup

    def __init__(self, name: str, spec: PlatformSpec, pool: GpuPool, *, cluster: aws.eks.Cluster, cluster_name: str,
                 node_role: ServiceRole, subnets_by_zone: dict[str, pulumi.Output[str]], volume_key: aws.kms.Key,
                 after: list[pulumi.Resource] | None = None, opts: pulumi.ResourceOptions):
        """``after``: what nodes need in the cluster before they start (the add-ons installed before compute)."""
        super().__init__("aiplatform:aws:GpuNodePool", name, pool, Cloud.aws, opts)
        child = pulumi.ResourceOptions(parent=self, provider=opts.provider)
        facts = pool.facts(Cloud.aws)
        zones = pool.zones or list(subnets_by_zone)
        placement_group = interfaces = None
        if pool.uses_efa(Cloud.aws):
            zones = zones[:1]  # EFA traffic and the cluster placement group need one zone
            interfaces = efa_interfaces(facts.efa_interfaces, cluster.vpc_config.cluster_security_group_id)
        if pool.placement_group is not None:  # the existing group the pool's ODCR was created in
            placement_group = pool.placement_group
        elif pool.uses_compact_placement(Cloud.aws):
            placement_group = aws.ec2.PlacementGroup(f"{name}-placement", strategy="cluster",
                                                     tags=spec.aws_tags(), opts=child).name
        template = node_launch_template(
            f"{name}-lt", spec, volume_key=volume_key, disk_gb=pool.disk_size_gb, opts=child,
            network_interfaces=interfaces, placement_group=placement_group,
            reservation_id=pool.reservation_id if pool.capacity_type is CapacityType.reserved else None,
            capacity_block=capacity_type(pool) == "CAPACITY_BLOCK")
        tags = autoscaler_tags(cluster_name, pool, facts.gpus)
        self.node_group = aws.eks.NodeGroup(
            name, cluster_name=cluster.name, node_group_name=f"{pool.name}", node_role_arn=node_role.arn,
            subnet_ids=[subnets_by_zone[z] for z in zones], instance_types=[pool.instance_type], ami_type=AMI_TYPE,
            capacity_type=capacity_type(pool),
            scaling_config={"min_size": pool.scaling.min, "desired_size": pool.scaling.desired,
                            "max_size": pool.scaling.max},
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            taints=[{"key": pool.taint.key, "value": pool.taint.value, "effect": pool.taint.cloud_effect}],
            labels=node_labels(pool), tags=spec.aws_tags(**tags),
            opts=pulumi.ResourceOptions(parent=self, provider=opts.provider, depends_on=after or [],
                                        ignore_changes=["scalingConfig.desiredSize"]))
        # Managed node groups do not copy their tags to the autoscaling group; tag it so scale-from-zero works.
        asg_name = self.node_group.resources.apply(lambda r: r[0].autoscaling_groups[0].name)
        for i, (key, value) in enumerate(sorted(tags.items())):
            aws.autoscaling.Tag(f"{name}-asg-tag-{i}", autoscaling_group_name=asg_name,
                                tag={"key": key, "value": value, "propagate_at_launch": False}, opts=child)
        self.register_outputs({"nodeGroupName": self.node_group.node_group_name})
