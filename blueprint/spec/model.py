"""The typed platform spec: the single source of truth every other part reads.
Notes: docs/architecture.md, "Spec and catalog"."""
from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

from blueprint import catalog
from blueprint.spec.names import (
    ACCELERATOR_LABEL, CAPACITY_TYPE_LABEL, GPU_TAINT, KUBE_SYSTEM, MONITORING_NAMESPACE, POOL_LABEL, PURPOSE_LABEL,
    Taint,
)


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Tier(str, Enum):
    development = "development"
    staging = "staging"
    production = "production"


class Cloud(str, Enum):
    aws = "aws"
    gcp = "gcp"


class CapacityType(str, Enum):
    spot = "spot"
    on_demand = "on-demand"
    reserved = "reserved"


class Purpose(str, Enum):
    training = "training"
    serving = "serving"


class Topology(str, Enum):
    full_mesh = "full-mesh"
    hub_and_spoke = "hub-and-spoke"


class Enforcement(str, Enum):
    advisory = "advisory"
    mandatory = "mandatory"


class EksEndpoint(str, Enum):
    """How `pulumi up` reaches an EKS API server (docs/operations.md, "First deployment")."""

    private = "private"  # private endpoint only: the deployer sits in the address plan (runner subnet, peer network)
    public_allowlist = "public-allowlist"  # private endpoint plus a public one limited to the deployer's egress CIDRs


class GkeEndpoint(str, Enum):
    """How `pulumi up` reaches a GKE control plane; the IP endpoints stay private in both modes."""

    dns_endpoint = "dns-endpoint"  # the IAM-gated DNS-based endpoint, reachable from anywhere Google APIs are
    private = "private"  # the private IP endpoint, over the interconnect (route export to the control-plane peering)


class Scaling(_Model):
    """Node counts; ``min`` may be zero so a pool scales from nothing."""

    min: int = Field(ge=0)
    desired: int = Field(ge=0)
    max: int = Field(ge=1)


class GpuPool(_Model):
    """One GPU node pool. A training pool reads and writes the storage of its own region; where that region has
    ``storage: null`` the pool must say explicitly where its data lives with ``storageRegion: "<cloud>/<region>"``
    (a region of the stack with storage), unless the training workload on it sets ``workloads.training.storageRegion``.
    """

    name: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$")
    accelerator: str
    instance_type: str
    capacity_type: CapacityType
    purpose: Purpose
    scaling: Scaling
    # capacityType reserved only. AWS: the ODCR ("cr-...") or Capacity Block id; GCP: the specific reservation's name.
    reservation_id: str | None = None
    # AWS only, capacityType reserved only: an On-Demand Capacity Reservation ("odcr") or an EC2 Capacity Block
    # ("capacity-block"). Both are bound to one Availability Zone, so a reserved AWS pool names exactly one zone.
    reservation_type: Literal["odcr", "capacity-block"] = "odcr"
    # AWS On-Demand Capacity Reservation pools in a cluster placement group (EFA, compactPlacement): the existing
    # group the ODCR was created in. EC2 launches an ODCR's instances into a cluster placement group only if the
    # reservation was made in that group, so the stack cannot create the group after the reservation.
    placement_group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,255}$")
    efa: bool | None = None  # None: on where the instance type supports it and the pool trains
    compact_placement: bool | None = None  # None: on for multi-node training pools that support it
    # None: every zone the region's network builds (its first zoneCount catalog zones; one when placement is compact)
    zones: list[str] | None = None
    disk_size_gb: int = Field(default=200, ge=50, le=16384)
    # Training pools only: "<cloud>/<region>" of the region whose storage holds this pool's data. Required, as an
    # explicit acknowledgement of cross-region reads, when the pool's own region has no storage (unless the training
    # workload running on the pool sets workloads.training.storageRegion); it must name a region with storage.
    storage_region: str | None = None

    @property
    def taint(self) -> Taint:
        """The one taint every GPU node carries and every GPU workload tolerates."""
        return GPU_TAINT

    @property
    def labels(self) -> dict[str, str]:
        """Node labels that workloads select on; identical on AWS and GCP."""
        return {
            POOL_LABEL: self.name,
            ACCELERATOR_LABEL: self.accelerator,
            CAPACITY_TYPE_LABEL: self.capacity_type.value,
            PURPOSE_LABEL: self.purpose.value,
        }

    def facts(self, cloud: Cloud) -> catalog.InstanceFacts:
        facts = catalog.instance(cloud.value, self.instance_type)
        assert facts is not None, "validated spec"
        return facts

    def uses_efa(self, cloud: Cloud) -> bool:
        if cloud is not Cloud.aws:
            return False
        if self.efa is not None:
            return self.efa
        return self.purpose is Purpose.training and self.facts(cloud).efa and self.scaling.max > 1

    def uses_compact_placement(self, cloud: Cloud) -> bool:
        if self.compact_placement is not None:
            return self.compact_placement
        if cloud is Cloud.aws:
            return self.uses_efa(cloud)
        return self.purpose is Purpose.training and self.facts(cloud).compact_placement and self.scaling.max > 1

    def gpus_at(self, nodes: int, cloud: Cloud) -> int:
        return nodes * self.facts(cloud).gpus


