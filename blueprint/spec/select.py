"""``--region``: a stack's platform object cut down to some of its regions, with what only those regions need (the
workloads and routing that name a region left out), so one region plans on its own."""
from __future__ import annotations

import copy
from typing import Any

from blueprint.spec.issues import SpecIssue


def region_keys(raw: dict[str, Any]) -> list[str]:
    return [f"{r.get('cloud')}/{r.get('region')}" for r in raw.get("regions") or [] if isinstance(r, dict)]


def select_regions(raw: Any, keys: list[str]) -> tuple[dict[str, Any] | None, list[SpecIssue]]:
    """(the object with only ``keys``' regions, issues); an unknown key is an issue listing the stack's regions."""
    if not isinstance(raw, dict) or not isinstance(raw.get("regions"), list):
        return None, [SpecIssue("regions", "the stack has no list of regions to select from")]
    known = region_keys(raw)
    unknown = [k for k in keys if k not in known]
    if unknown:
        return None, [SpecIssue("regions", f"--region {k}: not a region of this stack", tuple(known)) for k in unknown]
    out = copy.deepcopy(raw)
    out["regions"] = [r for r, k in zip(raw["regions"], known) if k in keys]
    workloads = out.get("workloads") or {}
    training = workloads.get("training")
    if isinstance(training, dict) and (training.get("region") not in keys
                                       or training.get("storageRegion", training.get("region")) not in keys):
        workloads.pop("training")
    serving = workloads.get("serving")
    if isinstance(serving, dict):
        serving["regions"] = [k for k in serving.get("regions") or [] if k in keys]
        if not serving["regions"]:
            workloads.pop("serving")
        elif len(serving["regions"]) == 1:
            serving.pop("globalRouting", None)
    network = out.get("network") or {}
    if network.get("hub") is not None and network.get("hub") not in keys:
        network.pop("hub")
        network["topology"] = "full-mesh"
    for region in out["regions"]:
        for pool in region.get("gpuPools") or []:
            if isinstance(pool, dict) and pool.get("storageRegion") not in (None, *keys):
                pool.pop("storageRegion")
    return out, []
