"""The "First deployment" section documents every deploy-path mode the spec takes and the workflows' variable."""
from __future__ import annotations

from pathlib import Path

from cli.commands.deployer import LABELS_VARIABLE
from blueprint.spec.model import EksEndpoint, GkeEndpoint

REPO = Path(__file__).resolve().parents[2]


def test_first_deployment_section_covers_the_modes_the_tools_and_the_order():
    text = (REPO / "docs" / "operations.md").read_text()
    section = text.split("## First deployment\n", 1)[1].split("\n## ", 1)[0]
    for mode in [*EksEndpoint, *GkeEndpoint]:
        assert f"`{mode.value}`" in section, mode
    for key in ("eksEndpoint", "gkeEndpoint", "runnerSubnet", "peerCidrs", "egressCidrs"):
        assert f"`{key}`" in section, key
    for words in (LABELS_VARIABLE, "blueprint deployer --stack prod --format bootstrap", "gke-gcloud-auth-plugin",
                  "aws eks get-token", "container.clusters.connect", "### In which order",
                  "### A stack whose clusters already exist", "### Defaults per tier, and why"):
        assert words in section, words
    for workflow in ("pulumi-up.yml", "pull-request.yml"):
        assert LABELS_VARIABLE in (REPO / ".github" / "workflows" / workflow).read_text()
