"""``aiplatform:network:RemoteAdmission``: an AWS region's nodes admit what its private routes bring in.
Notes: docs/architecture.md, "Interconnect"."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec
from workloads.contract import SERVE_PORT

if TYPE_CHECKING:  # the type only: no runtime edge to the region's module
    from components.aws.region import AwsRegion


@dataclass(frozen=True)
class Admitted:
    label: str
    protocol: str
    from_port: int  # ICMP: the type
    to_port: int  # ICMP: the code (-1: every code)
    why: str


ADMITTED = (
    Admitted("nodeports", "tcp", 30000, 32767, "Kubernetes NodePorts (NodePort/LoadBalancer Services)"),
    Admitted("serving", "tcp", SERVE_PORT, SERVE_PORT, "inference server pods"),
    Admitted("pmtu", "icmp", 3, 4, "ICMP fragmentation needed (path MTU discovery)"),
    Admitted("ping", "icmp", 8, -1, "ICMP echo (reachability checks)"),
)


class RemoteAdmission(pulumi.ComponentResource):
    def __init__(self, spec: PlatformSpec, compute: AwsRegion, remote_prefixes: list[tuple[str, str]],
                 opts: pulumi.ResourceOptions | None = None):
        """``remote_prefixes``: (region key, CIDR) of every block routed to this region from elsewhere."""
        name = f"{compute.child_name}-admit"
        super().__init__("aiplatform:network:RemoteAdmission", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=compute.cloud_provider)
        self.rules: list[aws.vpc.SecurityGroupIngressRule] = []
        for key, prefix in remote_prefixes:
            # The name carries this region as "aws-<region>" and an AWS source only as "<region>" (transit.py).
            source = key.removeprefix("aws/").replace("/", "-")
            for a in ADMITTED:
                label = f"{name}-{source}-{a.label}"
                self.rules.append(aws.vpc.SecurityGroupIngressRule(
                    label, security_group_id=compute.cluster_security_group_id, cidr_ipv4=prefix,
                    ip_protocol=a.protocol, from_port=a.from_port, to_port=a.to_port,
                    description=f"{a.why} from {key} over the interconnect",
                    tags=spec.aws_tags(Name=label), opts=child))
        self.register_outputs({"admittedPrefixes": [p for _, p in remote_prefixes]})
