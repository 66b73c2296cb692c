"""``aiplatform:aws:ServingEntry``: the internet-facing NLB in front of one EKS cluster's Envoy Gateway.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from blueprint.spec import PlatformSpec

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
ANYWHERE = "0.0.0.0/0"


def listener_port(tls: bool) -> int:
    return 443 if tls else 80


def lb_name(spec: PlatformSpec, service: str) -> str:
    """Load balancer and target group names: unique per account and region, at most 32 characters."""
    return f"{spec.environment}-{service}"[:32].rstrip("-")


class AwsServingEntry(pulumi.ComponentResource):
    """NLB, its security group, target group, listener, ASG attachment and the node-side admission rule."""

    def __init__(self, name: str, spec: PlatformSpec, *, lb_name: str, vpc_id: pulumi.Input[str],
                 public_subnet_ids: list[pulumi.Input[str]], cluster_security_group_id: pulumi.Input[str],
                 asg_name: pulumi.Input[str], node_port: int, certificate_arn: pulumi.Input[str] | None,
                 opts: pulumi.ResourceOptions, tls: bool | None = None):
        """``tls``: the entry serves TLS (default: a certificate is given); TLS without a certificate ARN declares
        no listener until the certificate can be issued."""
        super().__init__("aiplatform:aws:ServingEntry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=opts.provider)
        tls = certificate_arn is not None if tls is None else tls
        port = listener_port(tls)
        tags = spec.aws_tags
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-nlb", vpc_id=vpc_id, description=f"internet-facing serving NLB: {port}/tcp in, NodePort out",
            tags=tags(Name=f"{name}-nlb"), opts=child)
        # The public listener is the entry point: this group, and only this group, admits the internet.
        self.public_rule = aws.vpc.SecurityGroupIngressRule(
            f"{name}-nlb-public", security_group_id=self.security_group.id, cidr_ipv4=ANYWHERE,
            ip_protocol="tcp", from_port=port, to_port=port, description="clients to the serving listener",
            tags=tags(Name=f"{name}-nlb-public"), opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-nlb-to-nodes", security_group_id=self.security_group.id,
            referenced_security_group_id=cluster_security_group_id, ip_protocol="tcp", from_port=node_port,
            to_port=node_port, description="traffic and health checks to the Envoy NodePort",
            tags=tags(Name=f"{name}-nlb-to-nodes"), opts=child)
        self.node_rule = aws.vpc.SecurityGroupIngressRule(
            f"{name}-nodes-from-nlb", security_group_id=cluster_security_group_id,
            referenced_security_group_id=self.security_group.id, ip_protocol="tcp", from_port=node_port,
            to_port=node_port, description="serving NLB to the Envoy NodePort",
            tags=tags(Name=f"{name}-nodes-from-nlb"), opts=child)
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-nlb", name=lb_name, load_balancer_type="network", internal=False,
            ip_address_type="ipv4", subnets=public_subnet_ids, security_groups=[self.security_group.id],
            enable_cross_zone_load_balancing=True, enable_deletion_protection=spec.is_production,
            tags=tags(Name=name), opts=child)
        self.target_group = aws.lb.TargetGroup(
            f"{name}-envoy", name=lb_name, target_type="instance", protocol="TCP", port=node_port,
            vpc_id=vpc_id, preserve_client_ip="true", deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(protocol="TCP", port="traffic-port", interval=10,
                                                           healthy_threshold=3, unhealthy_threshold=3),
            tags=tags(Name=f"{name}-envoy"), opts=child)
        self.listener: aws.lb.Listener | None = None
        if certificate_arn is not None or not tls:  # ELB accepts only an issued certificate on a TLS listener
            self.listener = aws.lb.Listener(
                f"{name}-{port}", load_balancer_arn=self.load_balancer.arn, port=port,
                protocol="TLS" if tls else "TCP", certificate_arn=certificate_arn,
                ssl_policy=TLS_POLICY if tls else None,
                default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward",
                                                                  target_group_arn=self.target_group.arn)],
                tags=tags(Name=f"{name}-{port}"), opts=child)
        self.attachment = aws.autoscaling.Attachment(
            f"{name}-system-nodes", autoscaling_group_name=asg_name, lb_target_group_arn=self.target_group.arn,
            opts=child)
        self.port = port
        self.register_outputs({"loadBalancerArn": self.load_balancer.arn, "dnsName": self.load_balancer.dns_name})
