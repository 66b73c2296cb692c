"""SIGTERM handling: the signal only sets a flag; the loop checks it between steps and all ranks agree to stop.

Stopping inside a collective or a half-written optimizer step would corrupt the run, so nothing happens in the
handler itself. Any rank's flag stops every rank (MAX all-reduce), so a partial preemption cannot leave ranks
waiting on each other.
"""
from __future__ import annotations

import signal
import time

import torch
import torch.distributed as dist


class StopFlag:
    def __init__(self) -> None:
        self.at: float | None = None  # monotonic time the first signal arrived

    def install(self) -> "StopFlag":
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        if self.at is None:
            self.at = time.monotonic()

    @property
    def set(self) -> bool:
        return self.at is not None


def agree_to_stop(flag: StopFlag, device: torch.device) -> bool:
    """True on every rank if any rank was signalled (one tiny all-reduce per step)."""
    if not dist.is_initialized():
        return flag.set
    t = torch.tensor([1.0 if flag.set else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    if t.item() > 0 and flag.at is None:
        flag.at = time.monotonic()  # this rank was not signalled itself: its budget starts now
    return t.item() > 0


def emergency_fits(flag: StopFlag, budget_s: float, estimate_s: float, device: torch.device) -> bool:
    """Every rank reaches the same answer: the smallest remaining budget across ranks must cover the save."""
    elapsed = time.monotonic() - (flag.at if flag.at is not None else time.monotonic())
    spare = torch.tensor([budget_s - elapsed - estimate_s], device=device)
    if dist.is_initialized():
        dist.all_reduce(spare, op=dist.ReduceOp.MIN)
    return spare.item() > 0
