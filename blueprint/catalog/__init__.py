"""Hardware and region facts: the one table validation, components and cost all read.

The data lives in ``gpu_catalog.yaml`` beside this file (dated, with its sources); this module gives it types.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CLOUDS = ("aws", "gcp")
_DATA = Path(__file__).with_name("gpu_catalog.yaml")
GCP_DEFAULT_BOOT_DISK = "pd-ssd"


@dataclass(frozen=True)
class InstanceFacts:
    """What one GPU instance / machine type carries."""

    cloud: str
    name: str
    accelerator: str
    gpus: int
    gpu_memory_gib: int
    vcpus: int
    memory_gib: int
    efa_interfaces: int = 0
    compact_placement: bool = False
    gke_accelerator: str | None = None  # GCP: the guest accelerator type GKE expects for this machine (per machine,
    # not per GPU: A3 High and A3 Mega both carry H100s but GKE names them differently)
    boot_disk: str | None = None  # GCP: the node boot disk type (pd-ssd unless the machine needs Hyperdisk)
    local_ssd_gib: int = 0  # GCP: local SSD that comes with the machine and is billed with it

    @property
    def efa(self) -> bool:
        return self.efa_interfaces > 0

    @property
    def family(self) -> str:
        """``p5`` for ``p5.48xlarge``, ``a3`` for ``a3-highgpu-8g``."""
        return self.name.split(".")[0] if self.cloud == "aws" else self.name.split("-")[0]


@dataclass(frozen=True)
class RegionFacts:
    cloud: str
    name: str
    slot: int
    residency: str
    zones: tuple[str, ...]
    gpus: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.cloud}/{self.name}"


@lru_cache(maxsize=1)
def _load() -> dict:
    with _DATA.open() as f:
        return yaml.safe_load(f)


def as_of() -> str:
    return _load()["as_of"]


def accelerators() -> list[str]:
    return sorted(_load()["accelerators"])


def instance_types(cloud: str) -> list[str]:
    return sorted(_load()["instance_types"][cloud])


def system_instance_types(cloud: str) -> list[str]:
    return list(_load()["system_instance_types"][cloud])


@lru_cache(maxsize=None)
def instance(cloud: str, name: str) -> InstanceFacts | None:
    raw = _load()["instance_types"].get(cloud, {}).get(name)
    if raw is None:
        return None
    mem = _load()["accelerators"][raw["accelerator"]]["memory_gib"]
    defaults = {"boot_disk": GCP_DEFAULT_BOOT_DISK} if cloud == "gcp" else {}
    return InstanceFacts(cloud=cloud, name=name, gpu_memory_gib=mem, **{**defaults, **raw})


def region_names(cloud: str) -> list[str]:
    return list(_load()["regions"].get(cloud, {}))


@lru_cache(maxsize=None)
def region(cloud: str, name: str) -> RegionFacts | None:
    raw = _load()["regions"].get(cloud, {}).get(name)
    if raw is None:
        return None
    return RegionFacts(cloud=cloud, name=name, slot=raw["slot"], residency=raw["residency"],
                       zones=tuple(raw["zones"]), gpus=tuple(raw["gpus"]))


def kubernetes_versions(cloud: str) -> list[str]:
    return list(_load()["kubernetes_versions"][cloud])


@dataclass(frozen=True)
class ClusterAutoscaler:
    """The cluster autoscaler release for one EKS minor: its Helm chart, the chart's appVersion, the image tag."""

    chart: str
    chart_app_version: str
    image: str


def cluster_autoscaler(kubernetes_version: str) -> ClusterAutoscaler | None:
    """The chart and image whose minor matches an EKS cluster's Kubernetes minor; None where none is built yet."""
    raw = _load().get("cluster_autoscaler", {}).get(kubernetes_version)
    return None if raw is None else ClusterAutoscaler(str(raw["chart"]), str(raw["chart_app_version"]),
                                                      str(raw["image"]))


def cluster_autoscaler_image(kubernetes_version: str) -> str | None:
    """The cluster autoscaler image tag whose minor matches an EKS cluster's Kubernetes minor."""
    ca = cluster_autoscaler(kubernetes_version)
    return ca.image if ca else None
