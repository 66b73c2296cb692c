"""Training metrics as JSON lines on stdout (rank 0) and as Prometheus series on ``--metrics-port`` (local rank 0)."""
from __future__ import annotations

import json
import statistics
import sys
import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class TrainMetrics:
    def __init__(self, rank: int, local_rank: int, port: int, stream=None):
        self.rank, self.stream = rank, stream or sys.stdout
        self.registry = CollectorRegistry()
        r = self.registry
        self.step = Gauge("train_step", "Last completed optimizer step", registry=r)
        self.step_time = Histogram("train_step_seconds", "Wall time of one training step (the whole loop iteration)",
                                   registry=r, buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
        self.tokens_per_s = Gauge("train_tokens_per_second", "Global tokens per second of wall time (last step)",
                                  registry=r)
        self.samples_per_s = Gauge("train_samples_per_second", "Global samples per second of wall time (last step)",
                                   registry=r)
        self.loss = Gauge("train_loss", "Training loss (last step, this rank)", registry=r)
        self.stall = Histogram("train_checkpoint_stall_seconds",
                               "Loop time lost to a checkpoint: blocking, plus the slowdown of the steps an "
                               "asynchronous save overlapped", registry=r,
                               buckets=(.001, .005, .01, .05, .1, .5, 1, 5, 10, 30))
        self.committed = Gauge("train_checkpoint_committed_step", "Step of the newest committed checkpoint",
                               registry=r)
        self.preemptions = Counter("train_preemptions", "Stop signals honoured", registry=r)
        if port and local_rank == 0:
            start_http_server(port, registry=r)

    def emit(self, event: str, **fields) -> None:
        if self.rank == 0:
            self.stream.write(json.dumps({"event": event, "time": round(time.time(), 3), **fields}) + "\n")
            self.stream.flush()


class StallMeter:
    """What a checkpoint costs the training loop, per save.

    A synchronous save costs the time the loop blocks in it. An asynchronous one blocks only to stage the state,
    then its background writer competes with training for CPU, memory bandwidth and the network until the commit:
    the steps it overlaps run longer than usual. So a save's stall is its blocking time plus the excess, over the
    median of recent undisturbed steps, of every step that ran while it was in flight.
    """

    def __init__(self, window: int = 16):
        self.recent: deque[float] = deque(maxlen=window)  # wall times of steps with no save around them
        self.open: dict | None = None  # the asynchronous save still in flight

    def observe(self, wall_s: float, *, overlapped: bool, blocking_s: float = 0.0, saved_step: int | None = None,
                pending_step: int | None = None) -> list[dict]:
        """One loop iteration of ``wall_s``: ``overlapped`` if a save was in flight when it began, ``blocking_s``
        spent in a save it started at ``saved_step``, ``pending_step`` the save still in flight at its end.
        Returns the saves this iteration completed the accounting of."""
        done = []
        if overlapped and self.open is not None:
            if self.recent:  # the blocking of a new save started here is the new save's, not the old one's
                self.open["slowdown_s"] += wall_s - blocking_s - statistics.median(self.recent)
            self.open["steps"] += 1
        elif saved_step is None and not overlapped:
            self.recent.append(wall_s)
        if self.open is not None and self.open["step"] != pending_step:
            done.append(self._close(self.open))
            self.open = None
        if saved_step is not None:
            rec = {"step": saved_step, "blocking_s": blocking_s, "slowdown_s": 0.0, "steps": 0}
            if pending_step == saved_step:
                self.open = rec
            else:
                done.append(self._close(rec))
        return done

    def flush(self, waited_s: float) -> list[dict]:
        """The loop waited ``waited_s`` for the save in flight (end of run, preemption): that is blocking too."""
        if self.open is None:
            return []
        self.open["blocking_s"] += waited_s
        rec, self.open = self.open, None
        return [self._close(rec)]

    @staticmethod
    def _close(rec: dict) -> dict:
        rec["stall_s"] = rec["blocking_s"] + max(0.0, rec["slowdown_s"])
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in rec.items()}
