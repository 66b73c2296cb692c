"""``aiplatform:gcp:ServingEntry``: the address and certificate of one GKE cluster's Gateway.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec


class GcpServingEntry(pulumi.ComponentResource):
    """``address_name`` and ``certificate_map_name`` are what the Gateway refers to."""

    def __init__(self, name: str, spec: PlatformSpec, *, base_name: str, hostnames: list[str],
                 dns_authorizations: list[gcp.certificatemanager.DnsAuthorization], opts: pulumi.ResourceOptions):
        super().__init__("aiplatform:gcp:ServingEntry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=opts.provider)
        labels = spec.gcp_labels()
        self.address_name = f"{base_name}-ip"
        self.address = gcp.compute.GlobalAddress(f"{name}-ip", name=self.address_name, address_type="EXTERNAL",
                                                 ip_version="IPV4", labels=labels, opts=child)
        self.certificate_map_name: str | None = None
        self.certificate_map: gcp.certificatemanager.CertificateMap | None = None
        self.tls_resources: list[pulumi.Resource] = []
        if hostnames:
            cert = gcp.certificatemanager.Certificate(
                f"{name}-cert", name=f"{base_name}-cert", scope="DEFAULT", labels=labels,
                managed=gcp.certificatemanager.CertificateManagedArgs(
                    domains=hostnames, dns_authorizations=[a.id for a in dns_authorizations]),
                opts=child)
            self.certificate_map_name = f"{base_name}-certmap"
            self.certificate_map = gcp.certificatemanager.CertificateMap(
                f"{name}-certmap", name=self.certificate_map_name, labels=labels, opts=child)
            entries = [gcp.certificatemanager.CertificateMapEntry(
                f"{name}-certmap-{i}", name=f"{base_name}-entry-{i}", map=self.certificate_map.name,
                hostname=host, certificates=[cert.id], labels=labels, opts=child)
                for i, host in enumerate(hostnames)]
            self.tls_resources = [cert, self.certificate_map, *entries]
        self.register_outputs({"address": self.address.address, "certificateMap": self.certificate_map_name})
