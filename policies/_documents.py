"""IAM and resource policy documents (AWS JSON policies, GCP IAM policy data) as declared. A document built from other
resources' outputs is known only after apply: ``statements`` returns None and it is judged in ``pulumi up``."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from policies._props import is_unknown, plain

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
# Condition keys that narrow who the principal can be (a wildcard principal with one of them is not public).
_PRINCIPAL_KEYS = {k.lower() for k in (
    "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn", "aws:SourceAccount",
    "aws:SourceArn", "aws:SourceOwner", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceIp", "kms:CallerAccount")}


def document(value: Any) -> Mapping | None:
    """A policy document as a mapping; None when it is known only after apply or is not JSON."""
    value = plain(value)
    if value is None or is_unknown(value):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def statements(value: Any) -> list[Mapping] | None:
    doc = document(value)
    if doc is None:
        return None
    stmts = doc.get("Statement", [])
    stmts = [stmts] if isinstance(stmts, Mapping) else stmts
    return [s for s in stmts if isinstance(s, Mapping)] if isinstance(stmts, list) else []


def listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def allows(stmt: Mapping) -> bool:
    return str(stmt.get("Effect", "")).lower() == "allow"


def actions(stmt: Mapping) -> list[str]:
    return listed(stmt.get("Action"))


def resources(stmt: Mapping) -> list[str]:
    return listed(stmt.get("Resource"))


def principals(stmt: Mapping) -> list[tuple[str, str]]:
    """(kind, value) pairs: ``"*"`` is ("*", "*"); ``{"AWS": [...]}`` gives ("AWS", arn) pairs."""
    p = stmt.get("Principal")
    if p == "*":
        return [("*", "*")]
    if isinstance(p, Mapping):
        return [(str(kind), v) for kind, vals in p.items() for v in listed(vals)]
    return []


def wildcard_principal(stmt: Mapping) -> bool:
    """Anyone: ``Principal: "*"``, ``{"AWS": "*"}`` or any account's root (``arn:aws:iam::*:root``)."""
    return any(v == "*" or (kind == "AWS" and v.startswith("arn:aws:iam::*")) for kind, v in principals(stmt))


def condition_keys(stmt: Mapping) -> set[str]:
    cond = stmt.get("Condition")
    if not isinstance(cond, Mapping):
        return set()
    return {str(k).lower() for block in cond.values() if isinstance(block, Mapping) for k in block}


def narrows_principal(stmt: Mapping) -> bool:
    return bool(condition_keys(stmt) & _PRINCIPAL_KEYS)


def public_statement(stmt: Mapping) -> bool:
    """An Allow to anyone, not narrowed by an organisation, account, source or network condition."""
    return allows(stmt) and wildcard_principal(stmt) and not narrows_principal(stmt)


def iam_members(value: Any) -> list[str]:
    """Members of GCP IAM policy data (``{"bindings": [{"role": ..., "members": [...]}]}``)."""
    doc = document(value)
    if doc is None:
        return []
    return [m for b in doc.get("bindings", []) if isinstance(b, Mapping) for m in listed(b.get("members"))]
