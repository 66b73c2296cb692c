"""``aiplatform:storage:KubernetesStorage``: the region's storage as volumes pods can mount.

Static PersistentVolumes (and claims in the training namespace) for the hot tier (FSx for Lustre CSI, Filestore
CSI, Managed Lustre CSI) and the dataset bucket (Mountpoint for S3 CSI, GCS FUSE CSI), read-only where jobs only
read. Static volumes bind to exactly the storage this stack declared, rather than provisioning new storage.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from blueprint.spec import Cloud, PlatformSpec, Region
from components.compute import RegionalCompute
from components.storage.names import TRAINING_NAMESPACE, bucket_name


def _first_ip(networks) -> str | None:
    """The instance's address; known once Filestore created it (a preview shows it as unknown)."""
    return networks[0].ip_addresses[0] if networks and networks[0].ip_addresses else None


def _pv_and_claim(name: str, claim: str, capacity: str, csi: dict, access: str, opts: pulumi.ResourceOptions,
                  namespace: k8s.core.v1.Namespace) -> None:
    pv = k8s.core.v1.PersistentVolume(name, metadata={"name": claim}, spec={
        "capacity": {"storage": capacity}, "accessModes": [access], "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": "", "csi": csi, "claimRef": {"namespace": TRAINING_NAMESPACE, "name": claim}}, opts=opts)
    k8s.core.v1.PersistentVolumeClaim(f"{name}-claim", metadata={"name": claim, "namespace": TRAINING_NAMESPACE},
                                      spec={"accessModes": [access], "storageClassName": "", "volumeName": claim,
                                            "resources": {"requests": {"storage": capacity}}},
                                      opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                                          depends_on=[pv, namespace])))


class KubernetesStorage(pulumi.ComponentResource):
    def __init__(self, name: str, spec: PlatformSpec, region: Region, compute: RegionalCompute, storage,
                 namespace: k8s.core.v1.Namespace, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplatform:storage:KubernetesStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=compute.k8s_provider)
        datasets = bucket_name(spec, region, "datasets")
        hot = region.storage.hot if region.storage else None
        if region.cloud is Cloud.aws:
            _pv_and_claim(f"{name}-datasets-s3", "datasets-s3", "1Ti", {
                "driver": "s3.csi.aws.com", "volumeHandle": f"s3-{datasets}",
                "volumeAttributes": {"bucketName": datasets}}, "ReadOnlyMany", child, namespace)
            if storage.lustre is not None:
                _pv_and_claim(f"{name}-hot", "datasets-hot", f"{hot.capacity_gib}Gi", {
                    "driver": "fsx.csi.aws.com", "volumeHandle": storage.lustre.id,
                    "volumeAttributes": {"dnsname": storage.lustre.dns_name, "mountname": storage.lustre.mount_name}},
                    "ReadWriteMany", child, namespace)
        else:
            _pv_and_claim(f"{name}-datasets-gcs", "datasets-gcs", "1Ti", {
                "driver": "gcsfuse.csi.storage.gke.io", "volumeHandle": datasets,
                "volumeAttributes": {"gcsfuseLoggingSeverity": "warning"}}, "ReadOnlyMany", child, namespace)
            if hot is not None and hot.kind == "filestore":
                location = storage.hot.location
                _pv_and_claim(f"{name}-hot", "datasets-hot", f"{hot.capacity_gib}Gi", {
                    "driver": "filestore.csi.storage.gke.io",
                    "volumeHandle": pulumi.Output.all(location, storage.hot.name).apply(
                        lambda v: f"modeInstance/{v[0]}/{v[1]}/datasets"),
                    "volumeAttributes": {"ip": storage.hot.networks.apply(_first_ip), "volume": "datasets"}},
                    "ReadWriteMany", child, namespace)
            elif hot is not None:
                _pv_and_claim(f"{name}-hot", "datasets-hot", f"{hot.capacity_gib}Gi", {
                    "driver": "lustre.csi.storage.gke.io", "volumeHandle": storage.hot.id,
                    "volumeAttributes": {"ip": storage.hot.mount_point, "filesystem": "datasets"}},
                    "ReadWriteMany", child, namespace)
        self.register_outputs({})
