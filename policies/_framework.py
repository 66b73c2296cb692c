"""What every guardrail shares: its settings (from the stack's spec), exemptions, and how it reads properties.

Settings come from the one typed spec, never from a second list. Where they come from at run time:

- ``pulumi preview --policy-pack policies``: the CLI hands a policy pack the stack's config in ``PULUMI_CONFIG``
  (the Python SDK loads it before each analysis; see pulumi/pulumi#3612 and #20570), so the pack reads
  ``aiplatform:platform`` exactly as the program does. If it is absent (an older CLI), the pack reads
  ``stacks/Pulumi.<PULUMI_STACK>.yaml``. Without either (``pulumi policy publish``) the strictest defaults apply.
- ``blueprint policy`` (offline): the evaluator activates a ``Context`` built from the same spec.

Exemptions live in the stack config (``policy.exemptions``) and are applied inside each policy, so the CLI and
the offline evaluator treat them identically: a matching unexpired exemption turns a violation into an
exempted note; an expired one no longer exempts and is itself a failure (policy ``policy-exemptions-valid``).
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable

from pulumi_policy import (
    EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity,
    StackValidationArgs, StackValidationPolicy,
)
from pulumi_policy.proxy import _DictProxy, _is_unknown

from blueprint.spec.model import Exemption, PlatformSpec, PolicyConfig, Tier
from policies._limits import TIER_LIMITS

PACK_NAME = "aiplatform-guardrails"
FULL_KEY = "aiplatform:platform"
REQUIRED_TAGS = ("owner", "cost-center", "environment")


@dataclass(frozen=True)
class PolicySettings:
    """The facts policies need from the spec; ``strict()`` when no spec can be found."""

    stack: str
    environment: str | None
    tier: Tier
    enforcement: EnforcementLevel
    data_residency: str
    # Always set: the spec's policy.* value, else the tier's default (policies/_limits.py).
    allowed_instance_types: frozenset[str]
    max_gpus_per_pool: int
    max_gpus_per_stack: int
    exemptions: tuple[Exemption, ...]
    aws_tags: Mapping[str, str]  # required tag -> expected value ("" = any value)
    gcp_labels: Mapping[str, str]
    budget_usd: float | None
    explicit_training_storage: bool  # the spec moves training data to another region on purpose
    # Where each GPU limit came from, for messages: "policy.maxGpusPerPool" or "the development tier default".
    limit_sources: Mapping[str, str]
    unpriced_threshold_usd: float = 0.0  # budget.unpricedThresholdUsd (the budget gate's tolerance, issue 19)

    def source_of(self, key: str) -> str:
        return self.limit_sources[key]

    @property
    def development(self) -> bool:
        return self.tier is Tier.development

    @property
    def production(self) -> bool:
        return self.tier is Tier.production

    @classmethod
    def from_spec(cls, spec: PlatformSpec) -> "PolicySettings":
        p, tier = spec.policy, TIER_LIMITS[spec.tier]
        aws = spec.aws_tags()
        gcp = spec.gcp_labels()
        train = spec.workloads.training
        return cls(
            stack=spec.stack, environment=spec.environment, tier=spec.tier,
            enforcement=EnforcementLevel(spec.enforcement.value), data_residency=spec.data_residency,
            allowed_instance_types=frozenset(p.allowed_instance_types if p.allowed_instance_types is not None
                                             else tier.instance_types),
            max_gpus_per_pool=p.max_gpus_per_pool if p.max_gpus_per_pool is not None else tier.max_gpus_per_pool,
            max_gpus_per_stack=p.max_gpus_per_stack if p.max_gpus_per_stack is not None else tier.max_gpus_per_stack,
            exemptions=tuple(p.exemptions), aws_tags={k: aws[k] for k in REQUIRED_TAGS},
            gcp_labels={k: gcp[k] for k in REQUIRED_TAGS}, budget_usd=spec.budget.monthly_usd,
            explicit_training_storage=bool(train and train.storage_region and train.storage_region != train.region),
            limit_sources=_limit_sources(p, spec.tier), unpriced_threshold_usd=spec.budget.unpriced_threshold_usd)

    @classmethod
    def strict(cls, stack: str = "") -> "PolicySettings":
        any_value, prod = {k: "" for k in REQUIRED_TAGS}, TIER_LIMITS[Tier.production]
        return cls(stack=stack, environment=None, tier=Tier.production, enforcement=EnforcementLevel.MANDATORY,
                   data_residency="global", allowed_instance_types=prod.instance_types,
                   max_gpus_per_pool=prod.max_gpus_per_pool, max_gpus_per_stack=prod.max_gpus_per_stack,
                   exemptions=(), aws_tags=any_value, gcp_labels=any_value, budget_usd=None,
                   explicit_training_storage=False,
                   limit_sources=_limit_sources(PolicyConfig(), Tier.production))


def _limit_sources(p: PolicyConfig, tier: Tier) -> dict[str, str]:
    given = {"allowedInstanceTypes": p.allowed_instance_types, "maxGpusPerPool": p.max_gpus_per_pool,
             "maxGpusPerStack": p.max_gpus_per_stack}
    return {k: f"policy.{k}" if v is not None else f"the {tier.value} tier default (override: policy.{k})"
            for k, v in given.items()}


@dataclass
class ExemptedNote:
    policy: str
    resource: str
    message: str
    exemption: Exemption


@dataclass
class Context:
    """Settings plus the date exemptions are judged on; collects exempted violations for reports."""

    settings: PolicySettings
    today: dt.date = field(default_factory=dt.date.today)
    exempted: list[ExemptedNote] = field(default_factory=list)

    def exemption_for(self, policy: str, urn: str) -> Exemption | None:
        for ex in self.settings.exemptions:
            if fnmatch.fnmatchcase(policy, ex.policy) and (urn == ex.resource or fnmatch.fnmatchcase(urn, ex.resource)):
                return ex
        return None

    def expired(self, ex: Exemption) -> bool:
        return ex.expires < self.today

    def reporter(self, policy: str, report: ReportViolation, default_urn: str | None) -> ReportViolation:
        def _report(message: str, urn: str | None = None) -> None:
            target = urn or default_urn or ""
            ex = self.exemption_for(policy, target)
            if ex is not None and not self.expired(ex):
                self.exempted.append(ExemptedNote(policy, target, message, ex))
                return
            if ex is not None:
                message += f" (exemption approved by {ex.approved_by} expired on {ex.expires.isoformat()})"
            report(message, urn)
        return _report


_ACTIVE: ContextVar[Context | None] = ContextVar("aiplatform_policy_context", default=None)
_CLI_CACHE: dict[tuple, Context] = {}


@contextmanager
def activated(ctx: Context):
    """Run policies with these settings (the offline evaluator and tests)."""
    token = _ACTIVE.set(ctx)
    try:
        yield ctx
    finally:
        _ACTIVE.reset(token)


def current() -> Context:
    ctx = _ACTIVE.get()
    return ctx if ctx is not None else _cli_context()


def _cli_context() -> Context:
    key = (os.environ.get("PULUMI_CONFIG", ""), os.environ.get("PULUMI_STACK", ""), dt.date.today())
    if key not in _CLI_CACHE:
        _CLI_CACHE.clear()
        _CLI_CACHE[key] = Context(settings_from_environment())
    return _CLI_CACHE[key]


def settings_from_environment() -> PolicySettings:
    """The stack's settings inside ``pulumi preview``: stack config from the CLI, else the stack file."""
    from blueprint.spec import load_spec
    stack = os.environ.get("PULUMI_STACK", "")
    config = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
    raw = config.get(FULL_KEY)
    if raw is not None:
        secret_keys = json.loads(os.environ.get("PULUMI_CONFIG_SECRET_KEYS") or "[]")
        value = json.loads(raw) if isinstance(raw, str) else raw
        return PolicySettings.from_spec(load_spec(value, stack=stack, config_is_secret=FULL_KEY in secret_keys))
    if stack:
        from blueprint.plan.engine import stack_config
        try:
            cfg, _ = stack_config(stack)
        except Exception:  # noqa: BLE001 - no such stack file: fall back to the strict defaults
            return PolicySettings.strict(stack)
        return PolicySettings.from_spec(load_spec(json.loads(cfg[FULL_KEY]), stack=stack))
    return PolicySettings.strict(stack)


