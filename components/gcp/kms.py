"""Cloud KMS: a key ring per region and rotating keys, with the Google service agents that must use them."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec

ROTATION_PERIOD = "7776000s"  # 90 days


def key_ring(name: str, spec: PlatformSpec, region: str, opts: pulumi.ResourceOptions) -> gcp.kms.KeyRing:
    return gcp.kms.KeyRing(name, name=f"{spec.prefix}-{region}", location=region, opts=opts)


def rotating_key(name: str, ring: gcp.kms.KeyRing, spec: PlatformSpec, agents: list[pulumi.Input[str]],
                 opts: pulumi.ResourceOptions) -> tuple[gcp.kms.CryptoKey, list[gcp.kms.CryptoKeyIAMMember]]:
    """A symmetric key that rotates every 90 days, and the grants that let the given service agents (e.g. GKE,
    GCS, Filestore) use it. Whatever the key encrypts must ``depends_on`` the grants: the service checks its
    agent's access when the resource is created, so a create racing the grant fails."""
    key = gcp.kms.CryptoKey(name, name=name, key_ring=ring.id, purpose="ENCRYPT_DECRYPT",
                            rotation_period=ROTATION_PERIOD, labels=spec.gcp_labels(),
                            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=spec.is_production)))
    grants = [gcp.kms.CryptoKeyIAMMember(f"{name}-agent-{i}", crypto_key_id=key.id,
                                         role="roles/cloudkms.cryptoKeyEncrypterDecrypter", member=member, opts=opts)
              for i, member in enumerate(agents)]
    return key, grants


def service_agent(project_number: pulumi.Input[str], service: str) -> pulumi.Output[str]:
    """The Google-managed service agent of `service` ("container-engine-robot", "gs-project-accounts",
    "cloud-filer")."""
    return pulumi.Output.from_input(project_number).apply(
        lambda n: f"serviceAccount:service-{n}@{service}.iam.gserviceaccount.com")
