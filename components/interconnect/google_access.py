"""``aiplatform:network:PrivateGoogleAccess``: Google APIs over the private.googleapis.com VIPs only.
Notes: docs/architecture.md, "Interconnect"."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec
from components.compute import RegionalCompute

PRIVATE_VIPS = ["199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"]
PRIVATE_RANGE = "199.36.153.8/30"
DOMAINS = ("googleapis.com", "gcr.io", "pkg.dev")


class PrivateGoogleAccess(pulumi.ComponentResource):
    def __init__(self, spec: PlatformSpec, compute: RegionalCompute, opts: pulumi.ResourceOptions | None = None):
        name = f"{spec.environment}-google-access"
        super().__init__("aiplatform:network:PrivateGoogleAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=compute.cloud_provider)
        gcp.compute.Route(f"{name}-vips", name=f"{spec.prefix}-private-googleapis", network=compute.network_id,
                          dest_range=PRIVATE_RANGE, next_hop_gateway="default-internet-gateway", priority=900,
                          description="private.googleapis.com VIPs for Private Google Access", opts=child)
        self.zones = {}
        for domain in DOMAINS:
            label = domain.replace(".", "-")
            zone = gcp.dns.ManagedZone(f"{name}-{label}", name=f"{spec.prefix}-{label}", dns_name=f"{domain}.",
                                       visibility="private",
                                       private_visibility_config={"networks": [{"network_url": compute.network_id}]},
                                       description=f"{domain} through private.googleapis.com", opts=child)
            apex = "private.googleapis.com." if domain == "googleapis.com" else f"{domain}."
            gcp.dns.RecordSet(f"{name}-{label}-a", managed_zone=zone.name, name=apex, type="A", ttl=300,
                              rrdatas=PRIVATE_VIPS, opts=child)
            gcp.dns.RecordSet(f"{name}-{label}-wildcard", managed_zone=zone.name, name=f"*.{domain}.", type="CNAME",
                              ttl=300, rrdatas=[apex], opts=child)
            self.zones[domain] = zone
        self.register_outputs({"privateRange": PRIVATE_RANGE, "domains": list(DOMAINS)})
