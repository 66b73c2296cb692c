"""Plans of a stack as an update preview of an already deployed stack sees it: what the clouds computed is known.

A create preview leaves endpoints unknown, so the kubeconfig handed to each ``kubernetes.Provider`` is unknown too.
These mocks answer like the clouds' APIs for the values the deploy path reads (cluster endpoints and CAs, the GKE
DNS endpoint and control-plane peering, Elastic IP addresses), in their documented formats and deterministic per
resource name; everything else stays as in ``PreviewMocks``. ``answers`` keeps what was handed out, as a stack's
state would.
"""
from __future__ import annotations

import hashlib
import ipaddress

from pulumi.runtime.mocks import MockResourceArgs

from blueprint.plan import Plan, run_plan
from blueprint.plan.mocks import PreviewMocks

CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJn"  # a PEM's first bytes, base64
PROJECT_NUMBER = "123456789012"  # what the mocks answer for gcp:organizations/getProject


def _hex(name: str, n: int) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:n]


class AppliedMocks(PreviewMocks):
    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], dict] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        rid, outputs = super().new_resource(args)
        i, h = args.inputs, _hex(args.name, 32)
        if args.typ == "aws:eks/cluster:Cluster":
            # https://<32 hex>.<2-3 chars>.<region>.eks.amazonaws.com; the region is the provider's
            outputs.update(endpoint=f"https://{h.upper()}.gr7.eks.amazonaws.com", certificateAuthority={"data": CA},
                           vpcConfig={**i.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{_hex(args.name, 17)}"})
        elif args.typ == "gcp:container/cluster:Cluster":
            private_ip = str(ipaddress.ip_network(i["privateClusterConfig"]["masterIpv4CidrBlock"])[2])
            location = i.get("location", "")
            outputs.update(
                endpoint=private_ip,  # with enablePrivateEndpoint the cluster's endpoint is the private one
                masterAuth={"clusterCaCertificate": CA},
                privateClusterConfig={**i["privateClusterConfig"], "privateEndpoint": private_ip,
                                      "peeringName": f"gke-n{_hex(args.name, 16)}-{_hex(args.name, 4)}-peer"},
                controlPlaneEndpointsConfig={
                    **i.get("controlPlaneEndpointsConfig", {}),
                    "dnsEndpointConfig": {**i.get("controlPlaneEndpointsConfig", {}).get("dnsEndpointConfig", {}),
                                          "endpoint": f"gke-{h}-{PROJECT_NUMBER}.{location}.gke.goog"}})
        elif args.typ == "aws:ec2/eip:Eip":
            n = int(_hex(args.name, 4), 16)
            outputs.update(publicIp=f"198.18.{n >> 8}.{n & 255}")  # RFC 2544 benchmarking range: never a real one
        self.answers[(args.typ, args.name)] = outputs
        return rid, outputs


def applied_plan(stack: str, platform: dict | None = None) -> tuple[Plan, dict[tuple[str, str], dict]]:
    """The stack's plan with the clouds' answers known, and those answers by (type, name)."""
    mocks = AppliedMocks()
    return run_plan(stack, platform=platform, mocks=mocks), mocks.answers
