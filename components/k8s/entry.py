"""``aiplatform:workloads:ServingEntries``: the Pulumi-owned public entry point of every serving region.
Notes: docs/architecture.md, "Workloads in the clusters"."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from blueprint.spec import Cloud, PlatformSpec
from components.aws.ingress import AwsServingEntry, lb_name
from components.compute import RegionalCompute
from components.gcp.ingress import GcpServingEntry

ENVOY_NODE_PORT = 30080  # the NodePort Envoy's Service exposes on every node: the Pulumi-owned NLB's target port


@dataclass(frozen=True)
class Listener:
    """A Gateway listener (``gateway.py``); its name is the HTTPRoute's ``sectionName``."""

    name: str
    protocol: str
    port: int


HTTP = Listener("http", "HTTP", 80)
HTTPS = Listener("https", "HTTPS", 443)  # GKE: TLS from the Certificate Manager map
TTL = 60
DELEGATION_TTL = 3600  # the parent's NS record: a re-created zone's new name servers take over within the hour


def global_hostname(spec: PlatformSpec) -> str | None:
    s = spec.workloads.serving
    return f"{s.name}.{s.domain}" if s is not None and s.domain else None


def regional_hostname(spec: PlatformSpec, child_name: str) -> str | None:
    """The one name per region that global routing targets (a record in the serving zone)."""
    s = spec.workloads.serving
    return f"{s.name}.{child_name}.{s.domain}" if s is not None and s.domain else None


def global_member(spec: PlatformSpec, compute: RegionalCompute) -> bool:
    """Does this region answer for the global hostname (and so need it on its certificate)?"""
    serve = spec.workloads.serving
    assert serve is not None
    return compute.answers_global_name(serve.global_routing)


def gateway_fronted(spec: PlatformSpec, compute: RegionalCompute) -> bool:
    """False where the GCP global load balancer, not a Gateway, fronts the serving pods."""
    serve = spec.workloads.serving
    return serve is None or compute.fronted_by_gateway(serve.global_routing)


def certificate_names(spec: PlatformSpec, compute: RegionalCompute) -> list[str]:
    """The names one region's certificate covers: the global name where the region answers for it, its own."""
    regional = regional_hostname(spec, compute.child_name)
    glob = global_hostname(spec) if global_member(spec, compute) else None
    return [h for h in (glob, regional) if h]


@dataclass
class RegionEntry:
    """What one region's Gateway and global routing need from its entry point."""

    compute: RegionalCompute
    hostname: str | None            # the region's own public name
    public_port: int                # where clients and health checks connect (443 with TLS, else 80)
    tls: bool
    listener: Listener = HTTP       # the Gateway's listener
    gateway_annotations: dict[str, Any] = field(default_factory=dict)
    gateway_addresses: list[dict[str, Any]] = field(default_factory=list)
    gateway_after: list[pulumi.Resource] = field(default_factory=list)
    load_balancer: aws.lb.LoadBalancer | None = None  # EKS
    address: Any = None                                # GKE: gcp.compute.GlobalAddress


