"""Cloud KMS: a key ring per region and rotating keys, with the Google service agents that must use them."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec

ROTATION_PERIOD = "7776000s"  # 90 days


def key_ring(name: str, spec: PlatformSpec, region: str, opts: pulumi.ResourceOptions) -> gcp.kms.KeyRing:
    return gcp.kms.KeyRing(name, name=f"{spec.prefix}-{region}", location=region, opts=opts)


def rotating_key(name: str, ring: gcp.kms.KeyRing, spec: PlatformSpec, agents: list[pulumi.Input[str]],
                 opts: pulumi.ResourceOptions) -> gcp.kms.CryptoKey:
    """A symmetric key that rotates every 90 days, usable by the given service agents (e.g. GKE, GCS)."""
    key = gcp.kms.CryptoKey(name, name=name, key_ring=ring.id, purpose="ENCRYPT_DECRYPT",
                            rotation_period=ROTATION_PERIOD, labels=spec.gcp_labels(),
                            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=spec.is_production)))
    for i, member in enumerate(agents):
        gcp.kms.CryptoKeyIAMMember(f"{name}-agent-{i}", crypto_key_id=key.id,
                                   role="roles/cloudkms.cryptoKeyEncrypterDecrypter", member=member, opts=opts)
    return key


def service_agent(project_number: pulumi.Input[str], service: str) -> pulumi.Output[str]:
    """The Google-managed service agent of `service` ("container-engine-robot", "gs-project-accounts")."""
    return pulumi.Output.from_input(project_number).apply(
        lambda n: f"serviceAccount:service-{n}@{service}.iam.gserviceaccount.com")
