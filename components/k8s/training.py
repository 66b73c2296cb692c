"""``aiplatform:workloads:TrainingJob``: multi-node torchrun training as an Indexed Job on one GPU pool.
Notes: docs/architecture.md, "Workloads in the clusters"."""
from __future__ import annotations

from typing import Any, Callable

import pulumi
import pulumi_kubernetes as k8s

from blueprint.catalog.preemption import shutdown_budget
from blueprint.spec import GpuPool, PlatformSpec
from blueprint.spec.names import (
    CHECKPOINTS, DATASETS, GCSFUSE_ANNOTATION, MONITORING_NAMESPACE, TRAINING_NAMESPACE, object_uri,
)
from components.compute import RegionalCompute
from components.k8s import common
from components.k8s.cluster_services import pod_monitor
from components.k8s.kueue import Kueue
from workloads.contract import (
    BUG_EXIT_CODES, PREEMPTED_EXIT_CODE, RUN_AS_GID, RUN_AS_UID, SCRATCH_PATH, TEMPFAIL_EXIT_CODE, TRAIN_METRICS_PORT,
    TRAIN_MODULE, TRAIN_RDZV_PORT,
)

CONTAINER = "trainer"
# Rendezvous: join waits for the slowest node (scale-from-zero GPU nodes take 5-15 min to join and pull images).
RDZV_CONF = {"join_timeout": 900, "last_call_timeout": 60, "close_timeout": 60, "read_timeout": 300}
TORCHRUN_MAX_RESTARTS = 3
BACKOFF_LIMIT = 6


