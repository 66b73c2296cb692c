"""``torchrun ... -m workloads.train``: the flags ``components/k8s/training.py`` passes, from the platform spec.

Exit codes (the Job's podFailurePolicy depends on them): 0 done, 143 stopped by SIGTERM (checkpointed; retry),
75 checkpoint storage unavailable (retry, counted), 1 an exception, 2 bad arguments (both bugs: fail fast).
"""
from __future__ import annotations

import argparse
import json
import sys

STORAGE_RETRY_EXIT_CODE = 75  # EX_TEMPFAIL: the store was unreachable; a later attempt resumes from its checkpoint


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
    p.add_argument("--num-workers", type=int, default=2, help="data-loader worker processes")
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
    if a.d_model % a.n_head:
        p.error(f"--d-model {a.d_model} must be a multiple of --n-head {a.n_head}")
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from workloads.storage import is_transient_storage_error
    from workloads.train.trainer import run  # torch imports after argument errors are reported
    try:
        return run(args)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - DCP's CheckpointException is a BaseException
        if not is_transient_storage_error(exc):
            raise
        print(json.dumps({"event": "storage_unavailable", "error": repr(exc)[:500],
                          "exit_code": STORAGE_RETRY_EXIT_CODE}), flush=True)
        return STORAGE_RETRY_EXIT_CODE


if __name__ == "__main__":
    sys.exit(main())
