"""Build a ``PlatformSpec`` from stack config, or fail with every problem at once (the stack, the full key, the
allowed values), before the program declares any resource; read stack files the way the Pulumi CLI hands them over."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from blueprint.spec.cloudrules import cloud_rule_issues
from blueprint.spec.issues import SpecIssue
from blueprint.spec.model import PlatformSpec
from blueprint.spec.names import CONFIG_KEY, CONFIG_NAMESPACE, FULL_KEY
from blueprint.spec.placeholders import REPLACE_BEFORE_DEPLOYING, find_placeholders
from blueprint.spec.validate import validate
from blueprint.spec.yamlfile import InputFileError, read_yaml

REPO = Path(__file__).resolve().parents[2]  # the project: stacks/, Pulumi.yaml, __main__.py
# `blueprint --stacks-dir DIR` (or this variable): read the project's stack and usage files from DIR instead of stacks/
STACKS_DIR_ENV = "BLUEPRINT_STACKS_DIR"
# The order stacks are listed and acted on: promotion order, then any other stack by name.
PROMOTION_ORDER = ("dev", "development", "staging", "prod", "production")
SECRET_PLACEHOLDER = "[secret]"  # an encrypted value, as the CLI masks it and as the offline engine passes it on
# Leaf keys that hold credentials. They must come from `pulumi config set --secret`, never plain text.
SECRET_KEY = re.compile(r"(password|secret|token|apikey|privatekey|authkey|webhookurl)$", re.IGNORECASE)

__all__ = ["CONFIG_KEY", "CONFIG_NAMESPACE", "FULL_KEY", "REPO", "SECRET_PLACEHOLDER", "STACKS_DIR_ENV", "SpecError",
           "StackFileError", "known_stacks", "load_spec", "load_stack", "placeholder_error", "read_stack_file",
           "spec_from_config", "spec_from_environment", "stack_config", "stacks_dir", "strict_validate"]


class StackFileError(LookupError):
    """No stack file for the stack that was asked for, or one that is not a stack file (bad YAML, not a mapping)."""


class SpecError(ValueError):
    """Every issue of one stack's config, formatted for a human."""

    def __init__(self, stack: str, issues: list[SpecIssue], problem: str = "invalid platform config"):
        self.stack = stack
        self.issues = issues
        self.problem = problem
        super().__init__(self._format())

    def _format(self) -> str:
        lines = [f"stack '{self.stack}': {self.problem} ({len(self.issues)} problem"
                 f"{'s' if len(self.issues) != 1 else ''}):"]
        for issue in self.issues:
            line = f"  - {FULL_KEY}.{issue.path}: {issue.message}"
            if issue.allowed:
                line += f"; allowed values: {', '.join(issue.allowed)}"
            lines.append(line)
        return "\n".join(lines)


def _fmt_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model a location points into, to list the keys it allows."""
    model: Any = PlatformSpec
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    for arg in get_args(tp) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _unwrap(arg)
        if inner is not None and inner is not arg:
            return inner
    return tp if get_origin(tp) is None else None


def _allowed_for(err: dict) -> tuple[str, ...]:
    ctx = err.get("ctx") or {}
    if err["type"] in ("enum", "literal_error") and "expected" in ctx:
        return tuple(v.strip(" '") for v in re.split(r",| or ", ctx["expected"]) if v.strip(" '"))
    if err["type"] == "extra_forbidden":
        model = _model_at(err["loc"][:-1])
        if model is not None:
            return tuple(f.alias or n for n, f in model.model_fields.items() if n != "stack")
    return ()


# The model's name patterns in words (a regex is no message for a person); tests/cli/test_errors.py checks every
# pattern of the model is here.
PATTERN_WORDS = {
    r"^[A-Za-z0-9._:-]{1,255}$": "1-255 letters, digits, '.', '_', ':' or '-'",
    r"^[\w-][\w.-]*(/[\w-][\w.-]*)*$": "an object key: '/'-separated parts of letters, digits, '_', '-' and '.', "
                                       "none empty or starting with '.'",
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$": "a DNS-1123 label: 1-63 lower-case letters, digits or '-', starting and "
                                             "ending with a letter or digit",
    r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$": "1-32 lower-case letters, digits or '-', starting with a letter and not "
                                          "ending with '-'",
    r"^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$": "1-42 lower-case letters, digits or '-', starting with a letter and not "
                                          "ending with '-'",
    r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$": "a GCP project id: 6-30 lower-case letters, digits or '-', starting with a "
                                       "letter and not ending with '-'",
    r"^[a-z][a-z0-9-]{1,15}$": "2-16 lower-case letters, digits or '-', starting with a letter",
    r"^[a-z][a-z0-9-]{1,24}[a-z0-9]$": "3-26 lower-case letters, digits or '-', starting with a letter and not "
                                       "ending with '-'",
}


def _message(err: dict) -> str:
    if err["type"] == "string_pattern_mismatch":
        pattern = (err.get("ctx") or {}).get("pattern", "")
        return f"must be {PATTERN_WORDS[pattern]}" if pattern in PATTERN_WORDS else err["msg"]
    return {"missing": "required but missing",
            "extra_forbidden": f"unknown key '{err['loc'][-1]}'"}.get(err["type"], err["msg"])


def _pydantic_issues(exc: ValidationError) -> list[SpecIssue]:
    issues = []
    for err in exc.errors():
        msg = _message(err)
        if err["type"] not in ("missing", "extra_forbidden") and "input" in err and not isinstance(err["input"], (dict, list)):
            msg += f" (got {err['input']!r})"
        issues.append(SpecIssue(_fmt_loc(err["loc"]), msg, _allowed_for(err)))
    return issues


def _json_value(value: Any) -> Any:
    """What YAML gives beyond JSON (dates) as the text it was written as; anything else is refused by the model."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a config value")


