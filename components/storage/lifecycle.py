"""Lifecycle rules per data class, said once and rendered for S3 and for GCS.
Notes: docs/architecture.md, "Storage"."""
from __future__ import annotations

from dataclasses import dataclass

from blueprint.spec.model import Lifecycle
from blueprint.spec.names import ARCHIVE, CHECKPOINTS, DATASETS, MODELS


@dataclass(frozen=True)
class Rule:
    data_class: str
    transition_days: int | None = None
    tier: str | None = None  # "infrequent", "cold" or "deep"
    noncurrent_expire_days: int | None = None


S3_CLASS = {"infrequent": "STANDARD_IA", "cold": "GLACIER_IR", "deep": "DEEP_ARCHIVE"}
GCS_CLASS = {"infrequent": "NEARLINE", "cold": "COLDLINE", "deep": "ARCHIVE"}


def rules_for(data_class: str, lc: Lifecycle) -> Rule:
    return {
        CHECKPOINTS: Rule(CHECKPOINTS, lc.checkpoints_to_infrequent_days, "infrequent",
                            lc.checkpoints_noncurrent_expire_days),
        DATASETS: Rule(DATASETS, lc.datasets_to_cold_days, "cold", 30),
        ARCHIVE: Rule(ARCHIVE, lc.archive_to_deep_days, "deep"),
        MODELS: Rule(MODELS, None, None, 90),
    }[data_class]


def s3_rules(rule: Rule, lc: Lifecycle) -> list[dict]:
    """Rules for aws.s3.BucketLifecycleConfiguration (pulumi-aws v7 argument names)."""
    main: dict = {"id": f"{rule.data_class}-tiering", "status": "Enabled", "filter": {"prefix": ""},
                  "abort_incomplete_multipart_upload": {"days_after_initiation": lc.abort_multipart_days}}
    if rule.tier is not None:
        main["transitions"] = [{"days": rule.transition_days, "storage_class": S3_CLASS[rule.tier]}]
    if rule.noncurrent_expire_days is not None:
        main["noncurrent_version_expiration"] = {"noncurrent_days": rule.noncurrent_expire_days}
    return [main]


def gcs_rules(rule: Rule, lc: Lifecycle) -> list[dict]:
    """Rules for gcp.storage.Bucket lifecycle_rules."""
    out: list[dict] = [{"action": {"type": "AbortIncompleteMultipartUpload"},
                        "condition": {"age": lc.abort_multipart_days}}]
    if rule.tier is not None:
        out.append({"action": {"type": "SetStorageClass", "storage_class": GCS_CLASS[rule.tier]},
                    "condition": {"age": rule.transition_days, "with_state": "LIVE"}})
    if rule.noncurrent_expire_days is not None:
        out.append({"action": {"type": "Delete"},
                    "condition": {"days_since_noncurrent_time": rule.noncurrent_expire_days,
                                  "with_state": "ARCHIVED"}})
    return out
