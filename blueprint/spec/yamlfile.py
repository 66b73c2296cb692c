"""Read a user's YAML file strictly: a duplicate key, a syntax error or a file that cannot be read is one message
naming the file and the line, never a traceback and never a silent last-key-wins."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class InputFileError(ValueError):
    """A file the user gave (stack file, usage file, JSON input) that cannot be read or is not what it must be."""


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (YAML 1.2 requires unique keys; PyYAML
    keeps the last one without a word)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a plain value",
                                                    key_node.start_mark) from None
        if key in seen:
            first = seen[key].start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first given on line {first.line + 1}); give each key once",
                key_node.start_mark)
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _where(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    at = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or str(exc)
    if problem.startswith("duplicate key"):
        return f"{at}: {problem}"
    context = getattr(exc, "context", None)
    return f"{at}: invalid YAML: {problem}" + (f" ({context})" if context else "")


def parse_yaml(text: str, path: Path) -> Any:
    """``text`` (read from ``path``) as YAML, strictly; ``InputFileError`` names the file, line and column."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise InputFileError(_where(path, exc)) from None


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document at ``path`` (``what`` it is, for the message), strictly parsed."""
    return parse_yaml(read_text(path, what), path)


def read_text(path: Path, what: str) -> str:
    """A user's file as text, or one message saying why it cannot be read (missing, a folder, not UTF-8...)."""
    if path.is_dir():
        raise InputFileError(f"{path}: is a directory; {what} is a file")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file ({what})") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text ({what}): {exc.reason} at byte {exc.start}") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