def strict_validate(raw: dict[str, Any]) -> PlatformSpec:
    """The model in pydantic's strict mode, on the config as JSON (how the Pulumi CLI passes it): no lax coercion of
    ``yes`` or ``"1"`` into numbers, or of numbers into booleans; enum values and ISO dates stay text."""
    return PlatformSpec.model_validate_json(json.dumps(raw, default=_json_value), strict=True)


def plain_text_secrets(raw: Any, secret_paths: set[str] | None, config_is_secret: bool, path: str = "") -> list[SpecIssue]:
    """Credential-looking leaves that did not arrive encrypted.

    ``secret_paths`` are the exact leaves the offline loader saw as ``secure:`` values; the Pulumi CLI only tells
    whether the whole config key is secret (``config_is_secret``), which it is when any leaf is.
    """
    issues: list[SpecIssue] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            sub = f"{path}.{key}" if path else str(key)
            if SECRET_KEY.search(str(key)) and isinstance(value, str) and value:
                is_secret = sub in secret_paths if secret_paths is not None else config_is_secret
                if not is_secret:
                    issues.append(SpecIssue(sub, "a credential given in plain text; set it encrypted with "
                                                 f"`pulumi config set --secret --path '{FULL_KEY}.{sub}' <value>`"))
            else:
                issues += plain_text_secrets(value, secret_paths, config_is_secret, sub)
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            issues += plain_text_secrets(value, secret_paths, config_is_secret, f"{path}[{i}]")
    return issues


def load_spec(raw: Any, *, stack: str, secret_paths: set[str] | None = None,
              config_is_secret: bool = False) -> PlatformSpec:
    """Parse and validate; raise ``SpecError`` listing every problem."""
    if not isinstance(raw, dict):
        raise SpecError(stack, [SpecIssue("", f"expected an object under {FULL_KEY}, got {type(raw).__name__}")])
    issues = plain_text_secrets(raw, secret_paths, config_is_secret)
    if "stack" in raw:
        issues.append(SpecIssue("stack", "the stack name comes from the stack file's name, not from config"))
    try:
        spec = strict_validate({**raw, "stack": stack})
    except ValidationError as exc:
        raise SpecError(stack, issues + _pydantic_issues(exc)) from None
    issues += _root_causes(validate(spec)) + cloud_rule_issues(spec)
    if issues:
        raise SpecError(stack, issues)
    return spec


_UNKNOWN_REGION = re.compile(r"^regions\[\d+\]\.region$")


def _root_causes(issues: list[SpecIssue]) -> list[SpecIssue]:
    """A region name the catalog does not know is the one problem to report: the workloads naming the region as it
    was meant to be would each say it is not configured (knock-on errors), so those wait until it is fixed."""
    if not any(_UNKNOWN_REGION.match(i.path) and "region" in i.message and "is not" in i.message for i in issues):
        return issues
    return [i for i in issues if "is not a configured region" not in i.message]


def placeholder_error(raw: Any, *, stack: str) -> SpecError | None:
    """The documentation placeholders in a stack's raw platform object, as one error naming every key; None when
    there are none. Raised by ``pulumi up``; printed as a notice by the offline commands (templates plan fine)."""
    issues = find_placeholders(raw)
    return SpecError(stack, issues, REPLACE_BEFORE_DEPLOYING) if issues else None


# --- stack files and config maps ---------------------------------------------------------------------------
def stacks_dir(root: Path = REPO) -> Path:
    """Where the stack files of ``root`` are: its ``stacks/``, or ``$BLUEPRINT_STACKS_DIR`` for the project itself."""
    override = os.environ.get(STACKS_DIR_ENV)
    return Path(override) if override and root == REPO else root / "stacks"


def _promotion_rank(stack: str) -> tuple[int, str]:
    return (PROMOTION_ORDER.index(stack) if stack in PROMOTION_ORDER else len(PROMOTION_ORDER), stack)


