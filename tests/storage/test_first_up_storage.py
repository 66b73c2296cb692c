"""Storage as the clouds accept it on a first `up` (first-up review, round 1): what the mock runtime cannot refuse."""
from __future__ import annotations

import pytest

from blueprint.plan import Plan
from tests.conftest import STACKS, shipped_plan

LUSTRE = "aws:fsx/lustreFileSystem:LustreFileSystem"
DRA = "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation"


def _linked(plan: Plan) -> list:
    return [fs for fs in plan.of_type(LUSTRE)
            if any(fs.urn in d.property_dependencies.get("fileSystemId", []) for d in plan.of_type(DRA))]


@pytest.mark.parametrize("stack", STACKS)
def test_no_backups_are_asked_of_a_file_system_linked_to_s3(stack):
    """FSx for Lustre backs up only file systems not linked to an S3 data repository
    (docs.aws.amazon.com/fsx/latest/LustreGuide/using-backups-fsx.html; CreateBackup: "Are not linked to a data
    repository"): retention days on a DRA-linked file system would promise backups that never exist."""
    for fs in _linked(shipped_plan(stack)):
        assert float(fs.inputs.get("automaticBackupRetentionDays") or 0) == 0, fs.name


def test_prod_has_a_linked_file_system_to_check(prod_plan):
    assert _linked(prod_plan)
