"""Which region pairs get a private link, and of what kind. Pure: no Pulumi, so tests and tools can call it.
Notes: docs/architecture.md, "Spec and catalog"."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from itertools import combinations

from blueprint.spec.addressing import AddressPlan
from blueprint.spec.model import PlatformSpec, Topology

TGW_PEERING = "tgw-peering"
HA_VPN = "ha-vpn"
SHARED_VPC = "shared-vpc"


@dataclass(frozen=True)
class Link:
    a: str  # region key; for aws-aws the peering requester, for aws-gcp always the AWS side
    b: str
    kind: str

    @property
    def name(self) -> str:
        return f"{self.a.replace('/', '-')}--{self.b.replace('/', '-')}"


def _slot(spec: PlatformSpec, key: str) -> int:
    region = spec.region(key)
    assert region is not None
    return region.facts.slot


def links(spec: PlatformSpec) -> list[Link]:
    """Every private link of the stack, in a stable order (by the slots of both ends)."""
    keys = sorted((r.key for r in spec.regions), key=lambda k: _slot(spec, k))
    net = spec.network
    out = []
    for a, b in combinations(keys, 2):
        if net.topology is Topology.hub_and_spoke and net.hub not in (a, b) and not (
                a.startswith("gcp/") and b.startswith("gcp/")):
            continue
        ca, cb = a.split("/")[0], b.split("/")[0]
        if ca == cb == "aws":
            out.append(Link(a, b, TGW_PEERING))
        elif ca == cb == "gcp":
            out.append(Link(a, b, SHARED_VPC))
        else:
            aws_key, gcp_key = (a, b) if ca == "aws" else (b, a)
            out.append(Link(aws_key, gcp_key, HA_VPN))
    return out


def peers(spec: PlatformSpec, key: str) -> list[str]:
    """The regions ``key`` has a private link to."""
    return [l.b if l.a == key else l.a for l in links(spec) if key in (l.a, l.b)]


def reachable_prefixes(spec: PlatformSpec, addresses: AddressPlan) -> dict[str, list[str]]:
    """Per region: its own block and the blocks of every region it links to (what its route tables carry)."""
    out = {}
    for region in spec.regions:
        nets = [addresses[region.key].block] + [addresses[k].block for k in peers(spec, region.key)]
        out[region.key] = [str(n) for n in sorted(nets, key=lambda n: int(n.network_address))]
    return out


def outside_supernet(spec: PlatformSpec, addresses: AddressPlan, keys: list[str]) -> list[str]:
    """Blocks of ``keys`` not inside the supernet (user-given ``cidr``s): firewalls that allow the supernet miss them."""
    supernet = ipaddress.ip_network(spec.network.supernet)
    return [str(addresses[k].block) for k in keys if not addresses[k].block.subnet_of(supernet)]
