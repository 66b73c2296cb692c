"""Sharded checkpoints with ``torch.distributed.checkpoint`` to any fsspec URI, committed by a marker written last.

Layout under ``--checkpoint-uri``::

    step-000000100/             DCP files (one per rank + .metadata), the temporary location while being written
    step-000000100/_COMMITTED   written by rank 0 only after every rank's data and the metadata are durable; it
                                lists every file with its size, so resume can also reject a truncated checkpoint

Object stores have no atomic directory rename, so the marker is the commit (the same protocol on local disk,
S3 and GCS). Resume picks the newest step whose marker exists and whose files all match the listed sizes;
partial or damaged ones are skipped. Saves after the first are asynchronous (``dcp.async_save``): the state is
staged to host memory, then written by a background thread over a dedicated gloo group so the training loop's
collectives never interleave with the checkpoint's.
"""
from __future__ import annotations

import json
import logging
import re
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint._fsspec_filesystem import FsspecReader, FsspecWriter

from workloads.storage import filesystem, join, storage_call

log = logging.getLogger("workloads.train.checkpoint")
MARKER = "_COMMITTED"
STEP_RE = re.compile(r"^step-(\d{9})$")


def step_dir(uri: str, step: int) -> str:
    return join(uri, f"step-{step:09d}")


@dataclass(frozen=True)
class Committed:
    step: int
    uri: str


def _verify(fs, path: str) -> str | None:
    """None if ``path`` holds a complete checkpoint, else why not."""
    marker = f"{path}/{MARKER}"
    if not fs.exists(marker):
        return "no commit marker (partial write)"
    try:
        manifest = json.loads(fs.cat_file(marker))
    except (ValueError, OSError) as e:
        return f"unreadable commit marker: {e}"
    files = manifest.get("files") or {}
    if ".metadata" not in files:
        return "manifest lists no .metadata"
    for rel, size in files.items():
        try:
            actual = fs.info(f"{path}/{rel}")["size"]
        except FileNotFoundError:
            return f"missing {rel}"
        if actual != size:
            return f"{rel} is {actual} bytes, committed as {size} (truncated)"
    return None


def complete_checkpoints(uri: str) -> list[Committed]:
    """Every complete checkpoint under ``uri``, newest first; logs why each other one is skipped."""
    with storage_call(f"listing checkpoints under {uri}"):
        return _complete_checkpoints(uri)


def _complete_checkpoints(uri: str) -> list[Committed]:
    fs, root = filesystem(uri)
    fs.invalidate_cache()
    if not fs.exists(root):
        return []
    found = []
    for entry in fs.ls(root, detail=False):
        name = entry.rstrip("/").rsplit("/", 1)[-1]
        m = STEP_RE.match(name)
        if m:
            found.append(int(m.group(1)))
    good = []
    for step in sorted(found, reverse=True):
        reason = _verify(fs, f"{root}/step-{step:09d}")
        if reason is None:
            good.append(Committed(step, step_dir(uri, step)))
        else:
            log.warning("skipping checkpoint step %d under %s: %s", step, uri, reason)
    return good


