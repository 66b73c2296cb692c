"""Continuous (iteration-level) batching: one worker thread advances every live sequence one token per step.

The event loop only admits (a bounded queue: full is an immediate 429) and answers. Between two model steps the
worker takes waiting requests, up to ``max_batch`` live sequences and ``max_tokens`` tokens of work per step,
prefills them into the KV cache and answers each request the moment its sequence ends. A request whose client
has gone, or whose deadline has passed, is dropped at the next step and frees its cache row.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque

import torch

from workloads.serve.engine import Batch, Engine, Sequence
from workloads.serve.metrics import ServeMetrics

log = logging.getLogger("workloads.serve")


class QueueFull(Exception):
    pass


class Scheduler:
    def __init__(self, engine: Engine, *, max_batch: int, max_tokens: int, max_wait_s: float, queue_size: int,
                 metrics: ServeMetrics):
        self.engine, self.max_batch, self.max_tokens = engine, max_batch, max_tokens
        self.max_wait_s, self.queue_size, self.metrics = max_wait_s, queue_size, metrics
        self.batch = Batch(engine, max_batch)
        self.waiting: deque[Sequence] = deque()  # appended by the event loop, taken by the worker
        self.wake = threading.Event()
        self.stopping = False
        self.thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.steps = 0
        metrics.queue_depth.set_function(lambda: len(self.waiting))
        metrics.occupancy.set_function(lambda: len(self.batch.active) / self.max_batch)
        metrics.tokens_per_second.set_function(metrics.token_rate.rate)

    # ---- event-loop side

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.thread = threading.Thread(target=self._run, name="decode", daemon=True)
        self.thread.start()

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def pending(self) -> int:
        return len(self.waiting)

    def submit(self, seq: Sequence) -> None:
        """Queue ``seq`` for the next step, or raise ``QueueFull`` at once when ``queue_size`` already wait."""
        if len(self.waiting) >= self.queue_size:
            raise QueueFull
        self.waiting.append(seq)
        self.wake.set()

    async def close(self) -> None:
        self.stopping = True
        self.wake.set()
        if self.thread is not None:
            await asyncio.to_thread(self.thread.join)

    @staticmethod
    def _deliver(done: list[tuple[Sequence, object]]) -> None:
        for seq, result in done:
            if not seq.future.done():
                if isinstance(result, BaseException):
                    seq.future.set_exception(result)
                else:
                    seq.future.set_result(result)

    # ---- worker side

    def _run(self) -> None:
        with torch.inference_mode():
            while not self.stopping:
                if not self.batch.active and not self._wait_for_work():
                    continue
                try:
                    self._step()
                except Exception as e:  # a failing step fails its sequences, not the server
                    log.exception("decode step failed")
                    self._post([(seq, e) for seq in self.batch.active])
                    self.batch.remove(list(range(len(self.batch.active))))

    def _wait_for_work(self) -> bool:
        """Idle: sleep until a request arrives, then up to ``max_wait_s`` for more to share the first step."""
        while not self.waiting:
            if self.stopping:
                return False
            self.wake.wait()
            self.wake.clear()
        until = self.waiting[0].arrived + self.max_wait_s
        while len(self.waiting) < self.max_batch and not self.stopping:
            left = until - time.monotonic()
            if left <= 0:
                break
            self.wake.wait(left)
            self.wake.clear()
        return not self.stopping

    def _post(self, done: list[tuple[Sequence, object]]) -> None:
        if done and self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._deliver, done)

    def _admit(self, now: float) -> list[Sequence]:
        """Waiting requests that fit this step: free rows, and the token budget after the live sequences' work."""
        active = self.batch.active
        budget = self.max_tokens - self.batch.work()
        new: list[Sequence] = []
        while self.waiting and len(active) + len(new) < self.max_batch:
            seq = self.waiting[0]
            if seq.cancelled or now > seq.deadline:  # gone or expired while queued: the event loop answered
                self.waiting.popleft()
                continue
            if len(seq.ctx) > budget and (new or active):
                break  # next step; a prompt larger than the whole budget still runs, alone
            budget -= len(seq.ctx)
            new.append(self.waiting.popleft())
        return new

    def _step(self) -> None:
        t0 = time.monotonic()
        gone = [i for i, s in enumerate(self.batch.active) if s.cancelled or t0 > s.deadline]
        if gone:
            self.batch.remove(gone)
        new = self._admit(t0)
        done, rows, tokens = self.batch.step(new)
        self._post(list(done.items()))
        now = time.monotonic()
        m = self.metrics
        for seq in new:
            if seq.max_new:
                m.ttft.observe(now - seq.arrived)
        if tokens:
            m.tokens.inc(tokens)
            m.token_rate.add(tokens, now)
        if rows:
            m.batch_size.observe(rows)
            m.batch_latency.observe(now - t0)
        self.steps += 1