def pack_enforcement_level() -> EnforcementLevel:
    """The pack-wide level for this stack: advisory in development, mandatory otherwise (``policy.enforcement``)."""
    return current().settings.enforcement


# ---- building policies -------------------------------------------------------------------------------------

Check = Callable[[Any, ReportViolation, PolicySettings], None]


def resource_policy(name: str, *, description: str, types: Sequence[str], severity: Severity, remediation: str,
                    url: str, concern: str) -> Callable[[Check], ResourceValidationPolicy]:
    """Turn ``check(args, report, settings)`` into a ``ResourceValidationPolicy`` for ``types`` (empty: every type)."""
    wanted = frozenset(types)

    def wrap(check: Check) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if wanted and args.resource_type not in wanted:
                return
            ctx = current()
            check(args, ctx.reporter(name, report_violation, args.urn), ctx.settings)
        policy = ResourceValidationPolicy(name=name, description=description, validate=validate, severity=severity,
                                          remediation_steps=remediation, url=url, tags=[concern])
        policy.resource_types = wanted  # type: ignore[attr-defined] - lets reports and tests list coverage
        return policy
    return wrap


def stack_policy(name: str, *, description: str, severity: Severity, remediation: str, url: str,
                 concern: str) -> Callable[[Check], StackValidationPolicy]:
    def wrap(check: Check) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            ctx = current()
            check(args, ctx.reporter(name, report_violation, None), ctx.settings)
        return StackValidationPolicy(name=name, description=description, validate=validate, severity=severity,
                                     remediation_steps=remediation, url=url, tags=[concern])
    return wrap


# ---- reading properties the way the CLI hands them over (proxies that raise on unknown values) -----------

def peek(m: Any, key: str) -> Any:
    """A value without the unknown check: for "is it set at all" questions, where unknown still means set."""
    if isinstance(m, _DictProxy):
        return m["__target"].get(key)
    return m.get(key) if isinstance(m, Mapping) else None


def present(m: Any, path: str) -> bool:
    """The input is set (known or known only after apply)."""
    parent, _, leaf = path.rpartition(".")
    holder = at(m, parent) if parent else m
    return peek(holder, leaf) is not None


def at(m: Any, path: str, default: Any = None) -> Any:
    """Read ``a.b[0].c``; missing is ``default``, unknown raises ``UnknownValueError`` as in ``pulumi preview``."""
    value = m
    for part in path.replace("]", "").replace("[", ".").split("."):
        if isinstance(value, Mapping) and peek(value, part) is not None:
            value = value[part]
        elif isinstance(value, Sequence) and not isinstance(value, str) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return default
    return value


def items(value: Any) -> list:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def truthy(value: Any) -> bool:
    """Booleans some SDK fields carry as strings ("true")."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_unknown(value: Any) -> bool:
    return _is_unknown(value)


def as_mapping(value: Any) -> Mapping:
    """Provider settings arrive JSON-encoded (``defaultTags``); objects pass through."""
    if isinstance(value, str) and not _is_unknown(value):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}
