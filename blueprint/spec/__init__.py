"""The typed platform spec (model), its loader with clear errors, and the address planner."""
from blueprint.spec.addressing import AddressPlan, RegionAddresses, plan_addresses
from blueprint.spec.load import CONFIG_KEY, CONFIG_NAMESPACE, FULL_KEY, SpecError, load_from_pulumi_config, load_spec
from blueprint.spec.model import (
    CapacityType, Cloud, Enforcement, GpuPool, PlatformSpec, Purpose, Region, Taint, Tier, Topology,
)
from blueprint.spec.validate import SpecIssue, address_requests

__all__ = [
    "AddressPlan", "CapacityType", "Cloud", "CONFIG_KEY", "CONFIG_NAMESPACE", "Enforcement", "FULL_KEY", "GpuPool",
    "PlatformSpec", "Purpose", "Region", "RegionAddresses", "SpecError", "SpecIssue", "Taint", "Tier", "Topology",
    "address_plan", "load_from_pulumi_config", "load_spec",
]


def address_plan(spec: PlatformSpec) -> AddressPlan:
    """The validated spec's address plan (never raises for a spec that passed ``load_spec``)."""
    return plan_addresses(spec.network.supernet, spec.network.region_prefix_length, address_requests(spec))