def pod_security_context() -> dict[str, Any]:
    """Non-root like serving: NCCL, EFA and torchrun need no root, and a compromised trainer must not get it.
    The user is the trainer image's (workloads/train/Dockerfile); volumes mount for it (``run_as``)."""
    return {"runAsNonRoot": True, "runAsUser": RUN_AS_UID, "runAsGroup": RUN_AS_GID, "fsGroup": RUN_AS_GID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def trainer_args(spec: PlatformSpec, checkpoint_uri: str, model_uri: str, budget_s: int,
                 data: str | None = None) -> list[str]:
    """The trainer's fixed flags (``python -m workloads.train --help``); ``data``: its ``--data`` path or URI."""
    t = spec.workloads.training
    assert t is not None
    return [*(["--data", data] if data else []), "--batch-size", str(t.batch_size), "--steps", str(t.steps),
            "--checkpoint-interval", str(t.checkpoint_interval), "--checkpoint-uri", checkpoint_uri,
            "--model-uri", model_uri, "--metrics-port", str(TRAIN_METRICS_PORT),
            "--emergency-checkpoint-budget-s", str(budget_s)]


def torchrun_command(job: str, service: str, nodes: int, gpus: int, launcher_timeout_s: int) -> list[str]:
    conf = ",".join(f"{k}={v}" for k, v in RDZV_CONF.items())
    return ["torchrun", f"--nnodes={nodes}", f"--nproc-per-node={gpus}", "--rdzv-backend=c10d",
            f"--rdzv-endpoint={job}-0.{service}:{TRAIN_RDZV_PORT}", f"--rdzv-id={job}", f"--rdzv-conf={conf}",
            f"--max-restarts={TORCHRUN_MAX_RESTARTS}", f"--shutdown-timeout={launcher_timeout_s}",
            "-m", TRAIN_MODULE]


def pod_failure_policy() -> dict[str, Any]:
    """First match wins: preemption is free, bugs fail fast, an unexplained SIGTERM is an ordinary retry."""
    return {"rules": [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
        {"action": "FailJob", "onExitCodes": {"containerName": CONTAINER, "operator": "In",
                                              "values": list(BUG_EXIT_CODES)}},
        {"action": "Count", "onExitCodes": {"containerName": CONTAINER, "operator": "In",
                                            "values": [PREEMPTED_EXIT_CODE, TEMPFAIL_EXIT_CODE]}},
    ]}


class TrainingJob(pulumi.ComponentResource):
    """Namespace, service account, headless rendezvous Service, network policies and the Indexed Job."""

    def __init__(self, spec: PlatformSpec, compute: RegionalCompute, pool: GpuPool, *,
                 identity: pulumi.Input[str] | None = None, checkpoint_uri: str | None = None,
                 model_uri: str | None = None, cluster_services: list[pulumi.Resource] | None = None,
                 volumes: Callable[[k8s.core.v1.Namespace, tuple[int, int]], Any] | None = None,
                 kueue: Kueue | None = None, opts: pulumi.ResourceOptions | None = None):
        """``identity``: IRSA role ARN (AWS) or GCP service-account email that may write the checkpoint prefix.
        ``volumes(namespace, (uid, gid))``: declares the region's dataset claims for pods running as that user and
        returns an object with ``mounts`` (``ClaimMount``s), ``claims`` (resources) and ``data_dir``
        (``components/storage/k8s_storage.py``); None: data is read through object URIs only.
        ``kueue``: the cluster's Kueue (``components/k8s/kueue.py``), required when the workload names a queue: the
        job's LocalQueue is declared in its namespace and the Job waits for it."""
        train = spec.workloads.training
        assert train is not None, "TrainingJob needs spec.workloads.training"
        region = compute.region
        cloud = region.cloud
        super().__init__("aiplatform:workloads:TrainingJob", f"{compute.child_name}-{train.name}", None, opts)
        prov = compute.k8s_provider
        name = f"{compute.child_name}-{train.name}"
        storage_region = spec.region(spec.training_data_region())
        assert storage_region is not None
        self.checkpoint_uri = checkpoint_uri or train.checkpoint_uri or object_uri(
            spec, storage_region, CHECKPOINTS, train.name)
        self.model_uri = model_uri or common.model_uri(spec, storage_region)
        budget = shutdown_budget(cloud.value)
        sched, resources = common.gpu_resources(pool, cloud, train.gpus_per_node)
        gpus = train.gpus_per_node or sched.gpus_per_node
        job_name, svc_name = train.name, f"{train.name}-rdzv"
        pod_labels = common.labels(train.name, "trainer")

        ns = common.namespace(TRAINING_NAMESPACE, self, prov, f"{name}-ns")
        self.namespace = ns
        after_ns = [ns]
        self.service_account = common.service_account(train.name, TRAINING_NAMESPACE, compute, identity, self, prov,
                                                      f"{name}-sa", after_ns)
        common.default_deny(TRAINING_NAMESPACE, self, prov, f"{name}-deny", after_ns)
        security = pod_security_context()
        self.volumes = volumes(ns, (security["runAsUser"], security["runAsGroup"])) if volumes is not None else None
        mounts = self.volumes.mounts if self.volumes is not None else []
        if train.data is None:
            data = None
        elif self.volumes is not None:
            data = f"{self.volumes.data_dir}/{train.data}"
        else:  # fsspec reads the object directly
            data = object_uri(spec, storage_region, DATASETS, train.data).rstrip("/")
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow", metadata={"name": f"{train.name}-allow", "namespace": TRAINING_NAMESPACE,
                                       "labels": common.MANAGED_BY},
            spec={"podSelector": {"matchLabels": common.selector(train.name, "trainer")},
                  "policyTypes": ["Ingress", "Egress"],
                  # rendezvous and NCCL (any port) between the job's own pods; metrics to Prometheus
                  "ingress": [{"from": [{"podSelector": {"matchLabels": common.selector(train.name, "trainer")}}]},
                              common.from_namespace(MONITORING_NAMESPACE, TRAIN_METRICS_PORT)],
                  "egress": [{"to": [{"podSelector": {"matchLabels": common.selector(train.name, "trainer")}}]},
                             common.dns_egress(), common.https_egress(), *compute.identity_egress()]},
            opts=common.k8s_opts(self, prov, after_ns))
        self.service = k8s.core.v1.Service(
            f"{name}-rdzv", metadata={"name": svc_name, "namespace": TRAINING_NAMESPACE, "labels": pod_labels},
            spec={"clusterIP": "None", "publishNotReadyAddresses": True,  # DNS before readiness: rendezvous needs it
                  "selector": common.selector(train.name, "trainer"),
                  "ports": [{"name": "rdzv", "port": TRAIN_RDZV_PORT, "targetPort": TRAIN_RDZV_PORT, "protocol": "TCP"}]},
            opts=common.k8s_opts(self, prov, after_ns))

        job_labels = dict(pod_labels)
        self.queue = None
        if train.kueue_queue:
            assert kueue is not None, "a queued workload needs the cluster's Kueue (deploy_workloads declares it)"
            job_labels["kueue.x-k8s.io/queue-name"] = train.kueue_queue
            self.queue = kueue.local_queue(train.kueue_queue, pool, ns, TRAINING_NAMESPACE)
        container = {
            "name": CONTAINER, "image": train.image, "imagePullPolicy": "IfNotPresent",
            "command": torchrun_command(job_name, svc_name, train.nodes, gpus, budget.launcher_timeout_s),
            "args": trainer_args(spec, self.checkpoint_uri, self.model_uri, budget.checkpoint_s, data),
            "ports": [{"name": "rdzv", "containerPort": TRAIN_RDZV_PORT},
                      {"name": "metrics", "containerPort": TRAIN_METRICS_PORT}],
            "env": [{"name": "NCCL_DEBUG", "value": "WARN"}, {"name": "PYTHONUNBUFFERED", "value": "1"}],
            "resources": resources,
            "volumeMounts": [common.shm_mount(),
                             *({"name": m.claim, "mountPath": m.path, "readOnly": m.read_only} for m in mounts),
                             {"name": "tmp", "mountPath": SCRATCH_PATH}],  # HOME and TMPDIR (train/Dockerfile)
            # read-only root, no capabilities (policies k8s-read-only-root-fs, k8s-capabilities-restricted)
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
        }
        pod_spec = {
            "serviceAccountName": train.name, "subdomain": svc_name, "restartPolicy": "Never",
            "terminationGracePeriodSeconds": budget.grace_s,
            **common.scheduling_fields(sched),
            "securityContext": security,
            "containers": [container],
            "volumes": [common.shm_volume(pool, cloud, gpus / sched.gpus_per_node),
                        *({"name": m.claim, "persistentVolumeClaim": {"claimName": m.claim, "readOnly": m.read_only}}
                          for m in mounts),
                        {"name": "tmp", "emptyDir": {"sizeLimit": "10Gi"}}],
        }
        pod_meta: dict[str, Any] = {"labels": pod_labels}
        if any(m.gcs_fuse for m in mounts):  # GKE injects the GCS FUSE sidecar into pods that ask for it
            pod_meta["annotations"] = {GCSFUSE_ANNOTATION: "true"}
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata={"name": job_name, "namespace": TRAINING_NAMESPACE, "labels": job_labels,
                      # a training run outlives `pulumi up`; don't block the deployment on its completion
                      "annotations": {"pulumi.com/skipAwait": "true"}},
            spec={"completionMode": "Indexed", "completions": train.nodes, "parallelism": train.nodes,
                  "backoffLimit": BACKOFF_LIMIT, "podFailurePolicy": pod_failure_policy(),
                  # Kueue admits the job by unsuspending it once the queue has quota
                  **({"suspend": True} if train.kueue_queue else {}),
                  "template": {"metadata": pod_meta, "spec": pod_spec}},
            opts=common.k8s_opts(self, prov, [self.service, self.service_account,
                                              *(self.volumes.claims if self.volumes is not None else []),
                                              *([self.queue] if self.queue is not None else [])]).merge(
                # Kueue owns spec.suspend once it admits the job: a later `pulumi up` must not suspend it again
                pulumi.ResourceOptions(ignore_changes=["spec.suspend"] if train.kueue_queue else None)))
        # train_* series from local rank 0 of every node (the trainer's --metrics-port)
        pod_monitor(f"{name}-metrics", train.name, TRAINING_NAMESPACE, common.selector(train.name, "trainer"),
                    "metrics",
                    ["app.kubernetes.io/name"], common.k8s_opts(self, prov, [*after_ns, *(cluster_services or [])]))
        self.register_outputs({"job": job_name, "checkpointUri": self.checkpoint_uri})
