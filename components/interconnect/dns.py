"""``aiplatform:network:PrivateDns``: names that resolve from every region of the stack, on both clouds.
Notes: docs/architecture.md, "Interconnect"."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from blueprint.spec import AddressPlan, Cloud, PlatformSpec
from blueprint.spec.topology import HA_VPN, Link
from components.compute import RegionalCompute
from components.interconnect.vpn import CLOUD_DNS_FORWARDING_RANGE

DNS_PORTS = [("udp", 53), ("tcp", 53)]


def zone_names(spec: PlatformSpec) -> dict[str, str]:
    return {"aws": f"aws.{spec.prefix}.internal", "gcp": f"gcp.{spec.prefix}.internal"}


class PrivateDns(pulumi.ComponentResource):
    def __init__(self, spec: PlatformSpec, addresses: AddressPlan, regions: dict[str, RegionalCompute],
                 links: list[Link], opts: pulumi.ResourceOptions | None = None):
        name = f"{spec.environment}-dns"
        super().__init__("aiplatform:network:PrivateDns", name, None, opts)
        self.spec, self.addresses = spec, addresses
        names = zone_names(spec)
        aws_regions = [c for c in regions.values() if c.region.cloud is Cloud.aws]
        gcp_regions = [c for c in regions.values() if c.region.cloud is Cloud.gcp]
        vpn = [l for l in links if l.kind == HA_VPN]
        outputs: dict[str, object] = {"zones": {}}
        if aws_regions:
            # A private zone is created with one VPC; the others join through ZoneAssociation (and the zone
            # ignores its vpcs list so the two never fight), so adding a region only adds an association.
            first = aws_regions[0]
            zone = aws.route53.Zone(
                f"{name}-{first.child_name}", name=names["aws"],
                comment=f"{spec.environment}: private names of the AWS regions",
                vpcs=[{"vpc_id": first.network_id, "vpc_region": first.region.region}],
                force_destroy=not spec.is_production, tags=spec.aws_tags(),
                opts=pulumi.ResourceOptions(parent=self, provider=first.cloud_provider, ignore_changes=["vpcs"]))
            for c in aws_regions[1:]:
                aws.route53.ZoneAssociation(f"{name}-{c.child_name}", zone_id=zone.zone_id, vpc_id=c.network_id,
                                            vpc_region=c.region.region,
                                            opts=pulumi.ResourceOptions(parent=self, provider=c.cloud_provider))
            outputs["zones"]["aws"] = {"name": names["aws"], "zoneId": zone.zone_id}
        if gcp_regions:
            first = gcp_regions[0]
            self.gcp_opts = pulumi.ResourceOptions(parent=self, provider=first.cloud_provider)
            self.network = [{"network_url": first.network_id}]
            zone = gcp.dns.ManagedZone(f"{name}-gcp", name=f"{spec.prefix}-gcp-internal", dns_name=names["gcp"] + ".",
                                       visibility="private", private_visibility_config={"networks": self.network},
                                       description=f"{spec.environment}: private names of the GCP regions",
                                       force_destroy=not spec.is_production, opts=self.gcp_opts)
            outputs["zones"]["gcp"] = {"name": names["gcp"], "zoneId": zone.id}
        if vpn:
            outputs["forwarding"] = self._cross_cloud(name, names, regions, vpn)
        self.register_outputs(outputs)

    def _cross_cloud(self, name: str, names: dict[str, str], regions: dict[str, RegionalCompute],
                     vpn: list[Link]) -> dict[str, list[str]]:
        spec = self.spec
        policy = gcp.dns.Policy(f"{name}-inbound", name=f"{spec.prefix}-inbound", enable_inbound_forwarding=True,
                                enable_logging=True, networks=self.network,
                                description="Cloud DNS inbound forwarders, for Route 53 Resolver over the VPN",
                                opts=self.gcp_opts)
        forwarders = {}
        for gcp_key in sorted({l.b for l in vpn}):
            gcp_c = regions[gcp_key]
            subnet = gcp_c.network.subnet  # type: ignore[attr-defined]  # GcpRegion's regional network
            found = gcp.compute.get_addresses_output(
                filter=pulumi.Output.concat('(purpose = "DNS_RESOLVER") AND (subnetwork = "', subnet.self_link, '")'),
                region=gcp_c.region.region,
                opts=pulumi.InvokeOutputOptions(parent=self, provider=gcp_c.cloud_provider, depends_on=[policy]))
            forwarders[gcp_key] = found.addresses.apply(lambda a: [{"ip": x.address, "port": 53} for x in a or []])

        inbound_ips = []
        routed: dict[str, list[str]] = {}
        for aws_key in sorted({l.a for l in vpn}):
            c = regions[aws_key]
            gcp_keys = [l.b for l in vpn if l.a == aws_key]
            gcp_blocks = [str(self.addresses[k].block) for k in gcp_keys]
            opts = pulumi.ResourceOptions(parent=self, provider=c.cloud_provider)
            label = f"{name}-{c.child_name}"
            inbound_sg = aws.ec2.SecurityGroup(
                f"{label}-inbound", vpc_id=c.network_id, description="DNS from Cloud DNS forwarding (over the VPN)",
                ingress=[{"protocol": p, "from_port": port, "to_port": port,
                          "cidr_blocks": [CLOUD_DNS_FORWARDING_RANGE]} for p, port in DNS_PORTS],
                tags=spec.aws_tags(Name=f"{label}-inbound"), opts=opts)
            outbound_sg = aws.ec2.SecurityGroup(
                f"{label}-outbound", vpc_id=c.network_id, description="DNS to Cloud DNS inbound forwarders",
                egress=[{"protocol": p, "from_port": port, "to_port": port, "cidr_blocks": gcp_blocks}
                        for p, port in DNS_PORTS],
                tags=spec.aws_tags(Name=f"{label}-outbound"), opts=opts)
            subnets = [{"subnet_id": s} for s in c.private_subnet_ids]
            inbound = aws.route53.ResolverEndpoint(
                f"{label}-inbound", name=f"{label}-inbound", direction="INBOUND", resolver_endpoint_type="IPV4",
                protocols=["Do53"], security_group_ids=[inbound_sg.id], ip_addresses=subnets,
                tags=spec.aws_tags(), opts=opts)
            outbound = aws.route53.ResolverEndpoint(
                f"{label}-outbound", name=f"{label}-outbound", direction="OUTBOUND", resolver_endpoint_type="IPV4",
                protocols=["Do53"], security_group_ids=[outbound_sg.id], ip_addresses=subnets,
                tags=spec.aws_tags(), opts=opts)
            targets = pulumi.Output.all(*[forwarders[k] for k in gcp_keys]).apply(
                lambda lists: [t for ts in lists for t in ts])
            rule = aws.route53.ResolverRule(
                f"{label}-to-gcp", name=f"{label}-to-gcp", domain_name=names["gcp"], rule_type="FORWARD",
                resolver_endpoint_id=outbound.id, target_ips=targets, tags=spec.aws_tags(),
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy])))
            aws.route53.ResolverRuleAssociation(f"{label}-to-gcp", resolver_rule_id=rule.id, vpc_id=c.network_id,
                                                name=f"{label}-to-gcp", opts=opts)
            inbound_ips.append(inbound.ip_addresses.apply(lambda ips: [i.ip for i in ips or [] if i.ip]))
            routed[aws_key] = gcp_keys

        gcp.dns.ManagedZone(
            f"{name}-aws-forward", name=f"{spec.prefix}-aws-internal", dns_name=names["aws"] + ".",
            visibility="private", private_visibility_config={"networks": self.network},
            description="Forwards the AWS private zone to Route 53 Resolver inbound endpoints over the VPN",
            forwarding_config={"target_name_servers": pulumi.Output.all(*inbound_ips).apply(
                lambda lists: [{"ipv4_address": ip, "forwarding_path": "private"} for ips in lists for ip in ips])},
            opts=self.gcp_opts)
        return routed
