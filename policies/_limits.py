"""GPU limits per environment tier: what a stack may run when its spec's ``policy:`` section says nothing.
Notes: docs/architecture.md, "Policies"."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from blueprint import catalog
from blueprint.spec.model import Tier


@dataclass(frozen=True)
class TierLimits:
    families: frozenset[str]  # catalog families: "p5" for p5.48xlarge, "a3" for a3-highgpu-8g
    max_gpus_per_pool: int
    max_gpus_per_stack: int

    @property
    def instance_types(self) -> frozenset[str]:
        return _types_of(self.families)


_SMALL = frozenset({"g5", "g6", "g6e", "g2"})
TIER_LIMITS = {
    Tier.development: TierLimits(_SMALL, max_gpus_per_pool=16, max_gpus_per_stack=32),
    Tier.staging: TierLimits(_SMALL | {"p4d", "p4de", "p5", "a2", "a3"}, max_gpus_per_pool=32, max_gpus_per_stack=64),
    Tier.production: TierLimits(frozenset({"p5", "p5e", "p5en", "a3", "g6", "g2"}),
                                max_gpus_per_pool=64, max_gpus_per_stack=128),
}


@lru_cache(maxsize=None)
def _types_of(families: frozenset[str]) -> frozenset[str]:
    """The catalog's GPU instance and machine types of these families, on both clouds."""
    out = set()
    for cloud in catalog.CLOUDS:
        for name in catalog.instance_types(cloud):
            facts = catalog.instance(cloud, name)
            if facts is not None and facts.family in families:
                out.add(name)
    return frozenset(out)
