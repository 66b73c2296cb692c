"""Address planner: non-overlapping CIDRs for every VPC, subnet, pod and service range, in both clouds.
Notes: docs/architecture.md, "Spec and catalog"."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from blueprint import catalog
from blueprint.spec.model import PlatformSpec

Net = ipaddress.IPv4Network

# AWS accepts tunnel inside CIDRs in 169.254.0.0/16 except 169.254.0.0/30 .. 169.254.5.0/30 and 169.254.169.252/30;
# GCP Cloud Router BGP addresses must be link-local too. This /18 avoids every reserved block.
TUNNEL_POOL = ipaddress.ip_network("169.254.64.0/18")
AWS_SLOTS = range(0, 32)  # catalog slots of AWS regions
GCP_SLOTS = range(32, 64)  # catalog slots of GCP regions
TUNNELS_PER_PAIR = 4  # HA VPN: two GCP interfaces x two AWS tunnels each


class AddressError(ValueError):
    """Raised with the config key path of the offending range, and the range it collides with."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class RegionAddresses:
    key: str
    cloud: str
    block: Net
    private_subnets: tuple[Net, ...] = ()
    public_subnets: tuple[Net, ...] = ()
    nodes: Net | None = None
    pods: Net | None = None
    services: Net | None = None
    control_plane: Net | None = None
    runner: Net | None = None  # AWS: the deployer runner subnet's range

    def ranges(self) -> list[tuple[str, Net]]:
        """Every range this region uses, labelled, for overlap checks and routing."""
        out: list[tuple[str, Net]] = []
        out += [(f"{self.key} private subnet {i}", n) for i, n in enumerate(self.private_subnets)]
        out += [(f"{self.key} public subnet {i}", n) for i, n in enumerate(self.public_subnets)]
        for name in ("nodes", "pods", "services", "control_plane", "runner"):
            net = getattr(self, name)
            if net is not None:
                out.append((f"{self.key} {name.replace('_', ' ')}", net))
        return out


@dataclass(frozen=True)
class AddressPlan:
    supernet: Net
    regions: dict[str, RegionAddresses] = field(default_factory=dict)

    def __getitem__(self, key: str) -> RegionAddresses:
        return self.regions[key]

    def all_ranges(self) -> list[tuple[str, Net]]:
        return [r for region in self.regions.values() for r in region.ranges()]

    def vpn_inside_cidrs(self, aws_key: str, gcp_key: str) -> tuple[Net, ...]:
        """The four tunnel inside /30s of the HA VPN between an AWS and a GCP region of this plan."""
        return vpn_inside_cidrs(self.regions[aws_key].key, self.regions[gcp_key].key)


def vpn_inside_cidrs(aws_key: str, gcp_key: str) -> tuple[Net, ...]:
    """Four link-local /30s for one AWS-GCP pair, fixed by the two catalog slots (pair index = aws*32 + gcp-32).

    In each /30 the first host is the AWS side (``tunnelN_vgw_inside_address``), the second the GCP Cloud Router.
    """
    (aws_cloud, aws_region), (gcp_cloud, gcp_region) = aws_key.split("/", 1), gcp_key.split("/", 1)
    if (aws_cloud, gcp_cloud) != ("aws", "gcp"):
        raise ValueError(f"a VPN pair is (aws, gcp), got ({aws_key}, {gcp_key})")
    a, g = catalog.region("aws", aws_region), catalog.region("gcp", gcp_region)
    assert a is not None and g is not None, "regions validated before planning"
    if a.slot not in AWS_SLOTS or g.slot not in GCP_SLOTS:
        raise AddressError("regions", f"catalog slots {a.slot} ({aws_key}) / {g.slot} ({gcp_key}) are outside the "
                                      f"VPN tunnel plan (AWS {AWS_SLOTS.start}-{AWS_SLOTS.stop - 1}, GCP "
                                      f"{GCP_SLOTS.start}-{GCP_SLOTS.stop - 1})")
    index = (a.slot - AWS_SLOTS.start) * len(GCP_SLOTS) + (g.slot - GCP_SLOTS.start)
    pair = ipaddress.ip_network((int(TUNNEL_POOL.network_address) + index * 4 * TUNNELS_PER_PAIR, 28))
    return tuple(pair.subnets(new_prefix=30))


