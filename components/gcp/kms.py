"""Cloud KMS: a key ring per region and rotating keys, with the Google service agents that must use them."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from blueprint.spec import PlatformSpec
from components.gcp.project import Agent

ROTATION_PERIOD = "7776000s"  # 90 days


def key_ring(name: str, spec: PlatformSpec, location: str, opts: pulumi.ResourceOptions,
             suffix: str = "", region: str | None = None) -> gcp.kms.KeyRing:
    """A key ring named ``<prefix>-<region><suffix>`` in the Cloud KMS ``location`` (a region, or a multi-region
    such as ``us`` for what a dual-region bucket encrypts; cloud.google.com/kms/docs/locations). ``region``
    defaults to the location. Rings are never deleted (docs/operations.md, "Re-create a stack")."""
    return gcp.kms.KeyRing(name, name=f"{spec.prefix}-{region or location}{suffix}", location=location, opts=opts)


def rotating_key(name: str, ring: gcp.kms.KeyRing, spec: PlatformSpec, agents: list[Agent],
                 opts: pulumi.ResourceOptions) -> tuple[gcp.kms.CryptoKey, list[gcp.kms.CryptoKeyIAMMember]]:
    """A symmetric key that rotates every 90 days, and the grants that let the given service agents (GKE, GCS,
    Filestore: ``GcpProject.agents``) use it. Each grant waits for its agent to exist. Whatever the key encrypts
    must ``depends_on`` the grants: the service checks its agent's access when the resource is created, so a create
    racing the grant fails."""
    key = gcp.kms.CryptoKey(name, name=name, key_ring=ring.id, purpose="ENCRYPT_DECRYPT",
                            rotation_period=ROTATION_PERIOD, labels=spec.gcp_labels(),
                            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=spec.is_production)))
    grants = [gcp.kms.CryptoKeyIAMMember(f"{name}-agent-{i}", crypto_key_id=key.id,
                                         role="roles/cloudkms.cryptoKeyEncrypterDecrypter", member=agent.member,
                                         opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                                             depends_on=agent.after)))
              for i, agent in enumerate(agents)]
    return key, grants