class SystemPool(_Model):
    instance_type: str
    scaling: Scaling = Scaling(min=2, desired=2, max=4)


class Lifecycle(_Model):
    """Days after which objects move to cheaper classes, per data class."""

    checkpoints_to_infrequent_days: int = Field(default=30, ge=30)
    checkpoints_noncurrent_expire_days: int = Field(default=14, ge=1)
    datasets_to_cold_days: int = Field(default=90, ge=1)
    archive_to_deep_days: int = Field(default=1, ge=0)
    abort_multipart_days: int = Field(default=7, ge=1)


class HotTier(_Model):
    """A parallel file system next to the GPUs: FSx for Lustre on AWS, Filestore on GCP."""

    kind: Literal["fsx-lustre", "filestore"]
    capacity_gib: int = Field(ge=1024)
    throughput_per_tib: Literal[125, 250, 500, 1000] = 250  # FSx PERSISTENT_2 MB/s/TiB
    # Filestore tiers that take a customer-managed key (every hot tier is encrypted with the region's key; BASIC_HDD
    # and BASIC_SSD cannot be: cloud.google.com/filestore/docs/cmek-organization-policy)
    filestore_tier: Literal["ZONAL", "REGIONAL", "ENTERPRISE"] = "ZONAL"


class Storage(_Model):
    lifecycle: Lifecycle = Lifecycle()
    hot: HotTier | None = None
    force_destroy: bool = False  # only ever true in dev: lets `pulumi destroy` empty buckets


class Region(_Model):
    cloud: Cloud
    region: str
    cidr: str | None = None  # None: allocated from network.supernet by the address planner
    zone_count: int | None = Field(default=None, ge=2, le=4)  # None: 3 in production, 2 otherwise
    kubernetes_version: str = "1.35"
    system_pool: SystemPool
    gpu_pools: list[GpuPool] = []
    storage: Storage | None = Storage()
    # More sources (operators' kubectl) for this region's public EKS endpoint, beside the deployer's egress; needs
    # access.deployer.eksEndpoint public-allowlist. GKE takes none: people reach it through the DNS endpoint (IAM).
    api_authorized_cidrs: list[str] = []

    @property
    def key(self) -> str:
        return f"{self.cloud.value}/{self.region}"

    @property
    def facts(self) -> catalog.RegionFacts:
        facts = catalog.region(self.cloud.value, self.region)
        assert facts is not None, "validated spec"
        return facts

    def pool(self, name: str) -> GpuPool | None:
        return next((p for p in self.gpu_pools if p.name == name), None)


class DedicatedLinks(_Model):
    direct_connect_gateway_id: str | None = None
    interconnect_attachment_urls: list[str] = []  # Cloud Interconnect connection self links
    # GCP region of the VLAN attachments: one the connections' metro serves. None: the stack's first GCP region.
    interconnect_region: str | None = None
    bgp_auth_key: SecretStr | None = None
    # BGP ASN of the customer/colocation router on the far side of the Cloud Interconnect VLAN attachments.
    peer_asn: int | None = Field(default=None, ge=1, le=4294967294)


class Network(_Model):
    supernet: str = "10.64.0.0/10"
    region_prefix_length: int = Field(default=16, ge=12, le=20)
    topology: Topology = Topology.full_mesh
    hub: str | None = None  # region key, e.g. "aws/us-east-1"; required for hub-and-spoke
    aws_asn: int = Field(default=64512, ge=64512, le=65534)
    gcp_asn: int = Field(default=65515, ge=64512, le=65534)
    dedicated: DedicatedLinks | None = None


class RunnerSubnet(_Model):
    """A subnet the blueprint declares for self-hosted CI runners, with a NAT gateway of its own (its addresses are
    the deployer's egress). Its range is the region block's fixed runner slot (``blueprint/spec/addressing.py``)."""

    region: str | None = None  # "aws/<region>" of the stack; None: the stack's first AWS region


