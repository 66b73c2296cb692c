"""The policy pack `pulumi preview --policy-pack policies` runs. It only builds the pack; policies live beside it."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: blueprint/ and policies/

from pulumi_policy import PolicyPack  # noqa: E402

from policies import ALL_POLICIES, PACK_NAME, pack_enforcement_level  # noqa: E402

PolicyPack(name=PACK_NAME, policies=ALL_POLICIES, enforcement_level=pack_enforcement_level(),
           description="GPU AI platform guardrails: encryption, exposure, GPU pools, workloads, residency, cost.")
