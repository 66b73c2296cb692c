"""The typed platform spec (model), its loader with clear errors, the address planner and the platform's names."""
from blueprint.spec.addressing import AddressPlan, RegionAddresses, address_plan, plan_addresses
from blueprint.spec.issues import SpecIssue
from blueprint.spec.load import SpecError, StackFileError, load_spec
from blueprint.spec.model import (
    CapacityType, Cloud, Enforcement, GpuPool, PlatformSpec, Purpose, Region, Tier, Topology,
)
from blueprint.spec.names import CONFIG_KEY, CONFIG_NAMESPACE, FULL_KEY, Taint

__all__ = [
    "AddressPlan", "CapacityType", "Cloud", "CONFIG_KEY", "CONFIG_NAMESPACE", "Enforcement", "FULL_KEY", "GpuPool",
    "PlatformSpec", "Purpose", "Region", "RegionAddresses", "SpecError", "SpecIssue", "StackFileError", "Taint", "Tier",
    "Topology", "address_plan", "load_spec", "plan_addresses",
]
