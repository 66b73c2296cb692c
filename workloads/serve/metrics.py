"""The server's Prometheus series (KEDA scales on ``QUEUE_DEPTH_METRIC``, workloads/contract.py)."""
from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from workloads.contract import QUEUE_DEPTH_METRIC

LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)


class TokenRate:
    """Tokens per second over the last ``window_s`` whole seconds, in per-second buckets (no per-token state)."""

    def __init__(self, window_s: int = 10, clock=time.monotonic) -> None:
        self.window, self.clock = window_s, clock
        self.counts = [0] * (window_s + 1)
        self.seconds = [-1] * (window_s + 1)
        self.lock = threading.Lock()

    def add(self, n: int, now: float | None = None) -> None:
        sec = int(self.clock() if now is None else now)
        i = sec % len(self.counts)
        with self.lock:  # several decode threads add
            if self.seconds[i] != sec:
                self.seconds[i], self.counts[i] = sec, 0
            self.counts[i] += n

    def rate(self) -> float:
        now = int(self.clock())  # the current second is still filling: count the ``window`` before it
        return sum(c for s, c in zip(self.seconds, self.counts) if now - self.window <= s < now) / self.window


class ServeMetrics:
    def __init__(self, max_batch: int) -> None:
        self.registry = r = CollectorRegistry()
        self.queue_depth = Gauge(QUEUE_DEPTH_METRIC, "Requests waiting to join the batch", registry=r)
        self.inflight = Gauge("serve_inflight_requests", "Accepted requests not yet answered", registry=r)
        self.ready = Gauge("serve_ready", "1 when warmed up and not draining", registry=r)
        buckets = sorted({1, 2, 4, 8, 16, 32, 64, 128, 256, max_batch})
        self.batch_size = Histogram("serve_batch_size", "Sequences per model step (decoding and prefilled)",
                                    registry=r, buckets=[b for b in buckets if b <= max_batch])
        self.batch_latency = Histogram("serve_batch_seconds", "Time of one model step (all its forward passes)",
                                       registry=r, buckets=LATENCY_BUCKETS)
        self.occupancy = Gauge("serve_batch_occupancy", "Live sequences / --max-batch-size (KV cache rows in use)",
                               registry=r)
        self.tokens = Counter("serve_generated_tokens", "Tokens generated", registry=r)
        self.token_rate = TokenRate()
        self.tokens_per_second = Gauge("serve_tokens_per_second", "Tokens generated per second, last 10 s",
                                       registry=r)
        self.ttft = Histogram("serve_time_to_first_token_seconds", "Arrival to first generated token",
                              registry=r, buckets=LATENCY_BUCKETS)
        self.latency = Histogram("serve_request_latency_seconds", "Accepted request latency", ["endpoint"],
                                 registry=r, buckets=LATENCY_BUCKETS)
        self.requests = Counter("serve_requests", "Requests answered", ["endpoint", "code"], registry=r)
        self.rejections = Counter("serve_rejections", "Requests refused", ["reason"], registry=r)
        self.cancelled = Counter("serve_cancelled", "Accepted requests dropped before their end", ["reason"],
                                 registry=r)
        self.quant_delta = Gauge("serve_quantization_accuracy_delta",
                                 "Served minus float next-character accuracy (0 unless quantized)", registry=r)