def known_stacks(root: Path = REPO) -> list[str]:
    """The stacks with a file in the stacks folder, in promotion order (dev, staging, prod), then by name."""
    names = [p.name[len("Pulumi."):-len(".yaml")] for p in stacks_dir(root).glob("Pulumi.*.yaml")]
    return sorted(names, key=_promotion_rank)


def read_stack_file(stack: str, root: Path = REPO) -> dict[str, Any]:
    """``stacks/Pulumi.<stack>.yaml``'s ``config`` map, as written (encrypted leaves still ``{secure: ...}``).
    A YAML error, a duplicate key or a document that is not a mapping is a ``StackFileError`` naming the file."""
    path = stacks_dir(root) / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise StackFileError(f"no stack '{stack}': {path} does not exist; known stacks: "
                             f"{', '.join(known_stacks(root)) or '(none)'}")
    try:
        doc = read_yaml(path, "a stack file")
    except InputFileError as exc:
        raise StackFileError(f"stack '{stack}': {exc}") from None
    doc = {} if doc is None else doc
    if not isinstance(doc, dict):
        raise StackFileError(f"stack '{stack}': {path}: a stack file is a mapping with a 'config' key, got a "
                             f"{_yaml_type(doc)}")
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"stack '{stack}': {path}: 'config' maps config keys (such as {FULL_KEY}) to values, "
                             f"got a {_yaml_type(config)}")
    return config


def _yaml_type(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(value),
                                                                                             type(value).__name__)


def _strip_secure(value: Any, path: str, found: set[str]) -> Any:
    """Replace ``{secure: …}`` leaves (encrypted by the CLI, undecryptable here) and remember where they were."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            found.add(path)
            return SECRET_PLACEHOLDER
        return {k: _strip_secure(v, f"{path}.{k}" if path else k, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secure(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def _masked(value: Any, path: str = "") -> set[str]:
    """Where ``value`` holds the secret placeholder: the leaves that arrived encrypted."""
    if isinstance(value, dict):
        return set().union(*(_masked(v, f"{path}.{k}" if path else k) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_masked(v, f"{path}[{i}]") for i, v in enumerate(value)))
    return {path} if value == SECRET_PLACEHOLDER else set()


def load_stack(stack: str, platform: dict | None = None,
               root: Path = REPO) -> tuple[dict[str, str], list[str], PlatformSpec | None]:
    """Config as the CLI hands it to a program (strings, objects as JSON), its secret keys, and the validated spec
    (None when the file sets no ``aiplatform:platform``: the program itself then says it is missing).

    The platform object is validated here, with exact knowledge of which leaves were ``secure:``, so a bad config
    fails before the program declares anything. ``platform`` replaces the stack file's object (tests).
    """
    raw = read_stack_file(stack, root)
    if platform is not None:
        raw = {**raw, FULL_KEY: platform}
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    spec: PlatformSpec | None = None
    for key, value in raw.items():
        found: set[str] = set()
        value = _strip_secure(value, "", found)
        if key == FULL_KEY:
            spec = load_spec(value, stack=stack, secret_paths=found)
        if found:
            secret_keys.append(key)
        config[key] = value if isinstance(value, str) else json.dumps(value)
    return config, secret_keys, spec


def stack_config(stack: str, platform: dict | None = None, root: Path = REPO) -> tuple[dict[str, str], list[str]]:
    """``load_stack`` without the spec: the config map and its secret keys."""
    config, secret_keys, _ = load_stack(stack, platform, root)
    return config, secret_keys


def spec_from_config(config: Mapping[str, Any], stack: str) -> PlatformSpec | None:
    """The validated spec of a config map as plans keep it (a preview's ``config``); None where it holds none, or
    only the CLI's mask of an encrypted key. Leaves that are the secret placeholder count as encrypted."""
    raw = config.get(FULL_KEY)
    if raw is None or raw == SECRET_PLACEHOLDER:
        return None
    value = json.loads(raw) if isinstance(raw, str) else raw
    return load_spec(value, stack=stack, secret_paths=_masked(value))


def spec_from_environment(environ: Mapping[str, str] = os.environ, root: Path = REPO) -> PlatformSpec | None:
    """The stack's spec inside ``pulumi preview --policy-pack``: the config the CLI passes (``PULUMI_CONFIG``), else
    the stack file of ``PULUMI_STACK``; None with neither (no stack to read, or no stack file for it)."""
    stack = environ.get("PULUMI_STACK", "")
    config = json.loads(environ.get("PULUMI_CONFIG") or "{}")
    raw = config.get(FULL_KEY)
    if raw is not None:
        secret_keys = json.loads(environ.get("PULUMI_CONFIG_SECRET_KEYS") or "[]")
        value = json.loads(raw) if isinstance(raw, str) else raw
        return load_spec(value, stack=stack, config_is_secret=FULL_KEY in secret_keys)
    if not stack:
        return None
    try:
        _, _, spec = load_stack(stack, root=root)
    except StackFileError:
        return None
    return spec
