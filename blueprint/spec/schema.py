"""The stack file's JSON Schema, generated from the typed spec (editor completion and checks in CI): ``python -m
blueprint.spec.schema`` writes ``stack-file.schema.json`` beside this module; ``--check`` fails while it is stale."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from blueprint.spec.generated import write_or_check
from blueprint.spec.load import SECRET_KEY
from blueprint.spec.model import PlatformSpec
from blueprint.spec.names import FULL_KEY

OUT = Path(__file__).with_name("stack-file.schema.json")
SECURE = {"type": "object", "properties": {"secure": {"type": "string"}}, "required": ["secure"],
          "additionalProperties": False, "description": "a value encrypted by `pulumi config set --secret`"}


def _secrets_encrypted(node: Any) -> None:
    """Credential keys take the encrypted ``{secure: ...}`` form (plain text is refused by every command)."""
    if isinstance(node, dict):
        for key in list(node.get("properties") or {}):
            if SECRET_KEY.search(key):
                node["properties"][key] = {"anyOf": [SECURE, {"type": "null"}],
                                           "description": "set with `pulumi config set --secret --path`"}
        for value in node.values():
            _secrets_encrypted(value)
    elif isinstance(node, list):
        for value in node:
            _secrets_encrypted(value)


def platform_schema() -> dict[str, Any]:
    schema = PlatformSpec.model_json_schema(by_alias=True, mode="validation")
    schema["properties"].pop("stack", None)  # the stack's name comes from the file name
    schema["required"] = [r for r in schema.get("required", []) if r != "stack"]
    _secrets_encrypted(schema)
    return schema


def stack_file_schema() -> dict[str, Any]:
    """``stacks/Pulumi.<stack>.yaml``: Pulumi's stack file keys, and ``config`` with the platform object."""
    platform = platform_schema()
    defs = platform.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Pulumi stack file of the GPU AI platform blueprint",
        "description": "Generated from blueprint/spec/model.py by `python -m blueprint.spec.schema`; do not edit.",
        "type": "object",
        "properties": {
            "config": {"type": "object", "properties": {FULL_KEY: platform}, "required": [FULL_KEY]},
            "secretsprovider": {"type": "string"}, "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
        },
        "required": ["config"],
        "$defs": defs,
    }


def render() -> str:
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    return write_or_check(OUT, render(), "blueprint.spec.schema", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
