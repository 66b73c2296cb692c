"""``aiplatform:storage:TieredStorage``: one region's hot, warm and cold storage, next to its GPUs."""
from __future__ import annotations

import pulumi

from blueprint.spec import PlatformSpec, Region
from components.compute import RegionalCompute


class TieredStorage(pulumi.ComponentResource):
    """Datasets, checkpoints, model artifacts and archives for one region (filled in by the storage issue)."""

    def __init__(self, spec: PlatformSpec, region: Region, compute: RegionalCompute,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplatform:storage:TieredStorage", f"{compute.child_name}-storage", None, opts)
        self.spec = spec
        self.region = region
        self.register_outputs({})