class Deployer(_Model):
    """Where `pulumi up` runs and how it reaches every cluster's API server. The deployer is in one place: a runner
    subnet the blueprint declares, a peer network reached over the stack's dedicated links (``peerCidrs``), or
    neither (a machine on the internet, e.g. a GitHub-hosted runner, with ``egressCidrs`` where it has fixed ones)."""

    eks_endpoint: EksEndpoint | None = None  # None: public-allowlist in development, private otherwise
    gke_endpoint: GkeEndpoint | None = None  # None: dns-endpoint in every tier
    runner_subnet: RunnerSubnet | None = None
    peer_cidrs: list[str] = []  # private ranges of a deployer network on the far side of network.dedicated
    egress_cidrs: list[str] = []  # public addresses the deployer's traffic leaves from (EKS public-allowlist)
    # The IAM role `pulumi up` runs as (the workflows' vars.AWS_ROLE_ARN): cluster-admin on every EKS cluster through
    # an access entry, whoever created the cluster. Required with an AWS region.
    aws_role_arn: str | None = None


class Access(_Model):
    deployer: Deployer = Deployer()


class TrainingWorkload(_Model):
    name: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$")
    region: str  # region key
    pool: str
    accelerator: str | None = None  # optional: the GPU the job needs; must match the pool's
    image: str
    nodes: int = Field(default=1, ge=1)
    gpus_per_node: int | None = Field(default=None, ge=1)  # None: every GPU of the instance
    batch_size: int = Field(default=32, ge=1)
    steps: int = Field(default=1000, ge=1)
    checkpoint_interval: int = Field(default=100, ge=1)
    checkpoint_uri: str | None = None  # None: the region's checkpoint bucket
    storage_region: str | None = None  # read data and write checkpoints elsewhere, explicitly
    # The Kueue LocalQueue (in the training namespace) the Job is submitted to; the program installs Kueue and the
    # queue (components/k8s/kueue.py). A label value and object name: a DNS-1123 label.
    kueue_queue: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    # the training text file: its key in the dataset bucket; None: the trainer's bundled corpus
    data: str | None = Field(default=None, pattern=r"^[\w-][\w.-]*(/[\w-][\w.-]*)*$")


class ServingDns(_Model):
    """Where ``serving.domain``'s records live: a Route 53 public hosted zone in the first AWS region's account.

    - ``existingZone``: a zone that already exists and answers publicly, named ``domain`` or a parent of it; it is
      looked up, never created or deleted.
    - ``parentZone``: an existing Route 53 zone that is a parent of ``domain``; a zone for ``domain`` is created
      and delegated from it (its NS record is written in the parent).
    - neither: a zone for ``domain`` is created and its name servers are exported (``servingZone``); the parent's
      owner must delegate to them, and ``delegated: true`` says that is done. Until then no certificate is waited
      for (ACM cannot validate an undelegated name; the wait would end the ``up`` after 75 minutes), so the
      entry points carry no TLS listener yet.
    """

    existing_zone: str | None = None
    parent_zone: str | None = None
    delegated: bool = False

    @property
    def resolvable(self) -> bool:
        """Do names written in the zone resolve on the internet (so ACM can validate, health checks can probe)?"""
        return self.existing_zone is not None or self.parent_zone is not None or self.delegated


class ServingWorkload(_Model):
    name: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$")
    regions: list[str]  # region keys
    pool: str  # pool name, present in every serving region
    accelerator: str | None = None  # optional: the GPU the service needs; must match the pool's
    image: str
    model_uri: str | None = None  # None: the region's model bucket
    replicas: Scaling = Scaling(min=1, desired=2, max=4)
    max_batch_size: int = Field(default=16, ge=1)
    max_wait_ms: int = Field(default=5, ge=0)
    queue_size: int = Field(default=256, ge=1)
    canary_image: str | None = None
    canary_weight: int = Field(default=0, ge=0, le=100)
    keda: bool = False
    global_routing: Literal["none", "route53-latency", "global-accelerator", "gcp-global-lb"] = "none"
    domain: str | None = None
    dns: ServingDns = ServingDns()  # the hosted zone of ``domain`` (Route 53)


class Workloads(_Model):
    training: TrainingWorkload | None = None
    serving: ServingWorkload | None = None


class Tags(_Model):
    owner: str = Field(min_length=1)
    cost_center: str = Field(min_length=1)
    extra: dict[str, str] = {}


