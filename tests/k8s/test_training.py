"""TrainingJob: the Indexed Job's rendezvous, scheduling, failure policy and shutdown budget."""
from __future__ import annotations

import pytest

from blueprint.catalog.preemption import preemption_window_s, shutdown_budget
from tests.conftest import gcp_training_config, platform_config
from tests.k8s.conftest import spec_of, workload_plan
from tests.k8s.helpers import one_in

JOB = "kubernetes:batch/v1:Job"


def _job(stack: str, platform: dict | None = None):
    spec = spec_of(stack, platform)
    train = spec.workloads.training
    region = spec.region(train.region)
    plan = workload_plan(stack, platform)
    return spec, train, region, plan, one_in(plan, JOB, region.key.replace("/", "-"), train.name)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_indexed_job_rendezvous_on_pod_zero_of_the_headless_service(stack):
    spec, train, region, plan, job = _job(stack)
    pool = region.pool(train.pool)
    gpus = train.gpus_per_node or pool.facts(region.cloud).gpus
    assert job.get("spec.completionMode") == "Indexed"
    assert job.get("spec.completions") == job.get("spec.parallelism") == train.nodes
    pod = job.get("spec.template.spec")
    svc = one_in(plan, "kubernetes:core/v1:Service", region.key.replace("/", "-"), pod["subdomain"])
    assert svc.get("spec.clusterIP") == "None" and svc.get("spec.publishNotReadyAddresses") is True
    assert svc.get("spec.selector").items() <= job.get("spec.template.metadata.labels").items()
    cmd = pod["containers"][0]["command"]
    assert cmd[0] == "torchrun" and cmd[-2:] == ["-m", "workloads.train"]
    assert f"--nnodes={train.nodes}" in cmd and f"--nproc-per-node={gpus}" in cmd
    assert f"--rdzv-endpoint={train.name}-0.{pod['subdomain']}:29400" in cmd
    conf = dict(kv.split("=") for kv in next(c for c in cmd if c.startswith("--rdzv-conf=")).split("=", 1)[1]
                .split(","))
    assert int(conf["join_timeout"]) >= 600, "GPU nodes scaling from zero need a long rendezvous join"
    args = pod["containers"][0]["args"]
    flags = dict(zip(args[::2], args[1::2]))
    assert flags["--batch-size"] == str(train.batch_size) and flags["--steps"] == str(train.steps)
    assert flags["--checkpoint-interval"] == str(train.checkpoint_interval)
    assert flags["--checkpoint-uri"] == f"s3://{spec.name_prefix}-{region.region}-checkpoints/{train.name}/"
    assert flags["--metrics-port"] == "9090"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_gpu_requests_equal_limits_and_efa_follows_the_pool(stack):
    spec, train, region, plan, job = _job(stack)
    pool = region.pool(train.pool)
    res = job.get("spec.template.spec.containers[0].resources")
    assert res["requests"] == res["limits"]
    assert res["limits"]["nvidia.com/gpu"] == str(train.gpus_per_node or pool.facts(region.cloud).gpus)
    if pool.uses_efa(region.cloud):
        assert res["limits"]["vpc.amazonaws.com/efa"] == str(pool.facts(region.cloud).efa_interfaces)
    else:
        assert "vpc.amazonaws.com/efa" not in res["limits"]
    vol = job.get("spec.template.spec.volumes[0]")
    assert vol["emptyDir"]["medium"] == "Memory"
    assert {"name": vol["name"], "mountPath": "/dev/shm"} in job.get("spec.template.spec.containers[0].volumeMounts")


def test_failure_policy_ignores_preemption_and_fails_fast_on_bugs():
    *_, job = _job("prod")
    assert job.get("spec.template.spec.restartPolicy") == "Never"
    rules = job.get("spec.podFailurePolicy.rules")
    assert rules[0] == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
    fail = next(r for r in rules if r["action"] == "FailJob")
    assert {1, 2} <= set(fail["onExitCodes"]["values"]) and fail["onExitCodes"]["operator"] == "In"
    assert 143 not in fail["onExitCodes"]["values"]
    assert job.get("spec.backoffLimit") >= 1