@dataclass(frozen=True)
class RegionRequest:
    """What the planner needs of one region: its identity, zone count and an optional fixed CIDR."""

    cloud: str
    region: str
    zones: int
    cidr: str | None = None
    path: str = ""  # config key path, for errors

    @property
    def key(self) -> str:
        return f"{self.cloud}/{self.region}"


def _parse(cidr: str, path: str) -> Net:
    try:
        return ipaddress.ip_network(cidr, strict=True)  # type: ignore[return-value]
    except ValueError as exc:
        raise AddressError(path, f"'{cidr}' is not a valid IPv4 CIDR block ({exc}); "
                                 "expected a network address such as 10.64.0.0/16") from None


def region_block(supernet: Net, prefix: int, req: RegionRequest) -> Net:
    if req.cidr is not None:
        return _parse(req.cidr, req.path + ".cidr")
    facts = catalog.region(req.cloud, req.region)
    assert facts is not None, "region validated before planning"
    slots = 2 ** (prefix - supernet.prefixlen) if prefix >= supernet.prefixlen else 0
    if facts.slot >= slots:
        raise AddressError(
            "network.supernet",
            f"supernet {supernet} split into /{prefix} blocks has {slots} slots, but {req.key} uses slot "
            f"{facts.slot}; use a supernet of /{prefix - (facts.slot.bit_length())} or larger, a longer "
            f"network.regionPrefixLength, or give {req.path}.cidr explicitly")
    return list(supernet.subnets(new_prefix=prefix))[facts.slot] if slots <= 4096 else \
        ipaddress.ip_network((int(supernet.network_address) + facts.slot * 2 ** (32 - prefix), prefix))


def _layout(req: RegionRequest, block: Net) -> RegionAddresses:
    p = block.prefixlen
    if p > 20:
        raise AddressError(req.path + ".cidr", f"{block} is too small for a region; use /20 or larger")
    eighths = list(block.subnets(new_prefix=p + 3))
    if req.cloud == "aws":
        public = list(eighths[4].subnets(new_prefix=p + 6))
        return RegionAddresses(key=req.key, cloud=req.cloud, block=block,
                               private_subnets=tuple(eighths[: req.zones]),
                               public_subnets=tuple(public[: req.zones]),
                               runner=next(eighths[5].subnets(new_prefix=p + 6)))
    halves = list(block.subnets(new_prefix=p + 1))
    return RegionAddresses(key=req.key, cloud=req.cloud, block=block, nodes=eighths[0], services=eighths[1],
                           control_plane=next(eighths[3].subnets(new_prefix=28)), pods=halves[1])


def plan_addresses(supernet: str, prefix: int, requests: list[RegionRequest]) -> AddressPlan:
    """Allocate every region; raise AddressError naming both ranges on any overlap."""
    sup = _parse(supernet, "network.supernet")
    regions: dict[str, RegionAddresses] = {}
    paths: dict[str, str] = {}
    for req in requests:
        block = region_block(sup, prefix, req)
        for other_key, other in regions.items():
            if block.overlaps(other.block):
                raise AddressError(
                    req.path + ".cidr" if req.cidr else paths[other_key] + ".cidr",
                    f"address range {block} of {req.key} overlaps {other.block} of {other_key}; "
                    "give each region a distinct range or drop the explicit cidr to let the planner allocate")
        regions[req.key] = _layout(req, block)
        paths[req.key] = req.path
    plan = AddressPlan(supernet=sup, regions=regions)
    _assert_disjoint(plan)
    return plan


def _assert_disjoint(plan: AddressPlan) -> None:
    ranges = sorted(plan.all_ranges(), key=lambda r: (int(r[1].network_address), r[1].prefixlen))
    for (name_a, a), (name_b, b) in zip(ranges, ranges[1:]):
        if a.overlaps(b):
            raise AddressError("network", f"{name_a} {a} overlaps {name_b} {b}")


def address_requests(spec: PlatformSpec) -> list[RegionRequest]:
    return [RegionRequest(cloud=r.cloud.value, region=r.region, zones=spec.zone_count(r), cidr=r.cidr,
                          path=f"regions[{i}]") for i, r in enumerate(spec.regions)]


def address_plan(spec: PlatformSpec) -> AddressPlan:
    """The validated spec's address plan (never raises for a spec that passed ``load_spec``)."""
    return plan_addresses(spec.network.supernet, spec.network.region_prefix_length, address_requests(spec))
