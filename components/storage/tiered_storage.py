"""``aiplatform:storage:TieredStorage``: one region's hot, warm and cold storage, next to its GPUs."""
from __future__ import annotations

import pulumi

from blueprint.spec import Cloud, PlatformSpec, Region
from components.compute import RegionalCompute
from components.storage.aws_storage import AwsStorage
from components.storage.gcp_storage import GcpStorage


class TieredStorage(pulumi.ComponentResource):
    """Datasets, checkpoints, model artifacts and archives for one region, on the region's own cloud.

    ``backend`` is the cloud-specific part (``AwsStorage`` or ``GcpStorage``); ``key_id`` the customer-managed
    key that encrypts it, which workload identities are allowed to use.
    """

    def __init__(self, spec: PlatformSpec, region: Region, compute: RegionalCompute,
                 opts: pulumi.ResourceOptions | None = None):
        name = f"{compute.child_name}-storage"
        super().__init__("aiplatform:storage:TieredStorage", name, None, opts)
        self.spec = spec
        self.region = region
        child = pulumi.ResourceOptions(parent=self)
        if region.cloud is Cloud.aws:
            self.backend = AwsStorage(compute.child_name, spec, region, compute, child)
            self.key_id = self.backend.key.arn
        else:
            self.backend = GcpStorage(compute.child_name, spec, region, compute, child)
            self.key_id = self.backend.key.id
        self.register_outputs({"keyId": self.key_id})
