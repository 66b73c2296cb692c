"""Build a ``PlatformSpec`` from stack config, or fail with every problem at once.

Errors name the stack, the full config key (``aiplatform:platform.regions[0].gpuPools[1].capacityType``)
and the allowed values; they are raised before the program declares any resource.
"""
from __future__ import annotations

import re
from enum import Enum
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from blueprint.spec.model import PlatformSpec
from blueprint.spec.placeholders import REPLACE_BEFORE_DEPLOYING, find_placeholders
from blueprint.spec.validate import SpecIssue, validate

CONFIG_NAMESPACE = "aiplatform"
CONFIG_KEY = "platform"
FULL_KEY = f"{CONFIG_NAMESPACE}:{CONFIG_KEY}"

# Leaf keys that hold credentials. They must come from `pulumi config set --secret`, never plain text.
SECRET_KEY = re.compile(r"(password|secret|token|apikey|privatekey|authkey|webhookurl)$", re.IGNORECASE)


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


def _pydantic_issues(exc: ValidationError) -> list[SpecIssue]:
    issues = []
    for err in exc.errors():
        msg = {"missing": "required but missing",
               "extra_forbidden": f"unknown key '{err['loc'][-1]}'"}.get(err["type"], err["msg"])
        if err["type"] not in ("missing", "extra_forbidden") and "input" in err and not isinstance(err["input"], (dict, list)):
            msg += f" (got {err['input']!r})"
        issues.append(SpecIssue(_fmt_loc(err["loc"]), msg, _allowed_for(err)))
    return issues


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
        spec = PlatformSpec.model_validate({**raw, "stack": stack})
    except ValidationError as exc:
        raise SpecError(stack, issues + _pydantic_issues(exc)) from None
    issues += validate(spec)
    if issues:
        raise SpecError(stack, issues)
    return spec


def placeholder_error(raw: Any, *, stack: str) -> SpecError | None:
    """The documentation placeholders in a stack's raw platform object, as one error naming every key; None when
    there are none. Raised by ``pulumi up``; printed as a notice by the offline commands (templates plan fine)."""
    issues = find_placeholders(raw)
    return SpecError(stack, issues, REPLACE_BEFORE_DEPLOYING) if issues else None


def load_from_pulumi_config() -> PlatformSpec:
    """The program's entry: read ``aiplatform:platform`` through Pulumi's config (CLI or offline engine).

    A deployment (``pulumi up``'s update; not a preview, not the offline engine, which always previews) refuses
    documentation placeholders before any resource is declared; a preview warns about them.
    """
    import pulumi
    from pulumi.runtime.config import is_config_secret

    config = pulumi.Config(CONFIG_NAMESPACE)
    raw = config.get_object(CONFIG_KEY)
    if raw is None:
        raise SpecError(pulumi.get_stack(), [SpecIssue("", f"missing; set {FULL_KEY} in the stack file")])
    spec = load_spec(raw, stack=pulumi.get_stack(), config_is_secret=is_config_secret(FULL_KEY))
    placeholders = placeholder_error(raw, stack=spec.stack)
    if placeholders is not None:
        if not pulumi.runtime.is_dry_run():
            raise placeholders
        pulumi.log.warn(str(placeholders))
    return spec


def enum_values(enum: type[Enum]) -> tuple[str, ...]:
    return tuple(m.value for m in enum)
