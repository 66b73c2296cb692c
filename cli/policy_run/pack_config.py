"""``--policy-pack-config FILE``: the JSON `pulumi preview --policy-pack-config` takes, read and checked the way the
Pulumi CLI would (policy names of the pack or ``all``; an enforcement level or an object with one and properties)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel

from blueprint.spec.yamlfile import read_text
from cli.output import UserError
from policies import ALL_POLICIES

LEVELS = tuple(level.value for level in EnforcementLevel)


def read_pack_config(path: Path) -> dict[str, Any]:
    """The file's policy entries, or one ``UserError`` naming the file, the entry and what is allowed."""
    flag = f"--policy-pack-config {path}"
    try:
        doc = json.loads(read_text(path, "a policy pack config (JSON)"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{flag}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:  # InputFileError: missing, a folder, not UTF-8
        raise UserError(f"--policy-pack-config {exc}") from None
    if not isinstance(doc, dict):
        raise UserError(f"{flag}: must be a JSON object mapping policy names (or \"all\") to an enforcement level "
                        f"or {{\"enforcementLevel\": ..., <property>: ...}}, got {type(doc).__name__}")
    names = sorted(p.name for p in ALL_POLICIES)
    problems = []
    for key, entry in doc.items():
        if key != "all" and key not in names:
            problems.append(f"'{key}' is not a policy of the pack; allowed: all, {', '.join(names)}")
            continue
        level = entry.get("enforcementLevel") if isinstance(entry, dict) else entry
        if not isinstance(entry, (dict, str)):
            problems.append(f"'{key}': expected an enforcement level or an object, got {json.dumps(entry)}")
        elif (level is not None or isinstance(entry, str)) and level not in LEVELS:
            problems.append(f"'{key}': enforcement level {json.dumps(level)} is not one of {', '.join(LEVELS)}")
        elif key == "all" and isinstance(entry, dict) and set(entry) - {"enforcementLevel"}:
            problems.append("'all' takes an enforcement level only, not properties")
    if problems:
        raise UserError(f"{flag}: " + ("; ".join(problems)))
    return doc
