"""The alias table (policies/_aliases.py) is what the installed SDKs declare, and aliases are judged like the type a
policy names. ``UPDATE_ALIASES=1`` rewrites the table after an SDK upgrade."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pulumi_aws
import pulumi_gcp
import pulumi_kubernetes

from policies import _aliases

TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'([^']+)'")
ALIAS = re.compile(r'pulumi\.Alias\(type_="([^"]+)"\)')
STABLE = re.compile(r"^kubernetes:[^:]*\bv(\d+):")


def _declared() -> dict[str, set[str]]:
    """Each SDK class's own type token -> the alias types it declares (grep finds the few files with any)."""
    roots = [str(Path(m.__file__).parent) for m in (pulumi_aws, pulumi_gcp, pulumi_kubernetes)]
    files = subprocess.run(["grep", "-rlF", 'pulumi.Alias(type_="', *roots], capture_output=True, text=True,
                           check=True).stdout.split()
    out: dict[str, set[str]] = {}
    for f in files:
        text = Path(f).read_text()
        if m := TOKEN.search(text):
            out.setdefault(m.group(1), set()).update(ALIAS.findall(text))
    return out


def _canonical(group: set[str], declared: dict[str, set[str]]) -> str:
    """The current type: the one that names the others as its aliases; Kubernetes: the highest stable version."""
    leaders = sorted(t for t in group if declared.get(t, set()) - {t}) or sorted(group)
    stable = [t for t in leaders if STABLE.match(t)]
    if stable:
        return max(stable, key=lambda t: int(STABLE.match(t).group(1)))
    return min(leaders, key=lambda t: (t.rstrip("V2") != t, len(t), t))


def generate() -> str:
    declared = _declared()
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for token, aliases in declared.items():
        for alias in aliases:
            parent[find(token)] = find(alias)
    groups: dict[str, set[str]] = {}
    for token in list(parent):
        groups.setdefault(find(token), set()).add(token)
    rows = []
    for group in groups.values():
        if len(group) < 2:
            continue
        first = _canonical(group, declared)
        rows.append((first, *sorted(group - {first})))
    body = "".join(f"    {row!r},\n" if len(repr(row)) < 112 else
                   "    (" + ",\n     ".join(repr(t) for t in row) + "),\n" for row in sorted(rows))
    head, _, _ = Path(_aliases.__file__).read_text().partition("GROUPS: tuple[tuple[str, ...], ...] = (\n")
    _, _, tail = Path(_aliases.__file__).read_text().partition("\n)  # end of GROUPS\n")
    return f"{head}GROUPS: tuple[tuple[str, ...], ...] = (\n{body})  # end of GROUPS\n{tail}"


def test_alias_table_is_what_the_installed_sdks_declare():
    text = generate()
    if os.environ.get("UPDATE_ALIASES"):
        Path(_aliases.__file__).write_text(text)
    assert Path(_aliases.__file__).read_text() == text, "stale: UPDATE_ALIASES=1 pytest tests/policies/test_aliases.py"


def test_deprecated_types_map_to_the_current_ones():
    assert _aliases.canonical("aws:s3/bucketV2:BucketV2") == "aws:s3/bucket:Bucket"
    assert _aliases.canonical("aws:s3/bucketAclV2:BucketAclV2") == "aws:s3/bucketAcl:BucketAcl"
    assert _aliases.canonical("aws:s3/bucketServerSideEncryptionConfigurationV2:"
                              "BucketServerSideEncryptionConfigurationV2") == \
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    assert _aliases.canonical("kubernetes:extensions/v1beta1:Deployment") == "kubernetes:apps/v1:Deployment"
    assert _aliases.canonical("kubernetes:batch/v1beta1:CronJob") == "kubernetes:batch/v1:CronJob"
    assert _aliases.canonical("aws:ec2/vpc:Vpc") == "aws:ec2/vpc:Vpc"
    assert "aws:s3/bucketV2:BucketV2" in _aliases.family("aws:s3/bucket:Bucket")
