"""``aiplatform:aws:SystemNodePool``: on-demand CPU nodes for cluster add-ons, and the node role all pools share."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec, Region
from blueprint.spec.names import SYSTEM_POOL, system_nodes
from components.aws.iam import ServiceRole, service_role
from components.aws.launch_template import node_launch_template

NODE_POLICIES = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
]


def node_role(name: str, spec: PlatformSpec, opts: pulumi.ResourceOptions) -> ServiceRole:
    return service_role(name, "ec2.amazonaws.com", spec, NODE_POLICIES, opts)


class SystemNodePool(pulumi.ComponentResource):
    node_group: aws.eks.NodeGroup

    def __init__(self, name: str, spec: PlatformSpec, region: Region, *, cluster: aws.eks.Cluster,
                 node_role: ServiceRole, subnet_ids: list[pulumi.Output[str]], volume_key: aws.kms.Key,
                 after: list[pulumi.Resource] | None = None, opts: pulumi.ResourceOptions):
        """``after``: what nodes need in the cluster before they start (the add-ons installed before compute)."""
        super().__init__("aiplatform:aws:SystemNodePool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=opts.provider)
        pool = region.system_pool
        template = node_launch_template(f"{name}-lt", spec, volume_key=volume_key, disk_gb=50, opts=child)
        self.node_group = aws.eks.NodeGroup(
            name, cluster_name=cluster.name, node_group_name=SYSTEM_POOL, node_role_arn=node_role.arn,
            subnet_ids=subnet_ids, instance_types=[pool.instance_type], ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            scaling_config={"min_size": pool.scaling.min, "desired_size": pool.scaling.desired,
                            "max_size": pool.scaling.max},
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels=system_nodes(), tags=spec.aws_tags(),
            opts=pulumi.ResourceOptions(parent=self, provider=opts.provider, depends_on=after or [],
                                        ignore_changes=["scalingConfig.desiredSize"]))
        # The managed node group's own autoscaling group: load balancer target groups attach to it.
        self.autoscaling_group_name: pulumi.Output[str] = self.node_group.resources.apply(
            lambda rs: rs[0].autoscaling_groups[0].name)
        self.register_outputs({"nodeGroupName": self.node_group.node_group_name})
