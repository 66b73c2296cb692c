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
    for name, workload in list(workloads.items()):  # a one-region workload (region) or a multi-region one (regions)
        if not isinstance(workload, dict):
            continue
        if "regions" in workload:
            workload["regions"] = [k for k in workload.get("regions") or [] if k in keys]
            if not workload["regions"]:
                workloads.pop(name)
            elif len(workload["regions"]) == 1:
                workload.pop("globalRouting", None)
        elif workload.get("region") not in keys or workload.get("storageRegion", workload.get("region")) not in keys:
            workloads.pop(name)
    network = out.get("network") or {}
    if network.get("hub") is not None and network.get("hub") not in keys:
        network.pop("hub")
        network["topology"] = "full-mesh"
    for region in out["regions"]:
        for pool in region.get("gpuPools") or []:
            if isinstance(pool, dict) and pool.get("storageRegion") not in (None, *keys):
                pool.pop("storageRegion")
    return out, []
