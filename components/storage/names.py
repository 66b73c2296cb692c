"""Deterministic names for storage and workload identities, shared by storage, IAM, workloads and policies.

Bucket names are globally unique per cloud, so they carry the spec's name prefix, environment and region; being
deterministic, IAM policies can name exact ARNs and show them in a preview (no "*" resources).
"""
from __future__ import annotations

from blueprint.spec import PlatformSpec, Region

DATA_CLASSES = ("datasets", "checkpoints", "models", "archive")
TRAINING_NAMESPACE = "training"
SERVING_NAMESPACE = "serving"


def bucket_name(spec: PlatformSpec, region: Region | str, data_class: str) -> str:
    """`<prefix>-<region>-<class>` (the prefix names the environment), at most 63 characters as S3 and GCS allow."""
    region_name = region if isinstance(region, str) else region.region
    assert data_class in DATA_CLASSES, data_class
    return f"{spec.prefix}-{region_name}-{data_class}"[:63]


def s3_arn(bucket: str, key_pattern: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{key_pattern}" if key_pattern is not None else "")


def object_uri(spec: PlatformSpec, region: Region, data_class: str, prefix: str) -> str:
    """Where a workload reads or writes: s3:// on AWS, gs:// on GCP."""
    scheme = "s3" if region.cloud.value == "aws" else "gs"
    return f"{scheme}://{bucket_name(spec, region, data_class)}/{prefix.strip('/')}/"


# GCS configurable dual-regions pair two regions of the same multi-region (location "US", "EU" or "ASIA", the
# pair in custom_placement_config). The catalog's GCP regions per multi-region, first the preferred partner
# (us-central1 + us-east4 is the predefined NAM4 pair). Regions outside these (europe-west2 in London,
# australia-southeast1) belong to no multi-region a dual-region can be configured in.
GCS_DUAL_REGION_GROUPS: dict[str, tuple[str, ...]] = {
    "US": ("us-central1", "us-east4", "us-east1", "us-east5", "us-west1", "us-west4"),
    "EU": ("europe-west4", "europe-west1", "europe-west3"),
    "ASIA": ("asia-northeast1", "asia-east1", "asia-southeast1"),
}


def dual_region_location(region: Region | str) -> str | None:
    """The GCS multi-region code ("US", "EU", "ASIA") a dual-region bucket with ``region`` is created in."""
    name = region if isinstance(region, str) else region.region
    return next((code for code, members in GCS_DUAL_REGION_GROUPS.items() if name in members), None)


def dual_region_partner(region: Region | str) -> str | None:
    """The region to pair ``region`` with in a configurable dual-region bucket; None when it has none (the spec
    must then not ask for a dual-region model bucket there: a pure function, so validation can call it)."""
    name = region if isinstance(region, str) else region.region
    code = dual_region_location(name)
    if code is None:
        return None
    return next(r for r in GCS_DUAL_REGION_GROUPS[code] if r != name)


# Filestore tiers that accept a customer-managed key (kms_key_name): CMEK is not available for BASIC_HDD and
# BASIC_SSD (cloud.google.com/filestore/docs/cmek-organization-policy).
FILESTORE_CMEK_TIERS = ("ZONAL", "REGIONAL", "ENTERPRISE")


def filestore_supports_cmek(tier: str) -> bool:
    return tier in FILESTORE_CMEK_TIERS
