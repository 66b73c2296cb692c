"""GCS buckets per data class and the Filestore hot tier of one GCP region. Notes: docs/architecture.md, "Storage"."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from blueprint.catalog.gcs import dual_region_location, dual_region_partner
from blueprint.spec import PlatformSpec, Region
from blueprint.spec.names import DATA_CLASSES, HOT_SHARE, MODELS, bucket_name
from components.gcp.kms import key_ring, rotating_key
from components.storage.lifecycle import gcs_rules, rules_for

if TYPE_CHECKING:  # the type only: no runtime edge to the region's module
    from components.gcp.region import GcpRegion


def bucket_location(region: Region, replicated: bool) -> tuple[str, dict | None, str | None]:
    """(location, custom_placement_config, rpo) of a bucket: a configurable dual-region with turbo replication
    when replicated (location is the multi-region code, US/EU/ASIA, and the pair its data locations), else the
    region. A region without a partner gets a regional bucket: the spec validation rejects asking for more there
    (``blueprint.catalog.gcs``), so a plan never fails half-way."""
    partner = dual_region_partner(region.region) if replicated else None
    if partner is None:
        return region.region.upper(), None, None
    return (dual_region_location(region.region), {"data_locations": [region.region.upper(), partner.upper()]},
            "ASYNC_TURBO")


class GcpStorage(pulumi.ComponentResource):
    """``aiplatform:storage:GcpStorage``: one region's GCS buckets, CMEK key and optional Filestore instance."""

    buckets: dict[str, gcp.storage.Bucket]

    def __init__(self, name: str, spec: PlatformSpec, region: Region, compute: GcpRegion,
                 opts: pulumi.ResourceOptions):
        super().__init__("aiplatform:storage:GcpStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=compute.cloud_provider)
        storage = region.storage
        assert storage is not None
        project = compute.project  # type: ignore[attr-defined]  # GcpRegion's project bootstrap
        hot = storage.hot
        filestore = hot is not None and hot.kind == "filestore"
        # The same key encrypts the buckets (GCS service agent) and the Filestore instance (Filestore's agent).
        agents = [project.agents["storage.googleapis.com"]]
        if filestore:
            agents.append(project.agents["file.googleapis.com"])
        ring = key_ring(f"{name}-keys", spec, region.region, child, suffix="-storage")
        self.key, self.key_grants = rotating_key(f"{name}-gcs", ring, spec, agents, child)
        keyed = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(self.key_grants)))
        self.buckets = {}
        for data_class in DATA_CLASSES:
            location, placement, rpo = bucket_location(region, data_class == MODELS and spec.is_production)
            key, opts = self.key, keyed
            if placement is not None:
                key, opts = self._multi_region_key(name, spec, region, location, project, child)
            self.buckets[data_class] = gcp.storage.Bucket(
                f"{name}-{data_class}", name=bucket_name(spec, region, data_class), location=location,
                custom_placement_config=placement, rpo=rpo,
                uniform_bucket_level_access=True, public_access_prevention="enforced",
                versioning={"enabled": True}, encryption={"default_kms_key_name": key.id},
                lifecycle_rules=gcs_rules(rules_for(data_class, storage.lifecycle), storage.lifecycle),
                force_destroy=storage.force_destroy and not spec.is_production,
                labels=spec.gcp_labels(**{"data-class": data_class}), opts=opts)
        self.hot = None
        if filestore:
            regional = hot.filestore_tier in ("REGIONAL", "ENTERPRISE")
            self.hot = gcp.filestore.Instance(
                f"{name}-filestore", name=f"{spec.environment}-{region.region}-hot",
                location=region.region if regional else region.facts.zones[0],
                tier=hot.filestore_tier, kms_key_name=self.key.id,
                file_shares={"name": HOT_SHARE, "capacity_gb": hot.capacity_gib},
                # the network by name: Filestore stores the bare name of a network in its own project, and a path
                # here would differ from it on every refresh, so each later `up` would replace the instance
                # (ForceNew; hashicorp/terraform-provider-google#16548, cluster-toolkit modules/file-system/filestore)
                networks=[{"network": compute.network_name,
                           "modes": ["MODE_IPV4"], "connect_mode": "DIRECT_PEERING"}],
                deletion_protection_enabled=spec.is_production,
                deletion_protection_reason="production datasets" if spec.is_production else None,
                labels=spec.gcp_labels(),
                opts=pulumi.ResourceOptions.merge(keyed, pulumi.ResourceOptions(protect=spec.is_production)))
        self.register_outputs({"buckets": {c: b.name for c, b in self.buckets.items()}})

    def _multi_region_key(self, name: str, spec: PlatformSpec, region: Region, location: str, project,
                          child: pulumi.ResourceOptions) -> tuple[gcp.kms.CryptoKey, pulumi.ResourceOptions]:
        """A key for a configurable dual-region bucket: Cloud Storage uses only a key in the bucket's multi-region
        ("For most dual-regions, you must create the Cloud KMS key ring in the associated multi-region", Cloud
        Storage CMEK restrictions); a regional key fails every write with "Cloud KMS region ... not available for
        use with GCS region". One per region, granted to the GCS agent only."""
        ring = key_ring(f"{name}-{location.lower()}-keys", spec, location.lower(), child, suffix="-models",
                        region=region.region)
        key, grants = rotating_key(f"{name}-gcs-{location.lower()}", ring, spec,
                                   [project.agents["storage.googleapis.com"]], child)
        return key, pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(grants)))
