"""Continuous (iteration-level) batching: decode threads advance every live sequence one token per step.

The event loop only admits (a bounded queue: full is an immediate 429) and answers. Between two model steps a
decode thread takes waiting requests, up to its share of ``max_batch`` live sequences and ``max_tokens`` tokens of
work per step, prefills them into its KV cache and answers each request the moment its sequence ends. A request
whose client has gone, or whose deadline has passed, is dropped at the next step and frees its cache row. With
several decode threads (CPU: one per CPU of the quota) each owns a batch and a cache; a step runs in TorchScript
without the GIL, so they decode in parallel.
"""
from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque

import torch

from workloads.serve.engine import Batch, Engine, Sequence
from workloads.serve.metrics import ServeMetrics

log = logging.getLogger("workloads.serve")


# A decode thread takes at least this many rows before the next one gets any. A step of 4 rows costs about what
# one of 8 does (per-operator overhead), but two threads of 4 run on two cores at once: at 8 concurrent requests
# a single thread left one of two CPUs idle (1.0 CPUs used, bench/serving.py); below 4 a load stays on one thread.
MIN_SHARE = 4
# While a thread has live sequences, newcomers wait up to this many of its steps to be prefilled together (unless
# they would fill its free rows): a prefill is a forward pass of its own that costs about a decoding step, so
# admitting one newcomer per step (mixed lengths: rows free up one at a time) nearly doubled each step's cost.
ADMIT_EVERY = 4


class QueueFull(Exception):
    pass


