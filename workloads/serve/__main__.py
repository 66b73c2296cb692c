"""``python -m workloads.serve``: the flags ``components/k8s/serving.py`` passes, from the platform spec.

Listens at once (``/livez`` answers), loads and warms the model, then ``/readyz`` turns 200. On SIGTERM it
turns not-ready, refuses new inference with 503, finishes every accepted request, then exits 0; a second
SIGTERM/SIGINT exits at once.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sys
from pathlib import Path

from workloads.contract import SERVE_PORT

CGROUP = Path("/sys/fs/cgroup")


def cpu_limit(cgroup: Path = CGROUP) -> int:
    """Whole CPUs this container may use: its cgroup CPU quota (v2 ``cpu.max``, v1 ``cfs_quota_us``), capped by
    the CPUs it may run on; at least 1. A quota of 1.5 CPUs is 1: a second busy thread would only be throttled."""
    cpus = len(os.sched_getaffinity(0))
    quota = period = None
    try:
        q, p = (cgroup / "cpu.max").read_text().split()[:2]
        if q != "max":
            quota, period = int(q), int(p)
    except (OSError, ValueError):
        try:
            q = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
            if q > 0:
                quota, period = q, int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            pass
    if quota is not None and period:
        cpus = min(cpus, math.floor(quota / period))
    return max(1, cpus)


def default_threads(cpus: int, cuda: bool, decode: int = 0, torch_threads: int = 0) -> tuple[int, int]:
    """(decode threads, torch intra-op threads) for a container of ``cpus`` CPUs; 0 means "choose".

    On CPU one decode thread per CPU, each with one torch thread: a small model's step is mostly per-operator
    overhead that intra-op threads cannot split, while independent batches on separate cores scale, and a
    single-threaded step never waits at a barrier for a descheduled sibling. With CUDA one decode thread feeds
    the GPU and torch keeps the CPUs."""
    decode = decode or (1 if cuda else cpus)
    return decode, torch_threads or max(1, cpus // decode)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m workloads.serve", description=__doc__.splitlines()[0])
    p.add_argument("--model-uri", required=True, help="artifact directory (fsspec URI) with config.json + model.pt")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=SERVE_PORT)
    p.add_argument("--max-batch-size", type=int, default=64,
                   help="sequences decoded together (KV cache rows); more wait in the queue")
    p.add_argument("--max-batch-tokens", type=int, default=2048,
                   help="tokens of work per model step: one per decoding sequence plus each admitted prompt")
    p.add_argument("--max-wait-ms", type=float, default=0.0,
                   help="when idle, how long the first request waits for others to share its first step")
    p.add_argument("--queue-size", type=int, default=256, help="requests waiting to join the batch before 429")
    p.add_argument("--drain-timeout-s", type=float, default=30.0)
    p.add_argument("--request-timeout-s", type=float, default=30.0)
    p.add_argument("--quantize", choices=("auto", "none", "int8"), default="auto",
                   help="int8: dynamic quantization (CPU); auto: int8 on CPU where it measures lossless at load")
    p.add_argument("--decode-threads", type=int, default=0,
                   help="threads decoding batches in parallel; 0: one per CPU of the container's quota (cgroup "
                        "cpu.max) on CPU, 1 with CUDA")
    p.add_argument("--torch-threads", type=int, default=0,
                   help="torch intra-op threads; 0: the quota's CPUs divided among the decode threads")
    p.add_argument("--log-level", default="warning")
    return p


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = build_parser()
    a = p.parse_args(argv)
    for name in ("max_batch_size", "max_batch_tokens", "queue_size"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if min(a.max_wait_ms, a.drain_timeout_s, a.torch_threads, a.decode_threads) < 0 or a.request_timeout_s <= 0:
        p.error("--max-wait-ms, --drain-timeout-s, --decode-threads and --torch-threads must be >= 0, "
                "--request-timeout-s > 0")
    return a


def draining_server(config, app, drain_timeout_s: float):
    """A ``uvicorn.Server`` whose first SIGTERM/SIGINT drains ``app`` before the usual shutdown, the whole of it
    within ``drain_timeout_s``; a second signal exits now. Never re-raises the signal (exit code 0)."""
    import uvicorn

    from workloads.serve.app import drain

    class DrainingServer(uvicorn.Server):
        draining = False

        def handle_exit(self, sig, frame) -> None:  # noqa: ARG002
            if self.draining:
                self.should_exit = self.force_exit = True
                return
            self.draining = True
            loop = asyncio.get_event_loop()
            loop.call_soon_threadsafe(lambda: loop.create_task(self._drain_then_exit()))

        async def _drain_then_exit(self) -> None:
            summary = await drain(app)
            # uvicorn's own graceful shutdown gets what is left of the budget, not a second full drain timeout
            self.config.timeout_graceful_shutdown = max(1.0, drain_timeout_s - summary["drain_s"])
            self.should_exit = True

    return DrainingServer(config)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import torch
    import uvicorn

    from workloads.serve.app import Settings, create_app

    # before any torch work: threads beyond the CPU quota are only throttled
    decode, intra = default_threads(cpu_limit(), torch.cuda.is_available(), args.decode_threads, args.torch_threads)
    torch.set_num_threads(intra)
    torch.set_num_interop_threads(1)
    logging.basicConfig(level=args.log_level.upper())
    app = create_app(Settings(model_uri=args.model_uri, max_batch_size=args.max_batch_size,
                              max_batch_tokens=args.max_batch_tokens, max_wait_ms=args.max_wait_ms,
                              queue_size=args.queue_size, drain_timeout_s=args.drain_timeout_s,
                              request_timeout_s=args.request_timeout_s, quantize=args.quantize,
                              decode_threads=decode))

    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False,
                            timeout_graceful_shutdown=max(1, int(args.drain_timeout_s)), lifespan="on")
    draining_server(config, app, args.drain_timeout_s).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
