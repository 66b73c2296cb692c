"""Training metrics as JSON lines on stdout (rank 0) and as Prometheus series on ``--metrics-port`` (local rank 0)."""
from __future__ import annotations

import json
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class TrainMetrics:
    def __init__(self, rank: int, local_rank: int, port: int, stream=None):
        self.rank, self.stream = rank, stream or sys.stdout
        self.registry = CollectorRegistry()
        r = self.registry
        self.step = Gauge("train_step", "Last completed optimizer step", registry=r)
        self.step_time = Histogram("train_step_seconds", "Wall time of one training step", registry=r,
                                   buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
        self.tokens_per_s = Gauge("train_tokens_per_second", "Global tokens per second (last step)", registry=r)
        self.samples_per_s = Gauge("train_samples_per_second", "Global samples per second (last step)", registry=r)
        self.loss = Gauge("train_loss", "Training loss (last step, this rank)", registry=r)
        self.stall = Histogram("train_checkpoint_stall_seconds", "Time the loop blocked for a checkpoint",
                               registry=r, buckets=(.001, .005, .01, .05, .1, .5, 1, 5, 10, 30))
        self.committed = Gauge("train_checkpoint_committed_step", "Step of the newest committed checkpoint",
                               registry=r)
        self.preemptions = Counter("train_preemptions", "Stop signals honoured", registry=r)
        if port and local_rank == 0:
            start_http_server(port, registry=r)

    def emit(self, event: str, **fields) -> None:
        if self.rank == 0:
            self.stream.write(json.dumps({"event": event, "time": round(time.time(), 3), **fields}) + "\n")
            self.stream.flush()