class ServingZone(pulumi.ComponentResource):
    """The Route 53 zone holding ``serving.domain`` (``serving.dns``: existing, delegated from a Route 53 parent, or
    created for a delegation by hand), and the records written in it."""

    def __init__(self, spec: PlatformSpec, provider: pulumi.ProviderResource,
                 opts: pulumi.ResourceOptions | None = None):
        serve = spec.workloads.serving
        assert serve is not None and serve.domain
        dns = serve.dns
        super().__init__("aiplatform:workloads:ServingZone", f"{serve.name}-dns", None, opts)
        self._opts = pulumi.ResourceOptions(parent=self, provider=provider)
        lookup = pulumi.InvokeOutputOptions(parent=self, provider=provider)
        self.domain = serve.domain
        # names written here resolve publicly: ACM can validate and health checks can probe (model.ServingDns)
        self.resolvable = dns.resolvable
        # what must exist before anything waits on a name in the zone resolving (the parent's delegation)
        self.ready: list[pulumi.Resource] = []
        self.zone: aws.route53.Zone | None = None
        if dns.existing_zone is not None:  # looked up, never created: its lifecycle is not this stack's
            found = aws.route53.get_zone_output(name=dns.existing_zone, private_zone=False, opts=lookup)
            self.name = dns.existing_zone
            self.zone_id: pulumi.Output[str] = found.zone_id
            self.name_servers: pulumi.Output[list[str]] = found.name_servers
            delegation = f"existing zone {dns.existing_zone}"
        else:
            self.zone = aws.route53.Zone(f"{serve.name}-zone", name=serve.domain,
                                         comment=f"{spec.environment} serving", force_destroy=not spec.is_production,
                                         tags=spec.aws_tags(), opts=self._opts)
            self.name, self.zone_id, self.name_servers = serve.domain, self.zone.zone_id, self.zone.name_servers
            if dns.parent_zone is not None:
                parent = aws.route53.get_zone_output(name=dns.parent_zone, private_zone=False, opts=lookup)
                self.ready.append(aws.route53.Record(
                    f"{serve.name}-delegation", zone_id=parent.zone_id, name=serve.domain, type="NS",
                    ttl=DELEGATION_TTL, records=self.zone.name_servers, opts=self._opts))
                delegation = f"delegated from {dns.parent_zone} by this stack"
            elif dns.delegated:
                delegation = "delegated by hand (workloads.serving.dns.delegated)"
            else:
                delegation = (f"NOT DELEGATED: add an NS record for {serve.domain} with these name servers at "
                              "the parent zone's DNS, then set workloads.serving.dns.delegated: true and run "
                              "`pulumi up` again for TLS")
        self.summary = {"name": self.name, "zoneId": self.zone_id, "nameServers": self.name_servers,
                        "delegation": delegation}
        self._validation: dict[str, aws.route53.Record] = {}
        self.register_outputs(self.summary)

    def record(self, name: str, fqdn: pulumi.Input[str], type_: str, values: list[pulumi.Input[str]],
               **extra: Any) -> aws.route53.Record:
        return aws.route53.Record(name, zone_id=self.zone_id, name=fqdn, type=type_, ttl=TTL, records=values,
                                  **extra, opts=self._opts)

    def alias(self, name: str, fqdn: str, dns_name: pulumi.Input[str],
              zone_id: pulumi.Input[str]) -> aws.route53.Record:
        return aws.route53.Record(name, zone_id=self.zone_id, name=fqdn, type="A", aliases=[
            aws.route53.RecordAliasArgs(name=dns_name, zone_id=zone_id, evaluate_target_health=True)],
            opts=self._opts)

    def acm_validation(self, cert: aws.acm.Certificate, domain: str) -> aws.route53.Record:
        """The DNS validation record for ``domain``. ACM gives one account the same record for a domain on every
        certificate, so the certificates of several regions share one record (declared once). In a zone this
        stack does not own, the record may already exist (another stack's certificate for the same name): it is
        overwritten with the identical value, as terraform-aws-modules/terraform-aws-acm does by default
        (``validation_allow_overwrite_records``)."""
        if domain not in self._validation:
            option = cert.domain_validation_options.apply(lambda opts: next(o for o in opts if o.domain_name == domain))
            self._validation[domain] = self.record(
                f"{domain}-acm-validation", option.resource_record_name, "CNAME", [option.resource_record_value],
                allow_overwrite=True)
        return self._validation[domain]


