"""The address planner: properties over random stacks (hypothesis), and overlap errors as the user sees them."""
from __future__ import annotations

import ipaddress
import random
from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprint import catalog
from blueprint.spec import SpecError, load_spec
from blueprint.spec.addressing import (
    AWS_SLOTS, GCP_SLOTS, TUNNEL_POOL, AddressError, RegionRequest, plan_addresses, vpn_inside_cidrs,
)
from tests.conftest import platform_config

ALL_REGIONS = [(c, r) for c in ("aws", "gcp") for r in catalog.region_names(c)]
AWS_RESERVED_INSIDE = [ipaddress.ip_network(f"169.254.{i}.0/30") for i in range(6)] + [
    ipaddress.ip_network("169.254.169.252/30")]


@st.composite
def requests(draw, min_size=1):
    """A random stack: distinct catalog regions in random order, each with a valid zone count."""
    chosen = draw(st.lists(st.sampled_from(ALL_REGIONS), min_size=min_size, max_size=12, unique=True))
    out = []
    for cloud, region in chosen:
        zones = len(catalog.region(cloud, region).zones)
        out.append(RegionRequest(cloud=cloud, region=region, zones=draw(st.integers(2, min(4, zones))),
                                 path=f"regions[{len(out)}]"))
    return out


@st.composite
def supernets(draw):
    """A supernet with room for every catalog slot (64 blocks) at a random region prefix length."""
    prefix = draw(st.integers(16, 20))
    sup_len = prefix - draw(st.integers(6, 7))
    base = ipaddress.ip_network("10.0.0.0/8")
    index = draw(st.integers(0, 2 ** (sup_len - 8) - 1))
    return str(list(base.subnets(new_prefix=sup_len))[index] if sup_len - 8 <= 8 else
               ipaddress.ip_network((int(base.network_address) + index * 2 ** (32 - sup_len), sup_len))), prefix


def _assert_no_overlap(plan) -> None:
    ranges = plan.all_ranges()
    for (name_a, a), (name_b, b) in combinations(ranges, 2):
        assert not a.overlaps(b), f"{name_a} {a} overlaps {name_b} {b}"
    for region in plan.regions.values():
        for name, net in region.ranges():
            assert net.subnet_of(region.block), f"{name} {net} outside {region.block}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reqs=requests(), sup=supernets())
def test_no_range_overlaps_and_every_range_sits_in_its_region(reqs, sup):
    supernet, prefix = sup
    plan = plan_addresses(supernet, prefix, reqs)
    assert set(plan.regions) == {r.key for r in reqs}
    _assert_no_overlap(plan)
    for req in reqs:
        region = plan[req.key]
        assert region.block.subnet_of(ipaddress.ip_network(supernet)) and region.block.prefixlen == prefix
        if req.cloud == "aws":
            assert len(region.private_subnets) == len(region.public_subnets) == req.zones
        else:
            assert region.nodes and region.pods and region.services and region.control_plane.prefixlen == 28


@settings(max_examples=40, deadline=None)
@given(reqs=requests(), sup=supernets(), seed=st.integers(0, 2 ** 16))
def test_deterministic_and_independent_of_order(reqs, sup, seed):
    supernet, prefix = sup
    first = plan_addresses(supernet, prefix, reqs)
    again = plan_addresses(supernet, prefix, list(reqs))
    shuffled = list(reqs)
    random.Random(seed).shuffle(shuffled)
    reordered = plan_addresses(supernet, prefix, shuffled)
    assert first.regions == again.regions == reordered.regions


@settings(max_examples=40, deadline=None)
@given(reqs=requests(min_size=2), sup=supernets(), cut=st.integers(1, 11))
def test_adding_regions_never_renumbers_existing_ones(reqs, sup, cut):
    supernet, prefix = sup
    cut = min(cut, len(reqs) - 1)
    small = plan_addresses(supernet, prefix, reqs[:cut])
    grown = plan_addresses(supernet, prefix, reqs)
    for key, region in small.regions.items():
        assert grown[key] == region, key


