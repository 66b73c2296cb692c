"""``aiplatform:workloads:GlobalRouting``: one global name in front of every serving region.
Notes: docs/architecture.md, "Workloads in the clusters"."""
from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from blueprint.spec import Cloud, PlatformSpec
from components.compute import RegionalCompute
from components.k8s import serving
from components.k8s.entry import ServingEntries
from workloads.contract import READYZ_PATH, SERVE_PORT

# Route 53 latency records name an AWS region; a GCP region is measured as its nearest AWS region.
NEAREST_AWS_REGION = {
    "us-central1": "us-east-2", "us-east1": "us-east-1", "us-east4": "us-east-1", "us-east5": "us-east-2",
    "us-south1": "us-east-2", "us-west1": "us-west-2", "us-west2": "us-west-1", "us-west3": "us-west-2",
    "us-west4": "us-west-1", "northamerica-northeast1": "ca-central-1", "europe-west1": "eu-west-1",
    "europe-west2": "eu-west-2", "europe-west3": "eu-central-1", "europe-west4": "eu-central-1",
    "europe-west9": "eu-west-3", "europe-north1": "eu-north-1", "asia-northeast1": "ap-northeast-1",
    "asia-northeast3": "ap-northeast-2", "asia-southeast1": "ap-southeast-1", "asia-south1": "ap-south-1",
    "australia-southeast1": "ap-southeast-2",
}


def neg_groups(project: str, annotations: dict[str, Any] | None, planned: tuple[str, str, list[str]],
               dry_run: bool) -> list[str]:
    """The NEGs GKE created for one Service, as backend group URLs, from the Service's ``neg-status`` annotation
    (``{"network_endpoint_groups": {"<port>": "<name>"}, "zones": [...]}``). In a preview the Service does not
    exist yet: ``planned`` (port, name, zones) stands in. After a deployment the status must be there, since
    the Service waited for it."""
    status = (annotations or {}).get(serving.NEG_STATUS)
    port, name, zones = planned
    if status is None:
        if not dry_run:
            raise RuntimeError(f"Service for NEG {name} has no {serving.NEG_STATUS} annotation: GKE's NEG controller "
                               "did not create its NEGs (is the cluster VPC-native, with HttpLoadBalancing on?)")
    else:
        parsed = json.loads(status)
        name, zones = parsed["network_endpoint_groups"][str(port)], parsed["zones"]
    return [f"projects/{project}/zones/{zone}/networkEndpointGroups/{name}" for zone in zones]


