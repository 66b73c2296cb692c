"""``aiplatform:network:Interconnect``: private paths between every region of the stack."""
from __future__ import annotations

import pulumi

from blueprint.spec import AddressPlan, PlatformSpec
from components.compute import RegionalCompute


class Interconnect(pulumi.ComponentResource):
    """Peering and VPN between the regions' networks per ``network.topology`` (filled in by the interconnect issue)."""

    def __init__(self, spec: PlatformSpec, addresses: AddressPlan, regions: dict[str, RegionalCompute],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplatform:network:Interconnect", f"{spec.environment}-interconnect", None, opts)
        self.register_outputs({})
