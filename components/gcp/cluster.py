"""``aiplatform:gcp:GkeCluster``: a private, regional GKE cluster ready for GPU workloads.
Notes: docs/architecture.md, "Compute"."""
from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from blueprint.spec import PlatformSpec, Region, RegionAddresses
from blueprint.spec.names import cluster_name
from components.access.endpoints import gke_endpoint_args, gke_kubeconfig
from components.compute import after

NODE_ROLES = ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
              "roles/stackdriver.resourceMetadata.writer", "roles/artifactregistry.reader"]


class GkeCluster(pulumi.ComponentResource):
    cluster: gcp.container.Cluster
    node_service_account: gcp.serviceaccount.Account
    k8s_provider: k8s.Provider

    def __init__(self, name: str, spec: PlatformSpec, region: Region, addresses: RegionAddresses, *,
                 network_id: pulumi.Input[str], subnet_id: pulumi.Input[str], etcd_key: gcp.kms.CryptoKey,
                 etcd_key_grants: list[pulumi.Resource] | None = None,
                 deployer_path: Callable[[gcp.container.Cluster], pulumi.Resource] | None = None,
                 opts: pulumi.ResourceOptions):
        """``etcd_key_grants``: what lets the GKE service agent use ``etcd_key``; the cluster waits for them, or
        its create fails on a key it may not use yet. ``deployer_path``: declares what opens the deployer's way to
        the new cluster's private endpoint (the route export, ``components/access/path.py``); the Kubernetes
        provider waits for it, its first call goes through it."""
        super().__init__("aiplatform:gcp:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=opts.provider)
        self.cluster_name = cluster_name(spec, region)
        self.workload_pool = f"{spec.gcp_project}.svc.id.goog"

        self.node_service_account = gcp.serviceaccount.Account(
            f"{name}-nodes", account_id=f"{spec.environment}-{region.region}-nodes"[:30],
            display_name=f"GKE nodes of {self.cluster_name}", opts=child)
        grants = [gcp.projects.IAMMember(f"{name}-nodes-{role.split('/')[1]}", project=spec.gcp_project, role=role,
                                         member=self.node_service_account.member, opts=child) for role in NODE_ROLES]
        # node pools get the email once the roles are granted: nodes start logging and pulling at boot
        self.node_service_account_email = after(self.node_service_account.email, grants)

        self.cluster = gcp.container.Cluster(
            name, name=self.cluster_name, location=region.region, network=network_id, subnetwork=subnet_id,
            min_master_version=region.kubernetes_version,
            release_channel={"channel": "STABLE" if spec.is_production else "REGULAR"},
            remove_default_node_pool=True, initial_node_count=1,
            deletion_protection=spec.is_production,
            **gke_endpoint_args(spec, region, addresses),
            ip_allocation_policy={"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
            workload_identity_config={"workload_pool": self.workload_pool},
            enable_shielded_nodes=True,
            datapath_provider="ADVANCED_DATAPATH",
            database_encryption={"state": "ENCRYPTED", "key_name": etcd_key.id},
            addons_config={"gcs_fuse_csi_driver_config": {"enabled": True},
                           "gcp_filestore_csi_driver_config": {"enabled": True},
                           "gce_persistent_disk_csi_driver_config": {"enabled": True},
                           "http_load_balancing": {"disabled": False}},
            logging_config={"enable_components": ["SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER"]},
            monitoring_config={"enable_components": ["SYSTEM_COMPONENTS", "DCGM"],
                               "managed_prometheus": {"enabled": True}},
            gateway_api_config={"channel": "CHANNEL_STANDARD"},
            resource_labels=spec.gcp_labels(),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(etcd_key_grants or []))))
        # "<project>.svc.id.goog" exists once the project's first Workload Identity cluster does: IAM answers
        # "Identity Pool does not exist" to a binding naming it earlier, so the pool is handed out after the cluster
        # (cluster-toolkit gke-cluster/main.tf: workload_identity depends_on the cluster, terraform-google-
        # kubernetes-engine#1059)
        self.workload_pool = after(self.workload_pool, [self.cluster])
        path = [deployer_path(self.cluster)] if deployer_path is not None else []
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=gke_kubeconfig(spec, self.cluster),
            enable_server_side_apply=True, opts=pulumi.ResourceOptions(parent=self, depends_on=path))
        self.register_outputs({"clusterName": self.cluster.name, "endpoint": self.cluster.endpoint})