class Scheduler:
    def __init__(self, engine: Engine, *, max_batch: int, max_tokens: int, max_wait_s: float, queue_size: int,
                 metrics: ServeMetrics, threads: int = 1):
        self.engine, self.max_batch, self.max_tokens = engine, max_batch, max_tokens
        self.max_wait_s, self.queue_size, self.metrics = max_wait_s, queue_size, metrics
        n = max(1, min(threads, max_batch))
        self.batches = [Batch(engine, max_batch // n + (i < max_batch % n)) for i in range(n)]
        self.held = [0] * n  # per thread: steps run since a newcomer was first held back (``ADMIT_EVERY``)
        self.waiting: deque[Sequence] = deque()  # appended by the event loop, taken by the decode threads
        self.admission = threading.Lock()  # one thread at a time weighs its share against the others'
        self.wakes = [threading.Event() for _ in self.batches]
        self.stopping = False
        self.threads: list[threading.Thread] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        metrics.queue_depth.set_function(lambda: len(self.waiting))
        metrics.occupancy.set_function(lambda: self.live / self.max_batch)
        metrics.tokens_per_second.set_function(metrics.token_rate.rate)

    @property
    def live(self) -> int:
        return sum(len(b.active) for b in self.batches)

    # ---- event-loop side

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.threads = [threading.Thread(target=self._run, args=(i,), name=f"decode-{i}", daemon=True)
                        for i in range(len(self.batches))]
        for t in self.threads:
            t.start()

    @property
    def alive(self) -> bool:
        return bool(self.threads) and all(t.is_alive() for t in self.threads)

    @property
    def pending(self) -> int:
        return len(self.waiting)

    def submit(self, seq: Sequence) -> None:
        """Queue ``seq`` for the next step, or raise ``QueueFull`` at once when ``queue_size`` already wait."""
        if len(self.waiting) >= self.queue_size:
            raise QueueFull
        self.waiting.append(seq)
        self.wakes[0].set()  # the first thread takes it, or passes the overflow on (``_admit``)

    async def close(self) -> None:
        self.stopping = True
        for w in self.wakes:
            w.set()
        for t in self.threads:
            await asyncio.to_thread(t.join)

    @staticmethod
    def _deliver(done: list[tuple[Sequence, object]]) -> None:
        for seq, result in done:
            if not seq.future.done():
                if isinstance(result, BaseException):
                    seq.future.set_exception(result)
                else:
                    seq.future.set_result(result)

    # ---- decode threads

    def _run(self, i: int) -> None:
        batch, wake = self.batches[i], self.wakes[i]
        with torch.inference_mode():
            while not self.stopping:
                if not batch.active and not self.waiting:  # idle: sleep until a request (or an overflow) comes
                    wake.wait()
                    wake.clear()
                    if self.stopping:
                        break
                    self._linger(wake)
                try:
                    ran = self._step(i, batch)
                except Exception as e:  # a failing step fails its sequences, not the server
                    log.exception("decode step failed")
                    self._post([(seq, e) for seq in batch.active])
                    batch.remove(list(range(len(batch.active))))
                    continue
                if not ran and self.waiting:  # queued work an earlier thread with room should take: rouse it
                    for w in self.wakes[:i]:
                        w.set()
                    wake.wait()
                    wake.clear()

    def _linger(self, wake: threading.Event) -> None:
        """Idle and woken: wait up to ``max_wait_s`` after the first waiting request for more to share the step."""
        try:
            until = self.waiting[0].arrived + self.max_wait_s
        except IndexError:  # another decode thread took it
            return
        while len(self.waiting) < self.max_batch and not self.stopping and (left := until - time.monotonic()) > 0:
            wake.wait(left)
            wake.clear()

    def _post(self, done: list[tuple[Sequence, object]]) -> None:
        if done and self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._deliver, done)

    def _admit(self, i: int, batch: Batch, now: float) -> list[Sequence]:
        """Waiting requests for thread ``i``'s next step. Threads fill in order, each up to a cap: an equal share
        of everything live or waiting, but never less than ``MIN_SHARE`` (a small load stays on one thread);
        within its free rows and the token budget left after its live sequences' work. With live sequences it
        holds newcomers back for up to ``ADMIT_EVERY`` steps unless they fill its free rows."""
        new: list[Sequence] = []
        with self.admission:
            if not self.waiting:
                return new
            cap = max(MIN_SHARE, math.ceil((self.live + len(self.waiting)) / len(self.batches)))
            if any(len(b.active) < min(b.rows, cap) for b in self.batches[:i]):
                return new  # an earlier thread has room: it takes them at its next step
            room = min(batch.rows, cap) - len(batch.active)
            if batch.active and self.held[i] < ADMIT_EVERY - 1 and len(self.waiting) < room:
                self.held[i] += 1  # let a few more arrive (or rows free up) and prefill them in one pass
                return new
            self.held[i] = 0
            budget = self.max_tokens - batch.work()
            while self.waiting and len(batch.active) + len(new) < min(batch.rows, cap):
                seq = self.waiting[0]
                if seq.cancelled or now > seq.deadline:  # gone or expired while queued: the event loop answered
                    self.waiting.popleft()
                    continue
                if len(seq.ctx) > budget and (new or batch.active):
                    break  # next step; a prompt larger than the whole budget still runs, alone
                budget -= len(seq.ctx)
                new.append(self.waiting.popleft())
            overflow = bool(self.waiting)
        if overflow:  # this thread is at its cap: the next ones may take the rest
            for w in self.wakes[i + 1:]:
                w.set()
        return new

    def _step(self, i: int, batch: Batch) -> bool:
        """One model step of thread ``i``'s batch; False when it had nothing to run."""
        t0 = time.monotonic()
        gone = [r for r, s in enumerate(batch.active) if s.cancelled or t0 > s.deadline]
        if gone:
            batch.remove(gone)
        new = self._admit(i, batch, t0)
        if not new and not batch.active:
            return False
        done, rows, tokens = batch.step(new)
        now = time.monotonic()
        m = self.metrics  # counted before the answers go out: a client that reads /metrics next sees its request
        for seq in new:
            if seq.max_new:
                m.ttft.observe(now - seq.arrived)
        if tokens:
            m.tokens.inc(tokens)
            m.token_rate.add(tokens, now)
        if rows:
            m.batch_size.observe(rows)
            m.batch_latency.observe(now - t0)
        self._post(list(done.items()))
        return True
