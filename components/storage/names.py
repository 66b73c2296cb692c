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
