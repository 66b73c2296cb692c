"""What the workload images and the manifests that run them agree on: entry points, ports, HTTP paths, exit codes,
metric names, the user and the writable paths. Standard library only; workloads/* and components/k8s/* import it."""
from __future__ import annotations

# The modules the manifests run (``python -m``; ``torchrun ... -m``).
SERVE_MODULE = "workloads.serve"
TRAIN_MODULE = "workloads.train"

# Ports.
SERVE_PORT = 8080  # the server's HTTP port: the API, its probes and /metrics
TRAIN_RDZV_PORT = 29400  # torchrun's c10d rendezvous, on the Job's first pod
TRAIN_METRICS_PORT = 9090  # the trainer's Prometheus port (``--metrics-port``), on local rank 0 of each node

# What the server answers on SERVE_PORT.
LIVEZ_PATH = "/livez"  # 200 while the process is healthy (listening before the model loads)
READYZ_PATH = "/readyz"  # 200 only once the model is loaded and warmed, and not draining
METRICS_PATH = "/metrics"  # Prometheus exposition (the trainer's metrics port too)

# Exit codes, which the training Job's podFailurePolicy reads.
BUG_EXIT_CODES = (1, 2)  # an exception / an argument error: retrying cannot help, fail the Job
PREEMPTED_EXIT_CODE = 143  # 128 + SIGTERM: stopped (and checkpointed) by a drain or preemption; retry, counted
TEMPFAIL_EXIT_CODE = 75  # EX_TEMPFAIL: checkpoint storage unreachable, or the rendezvous failed; retry, counted

# Metric names the platform queries.
QUEUE_DEPTH_METRIC = "serve_queue_depth"  # requests waiting to join the batch: what KEDA scales serving on

# The images' non-root user (their Dockerfiles' USER) and the paths the pods mount for it.
RUN_AS_UID = 65532
RUN_AS_GID = 65532
SCRATCH_PATH = "/tmp"  # HOME and TMPDIR in the images; an emptyDir in the pods (the root filesystem is read-only)
SHM_PATH = "/dev/shm"  # shared memory for NCCL and data loaders: a RAM-backed emptyDir
