"""Training benchmark: checkpoint stall as a share of wall time (sync vs async), and SIGTERM to durable checkpoint.

Both through the real trainer (``python -m workloads.train``), side by side:

    .venv/bin/python bench/training.py [--steps 60] [--interval 10] [--d-model 256] [--n-layer 4] [--term-reps 3]

A save's stall is what the trainer reports for it (``checkpoint_stall``): the time the loop blocked, plus, for an
asynchronous save, how much longer than usual the steps ran while its writer was busy. The first save of a run is
synchronous by design (it proves the path is writable); the shares count every save after it, where sync and
async differ. Throughput is tokens over wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def trainer(ckpt: str, model: str, a: argparse.Namespace, *extra: str) -> list[str]:
    return ["--batch-size", "8", "--steps", str(a.steps), "--checkpoint-interval", str(a.interval),
            "--checkpoint-uri", ckpt, "--model-uri", model, "--d-model", str(a.d_model), "--n-layer", str(a.n_layer),
            "--block-size", "64", "--num-workers", "0", "--emergency-checkpoint-budget-s", "60", *extra]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def stall_run(a: argparse.Namespace, root: str, mode: str) -> dict:
    flag = "--async-checkpoint" if mode == "async" else "--no-async-checkpoint"
    out = subprocess.run([sys.executable, "-m", "workloads.train",
                          *trainer(f"{root}/{mode}/ckpt", f"{root}/{mode}/model", a, flag)],
                         cwd=REPO, env=env(), capture_output=True, text=True, check=True).stdout
    ev = events(out)
    steps = [e for e in ev if e["event"] == "step"]
    later = [e for e in ev if e["event"] == "checkpoint_stall" and a.interval < e["step"] < a.steps]
    wall = sum(e["wall_s"] for e in steps)
    stall = sum(e["stall_s"] for e in later)
    start = next(e for e in ev if e["event"] == "start")
    exported = next(e for e in ev if e["event"] == "exported")
    return {"params": start["params"], "saves": len(later), "stall_s": stall,
            "mean_stall_ms": 1000 * stall / max(1, len(later)),
            "mean_blocking_ms": 1000 * sum(e["blocking_s"] for e in later) / max(1, len(later)),
            "share": stall / wall, "mean_step_ms": 1000 * wall / len(steps), "tokens_per_s": exported["tokens_per_s"]}


def sigterm_run(a: argparse.Namespace, root: str) -> dict:
    ckpt = f"{root}/term/ckpt"
    cmd = [sys.executable, "-m", "workloads.train.launch", "--nproc-per-node=2", "--standalone",
           "--monitor-interval=0.1", "-m", "workloads.train", *trainer(ckpt, f"{root}/term/model", a)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    target = a.interval + a.interval // 2  # mid-way between two checkpoints: the emergency save has work to do
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("{") and (e := json.loads(line))["event"] == "step" and e["step"] >= target:
            break
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)  # the launcher only, as the kubelet signals PID 1
    durable_at = None
    while proc.poll() is None:
        if durable_at is None:
            committed = sorted(Path(ckpt).glob("step-*/_COMMITTED"))
            if committed and int(committed[-1].parent.name.split("-")[1]) > a.interval:
                durable_at = time.monotonic()
        time.sleep(0.005)
    exited = time.monotonic()
    rest = proc.stdout.read()
    pre = next(e for e in events("".join(lines) + rest) if e["event"] == "preempted")
    return {"rc": proc.returncode, "step": pre["step"], "emergency": pre["emergency_checkpoint"],
            "trainer_s": pre["signal_to_durable_s"],
            "observed_s": (durable_at or exited) - t0, "exit_s": exited - t0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--interval", type=int, default=10)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--term-reps", type=int, default=3, help="SIGTERM runs (median and range)")
    p.add_argument("--parts", nargs="+", choices=("stall", "sigterm"), default=["stall", "sigterm"],
                   help="what to measure (default both)")
    a = p.parse_args()
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as root:
        res = {m: stall_run(a, root, m) for m in ("sync", "async")} if "stall" in a.parts else {}
        terms = [sigterm_run(a, f"{root}/{i}") for i in range(a.term_reps)] if "sigterm" in a.parts else []
    print(f"training benchmark: d_model {a.d_model}, {a.n_layer} layers, {a.steps} steps, checkpoint every "
          f"{a.interval}, local disk, {os.cpu_count()} CPUs, single process (stall) / 2-process gloo (SIGTERM); "
          f"load average {load0:.2f} before, {os.getloadavg()[0]:.2f} after")
    if res:
        print_stalls(res)
    if terms:
        print_sigterm(terms)


def print_stalls(res: dict) -> None:
    print(f"{res['sync']['params']:,} parameters")
    print(f"{'mode':6s} {'saves':>6s} {'mean step ms':>13s} {'blocking ms':>12s} {'stall ms':>9s} {'stall share':>12s}"
          f" {'tokens/s':>9s}")
    for m, r in res.items():
        print(f"{m:6s} {r['saves']:6d} {r['mean_step_ms']:13.1f} {r['mean_blocking_ms']:12.1f} "
              f"{r['mean_stall_ms']:9.1f} {100 * r['share']:11.2f}% {r['tokens_per_s']:9.0f}")
    print(f"async/sync stall ratio: {res['async']['stall_s'] / res['sync']['stall_s']:.3f}")


def print_sigterm(terms: list[dict]) -> None:
    for key, what in (("observed_s", "signal->durable observed from outside"),
                      ("trainer_s", "signal->durable inside the trainer"), ("exit_s", "signal->exit")):
        v = [t[key] for t in terms]
        print(f"SIGTERM {what}: median {statistics.median(v):.3f}s (min {min(v):.3f}, max {max(v):.3f}) "
              f"over {len(v)} runs")
    print("SIGTERM runs: " + ", ".join(f"step {t['step']} exit {t['rc']} emergency {t['emergency']}" for t in terms))


if __name__ == "__main__":
    main()
