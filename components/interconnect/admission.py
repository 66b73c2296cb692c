"""``aiplatform:network:RemoteAdmission``: an AWS region's nodes admit what its private routes bring in.

Routes carry packets from the other regions to a VPC, but the EKS security groups only admit the cluster
itself, so without this the private paths would route and then drop. One ingress rule per remote prefix (the
blocks ``topology.reachable_prefixes`` lists for the region, less its own) and per port range below, on the EKS
cluster security group: EKS puts it on every managed node (our launch templates name no other group, EFA
interfaces name it explicitly) and, under the VPC CNI, pods use their node's interfaces and VPC addresses.

What a client in another region (or on GCP) gets, and why:

* TCP 30000-32767, the Kubernetes NodePort range: Services of type NodePort and LoadBalancer (an internal NLB
  with instance targets keeps the client address, so the node sees the remote prefix);
* TCP 8080 (``serving.PORT``): the inference server's container port, for IP-mode load balancer targets and
  direct pod calls (pod addresses are VPC addresses); Kubernetes network policies still decide which pods;
* ICMP destination unreachable / fragmentation needed (type 3 code 4): path MTU discovery, since the VPN tunnels
  carry less than the nodes' 9001-byte MTU; and ICMP echo request (type 8): reachability checks.

Deliberately not 443 or "all traffic": the cluster security group is also on the EKS control plane's network
interfaces, so 443 would open the private API server to every other region (only the deployer's range gets 443,
``components/access/path.py``), and all traffic would expose the kubelet (10250) and node-local daemons. GCP needs no rule here: its network admits the supernet
(``components/gcp/network.py``), and ``Interconnect`` adds a rule for AWS blocks outside it.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec
from components.compute import RegionalCompute
from components.k8s.serving import PORT as SERVING_PORT


@dataclass(frozen=True)
class Admitted:
    label: str
    protocol: str
    from_port: int  # ICMP: the type
    to_port: int  # ICMP: the code (-1: every code)
    why: str


ADMITTED = (
    Admitted("nodeports", "tcp", 30000, 32767, "Kubernetes NodePorts (NodePort/LoadBalancer Services)"),
    Admitted("serving", "tcp", SERVING_PORT, SERVING_PORT, "inference server pods"),
    Admitted("pmtu", "icmp", 3, 4, "ICMP fragmentation needed (path MTU discovery)"),
    Admitted("ping", "icmp", 8, -1, "ICMP echo (reachability checks)"),
)


class RemoteAdmission(pulumi.ComponentResource):
    def __init__(self, spec: PlatformSpec, compute: RegionalCompute, remote_prefixes: list[tuple[str, str]],
                 opts: pulumi.ResourceOptions | None = None):
        """``remote_prefixes``: (region key, CIDR) of every block routed to this region from elsewhere."""
        name = f"{compute.child_name}-admit"
        super().__init__("aiplatform:network:RemoteAdmission", name, None, opts)
        assert compute.cluster_security_group_id is not None, "AWS regions expose their EKS cluster security group"
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
