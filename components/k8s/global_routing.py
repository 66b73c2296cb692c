"""``aiplatform:workloads:GlobalRouting``: one global name in front of every serving region.

- ``route53-latency``: a latency record per region (CNAME to the region's hostname, which external-dns publishes
  from the HTTPRoute) with a Route 53 health check on ``/readyz``; an unhealthy region drops out of answers.
- ``global-accelerator``: an accelerator, a TCP listener and an endpoint group per AWS region, health-checking
  ``/readyz``. Endpoints (the regional load balancer ARNs) are not known to this program: see the seam below.
- ``gcp-global-lb``: a global external Application Load Balancer whose backends are the standalone NEGs GKE
  creates for the serving Service in each GCP region's zones.
Route 53 and Global Accelerator are global services: they use the first AWS region's provider.
"""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from blueprint.spec import Cloud, PlatformSpec
from components.compute import RegionalCompute
from components.k8s import serving

HEALTH_PATH = "/readyz"
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


def latency_region(compute: RegionalCompute) -> str:
    region = compute.region
    if region.cloud is Cloud.aws:
        return region.region
    return NEAREST_AWS_REGION.get(region.region, "us-east-1")


class GlobalRouting(pulumi.ComponentResource):
    """Declares the spec's ``globalRouting`` mode over the serving regions' computes."""

    def __init__(self, spec: PlatformSpec, computes: list[RegionalCompute],
                 opts: pulumi.ResourceOptions | None = None):
        serve = spec.workloads.serving
        assert serve is not None and serve.global_routing != "none"
        super().__init__("aiplatform:workloads:GlobalRouting", f"{serve.name}-global", None, opts)
        self.hostname = serving.global_hostname(spec)
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
        assert serve is not None and serve.domain and self.hostname
        opts = pulumi.ResourceOptions(parent=self, provider=home.cloud_provider)
        # The platform owns the delegated zone for the domain; the parent zone delegates to its name servers.
        zone = aws.route53.Zone(f"{serve.name}-zone", name=serve.domain, comment=f"{spec.environment} serving",
                                force_destroy=not spec.is_production, tags=spec.aws_tags(), opts=opts)
        for c in computes:
            target = serving.regional_hostname(spec, c.child_name)
            check = aws.route53.HealthCheck(
                f"{c.child_name}-{serve.name}-health", type="HTTPS", fqdn=target, port=443,
                resource_path=HEALTH_PATH, enable_sni=True, request_interval=10, failure_threshold=3,
                measure_latency=True, tags=spec.aws_tags(Name=f"{serve.name}-{c.child_name}"), opts=opts)
            aws.route53.Record(
                f"{c.child_name}-{serve.name}-latency", zone_id=zone.zone_id, name=self.hostname, type="CNAME",
                ttl=60, records=[target], set_identifier=c.region.key, health_check_id=check.id,
                latency_routing_policies=[aws.route53.RecordLatencyRoutingPolicyArgs(region=latency_region(c))],
                opts=opts)

    def _accelerator(self, spec: PlatformSpec, computes: list[RegionalCompute]) -> None:
        serve = spec.workloads.serving
        assert serve is not None
        # Global Accelerator is homed in us-west-2 whatever region the provider names; it is a global resource.
        opts = pulumi.ResourceOptions(parent=self, provider=computes[0].cloud_provider)
        accel = aws.globalaccelerator.Accelerator(
            f"{serve.name}-accelerator", name=f"{spec.name_prefix}-{serve.name}"[:64], ip_address_type="IPV4",
            enabled=True, tags=spec.aws_tags(), opts=opts)
        listener = aws.globalaccelerator.Listener(
            f"{serve.name}-listener", accelerator_arn=accel.arn, protocol="TCP", client_affinity="NONE",
            port_ranges=[aws.globalaccelerator.ListenerPortRangeArgs(from_port=443, to_port=443)], opts=opts)
        for c in computes:
            # Seam: endpoint_configurations need the regional load balancer's ARN, which the ingress controller
            # creates for the shared Gateway; pass it in once the compute components expose it.
            aws.globalaccelerator.EndpointGroup(
                f"{c.child_name}-{serve.name}-endpoints", listener_arn=listener.arn,
                endpoint_group_region=c.region.region, health_check_path=HEALTH_PATH, health_check_port=443,
                health_check_protocol="HTTPS", health_check_interval_seconds=10, threshold_count=3,
                traffic_dial_percentage=100, opts=opts)

    def _gcp_lb(self, spec: PlatformSpec, computes: list[RegionalCompute]) -> None:
        import pulumi_gcp as gcp

        serve = spec.workloads.serving
        assert serve is not None and computes, "gcp-global-lb needs a GCP serving region (validated in the spec)"
        opts = pulumi.ResourceOptions(parent=self, provider=computes[0].cloud_provider)
        base = f"{spec.name_prefix}-{serve.name}"
        address = gcp.compute.GlobalAddress(f"{serve.name}-ip", name=f"{base}-ip", labels=spec.gcp_labels(),
                                            opts=opts)
        check = gcp.compute.HealthCheck(
            f"{serve.name}-hc", name=f"{base}-hc", check_interval_sec=10, timeout_sec=5, unhealthy_threshold=3,
            http_health_check=gcp.compute.HealthCheckHttpHealthCheckArgs(
                port_specification="USE_SERVING_PORT", request_path=HEALTH_PATH), opts=opts)
        backends = []
        for c in computes:
            for zone in c.region.facts.zones[:spec.zone_count(c.region)]:
                backends.append(gcp.compute.BackendServiceBackendArgs(
                    group=f"projects/{spec.gcp_project}/zones/{zone}/networkEndpointGroups/{serving.neg_name(spec)}",
                    balancing_mode="RATE", max_rate_per_endpoint=50))
        backend = gcp.compute.BackendService(
            f"{serve.name}-backend", name=f"{base}-backend", load_balancing_scheme="EXTERNAL_MANAGED",
            protocol="HTTP", health_checks=check.id, backends=backends, timeout_sec=60,
            connection_draining_timeout_sec=30, opts=opts)
        url_map = gcp.compute.URLMap(f"{serve.name}-urlmap", name=f"{base}-urlmap", default_service=backend.id,
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
