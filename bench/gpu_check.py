"""GPU smoke check for the bundled workloads (not run in CI; needs one machine with NVIDIA GPUs, ~2-4 minutes).

    python bench/gpu_check.py            # from the repository root, in an environment with torch==2.13.0 (CUDA)

1. ``torchrun`` (the training image's launcher) on every local GPU: nccl, bf16 autocast, async DCP checkpoints,
   pinned loader workers; SIGTERM mid-run must exit 143 with an emergency checkpoint covering the last step.
2. The same command again resumes from that checkpoint on the GPUs and finishes, exporting the artifact.
3. The server loads the artifact on cuda, warms up, answers one /v1/predict matching a float32 CPU forward
   (bf16 tolerance), generates concurrent completions over its bf16 KV cache (one long enough for the window to
   slide), and drains on SIGTERM with exit 0.

Bitwise resume equality is checked on CPU only (tests/workloads); GPU kernels are not deterministic by default.

Exits non-zero on the first failure (with the output tail). ``--allow-cpu`` runs the same steps on CPU (gloo, no
autocast), which checks the script itself on a machine without a GPU.
"""
from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
STEPS, INTERVAL, DEADLINE_S = 3000, 20, 240  # STEPS: far more than a fast GPU runs before the SIGTERM


from tests.support.processes import Run, kill_all  # noqa: E402 - the workload tests' process reader


def fail(msg: str, proc: Run | None = None) -> None:
    tail = "".join(proc.lines[-60:]) if proc else ""
    print(f"GPU CHECK FAILED: {msg}\n{tail}", file=sys.stderr, flush=True)
    kill_all()
    sys.exit(1)


def check(cond: bool, msg: str, proc: Run | None = None) -> None:
    if not cond:
        fail(msg, proc)
    print(f"ok: {msg}", flush=True)


def event(proc: Run, pred) -> dict:
    try:
        return proc.wait_for(pred, timeout=DEADLINE_S)
    except AssertionError:
        fail("expected event not seen", proc)


def finish(proc: Run, timeout: float = DEADLINE_S) -> int:
    try:
        return proc.finish(timeout)
    except subprocess.TimeoutExpired:
        fail("timed out", proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--allow-cpu", action="store_true", help="run on CPU when no GPU is present (script self-test)")
    a = ap.parse_args()
    import torch

    gpus = torch.cuda.device_count()
    if gpus == 0 and not a.allow_cpu:
        fail("no CUDA device visible (torch.cuda.device_count() == 0)")
    cuda = gpus > 0
    nproc = max(1, min(gpus, 8)) if cuda else 2
    if cuda:
        check(torch.cuda.is_bf16_supported(), f"{gpus} GPU(s), bf16 supported: {torch.cuda.get_device_name(0)}")
    root = tempfile.mkdtemp(prefix="gpu-check-")
    train = ["--batch-size", "16", "--steps", str(STEPS), "--checkpoint-interval", str(INTERVAL),
             "--checkpoint-uri", f"{root}/ckpt", "--model-uri", f"{root}/model", "--num-workers", "2",
             "--emergency-checkpoint-budget-s", "60", "--metrics-port", "0"]
    launch = [sys.executable, "-m", "workloads.train.launch", f"--nproc-per-node={nproc}", "--standalone",
              "--monitor-interval=0.1", "--shutdown-timeout=90", "-m", "workloads.train"]

    # 1. train, then SIGTERM after two async saves
    run = Run(launch + train)
    st = event(run, lambda e: e.get("event") == "start")
    check(st["world"] == nproc and st["device"].startswith("cuda" if cuda else "cpu")
          and st["autocast"] == ("bfloat16" if cuda else None),
          f"trainer started: world {st['world']}, device {st['device']}, autocast {st['autocast']}", run)
    event(run, lambda e: e.get("event") == "checkpoint_committed" and e["step"] >= 3 * INTERVAL)
    event(run, lambda e: e.get("event") == "step" and e["step"] >= 3 * INTERVAL + INTERVAL // 2)
    run.proc.send_signal(signal.SIGTERM)  # the launcher only, as the kubelet signals PID 1
    rc = finish(run)
    check(rc == 143, f"SIGTERM -> exit {rc} (143 expected)", run)
    pre = run.named("preempted")
    check(len(pre) == 1 and pre[0]["committed_step"] == pre[0]["step"],
          f"emergency checkpoint at step {pre[0]['step'] if pre else '?'}", run)
    losses = [e["loss"] for e in run.named("step")]
    check(all(x == x and abs(x) < 1e4 for x in losses) and losses[-1] < losses[0],
          f"loss finite and falling under autocast: {losses[0]:.3f} -> {losses[-1]:.3f}", run)

    # 2. resume on the GPUs and finish
    steps2 = pre[0]["step"] + 2 * INTERVAL
    train2 = [*train]
    train2[train2.index("--steps") + 1] = str(steps2)
    res = Run(launch + train2)
    rc = finish(res)
    check(rc == 0, f"resumed run exit {rc}", res)
    [r] = res.named("resumed") or [{}]
    check(r.get("step") == pre[0]["step"] and r.get("skipped_keys") == [],
          f"resumed from step {r.get('step')} with every rank's RNG state", res)
    first = res.named("step")[0]["step"]
    check(first == pre[0]["step"] + 1 and res.named("exported"), f"continued at step {first}, exported", res)

    # 3. serve the artifact on the GPU
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = Run([sys.executable, "-m", "workloads.serve", "--model-uri", f"{root}/model", "--port", str(port),
                 "--max-batch-size", "8", "--drain-timeout-s", "20"])
    ready = event(srv, lambda e: e.get("event") == "ready")
    check(ready["device"].startswith("cuda" if cuda else "cpu"), f"server ready on {ready['device']}", srv)
    body = json.dumps({"text": "Shall I compare thee", "top_k": 5}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/predict", body, {"content-type": "application/json"})
    out = json.loads(urllib.request.urlopen(req, timeout=60).read())
    from workloads.model import Vocab
    from workloads.storage import load_model

    model, meta = load_model(f"{root}/model")
    check(meta["step"] == steps2, f"artifact from step {meta['step']}")
    vocab = Vocab(model.cfg.vocab)
    with torch.inference_mode():
        probs = torch.softmax(model(torch.tensor([vocab.encode("Shall I compare thee")]))[0, -1].float(), -1)
    got = {t["token"]: t["prob"] for t in out["top"]}
    worst = max(abs(p - float(probs[vocab.index[c]])) for c, p in got.items())
    check(len(got) == 5 and worst < 0.05, f"/v1/predict matches a float32 CPU forward (max |dp| {worst:.4f})", srv)
    lengths = [1, 17, model.cfg.block_size + 9, 5]

    def generate(n: int) -> str:
        body = json.dumps({"prompt": "Shall I compare thee", "max_new_tokens": n}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/generate", body,
                                     {"content-type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=60).read())["completion"]

    with ThreadPoolExecutor(len(lengths)) as pool:
        completions = list(pool.map(generate, lengths))
    check([len(c) for c in completions] == lengths and all(set(c) <= set(vocab.chars) for c in completions),
          f"/v1/generate: concurrent completions of {lengths} tokens over the KV cache", srv)
    srv.proc.send_signal(signal.SIGTERM)
    rc = finish(srv, 60)
    check(rc == 0 and srv.named("drained") and srv.named("drained")[0]["clean"], f"server drained, exit {rc}", srv)
    print("GPU CHECK PASSED", flush=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        kill_all()
