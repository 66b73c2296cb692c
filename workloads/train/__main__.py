"""``torchrun ... -m workloads.train``: the flags ``components/k8s/training.py`` passes, from the platform spec.

Exit codes (the Job's podFailurePolicy depends on them): 0 done, 143 stopped by SIGTERM (checkpointed; retry),
75 checkpoint storage unavailable (retry, counted), 1 an exception, 2 bad arguments (both bugs: fail fast).
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys

from workloads.contract import TEMPFAIL_EXIT_CODE

LAUNCHER_PID_ENV = "WORKLOADS_TRAIN_LAUNCHER_PID"  # set by workloads.train.launch for the ranks it starts
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_launcher() -> bool:
    """Under ``workloads.train.launch``: have the kernel SIGKILL this rank the moment its launcher dies.

    torchrun starts every rank in a session of its own, so a signal to the launcher's process group never reaches
    them, and a launcher killed outright (SIGKILL, the OOM killer) has no chance to stop them: they would keep
    training, and committing checkpoints, for nobody. ``PR_SET_PDEATHSIG`` ties each rank's life to the launcher
    (its parent). Returns whether it was set (False when not started by the launcher)."""
    launcher = os.environ.get(LAUNCHER_PID_ENV)
    if not launcher:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    if os.getppid() != int(launcher):  # it died before the prctl: no signal will come
        os.kill(os.getpid(), signal.SIGKILL)
    return True


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m workloads.train", description=__doc__.splitlines()[0])
    # the fixed contract (TrainingWorkload in the spec -> trainer_args())
    p.add_argument("--batch-size", type=int, required=True, help="samples per process per step")
    p.add_argument("--steps", type=int, required=True, help="total optimizer steps")
    p.add_argument("--checkpoint-interval", type=int, required=True, help="steps between checkpoints")
    p.add_argument("--checkpoint-uri", required=True, help="fsspec URI: local path, s3://, gs://")
    p.add_argument("--model-uri", required=True, help="where the trained artifact (weights + config) goes")
    p.add_argument("--metrics-port", type=int, default=0, help="Prometheus port on local rank 0 (0: off)")
    p.add_argument("--emergency-checkpoint-budget-s", type=float, default=30.0,
                   help="seconds after SIGTERM within which an emergency checkpoint must finish")
    # optional, with defaults
    p.add_argument("--data", default=None, help="text file (fsspec URI); default: the bundled corpus")
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--n-layer", type=int, default=2)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--num-workers", type=int, default=None,
                   help="data-loader worker processes; default 0 on CPU (workers cost a rank 4-7%% of its tokens/s), "
                        "2 with CUDA")
    p.add_argument("--async-checkpoint", action=argparse.BooleanOptionalAction, default=True,
                   help="asynchronous saves after the first")
    p.add_argument("--keep-checkpoints", type=int, default=3)
    return p


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = build_parser()
    a = p.parse_args(argv)
    for name in ("batch_size", "steps", "checkpoint_interval", "block_size", "d_model", "n_layer", "n_head",
                 "keep_checkpoints"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    if a.num_workers is not None and a.num_workers < 0:
        p.error(f"--num-workers must be >= 0, got {a.num_workers}")
    if a.d_model % a.n_head:
        p.error(f"--d-model {a.d_model} must be a multiple of --n-head {a.n_head}")
    return a


def main(argv: list[str] | None = None) -> int:
    die_with_launcher()
    args = parse(argv)
    from workloads.storage import is_storage_outage
    from workloads.train.trainer import run  # torch imports after argument errors are reported
    try:
        return run(args)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - DCP's CheckpointException is a BaseException
        if not is_storage_outage(exc):  # only a failed storage call; a BrokenPipeError between ranks is a crash
            raise
        print(json.dumps({"event": "storage_unavailable", "error": repr(exc)[:500],
                          "exit_code": TEMPFAIL_EXIT_CODE}), flush=True)
        return TEMPFAIL_EXIT_CODE


if __name__ == "__main__":
    sys.exit(main())