@settings(max_examples=40, deadline=None)
@given(reqs=requests(min_size=2), sup=supernets(), pick=st.integers(0, 11), data=st.data())
def test_a_user_cidr_overlapping_another_region_names_both_ranges(reqs, sup, pick, data):
    supernet, prefix = sup
    planned = plan_addresses(supernet, prefix, reqs)
    victim = reqs[pick % len(reqs)]
    others = [r for r in reqs if r.key != victim.key]
    target = planned[data.draw(st.sampled_from(others)).key].block
    # An explicit range that overlaps the target block: the block itself, a part of it, or a block containing it.
    new_len = data.draw(st.integers(max(target.prefixlen - 2, 8), 20))
    explicit = (next(target.subnets(new_prefix=new_len)) if new_len >= target.prefixlen
                else target.supernet(new_prefix=new_len))
    changed = [RegionRequest(r.cloud, r.region, r.zones, str(explicit) if r is victim else None, r.path)
               for r in reqs]
    with pytest.raises(AddressError) as err:
        plan_addresses(supernet, prefix, changed)
    message = str(err.value)
    assert str(explicit) in message and " overlaps " in message
    assert err.value.path.endswith(".cidr")


@settings(max_examples=30, deadline=None)
@given(reqs=requests(min_size=2), pick=st.integers(0, 11))
def test_a_user_cidr_outside_every_planned_block_is_kept_as_given(reqs, pick):
    victim = reqs[pick % len(reqs)]
    changed = [RegionRequest(r.cloud, r.region, r.zones, "172.20.0.0/16" if r is victim else None, r.path)
               for r in reqs]
    plan = plan_addresses("10.64.0.0/10", 16, changed)
    assert str(plan[victim.key].block) == "172.20.0.0/16"
    _assert_no_overlap(plan)
    baseline = plan_addresses("10.64.0.0/10", 16, reqs)
    assert all(plan[r.key] == baseline[r.key] for r in reqs if r is not victim)


def test_vpn_inside_ranges_are_disjoint_link_local_and_avoid_what_aws_reserves():
    assert {catalog.region("aws", r).slot for r in catalog.region_names("aws")} <= set(AWS_SLOTS)
    assert {catalog.region("gcp", r).slot for r in catalog.region_names("gcp")} <= set(GCP_SLOTS)
    seen: dict[ipaddress.IPv4Network, str] = {}
    for a in catalog.region_names("aws"):
        for g in catalog.region_names("gcp"):
            cidrs = vpn_inside_cidrs(f"aws/{a}", f"gcp/{g}")
            assert len(cidrs) == 4 and vpn_inside_cidrs(f"aws/{a}", f"gcp/{g}") == cidrs
            for net in cidrs:
                assert net.prefixlen == 30 and net.subnet_of(TUNNEL_POOL)
                assert not any(net.overlaps(r) for r in AWS_RESERVED_INSIDE)
                assert net not in seen, f"{a}/{g} reuses {net} of {seen.get(net)}"
                seen[net] = f"{a}/{g}"
    with pytest.raises(ValueError):
        vpn_inside_cidrs("gcp/us-central1", "aws/us-east-1")


def test_overlap_surfaces_as_a_spec_error_naming_stack_key_path_and_both_ranges():
    cfg = platform_config("prod")
    cfg["regions"][1]["cidr"] = "10.64.128.0/17"  # inside us-east-1's planned 10.64.0.0/16
    with pytest.raises(SpecError) as err:
        load_spec(cfg, stack="prod")
    text = str(err.value)
    assert err.value.stack == "prod" and "stack 'prod'" in text
    assert "aiplatform:platform.regions[1].cidr" in text
    assert "10.64.128.0/17" in text and "10.64.0.0/16" in text


def test_a_region_beyond_the_supernet_names_the_keys_to_change():
    cfg = platform_config("prod")
    cfg["network"]["supernet"] = "10.64.0.0/14"  # four /16 slots; GCP us-central1 sits at slot 32
    with pytest.raises(SpecError) as err:
        load_spec(cfg, stack="prod")
    assert "aiplatform:platform.network.supernet" in str(err.value) and "gcp/us-central1" in str(err.value)
