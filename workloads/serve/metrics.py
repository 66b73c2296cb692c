"""The server's Prometheus series (``serve_queue_depth`` is what KEDA scales on; see components/k8s/common.py)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)


class ServeMetrics:
    def __init__(self, max_batch: int) -> None:
        self.registry = r = CollectorRegistry()
        self.queue_depth = Gauge("serve_queue_depth", "Requests waiting for a batch", registry=r)
        self.inflight = Gauge("serve_inflight_requests", "Accepted requests not yet answered", registry=r)
        self.ready = Gauge("serve_ready", "1 when warmed up and not draining", registry=r)
        buckets = sorted({1, 2, 4, 8, 16, 32, 64, 128, 256, max_batch})
        self.batch_size = Histogram("serve_batch_size", "Requests per forward pass", registry=r,
                                    buckets=[b for b in buckets if b <= max_batch])
        self.batch_latency = Histogram("serve_batch_seconds", "Forward pass time per batch", registry=r,
                                       buckets=LATENCY_BUCKETS)
        self.latency = Histogram("serve_request_latency_seconds", "Accepted request latency", ["endpoint"],
                                 registry=r, buckets=LATENCY_BUCKETS)
        self.requests = Counter("serve_requests", "Requests answered", ["endpoint", "code"], registry=r)
        self.rejections = Counter("serve_rejections", "Requests refused", ["reason"], registry=r)
        self.quant_delta = Gauge("serve_quantization_accuracy_delta",
                                 "Served minus float next-character accuracy (0 unless quantized)", registry=r)