class Budget(_Model):
    monthly_usd: float = Field(gt=0, allow_inf_nan=False)
    alert_webhook_url: SecretStr | None = None
    # The budget gate fails closed: an unpriced GPU pool, or an unpriced resource with no reference price, makes the
    # verdict unknown (a failure in staging and production). Other unpriced resources are tolerated up to this many
    # USD a month, counted at the highest rate the price catalog lists for their SKUs in other regions.
    unpriced_threshold_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class Exemption(_Model):
    """One reviewed exception: exactly one policy on exactly one resource, with a reason, an owner and an expiry at
    most 90 days out (``blueprint/spec/exemptions.py`` checks names, wildcards and dates). Hard limits (GPU ceilings,
    public exposure) cannot be exempted; the pack says so."""

    policy: str  # a policy's name, exactly (no wildcards)
    resource: str  # a resource's URN or its name (the URN's last part), exactly (no wildcards)
    reason: str = Field(min_length=10)
    owner: str = Field(min_length=1)  # who fixes the resource before the exemption expires
    approved_by: str = Field(min_length=1)
    expires: dt.date


class SystemComponent(_Model):
    """A cluster component reviewed to do what workloads may not (the NVIDIA device plugin's hostPath, DCGM's
    SYS_ADMIN, the EFA plugin's host network). It matches by kind, namespace and name AND by where its code comes
    from: every container image from ``images`` (workloads) or the release's ``chart`` (Helm releases), so a
    look-alike name alone gets nothing. ``policies`` lists exactly what it may break."""

    kind: Literal["DaemonSet", "Deployment", "StatefulSet", "Release"]
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    images: list[str] = []  # image repositories without tag or digest, e.g. nvcr.io/nvidia/k8s-device-plugin
    chart: str | None = None  # Release only: "<repository URL>/<chart>" or "oci://<registry>/<chart>"
    policies: list[str] = Field(min_length=1)
    reason: str = Field(min_length=10)
    reviewed_by: str = Field(min_length=1)


# Reviewed by the platform team (ml-platform) against the upstream manifests they ship:
# NVIDIA/k8s-device-plugin deployments/static/nvidia-device-plugin.yml and the Helm chart's
# templates/daemonset-device-plugin.yml; NVIDIA/dcgm-exporter deployment/examples/dcgm-exporter.yaml;
# aws/eks-charts stable/aws-efa-k8s-device-plugin (templates/daemonset.yaml, values.yaml). Names are those the
# charts render for the releases components/aws/addons.py installs. A stack replaces the list with
# policy.systemComponents (through review).
REVIEWED_SYSTEM_COMPONENTS: tuple[SystemComponent, ...] = (
    SystemComponent(
        kind="DaemonSet", namespace=KUBE_SYSTEM, name="nvidia-device-plugin",
        images=["nvcr.io/nvidia/k8s-device-plugin"],
        policies=["k8s-no-host-path", "k8s-non-root", "k8s-read-only-root-fs", "k8s-seccomp-profile",
                  "k8s-resources-set"],
        reason="registers GPUs with the kubelet through /var/lib/kubelet/device-plugins (hostPath) as root; the "
               "chart sets no resources, seccomp profile or read-only root",
        reviewed_by="ml-platform"),
    SystemComponent(
        kind="DaemonSet", namespace=MONITORING_NAMESPACE, name="dcgm-exporter",
        images=["nvcr.io/nvidia/k8s/dcgm-exporter"],
        policies=["k8s-no-host-path", "k8s-non-root", "k8s-capabilities-restricted", "k8s-read-only-root-fs",
                  "k8s-seccomp-profile"],
        reason="reads per-pod GPU usage from /var/lib/kubelet/pod-resources (hostPath) and needs SYS_ADMIN as root "
               "for the DCGM profiling metrics",
        reviewed_by="ml-platform"),
    SystemComponent(
        kind="DaemonSet", namespace=KUBE_SYSTEM, name="aws-efa-k8s-device-plugin",
        images=["602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efa-k8s-device-plugin"],
        policies=["k8s-no-privileged", "k8s-no-privilege-escalation", "k8s-capabilities-restricted",
                  "k8s-no-host-namespaces", "k8s-no-host-path", "k8s-non-root", "k8s-read-only-root-fs",
                  "k8s-seccomp-profile", "k8s-resources-set"],
        reason="advertises EFA devices: host network, /dev/infiniband, /opt/aws/neuron and the device-plugin socket "
               "(hostPath) as root, privileged (chart v0.5.16 and later); the chart requests resources without a "
               "memory limit",
        reviewed_by="ml-platform"),
)


