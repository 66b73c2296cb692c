"""The trainer's DataLoader workers (started the way the trainer starts them) ignore SIGTERM and keep serving
batches: torchrun signals the whole process group, and only the trainer decides when to stop."""
from __future__ import annotations

import os
import signal

import torch

from workloads.train.data import CharWindows, Position, ResumableBatchSampler, loader


def ignored_signals(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("SigIgn:")).split()[1], 16)


def test_loader_workers_ignore_sigterm_and_keep_producing():
    ds = CharWindows(torch.arange(4000) % 50, 16)
    sampler = ResumableBatchSampler(len(ds), 4, 0, 1, 1234, Position())
    it = iter(loader(ds, sampler, 2, pin=False))
    first = [next(it) for _ in range(4)]  # both workers ran their init and produced
    workers = list(it._workers)
    assert len(workers) == 2
    for w in workers:
        assert ignored_signals(w.pid) & (1 << (signal.SIGTERM - 1)), "worker does not ignore SIGTERM"
        os.kill(w.pid, signal.SIGTERM)
    more = [next(it) for _ in range(40)]  # far past the prefetched ones: the workers had to keep working
    assert all(w.is_alive() and w.exitcode is None for w in workers)
    # and the order is still the resumable one
    ref = iter(loader(ds, ResumableBatchSampler(len(ds), 4, 0, 1, 1234, Position()), 0, pin=False))
    for got in first + more:
        want = next(ref)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    del it
