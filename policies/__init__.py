"""The platform's CrossGuard guardrails, grouped by concern; ``policies/__main__.py`` packs them.
Notes: docs/architecture.md, "Policies"."""
from policies import access, clusters, compute, identity, kubernetes, network, stack, storage, tags, workloads
from policies._framework import PACK_NAME, pack_enforcement_level, register_pack

ALL_POLICIES = [*storage.POLICIES, *compute.POLICIES, *clusters.POLICIES, *network.POLICIES, *identity.POLICIES,
                *kubernetes.POLICIES, *workloads.POLICIES, *tags.POLICIES, *stack.POLICIES, *access.POLICIES]
POLICY_NAMES = frozenset(p.name for p in ALL_POLICIES)
assert len(POLICY_NAMES) == len(ALL_POLICIES), "policy names must be unique"
register_pack(ALL_POLICIES)

__all__ = ["ALL_POLICIES", "PACK_NAME", "POLICY_NAMES", "pack_enforcement_level"]
