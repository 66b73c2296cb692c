"""``aiplatform:gcp:Project``: the project bootstrap: every API the program uses, and the Google service agents it
grants, created or looked up the documented way (docs/first-deployment.md, "GCP project")."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec

# Every API behind a resource type the program declares (blueprint/plan/order.py checks it per resource), plus the
# IAM Service Account Credentials API, which GKE Workload Identity calls for a pod's Google service account token.
APIS = (
    "compute.googleapis.com", "container.googleapis.com", "cloudkms.googleapis.com", "storage.googleapis.com",
    "file.googleapis.com", "storagetransfer.googleapis.com", "certificatemanager.googleapis.com",
    "dns.googleapis.com", "iam.googleapis.com", "iamcredentials.googleapis.com", "logging.googleapis.com",
    "monitoring.googleapis.com",
)
# Enabled by hand before the first preview: enabling an API needs the first, project IAM bindings
# the second (https://cloud.google.com/service-usage/docs/enable-disable).
PREREQUISITE_APIS = ("serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com")
# Agents created with `services.generateServiceIdentity` (google_project_service_identity; the primary agents of
# cloud-foundation-fabric's modules/project/service-agents.yaml): GKE encrypts etcd, Filestore its disks, as them.
IDENTITY_APIS = ("container.googleapis.com", "file.googleapis.com")


@dataclass(frozen=True)
class Agent:
    """A Google service agent: its IAM member, and the resources it exists after."""

    member: pulumi.Output[str]
    after: list[pulumi.Resource] = field(default_factory=list)


class GcpProject(pulumi.ComponentResource):
    """The APIs (``disable_on_destroy=False``: a ``destroy`` never turns off an API other workloads use) and the
    agents. ``providers`` built with ``provider(...)`` wait for every API, so nothing of the stack races them."""

    services: dict[str, gcp.projects.Service]

    def __init__(self, spec: PlatformSpec, opts: pulumi.ResourceOptions | None = None):
        name = f"gcp-{spec.environment}-project"
        super().__init__("aiplatform:gcp:Project", name, None, opts)
        self.project = spec.gcp_project
        bootstrap = gcp.Provider(f"{name}-bootstrap", project=spec.gcp_project,
                                 opts=pulumi.ResourceOptions(parent=self))
        self._opts = pulumi.ResourceOptions(parent=self, provider=bootstrap)
        self.services = {api: gcp.projects.Service(f"{name}-{api.split('.')[0]}", project=spec.gcp_project,
                                                   service=api, disable_on_destroy=False, opts=self._opts)
                         for api in APIS}
        self.agents: dict[str, Agent] = {}
        for api in IDENTITY_APIS:
            identity = gcp.projects.ServiceIdentity(
                f"{name}-{api.split('.')[0]}-agent", project=spec.gcp_project, service=api,
                opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[self.services[api]])))
            self.agents[api] = Agent(identity.member, [identity])
        # The Cloud Storage agent is created by looking it up (storage.projects.serviceAccount.get), not by
        # generateServiceIdentity (terraform-google-project-factory#803); the lookup waits for the API.
        storage = self.services["storage.googleapis.com"]
        gcs = gcp.storage.get_project_service_account_output(project=spec.gcp_project, opts=pulumi.InvokeOutputOptions(
            parent=self, provider=bootstrap, depends_on=[storage]))
        self.agents["storage.googleapis.com"] = Agent(gcs.member, [storage])
        self.register_outputs({"services": sorted(APIS)})

    def transfer_agent(self) -> tuple[Agent, pulumi.Output]:
        """The Storage Transfer Service agent (created by its lookup, googleServiceAccounts.get) and the lookup's
        result, whose ``subject_id`` AWS web identity federation trusts."""
        api = "storagetransfer.googleapis.com"
        found = gcp.storage.get_transfer_project_service_account_output(
            project=self.project, opts=pulumi.InvokeOutputOptions(parent=self, provider=self._opts.provider,
                                                                  depends_on=[self.services[api]]))
        return Agent(found.member, [self.services[api]]), found

    def provider(self, name: str, parent: pulumi.Resource, **config) -> gcp.Provider:
        """A provider for this project whose every resource waits for the APIs."""
        return gcp.Provider(name, project=self.project, **config,
                            opts=pulumi.ResourceOptions(parent=parent, depends_on=list(self.services.values())))