class ServingEntries(pulumi.ComponentResource):
    """The serving zone and each serving region's entry point; ``regions`` by region key."""

    def __init__(self, spec: PlatformSpec, computes: dict[str, RegionalCompute],
                 opts: pulumi.ResourceOptions | None = None):
        serve = spec.workloads.serving
        assert serve is not None
        super().__init__("aiplatform:workloads:ServingEntries", f"{serve.name}-entries", None, opts)
        aws_home = next((c for c in computes.values() if c.region.cloud is Cloud.aws), None)
        self.zone = ServingZone(spec, aws_home.cloud_provider, pulumi.ResourceOptions(parent=self)) \
            if serve.domain and aws_home is not None else None
        self._authorizations: dict[str, Any] = {}
        self.regions: dict[str, RegionEntry] = {}
        for key in serve.regions:
            compute = computes.get(key)
            if compute is None or compute.k8s_provider is None or not gateway_fronted(spec, compute):
                continue
            declare = self._aws if compute.region.cloud is Cloud.aws else self._gcp
            self.regions[key] = declare(spec, compute)
        self.register_outputs({"hostnames": {k: e.hostname for k, e in self.regions.items()}})

    # --- EKS --------------------------------------------------------------------------------------------------
    def _aws(self, spec: PlatformSpec, compute: RegionalCompute) -> RegionEntry:
        serve = spec.workloads.serving
        assert serve is not None and compute.system_asg_name is not None
        name = f"{compute.child_name}-{serve.name}"
        opts = pulumi.ResourceOptions(parent=self, provider=compute.cloud_provider)
        names = certificate_names(spec, compute)
        tls = bool(names) and self.zone is not None
        certificate_arn = None
        if tls:
            cert = aws.acm.Certificate(f"{name}-cert", domain_name=names[0], subject_alternative_names=names[1:],
                                       validation_method="DNS", key_algorithm="EC_prime256v1",
                                       tags=spec.aws_tags(Name=name), opts=opts)
            # the records are written either way: ACM validates as soon as the zone is delegated
            records = [self.zone.acm_validation(cert, d) for d in names]
            # Waiting for issuance (CertificateValidation, 75 min by default) only where ACM can resolve the
            # records; an undelegated zone would hang the `up` and then fail it. The listener needs an issued
            # certificate, so it comes with the `up` after `delegated: true` (model.ServingDns).
            if self.zone.resolvable:
                certificate_arn = aws.acm.CertificateValidation(
                    f"{name}-cert", certificate_arn=cert.arn, validation_record_fqdns=[r.fqdn for r in records],
                    opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                        depends_on=self.zone.ready))).certificate_arn
        entry = AwsServingEntry(
            name, spec, lb_name=lb_name(spec, serve.name), vpc_id=compute.network_id,
            public_subnet_ids=compute.public_subnet_ids, cluster_security_group_id=compute.cluster_security_group_id,
            asg_name=compute.system_asg_name, node_port=ENVOY_NODE_PORT, tls=tls, certificate_arn=certificate_arn,
            opts=opts)
        hostname = regional_hostname(spec, compute.child_name)
        if hostname and self.zone is not None:
            self.zone.alias(f"{name}-regional", hostname, entry.load_balancer.dns_name, entry.load_balancer.zone_id)
        return RegionEntry(compute, hostname, entry.port, tls, load_balancer=entry.load_balancer)

    # --- GKE --------------------------------------------------------------------------------------------------
    def _gcp(self, spec: PlatformSpec, compute: RegionalCompute) -> RegionEntry:
        serve = spec.workloads.serving
        assert serve is not None
        name = f"{compute.child_name}-{serve.name}"
        opts = pulumi.ResourceOptions(parent=self, provider=compute.cloud_provider)
        names = certificate_names(spec, compute)
        auths = []
        for domain in names:
            if domain not in self._authorizations:  # one FIXED_RECORD authorization per domain per project
                auth = gcp.certificatemanager.DnsAuthorization(
                    f"{domain}-authorization", name=domain.replace(".", "-")[:63].rstrip("-"), domain=domain,
                    type="FIXED_RECORD", labels=spec.gcp_labels(), opts=opts)
                if self.zone is not None:
                    rr = auth.dns_resource_records.apply(lambda rs: rs[0])
                    self.zone.record(f"{domain}-gcp-authorization", rr.name, "CNAME", [rr.data])
                self._authorizations[domain] = auth
            auths.append(self._authorizations[domain])
        entry = GcpServingEntry(name, spec, base_name=f"{spec.prefix}-{compute.region.region}-{serve.name}"[:50].rstrip("-"),
                                hostnames=names, dns_authorizations=auths, opts=opts)
        hostname = regional_hostname(spec, compute.child_name)
        if hostname and self.zone is not None:
            self.zone.record(f"{name}-regional", hostname, "A", [entry.address.address])
        tls = entry.certificate_map_name is not None
        return RegionEntry(
            compute, hostname, 443 if tls else 80, tls, listener=HTTPS if tls else HTTP,
            gateway_annotations={"networking.gke.io/certmap": entry.certificate_map_name} if tls else {},
            gateway_addresses=[{"type": "NamedAddress", "value": entry.address_name}],
            gateway_after=[entry.address, *entry.tls_resources], address=entry.address)