class GlobalRouting(pulumi.ComponentResource):
    """Declares the spec's ``globalRouting`` mode over the serving regions' computes and entry points."""

    def __init__(self, spec: PlatformSpec, computes: list[RegionalCompute], entries: ServingEntries,
                 services: dict[str, serving.ServingService] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        """``services``: the serving deployments by region key (``gcp-global-lb`` reads their NEG Services)."""
        serve = spec.workloads.serving
        assert serve is not None and serve.global_routing != "none"
        super().__init__("aiplatform:workloads:GlobalRouting", f"{serve.name}-global", None, opts)
        self.hostname = serving.global_hostname(spec)
        self.entries = entries
        self.services = services or {}
        mode = serve.global_routing
        aws_computes = [c for c in computes if c.region.cloud is Cloud.aws]
        if mode in ("route53-latency", "global-accelerator") and not aws_computes:
            raise ValueError(f"globalRouting '{mode}' needs an AWS region (validated in the spec)")
        if mode == "route53-latency":
            self._route53(spec, computes, aws_computes[0])
        elif mode == "global-accelerator":
            self._accelerator(spec, aws_computes)
        else:
            self._gcp_lb(spec, [c for c in computes if c.region.cloud is Cloud.gcp])
        self.register_outputs({"hostname": self.hostname})

    def _route53(self, spec: PlatformSpec, computes: list[RegionalCompute], home: RegionalCompute) -> None:
        serve = spec.workloads.serving
        zone = self.entries.zone
        assert serve is not None and self.hostname and zone is not None, "a domain (validated in the spec)"
        opts = pulumi.ResourceOptions(parent=self, provider=home.cloud_provider)
        for c in computes:
            entry = self.entries.regions[c.region.key]
            assert entry.hostname is not None
            check = aws.route53.HealthCheck(
                f"{c.child_name}-{serve.name}-health", type="HTTPS" if entry.tls else "HTTP", fqdn=entry.hostname,
                port=entry.public_port, resource_path=READYZ_PATH, enable_sni=entry.tls, request_interval=10,
                failure_threshold=3, measure_latency=True, tags=spec.aws_tags(Name=f"{serve.name}-{c.child_name}"),
                opts=opts)
            aws.route53.Record(
                f"{c.child_name}-{serve.name}-latency", zone_id=zone.zone_id, name=self.hostname, type="CNAME",
                ttl=60, records=[entry.hostname], set_identifier=c.region.key, health_check_id=check.id,
                latency_routing_policies=[aws.route53.RecordLatencyRoutingPolicyArgs(region=c.latency_region)],
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=entry.gateway_after)))

    def _accelerator(self, spec: PlatformSpec, computes: list[RegionalCompute]) -> None:
        serve = spec.workloads.serving
        assert serve is not None
        # Global Accelerator is homed in us-west-2 whatever region the provider names; it is a global resource.
        opts = pulumi.ResourceOptions(parent=self, provider=computes[0].cloud_provider)
        entries = [self.entries.regions[c.region.key] for c in computes]
        ports = {e.public_port for e in entries}
        assert len(ports) == 1, "every NLB listens on the same port (TLS everywhere or nowhere: one domain)"
        port = ports.pop()
        accel = aws.globalaccelerator.Accelerator(
            f"{serve.name}-accelerator", name=f"{spec.prefix}-{serve.name}"[:64], ip_address_type="IPV4",
            enabled=True, tags=spec.aws_tags(), opts=opts)
        listener = aws.globalaccelerator.Listener(
            f"{serve.name}-listener", accelerator_arn=accel.arn, protocol="TCP", client_affinity="NONE",
            port_ranges=[aws.globalaccelerator.ListenerPortRangeArgs(from_port=port, to_port=port)], opts=opts)
        for c, entry in zip(computes, entries):
            assert entry.load_balancer is not None
            aws.globalaccelerator.EndpointGroup(
                f"{c.child_name}-{serve.name}-endpoints", listener_arn=listener.arn,
                endpoint_group_region=c.region.region, traffic_dial_percentage=100,
                endpoint_configurations=[aws.globalaccelerator.EndpointGroupEndpointConfigurationArgs(
                    endpoint_id=entry.load_balancer.arn, client_ip_preservation_enabled=True, weight=100)],
                opts=opts)
        if self.hostname and self.entries.zone is not None:
            self.entries.zone.alias(f"{serve.name}-global", self.hostname, accel.dns_name, accel.hosted_zone_id)

    def _gcp_lb(self, spec: PlatformSpec, computes: list[RegionalCompute]) -> None:
        serve = spec.workloads.serving
        assert serve is not None and computes, "gcp-global-lb needs a GCP serving region (validated in the spec)"
        opts = pulumi.ResourceOptions(parent=self, provider=computes[0].cloud_provider)
        base = f"{spec.prefix}-{serve.name}"
        address = gcp.compute.GlobalAddress(f"{serve.name}-ip", name=f"{base}-ip", labels=spec.gcp_labels(),
                                            opts=opts)
        check = gcp.compute.HealthCheck(
            f"{serve.name}-hc", name=f"{base}-hc", check_interval_sec=10, timeout_sec=5, unhealthy_threshold=3,
            http_health_check=gcp.compute.HealthCheckHttpHealthCheckArgs(
                port_specification="USE_SERVING_PORT", request_path=READYZ_PATH), opts=opts)
        tracks = {"stable": 100 - serve.canary_weight}
        if serve.canary_image and serve.canary_weight > 0:  # the canary Deployment and its NEGs exist
            tracks["canary"] = serve.canary_weight
        services = []
        dry_run = pulumi.runtime.is_dry_run()
        for track, weight in tracks.items():
            suffix = "" if track == "stable" else f"-{track}"
            # each region's Service for this track, complete once GKE has created its NEGs (serving.WAIT_FOR_NEGS)
            metas = [self.services[c.region.key].services[track].metadata for c in computes]
            planned = [(SERVE_PORT, serving.neg_name(spec, track), list(spec.zones(c.region))) for c in computes]
            backends = pulumi.Output.all(*metas).apply(lambda ms, planned=planned: [
                gcp.compute.BackendServiceBackendArgs(group=group, balancing_mode="RATE", max_rate_per_endpoint=50)
                for m, plan in zip(ms, planned)
                for group in neg_groups(spec.gcp_project, m.get("annotations") if isinstance(m, dict)
                                        else m.annotations, plan, dry_run)])
            backend = gcp.compute.BackendService(
                f"{serve.name}{suffix}-backend", name=f"{base}{suffix}-backend", load_balancing_scheme="EXTERNAL_MANAGED",
                protocol="HTTP", health_checks=check.id, backends=backends, timeout_sec=60,
                connection_draining_timeout_sec=30, opts=opts)
            services.append(gcp.compute.URLMapDefaultRouteActionWeightedBackendServiceArgs(
                backend_service=backend.id, weight=weight * 10))  # weights are 0..1000
        # the canary split the HTTPRoute does behind a Gateway, done by the load balancer itself
        url_map = gcp.compute.URLMap(
            f"{serve.name}-urlmap", name=f"{base}-urlmap",
            default_route_action=gcp.compute.URLMapDefaultRouteActionArgs(weighted_backend_services=services),
            opts=opts)
        if serve.domain:
            cert = gcp.compute.ManagedSslCertificate(
                f"{serve.name}-cert", name=f"{base}-cert",
                managed=gcp.compute.ManagedSslCertificateManagedArgs(domains=[self.hostname]), opts=opts)
            target = gcp.compute.TargetHttpsProxy(f"{serve.name}-https", name=f"{base}-https", url_map=url_map.id,
                                                  ssl_certificates=[cert.id], opts=opts).id
            port = "443"
        else:
            target = gcp.compute.TargetHttpProxy(f"{serve.name}-http", name=f"{base}-http", url_map=url_map.id,
                                                 opts=opts).id
            port = "80"
        gcp.compute.GlobalForwardingRule(
            f"{serve.name}-fr", name=f"{base}-fr", target=target, ip_address=address.address, port_range=port,
            load_balancing_scheme="EXTERNAL_MANAGED", labels=spec.gcp_labels(), opts=opts)
        # the managed certificate provisions once the name resolves to the forwarding rule's address
        if self.hostname and self.entries.zone is not None:
            self.entries.zone.record(f"{serve.name}-global", self.hostname, "A", [address.address])