class PolicyConfig(_Model):
    enforcement: Enforcement | None = None  # None: advisory in development, mandatory otherwise (hard limits: always)
    # None: the tier's default (policies/_limits.py: GPU families and maxima per development/staging/production)
    allowed_instance_types: list[str] | None = None
    max_gpus_per_pool: int | None = None
    max_gpus_per_stack: int | None = None
    exemptions: list[Exemption] = []
    # None: REVIEWED_SYSTEM_COMPONENTS; a list replaces it
    system_components: list[SystemComponent] | None = None

    @property
    def reviewed_system_components(self) -> tuple[SystemComponent, ...]:
        return REVIEWED_SYSTEM_COMPONENTS if self.system_components is None else tuple(self.system_components)


class PlatformSpec(_Model):
    """Everything one stack declares. Built by ``blueprint.spec.load``; never edited after."""

    stack: str  # set by the loader from the stack name, not by the config file
    environment: str = Field(pattern=r"^[a-z][a-z0-9-]{1,15}$")
    tier: Tier
    data_residency: Literal["global", "us", "eu", "apac"] = "global"
    # Prefix of globally unique names (buckets, clusters); it should name the environment. Default aiplat-<env>.
    name_prefix: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{1,24}[a-z0-9]$")
    gcp_project: str | None = Field(default=None, pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
    cluster_admin_role_arns: list[str] = []  # IAM roles given cluster-admin through EKS access entries
    tags: Tags
    budget: Budget
    network: Network = Network()
    regions: list[Region] = Field(min_length=1)
    workloads: Workloads = Workloads()
    policy: PolicyConfig = PolicyConfig()
    access: Access = Access()

    @property
    def enforcement(self) -> Enforcement:
        if self.policy.enforcement is not None:
            return self.policy.enforcement
        return Enforcement.advisory if self.tier is Tier.development else Enforcement.mandatory

    @property
    def eks_endpoint(self) -> EksEndpoint:
        """The deployer's way to EKS: the spec's, else public-allowlist in development and private otherwise."""
        given = self.access.deployer.eks_endpoint
        if given is not None:
            return given
        return EksEndpoint.public_allowlist if self.tier is Tier.development else EksEndpoint.private

    @property
    def gke_endpoint(self) -> GkeEndpoint:
        return self.access.deployer.gke_endpoint or GkeEndpoint.dns_endpoint

    def runner_region(self) -> Region | None:
        """The AWS region whose VPC holds the deployer's runner subnet; None without one."""
        runner = self.access.deployer.runner_subnet
        if runner is None:
            return None
        if runner.region is not None:
            return self.region(runner.region)
        return next((r for r in self.regions if r.cloud is Cloud.aws), None)

    @property
    def prefix(self) -> str:
        return self.name_prefix or f"aiplat-{self.environment}"

    @property
    def is_production(self) -> bool:
        return self.tier is Tier.production

    def region(self, key: str) -> Region | None:
        return next((r for r in self.regions if r.key == key), None)

    def clouds(self) -> list[Cloud]:
        return sorted({r.cloud for r in self.regions}, key=lambda c: c.value)

    def aws_tags(self, **extra: str) -> dict[str, str]:
        """Tags for every taggable AWS resource (policies require owner, cost-center, environment)."""
        return {"owner": self.tags.owner, "cost-center": self.tags.cost_center,
                "environment": self.environment, "managed-by": "pulumi", **self.tags.extra, **extra}

    def gcp_labels(self, **extra: str) -> dict[str, str]:
        """The same tags as GCP labels (lower-case keys and values)."""
        return {k.lower(): v.lower().replace(".", "-").replace("@", "_")
                for k, v in self.aws_tags(**extra).items()}

    def training_data_region(self) -> str | None:
        """Where the training workload reads data and writes checkpoints: its own storageRegion, else its pool's,
        else the region it runs in (validation makes sure the two explicit ones agree)."""
        train = self.workloads.training
        if train is None:
            return None
        region = self.region(train.region)
        pool = region.pool(train.pool) if region is not None else None
        return train.storage_region or (pool.storage_region if pool is not None else None) or train.region

    def zone_count(self, region: Region) -> int:
        return region.zone_count or (3 if self.is_production else 2)

    def zones(self, region: Region) -> tuple[str, ...]:
        """The zones the region's network and pools are built in: the first ``zone_count`` of the catalog's."""
        return region.facts.zones[: self.zone_count(region)]
