"""GCS and Filestore location facts that validation and the storage components both need.
Notes: docs/architecture.md, "Spec and catalog"."""
from __future__ import annotations

GCS_DUAL_REGION_GROUPS: dict[str, tuple[str, ...]] = {
    "US": ("us-central1", "us-east4", "us-east1", "us-east5", "us-west1", "us-west4"),
    "EU": ("europe-west4", "europe-west1", "europe-west3"),
    "ASIA": ("asia-northeast1", "asia-east1", "asia-southeast1"),
}


def dual_region_location(region: str) -> str | None:
    """The GCS multi-region code ("US", "EU", "ASIA") a dual-region bucket with ``region`` is created in."""
    return next((code for code, members in GCS_DUAL_REGION_GROUPS.items() if region in members), None)


def dual_region_partner(region: str) -> str | None:
    """The region to pair ``region`` with in a configurable dual-region bucket; None when it has none."""
    code = dual_region_location(region)
    if code is None:
        return None
    return next(r for r in GCS_DUAL_REGION_GROUPS[code] if r != region)


def dual_region_capable() -> tuple[str, ...]:
    return tuple(r for members in GCS_DUAL_REGION_GROUPS.values() for r in members)