class CheckpointManager:
    """Save (sync or async), commit, garbage-collect and find checkpoints; every rank calls every method.

    ``on_commit(step)`` runs on every rank for every commit, wherever it happens: in ``poll``, in ``wait``, or
    inside ``save`` when a new save first has to finish the previous asynchronous one.
    """

    SAFETY = 1.5  # margin on the last measured save when deciding whether an emergency one fits

    def __init__(self, uri: str, rank: int, *, async_save: bool = True, keep: int = 3,
                 on_commit: Callable[[int], None] | None = None):
        self.uri, self.rank, self.async_save, self.keep = uri, rank, async_save, keep
        self.on_commit = on_commit
        self.local = "://" not in uri or uri.startswith("file://")
        # a second gloo group: the async writer thread's collectives must not share a group with DDP's
        self.pg = dist.new_group(backend="gloo") if dist.is_initialized() else None
        self.pending: tuple[Future, int, float] | None = None
        self.saves = 0
        self.last_committed: int | None = None
        # duration of the most recent complete save (for the emergency budget); after a resume and before this
        # run's first save, the load's duration stands in (same bytes, same store); 0 = unknown, so try anyway
        self.last_save_s = 0.0

    def _writer(self, step: int) -> FsspecWriter:
        return FsspecWriter(step_dir(self.uri, step), sync_files=self.local, overwrite=True)

    def save(self, state: dict, step: int, *, block: bool = False) -> float:
        """Start (or, if ``block``/first, perform) a save of ``state`` at ``step``; returns the seconds stalled."""
        t0 = time.monotonic()
        self.wait()
        if block or not self.async_save or self.saves == 0:
            with storage_call(f"saving checkpoint step {step} to {self.uri}"):
                dcp.save(state, storage_writer=self._writer(step), process_group=self.pg)
            self._commit(step, t0)
        else:
            with storage_call(f"saving checkpoint step {step} to {self.uri}"):
                fut = dcp.async_save(state, storage_writer=self._writer(step), process_group=self.pg)
            upload = getattr(fut, "upload_completion", fut)  # AsyncSaveResponse when staging is async
            self.pending = (upload, step, t0)
        self.saves += 1
        return time.monotonic() - t0

    def poll(self) -> int | None:
        """Commit a finished async save; returns its step if one was committed now."""
        if self.pending is not None and self.pending[0].done():
            return self.wait()
        return None

    def wait(self) -> int | None:
        if self.pending is None:
            return None
        fut, step, t0 = self.pending
        self.pending = None
        with storage_call(f"saving checkpoint step {step} to {self.uri}"):
            fut.result()
        self._commit(step, t0)
        return step

    @property
    def pending_step(self) -> int | None:
        return None if self.pending is None else self.pending[1]

    def _commit(self, step: int, t0: float) -> None:
        """Rank 0 writes the marker: DCP's finish ran after every rank reported its writes, so all are durable."""
        if self.rank == 0:
            with storage_call(f"committing checkpoint step {step} to {self.uri}"):
                self._write_marker(step)
        self.last_committed = step
        self.last_save_s = time.monotonic() - t0
        if self.on_commit is not None:
            self.on_commit(step)

    def _write_marker(self, step: int) -> None:
        """The commit marker, listing every file with its size, then the garbage collection it allows."""
        fs, root = filesystem(self.uri)
        path = f"{root}/step-{step:09d}"
        fs.invalidate_cache()
        files = {}
        for full, info in fs.find(path, detail=True).items():
            rel = full[len(path) + 1:]
            if rel != MARKER:
                files[rel] = info["size"]
        body = {"step": step, "files": files, "committed_at": time.time()}
        with fs.open(f"{path}/{MARKER}", "wb") as f:
            f.write(json.dumps(body, sort_keys=True).encode())
        self._gc(fs, root, step)

    def estimate_save_s(self) -> float:
        """How long a blocking save is expected to take (0 when nothing has been measured yet)."""
        return self.last_save_s * self.SAFETY

    def _gc(self, fs, root: str, newest: int) -> None:
        complete = [c.step for c in _complete_checkpoints(self.uri)]
        doomed = set(complete[self.keep:])
        for entry in fs.ls(root, detail=False):
            m = STEP_RE.match(entry.rstrip("/").rsplit("/", 1)[-1])
            if not m:
                continue
            s = int(m.group(1))
            if s in doomed or (s < newest and s not in complete):  # older partials were abandoned
                fs.rm(entry, recursive=True)

    def load(self, state: dict, ckpt: Committed) -> set[str]:
        """Load ``ckpt`` into ``state`` in place; returns the top-level keys the checkpoint lacked (skipped)."""
        t0 = time.monotonic()
        with storage_call(f"loading checkpoint {ckpt.uri}"):
            reader = FsspecReader(ckpt.uri)
            saved = {k.split(".", 1)[0] for k in reader.read_metadata().state_dict_metadata}
            missing = {k for k in state if k not in saved}
            dcp.load({k: v for k, v in state.items() if k not in missing}, storage_reader=FsspecReader(ckpt.uri),
                     process_group=self.pg)
        self.last_save_s = time.monotonic() - t0  # the save-time prior until this run measures a save
        return missing


def newest_agreed(uri: str, rank: int) -> Committed | None:
    """Rank 0 scans the store and broadcasts its choice, so every rank resumes from the same checkpoint."""
    choice: list[Committed | None] = [None]
    if rank == 0:
        found = complete_checkpoints(uri)
        choice = [found[0] if found else None]
    if dist.is_initialized():
        dist.broadcast_object_list(choice, src=0)
    return choice[0]


def rng_state() -> dict[str, torch.Tensor]:
    s = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state()
    return s


def set_rng_state(s: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(s["cpu"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state(s["cuda"])