@pytest.mark.parametrize("cloud_region,pool", [("aws/us-east-1", "train-h100"), ("gcp/us-central1", "train-h100")])
def test_shutdown_deadlines_nest_inside_the_clouds_preemption_window(cloud_region, pool):
    platform = gcp_training_config() if cloud_region.startswith("gcp/") else platform_config("prod")
    platform["workloads"]["training"].update(region=cloud_region, pool=pool)
    spec, train, region, plan, job = _job("prod", platform)
    cloud = region.cloud.value
    pod = job.get("spec.template.spec")
    grace = pod["terminationGracePeriodSeconds"]
    cmd, args = pod["containers"][0]["command"], pod["containers"][0]["args"]
    launcher = int(next(c for c in cmd if c.startswith("--shutdown-timeout=")).split("=")[1])
    budget = int(args[args.index("--emergency-checkpoint-budget-s") + 1])
    assert budget < launcher < grace < preemption_window_s(cloud)
    assert grace == shutdown_budget(cloud).grace_s
    scheme = "s3" if cloud == "aws" else "gs"
    assert args[args.index("--checkpoint-uri") + 1].startswith(f"{scheme}://")


def test_kueue_label_and_suspend_only_when_a_queue_is_set():
    *_, prod_job = _job("prod")
    assert prod_job.get("metadata.labels")["kueue.x-k8s.io/queue-name"] == "training"
    assert prod_job.get("spec.suspend") is True
    *_, dev_job = _job("dev")
    assert "kueue.x-k8s.io/queue-name" not in dev_job.get("metadata.labels")
    assert dev_job.get("spec.suspend") is None


def test_pulumi_leaves_the_suspend_flag_to_kueue_after_admission():
    """Kueue unsuspends an admitted Job; without ignoreChanges the next `pulumi up` would suspend it again."""
    *_, prod_job = _job("prod")
    assert "spec.suspend" in prod_job.options["ignoreChanges"]
    *_, dev_job = _job("dev")  # no queue: Pulumi owns the whole spec
    assert dev_job.options["ignoreChanges"] == []


def test_service_account_carries_the_cloud_identity(prod_plan):
    """The training SA is annotated with the IRSA role the storage component scoped to its checkpoint prefix."""
    sa = next(r for r in prod_plan.of_type("kubernetes:core/v1:ServiceAccount") if r.get("metadata.namespace") == "training")
    role = prod_plan.one("aws:iam/role:Role", "aws-us-east-1-charlm")
    assert list(sa.get("metadata.annotations")) == ["eks.amazonaws.com/role-arn"]
    assert role.urn in sa.property_dependencies["metadata"]
    assert sa.get("automountServiceAccountToken") is False


@pytest.mark.parametrize("cloud_region", ["aws/us-east-1", "gcp/us-central1"])
def test_trainer_egress_reaches_its_clouds_identity_endpoint(cloud_region):
    """GKE Workload Identity needs the metadata server (169.254.169.252:988, :80 on Dataplane V2); IRSA only 443."""
    platform = gcp_training_config() if cloud_region.startswith("gcp/") else platform_config("prod")
    platform["workloads"]["training"].update(region=cloud_region, pool="train-h100")
    spec, train, region, plan, job = _job("prod", platform)
    allow = one_in(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", region.key.replace("/", "-"),
                   f"{train.name}-allow")
    egress = {(r["to"][0]["ipBlock"]["cidr"], p["port"]) for r in allow.get("spec.egress") if "ipBlock" in r["to"][0]
              for p in r["ports"]}
    metadata = {("169.254.169.252/32", 988), ("169.254.169.254/32", 80)}
    assert ("0.0.0.0/0", 443) in egress
    if region.cloud.value == "gcp":
        assert metadata <= egress
    else:
        assert egress == {("0.0.0.0/0", 443)}
