"""Wire the whole platform from one spec: per region compute and storage, then interconnect and workloads."""
from __future__ import annotations

import pulumi
from pulumi.runtime.config import is_config_secret

from blueprint.spec import Cloud, PlatformSpec, SpecError, SpecIssue, address_plan, load_spec
from blueprint.spec.load import placeholder_error
from blueprint.spec.names import CONFIG_KEY, CONFIG_NAMESPACE, FULL_KEY, MODELS
from components.aws.account import AwsAccount
from components.aws.region import AwsRegion
from components.compute import RegionalCompute
from components.gcp.network import GcpNetwork
from components.gcp.project import GcpProject
from components.gcp.region import GcpRegion
from components.interconnect.interconnect import Interconnect
from components.k8s import WorkloadIdentities, deploy_workloads, workload_outputs
from components.k8s.common import model_prefix
from components.storage.access import WorkloadIdentity
from components.storage.gcs_transfer import ModelTransferToGcs
from components.storage.k8s_storage import KubernetesStorage
from components.storage.replication import ModelReplication
from components.storage.tiered_storage import TieredStorage


def load_from_pulumi_config() -> PlatformSpec:
    """The program's spec: ``aiplatform:platform`` read through Pulumi's config (CLI or offline engine).

    A deployment (``pulumi up``'s update; not a preview, not the offline engine, which always previews) refuses
    documentation placeholders before any resource is declared; a preview warns about them.
    """
    config = pulumi.Config(CONFIG_NAMESPACE)
    raw = config.get_object(CONFIG_KEY)
    if raw is None:
        raise SpecError(pulumi.get_stack(), [SpecIssue("", f"missing; set {FULL_KEY} in the stack file")])
    spec = load_spec(raw, stack=pulumi.get_stack(), config_is_secret=is_config_secret(FULL_KEY))
    placeholders = placeholder_error(raw, stack=spec.stack)
    if placeholders is not None:
        if not pulumi.runtime.is_dry_run():
            raise placeholders
        pulumi.log.warn(str(placeholders))
    return spec


def _regions(spec: PlatformSpec) -> dict[str, RegionalCompute]:
    """One class per cloud behind one interface."""
    addresses = address_plan(spec)
    computes: dict[str, RegionalCompute] = {}
    account = gcp_project = gcp_network = None
    runner = spec.runner_region()
    egress: list = []  # the deployer runner's NAT addresses: its region goes first, the others allow-list them
    for region in sorted(spec.regions, key=lambda r: runner is None or r.key != runner.key):
        if region.cloud is Cloud.aws:
            account = account or AwsAccount(spec, region.region)  # account-wide IAM, once per stack
            aws_region = AwsRegion(spec, region, addresses[region.key], account, deployer_egress=egress)
            egress = aws_region.deployer_runner.egress_cidrs if aws_region.deployer_runner else egress
            computes[region.key] = aws_region
        else:
            gcp_project = gcp_project or GcpProject(spec)  # APIs and service agents, once per project
            gcp_network = gcp_network or GcpNetwork(spec, gcp_project)  # one global VPC for every GCP region
            computes[region.key] = GcpRegion(spec, region, addresses[region.key], gcp_network, gcp_project)
    return {r.key: computes[r.key] for r in spec.regions}


def _identities(spec: PlatformSpec, computes: dict[str, RegionalCompute],
                storages: dict[str, TieredStorage]) -> dict[tuple[str, str], WorkloadIdentity]:
    """A cloud identity per (workload, region), scoped to the buckets of the region holding its data."""
    out: dict[tuple[str, str], WorkloadIdentity] = {}
    train = spec.workloads.training
    if train is not None:
        data = storages[spec.training_data_region()]
        out[(train.name, train.region)] = WorkloadIdentity(
            spec, computes[train.region], workload=train.name, training=True, storage_region=data.region,
            storage_key=data.key_id, buckets=data.backend.buckets)
    serve = spec.workloads.serving
    if serve is not None:
        for key in serve.regions:
            if key in storages:
                out[(serve.name, key)] = WorkloadIdentity(spec, computes[key], workload=serve.name, training=False,
                                                          storage_region=storages[key].region,
                                                          storage_key=storages[key].key_id,
                                                          buckets=storages[key].backend.buckets)
    return out


