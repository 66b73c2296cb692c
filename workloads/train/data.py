"""Deterministic, resumable data order: the position is (epoch, batch), saved in every checkpoint.

The global order of an epoch is a permutation seeded by (seed, epoch), identical on every rank; rank ``r`` takes
its slice of each global batch. Resuming at (epoch, batch) therefore replays exactly the batches an uninterrupted
run would have seen. Loader workers ignore SIGTERM: only the trainer process decides when to stop.
"""
from __future__ import annotations

import signal
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class CharWindows(Dataset):
    """Overlapping windows of ``block_size + 1`` token ids (input and shifted target), stride ``block_size // 2``."""

    def __init__(self, ids: torch.Tensor, block_size: int):
        if len(ids) <= block_size + 1:
            raise ValueError(f"text of {len(ids)} tokens is too short for block_size {block_size}")
        self.ids, self.block = ids, block_size
        self.starts = torch.arange(0, len(ids) - block_size - 1, max(1, block_size // 2))

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        s = int(self.starts[i])
        chunk = self.ids[s:s + self.block + 1]
        return chunk[:-1], chunk[1:]


@dataclass
class Position:
    epoch: int = 0
    batch: int = 0  # global batches already consumed in ``epoch``

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "batch": self.batch}


class ResumableBatchSampler(Sampler[list[int]]):
    """Yields this rank's index batches from ``position`` on, forever (epochs roll over)."""

    def __init__(self, n: int, batch_size: int, rank: int, world: int, seed: int, position: Position):
        self.n, self.bs, self.rank, self.world, self.seed = n, batch_size, rank, world, seed
        self.global_bs = batch_size * world
        if self.global_bs > n:
            raise ValueError(f"global batch {self.global_bs} exceeds the {n} samples of the data set")
        self.batches_per_epoch = n // self.global_bs  # drop the ragged tail: every rank sees full batches
        self.start = Position(position.epoch, position.batch)

    def order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n, generator=g)

    def __iter__(self):
        epoch, batch = self.start.epoch, self.start.batch
        while True:
            perm = self.order(epoch)
            for b in range(batch, self.batches_per_epoch):
                lo = b * self.global_bs + self.rank * self.bs
                yield perm[lo:lo + self.bs].tolist()
            epoch, batch = epoch + 1, 0

    def __len__(self) -> int:  # one epoch; the iterator itself is unbounded
        return self.batches_per_epoch

    def advance(self, pos: Position) -> Position:
        """The position after consuming one more global batch."""
        b = pos.batch + 1
        return Position(pos.epoch + 1, 0) if b >= self.batches_per_epoch else Position(pos.epoch, b)


def _worker_init(_: int) -> None:
    # torchrun forwards SIGTERM to the trainer; a loader worker dying on it would crash the step mid-save.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def loader(ds: Dataset, sampler: ResumableBatchSampler, num_workers: int, pin: bool) -> DataLoader:
    # its own generator: the loader's base-seed draw must not consume the (checkpointed) global RNG stream
    return DataLoader(ds, batch_sampler=sampler, num_workers=num_workers, pin_memory=pin,
                      generator=torch.Generator().manual_seed(sampler.seed),
                      worker_init_fn=_worker_init if num_workers else None,
                      persistent_workers=num_workers > 0, prefetch_factor=2 if num_workers else None)
