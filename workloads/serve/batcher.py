"""In-process dynamic batching: a bounded queue, batches of up to ``max_batch`` gathered for ``max_wait`` at most.

The event loop only queues and answers; one worker thread runs the forward passes, so requests keep arriving (and
the next batch keeps filling) while a batch computes. A full queue is an immediate rejection (HTTP 429) rather
than unbounded latency; a request that outlives its timeout is dropped before it reaches the model.
"""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from workloads.serve.metrics import ServeMetrics


class QueueFull(Exception):
    pass


class Ticket:
    """One HTTP request's admission: ``accepted`` once its first item entered the queue."""

    __slots__ = ("accepted",)

    def __init__(self) -> None:
        self.accepted = False


class Batcher:
    def __init__(self, fn: Callable[[list[Any]], list[Any]], *, max_batch: int, max_wait_s: float,
                 queue_size: int, metrics: ServeMetrics):
        self.fn, self.max_batch, self.max_wait_s = fn, max_batch, max_wait_s
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=queue_size)
        self.metrics = metrics
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forward")
        self.task: asyncio.Task | None = None
        self.batches = 0
        metrics.queue_depth.set_function(self.queue.qsize)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    @property
    def alive(self) -> bool:
        return self.task is not None and not self.task.done()

    async def submit(self, item: Any, timeout_s: float, ticket: Ticket | None = None) -> Any:
        """Queue ``item`` and wait for its result. A new request (ticket not yet accepted) is refused with
        ``QueueFull`` when there is no room; an accepted one waits for room within its timeout."""
        fut = asyncio.get_running_loop().create_future()
        if ticket is not None and ticket.accepted:
            await asyncio.wait_for(self.queue.put((item, fut)), timeout_s)
        else:
            try:
                self.queue.put_nowait((item, fut))
            except asyncio.QueueFull:
                raise QueueFull from None
            if ticket is not None:
                ticket.accepted = True
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout_s)
        except asyncio.TimeoutError:
            fut.cancel()  # still queued: the worker skips it
            raise

    async def _gather(self) -> list[tuple[Any, asyncio.Future]]:
        batch = [await self.queue.get()]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                batch.append(self.queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), left))
            except asyncio.TimeoutError:
                break
        return [(item, fut) for item, fut in batch if not fut.done()]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._gather()
            if not batch:
                continue
            t0 = time.perf_counter()
            try:
                results = await loop.run_in_executor(self.executor, self.fn, [item for item, _ in batch])
            except Exception as e:  # a failing batch fails its requests, not the server
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            self.batches += 1
            self.metrics.batch_size.observe(len(batch))
            self.metrics.batch_latency.observe(time.perf_counter() - t0)
            for (_, fut), res in zip(batch, results):
                if not fut.done():
                    fut.set_result(res)

    @property
    def pending(self) -> int:
        return self.queue.qsize()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        self.executor.shutdown(wait=True)
