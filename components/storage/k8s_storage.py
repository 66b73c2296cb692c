"""``aiplatform:storage:KubernetesStorage``: the region's storage as volumes pods can mount.
Notes: docs/architecture.md, "Storage"."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from blueprint.spec import Cloud, PlatformSpec, Region
from blueprint.spec.names import DATASETS, HOT_SHARE, TRAINING_NAMESPACE, bucket_name
from components.compute import RegionalCompute

DATASETS_PATH = "/mnt/datasets"  # the dataset bucket, read-only
HOT_PATH = "/mnt/hot"            # the hot tier, read-only for jobs (they read datasets there)
STATIC_CLASSES = {  # CSI driver -> the StorageClass its static volumes and their claims name
    "s3.csi.aws.com": "static-s3-mountpoint",
    "fsx.csi.aws.com": "static-fsx-lustre",
    "gcsfuse.csi.storage.gke.io": "static-gcsfuse",
    "filestore.csi.storage.gke.io": "static-filestore",
}


@dataclass(frozen=True)
class ClaimMount:
    """One claim in the training namespace and where pods mount it."""

    claim: str
    path: str
    read_only: bool
    gcs_fuse: bool = False


def training_mounts(region: Region) -> list[ClaimMount]:
    """The claims ``KubernetesStorage`` declares for a region, from the spec alone."""
    cloud = region.cloud
    hot = region.storage.hot if region.storage else None
    mounts = [ClaimMount("datasets-s3" if cloud is Cloud.aws else "datasets-gcs", DATASETS_PATH, True,
                         gcs_fuse=cloud is Cloud.gcp)]
    if hot is not None and (cloud is Cloud.gcp or hot.kind == "fsx-lustre"):
        mounts.append(ClaimMount("datasets-hot", HOT_PATH, True))
    return mounts


def data_dir(region: Region) -> str:
    """Where a pod sees the dataset bucket's objects: through the hot tier where FSx mirrors the bucket (data
    repository association), else through the bucket mount (Filestore is not linked to it)."""
    hot = region.storage.hot if region.storage else None
    if region.cloud is Cloud.aws and hot is not None and hot.kind == "fsx-lustre":
        return f"{HOT_PATH}/{HOT_SHARE}"
    return DATASETS_PATH


def _first_ip(networks) -> str | None:
    """The instance's address; known once Filestore created it (a preview shows it as unknown)."""
    return networks[0].ip_addresses[0] if networks and networks[0].ip_addresses else None


class KubernetesStorage(pulumi.ComponentResource):
    """``mounts`` and ``claims``: what the training pods mount, and the claims they wait for; ``data_dir``: where
    the dataset bucket's objects appear in those pods."""

    def __init__(self, name: str, spec: PlatformSpec, region: Region, compute: RegionalCompute, storage,
                 namespace: k8s.core.v1.Namespace, run_as: tuple[int, int],
                 opts: pulumi.ResourceOptions | None = None):
        """``run_as``: the (uid, gid) of the pods that mount these volumes (their pod security context)."""
        super().__init__("aiplatform:storage:KubernetesStorage", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self, provider=compute.k8s_provider)
        self._name = name
        self._namespace = namespace
        self.storage_classes: dict[str, k8s.storage.v1.StorageClass] = {}
        self.mounts = training_mounts(region)
        self.data_dir = data_dir(region)
        self.claims: list[k8s.core.v1.PersistentVolumeClaim] = []
        uid, gid = run_as
        datasets = bucket_name(spec, region, DATASETS)
        hot = region.storage.hot if region.storage else None
        by_claim = {m.claim: m for m in self.mounts}
        if region.cloud is Cloud.aws:
            self._pv_and_claim(f"{name}-datasets-s3", by_claim["datasets-s3"], "1Ti", {
                "driver": "s3.csi.aws.com", "volumeHandle": f"s3-{datasets}",
                # stsRegion: the driver would otherwise look the region up in IMDS, which pods cannot reach (hop
                # limit 1; awslabs/mountpoint-s3-csi-driver docs/CONFIGURATION.md, "Configuring the STS region")
                "volumeAttributes": {"bucketName": datasets, "authenticationSource": "pod",
                                     "stsRegion": region.region}},
                [f"uid={uid}", f"gid={gid}", "allow-other", "read-only", f"region {region.region}"])
            if "datasets-hot" in by_claim:
                assert storage.lustre is not None, "FSx for Lustre declared for a fsx-lustre hot tier"
                self._pv_and_claim(f"{name}-hot", by_claim["datasets-hot"], f"{hot.capacity_gib}Gi", {
                    "driver": "fsx.csi.aws.com", "volumeHandle": storage.lustre.id,
                    "volumeAttributes": {"dnsname": storage.lustre.dns_name, "mountname": storage.lustre.mount_name}},
                    None, access="ReadWriteMany")
        else:
            self._pv_and_claim(f"{name}-datasets-gcs", by_claim["datasets-gcs"], "1Ti", {
                "driver": "gcsfuse.csi.storage.gke.io", "volumeHandle": datasets, "readOnly": True,
                "volumeAttributes": {"gcsfuseLoggingSeverity": "warning"}},
                ["implicit-dirs", f"uid={uid}", f"gid={gid}"])
            if hot is not None and hot.kind == "filestore":
                location = storage.hot.location
                self._pv_and_claim(f"{name}-hot", by_claim["datasets-hot"], f"{hot.capacity_gib}Gi", {
                    "driver": "filestore.csi.storage.gke.io",
                    "volumeHandle": pulumi.Output.all(location, storage.hot.name).apply(
                        lambda v: f"modeInstance/{v[0]}/{v[1]}/datasets"),
                    "volumeAttributes": {"ip": storage.hot.networks.apply(_first_ip), "volume": HOT_SHARE}},
                    None, access="ReadWriteMany")
        self.register_outputs({"claims": [m.claim for m in self.mounts]})

    def _storage_class(self, driver: str) -> k8s.storage.v1.StorageClass:
        """The driver's StorageClass on this cluster, declared once."""
        if driver not in self.storage_classes:
            name = STATIC_CLASSES[driver]
            self.storage_classes[driver] = k8s.storage.v1.StorageClass(
                f"{self._name}-{name}", metadata={"name": name}, provisioner=driver, reclaim_policy="Retain",
                volume_binding_mode="Immediate", allow_volume_expansion=False, opts=self._child)
        return self.storage_classes[driver]

    def _pv_and_claim(self, name: str, mount: ClaimMount, capacity: str, csi: dict,
                      mount_options: list[str] | None, access: str = "ReadOnlyMany") -> None:
        klass = self._storage_class(csi["driver"])
        class_name = STATIC_CLASSES[csi["driver"]]
        pv = k8s.core.v1.PersistentVolume(name, metadata={"name": mount.claim}, spec={
            "capacity": {"storage": capacity}, "accessModes": [access], "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": class_name, "csi": csi, **({"mountOptions": mount_options} if mount_options else {}),
            "claimRef": {"namespace": TRAINING_NAMESPACE, "name": mount.claim}},
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[klass])))
        self.claims.append(k8s.core.v1.PersistentVolumeClaim(
            f"{name}-claim", metadata={"name": mount.claim, "namespace": TRAINING_NAMESPACE},
            spec={"accessModes": [access], "storageClassName": class_name, "volumeName": mount.claim,
                  "resources": {"requests": {"storage": capacity}}},
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                depends_on=[pv, klass, self._namespace]))))