def _replication(spec: PlatformSpec, computes: dict[str, RegionalCompute],
                 storages: dict[str, TieredStorage]) -> None:
    """Models exported in an AWS training region replicate to every other AWS serving region (S3 replication) and
    reach every GCP serving region through a Storage Transfer Service job (S3 -> GCS), in every tier: a serving
    region reads only its own model bucket, which nothing else fills."""
    train, serve = spec.workloads.training, spec.workloads.serving
    if not (train and serve):
        return
    source = spec.training_data_region()
    if source not in storages or storages[source].region.cloud is not Cloud.aws:
        return
    src = storages[source]
    targets = [k for k in serve.regions if k != source and k in storages]
    destinations = {k: (storages[k].region, storages[k].backend) for k in targets
                    if storages[k].region.cloud is Cloud.aws}
    if destinations:
        ModelReplication(spec, src.region, src.backend, destinations, computes[source].cloud_provider)
    for k in targets:
        if storages[k].region.cloud is Cloud.gcp:
            ModelTransferToGcs(spec, src.region, src.backend.key.arn, computes[source].cloud_provider,
                               storages[k].region, storages[k].backend.buckets[MODELS],
                               computes[k].cloud_provider, computes[k].project,  # type: ignore[attr-defined]
                               prefix=f"{model_prefix(spec)}/")


def _training_volumes(spec: PlatformSpec, computes: dict[str, RegionalCompute], storages: dict[str, TieredStorage]):
    """The training region's buckets and hot tier as volumes in the training namespace, declared by the job once
    its namespace and pod user exist; None when the job reads data in another region (through object URIs)."""
    train = spec.workloads.training
    if train is None:
        return None
    key = spec.training_data_region()
    if key != train.region or key not in storages:
        return None
    compute = computes[key]

    def declare(namespace, run_as: tuple[int, int]) -> KubernetesStorage:
        return KubernetesStorage(f"{compute.child_name}-volumes", spec, compute.region, compute,
                                 storages[key].backend, namespace, run_as,
                                 opts=pulumi.ResourceOptions(parent=storages[key]))
    return declare


def build_platform(spec: PlatformSpec) -> dict[str, RegionalCompute]:
    """Declare every resource of the stack. The spec is already validated, so nothing here can half-fail."""
    computes = _regions(spec)
    storages = {r.key: TieredStorage(spec, r, computes[r.key]) for r in spec.regions if r.storage is not None}
    identities = _identities(spec, computes, storages)
    _replication(spec, computes, storages)
    if len(spec.regions) > 1 or spec.network.dedicated is not None:  # dedicated links reach even a lone region
        Interconnect(spec, address_plan(spec), computes)
    workloads = deploy_workloads(spec, computes, WorkloadIdentities(
        training={r: ident.annotation[1] for (w, r), ident in identities.items()
                  if spec.workloads.training and w == spec.workloads.training.name},
        serving={r: ident.annotation[1] for (w, r), ident in identities.items()
                 if spec.workloads.serving and w == spec.workloads.serving.name}),
        training_volumes=_training_volumes(spec, computes, storages))
    pulumi.export("environment", spec.environment)
    pulumi.export("regions", {key: {"cloud": c.region.cloud.value, "cidr": str(c.addresses.block),
                                    "gpuPools": sorted(p.name for p in c.region.gpu_pools)}
                              for key, c in computes.items()})
    runner = next((c.deployer_runner for c in computes.values() if getattr(c, "deployer_runner", None)), None)
    if runner is not None:  # where to launch the self-hosted runner (docs/operations.md, "First deployment")
        pulumi.export("deployer", {"runnerSubnetId": runner.subnet.id, "runnerCidr": runner.cidr,
                                   "egressCidrs": runner.egress_cidrs})
    pulumi.export("workloadIdentities", {f"{w}@{r}": ident.annotation[1] for (w, r), ident in identities.items()})
    for key, value in workload_outputs(workloads).items():
        pulumi.export(key, value)
    return computes
