"""Documentation placeholders in a stack's config: values that only ever appear in examples, never in a real account.
Notes: docs/architecture.md, "Spec and catalog"."""
from __future__ import annotations

import ipaddress
import re
from typing import Any

from blueprint.spec.issues import SpecIssue

REPLACE_BEFORE_DEPLOYING = "documentation placeholders must be replaced before deploying"

# AWS's documentation account ids (docs.aws.amazon.com uses these in every example ARN).
DOC_ACCOUNTS = ("123456789012", "111122223333", "444455556666")
# RFC 5737 (TEST-NET-1/2/3) and RFC 3849: address blocks reserved for documentation.
DOC_NETWORKS = {"192.0.2.0/24": "TEST-NET-1, RFC 5737", "198.51.100.0/24": "TEST-NET-2, RFC 5737",
                "203.0.113.0/24": "TEST-NET-3, RFC 5737", "2001:db8::/32": "RFC 3849"}
# RFC 2606: second-level names and top-level domains reserved for examples and tests.
DOC_SECOND_LEVEL = ("example.com", "example.net", "example.org")
DOC_TLDS = ("example", "test", "invalid", "localhost")
# Made-up resource ids (`cr-0a1b2c3d4e5f60789`, `cr-1234567890abcdef0`, `vpc-1a2b3c4d`): an AWS id's hex part is
# random, so a counting run of eight characters (or 'abcdef') in it comes from a document, not from the API.
DOC_ID_RUNS = ("01234567", "12345678", "23456789", "0a1b2c3d", "1a2b3c4d", "a1b2c3d4", "abcdef")

_ACCOUNT = re.compile(r"(?<!\d)(" + "|".join(DOC_ACCOUNTS) + r")(?!\d)")
_RESOURCE_ID = re.compile(r"(?<![\w-])[a-z]{1,6}-([0-9a-f]{8}|[0-9a-f]{17})(?![\w-])")
_HOST = re.compile(r"(?<![\w.-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9])(?![\w-])", re.I)
_ADDRESS = re.compile(r"(?<![\w.:])([0-9a-f][0-9a-f:.]*(?:/\d{1,3})?)(?![\w.:/])", re.I)


def _account(value: str) -> str | None:
    m = _ACCOUNT.search(value)
    return f"'{m.group(1)}' is AWS's documentation example account; use your own account id" if m else None


def _resource_id(value: str) -> str | None:
    for m in _RESOURCE_ID.finditer(value):
        run = next((r for r in DOC_ID_RUNS if r in m.group(1)), None)
        if run is not None:
            return (f"'{m.group(0)}' is a made-up documentation id (its hex part counts '{run}'); "
                    "use the real id of your resource")
    return None


def _domain(value: str) -> str | None:
    for m in _HOST.finditer(value):
        host = m.group(1).lower()
        reserved = next((d for d in DOC_SECOND_LEVEL if host == d or host.endswith(f".{d}")), None)
        tld = host.rsplit(".", 1)[-1]
        if reserved or tld in DOC_TLDS:
            what = reserved or f".{tld}"
            return f"'{host}' is under {what}, reserved for documentation (RFC 2606); use a domain you own"
    return None


def _network(value: str) -> str | None:
    for m in _ADDRESS.finditer(value):
        try:
            net = ipaddress.ip_network(m.group(1), strict=False)
        except ValueError:
            continue
        for doc, source in DOC_NETWORKS.items():
            block = ipaddress.ip_network(doc)
            if net.version == block.version and net.overlaps(block):
                return (f"'{m.group(1)}' is in {doc} ({source}), reserved for documentation; use your real "
                        "address range")
    return None


RULES = (_account, _resource_id, _domain, _network)


def find_placeholders(raw: Any, path: str = "") -> list[SpecIssue]:
    """Every string leaf of the raw ``aiplatform:platform`` object that a rule recognises, with its config path
    (one issue per leaf: the first rule that matches)."""
    out: list[SpecIssue] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            out += find_placeholders(value, f"{path}.{key}" if path else str(key))
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            out += find_placeholders(value, f"{path}[{i}]")
    elif isinstance(raw, str):
        message = next((m for rule in RULES if (m := rule(raw)) is not None), None)
        if message is not None:
            out.append(SpecIssue(path, message))
    return out
