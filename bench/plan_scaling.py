"""How offline plan time and memory grow with regions and pools.

Plans synthetic specs of 1, 4 and 16 regions (two GPU pools each, or more with --pools) side by side, each in a
fresh subprocess so peak memory is measured per size, and prints resources per second and ratios against the
smallest size. Run: `python bench/plan_scaling.py [--sizes 1 4 16] [--pools 2] [--repeat 3]`.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from blueprint import catalog  # noqa: E402 - the repository first on the path
from blueprint.plan import run_plan  # noqa: E402


def synthetic_platform(regions: int, pools: int) -> dict:
    """A valid spec with `regions` regions offering L4, alternating clouds, `pools` serving pools each."""
    keys = [(c, r) for r0 in range(64) for c in ("aws", "gcp")
            for r in catalog.region_names(c)[r0:r0 + 1] if "l4" in catalog.region(c, r).gpus]
    if len(keys) < regions:
        raise SystemExit(f"the catalog has only {len(keys)} regions offering l4")
    out = []
    for cloud, name in keys[:regions]:
        gpu_type = "g6.2xlarge" if cloud == "aws" else "g2-standard-8"
        system = "m6i.xlarge" if cloud == "aws" else "n2-standard-4"
        out.append({"cloud": cloud, "region": name, "systemPool": {"instanceType": system},
                    "gpuPools": [{"name": f"serve-{i}", "accelerator": "l4", "instanceType": gpu_type,
                                  "capacityType": "spot", "purpose": "serving",
                                  "scaling": {"min": 0, "desired": 1, "max": 4}} for i in range(pools)]})
    return {"environment": "bench", "tier": "staging", "gcpProject": "bench-project-01",
            "tags": {"owner": "bench", "costCenter": "bench"}, "budget": {"monthlyUsd": 1e9},
            "regions": out}


def measure(regions: int, pools: int, repeat: int) -> dict:
    """Run in a child process: plan `repeat` times, report the best time and the peak RSS."""
    platform = synthetic_platform(regions, pools)
    run_plan("dev", platform=platform)  # warm imports so the timing is the plan, not module loading
    best, count = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = len(run_plan("dev", platform=platform))
        best = min(best, time.perf_counter() - start)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"regions": regions, "pools": pools, "resources": count, "seconds": best, "peak_mib": peak_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--pools", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.pools, args.repeat)))
        return
    rows = []
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(size), "--pools", str(args.pools),
                              "--repeat", str(args.repeat)], capture_output=True, text=True, check=True, cwd=REPO)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = rows[0]
    print(f"{'regions':>7} {'pools':>5} {'resources':>9} {'res/s':>8} {'time x':>7} {'res x':>6} {'peak MiB':>9} {'mem x':>6}")
    for r in rows:
        print(f"{r['regions']:>7} {r['pools'] * r['regions']:>5} {r['resources']:>9} {r['resources'] / r['seconds']:>8.0f} "
              f"{r['seconds'] / base['seconds']:>7.2f} {r['resources'] / base['resources']:>6.2f} "
              f"{r['peak_mib']:>9.0f} {r['peak_mib'] / base['peak_mib']:>6.2f}")
    print("time x and mem x are ratios to the smallest size; res x is the growth in declared resources.")


if __name__ == "__main__":
    main()
