"""What every guardrail shares: its settings (from the stack's spec, in ``pulumi preview`` through PULUMI_CONFIG), the
exemptions and reviewed system components applied inside each policy, hard limits, aliases, and how a policy is built.
policies/README.md explains where settings come from and what a policy looks at."""
from __future__ import annotations

import copy
import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable

from pulumi_policy import (
    EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity,
    StackValidationArgs, StackValidationPolicy,
)

from blueprint.spec.load import spec_from_environment
from blueprint.spec.model import Exemption, PlatformSpec, PolicyConfig, SystemComponent, Tier
from policies._aliases import canonical, family
from policies._limits import TIER_LIMITS
from policies._props import (  # noqa: F401 - re-exported: policies read properties through the framework
    as_mapping, at, falsy, is_unknown, items, peek, plain, present, truthy,
)
from policies._refs import Cis, Equivalents
from policies._system import reviewed_component

PACK_NAME = "aiplatform-guardrails"
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
    system_components: tuple[SystemComponent, ...] = ()

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
            limit_sources=_limit_sources(p, spec.tier), system_components=p.reviewed_system_components)

    @classmethod
    def strict(cls, stack: str = "") -> "PolicySettings":
        any_value, prod = {k: "" for k in REQUIRED_TAGS}, TIER_LIMITS[Tier.production]
        return cls(stack=stack, environment=None, tier=Tier.production, enforcement=EnforcementLevel.MANDATORY,
                   data_residency="global", allowed_instance_types=prod.instance_types,
                   max_gpus_per_pool=prod.max_gpus_per_pool, max_gpus_per_stack=prod.max_gpus_per_stack,
                   exemptions=(), aws_tags=any_value, gcp_labels=any_value, budget_usd=None,
                   explicit_training_storage=False,
                   limit_sources=_limit_sources(PolicyConfig(), Tier.production),
                   system_components=PolicyConfig().reviewed_system_components)


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
    justification: str  # "exempted until 2027-01-31: <reason>; owner ..., approved by ..." or the reviewed component


@dataclass
class Context:
    """Settings, the spec they come from (None: strict defaults) and the date exemptions are judged on; collects
    exempted violations for reports."""

    settings: PolicySettings
    today: dt.date = field(default_factory=dt.date.today)
    exempted: list[ExemptedNote] = field(default_factory=list)
    spec: PlatformSpec | None = None

    @classmethod
    def of(cls, spec: PlatformSpec | None, stack: str = "", today: dt.date | None = None) -> "Context":
        settings = PolicySettings.from_spec(spec) if spec is not None else PolicySettings.strict(stack)
        return cls(settings, today=today or dt.date.today(), spec=spec)

    def exemption_for(self, policy: str, urn: str) -> Exemption | None:
        """The exemption naming exactly this policy and this resource (its URN, or its name: the URN's last part)."""
        name = urn.rsplit("::", 1)[-1]
        return next((ex for ex in self.settings.exemptions if ex.policy == policy and ex.resource in (urn, name)),
                    None)

    def expired(self, ex: Exemption) -> bool:
        return ex.expires < self.today

    def reporter(self, policy: str, report: ReportViolation, default_urn: str | None, *, hard: bool = False,
                 component: SystemComponent | None = None) -> ReportViolation:
        def _report(message: str, urn: str | None = None) -> None:
            target = urn or default_urn or ""
            if component is not None and target == default_urn:
                self.exempted.append(ExemptedNote(policy, target, message, (
                    f"reviewed system component {component.kind} {component.namespace}/{component.name}: "
                    f"{component.reason}; reviewed by {component.reviewed_by}")))
                return
            ex = None if hard else self.exemption_for(policy, target)
            if ex is not None and not self.expired(ex):
                self.exempted.append(ExemptedNote(policy, target, message, (
                    f"exempted until {ex.expires.isoformat()}: {ex.reason}; owner {ex.owner}, approved by "
                    f"{ex.approved_by}")))
                return
            if ex is not None:
                message += f" (exemption approved by {ex.approved_by} expired on {ex.expires.isoformat()})"
            report(message, urn)
        return _report


_PACK: dict[str, Any] = {}


def register_pack(policies: Sequence[Any]) -> None:
    """Record the assembled pack (``policies/__init__.py``) for the checks that judge policy names: exemptions."""
    _PACK.clear()
    _PACK.update((p.name, p) for p in policies)


def pack_policies() -> Mapping[str, Any]:
    """The pack's policies by name."""
    return _PACK


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
        _CLI_CACHE[key] = context_from_environment()
    return _CLI_CACHE[key]


def context_from_environment() -> Context:
    """The stack's context inside ``pulumi preview``: its spec from the CLI's config, else its stack file
    (``spec_from_environment``); the strict defaults where there is neither. An invalid spec is an error."""
    return Context.of(spec_from_environment(), os.environ.get("PULUMI_STACK", ""))




def pack_enforcement_level() -> EnforcementLevel:
    """The pack-wide level for this stack: advisory in development, mandatory otherwise (``policy.enforcement``)."""
    return current().settings.enforcement


# ---- building policies -------------------------------------------------------------------------------------

Check = Callable[[Any, ReportViolation, PolicySettings], None]
HARD_TAG = "hard-limit"


def _describe(description: str, refs: Equivalents, hard: bool) -> str:
    level = " Hard limit: mandatory at every tier, no exemptions." if hard else ""
    return f"{description}{level} [{refs.text()}]"


def _metadata(policy, *, concern: str, refs: Equivalents, hard: bool, types: frozenset[str] = frozenset(),
              applies_to: Callable[[str], bool] | None = None, matching: re.Pattern | None = None):
    policy.resource_types = types  # type: ignore[attr-defined] - reports, docs and tests read these
    policy.applies_to = applies_to  # type: ignore[attr-defined] - None: stack policy
    policy.matching = matching  # type: ignore[attr-defined]
    policy.equivalents = refs  # type: ignore[attr-defined]
    policy.hard = hard  # type: ignore[attr-defined]
    policy.concern = concern  # type: ignore[attr-defined]
    return policy


def resource_policy(name: str, *, description: str, types: Sequence[str], severity: Severity, remediation: str,
                    url: str, concern: str, checkov: Sequence[str] = (), cis: Sequence[Cis] = (),
                    hard: bool = False,
                    matching: re.Pattern | None = None) -> Callable[[Check], ResourceValidationPolicy]:
    """Turn ``check(args, report, settings)`` into a ``ResourceValidationPolicy`` for ``types`` (empty and no
    ``matching``: every type) and the types ``matching`` matches (a family the SDK spreads over many services).

    The check sees ``args.resource_type`` as the current type it names even when the program declared an alias
    (``aws.s3.BucketV2``, ``apps/v1beta2``). ``checkov`` and ``cis`` name the equivalent checks (description, tags,
    Pulumi's compliance framework field, SARIF).
    """
    wanted = frozenset(t for base in types for t in family(base))
    refs = Equivalents(tuple(checkov), tuple(cis))

    def applies_to(resource_type: str) -> bool:
        if not wanted and matching is None:
            return True
        return resource_type in wanted or bool(matching and matching.match(canonical(resource_type)))

    def wrap(check: Check) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if not applies_to(args.resource_type):
                return
            ctx = current()
            view = copy.copy(args)
            view.resource_type = canonical(args.resource_type)
            component = None if hard else reviewed_component(name, view.resource_type, args.props,
                                                             ctx.settings.system_components)
            check(view, ctx.reporter(name, report_violation, args.urn, hard=hard, component=component),
                  ctx.settings)
        policy = ResourceValidationPolicy(
            name=name, description=_describe(description, refs, hard), validate=validate, severity=severity,
            remediation_steps=remediation, url=url, tags=[concern, *refs.tags(), *([HARD_TAG] if hard else [])],
            framework=refs.framework(), enforcement_level=EnforcementLevel.MANDATORY if hard else None)
        return _metadata(policy, concern=concern, refs=refs, hard=hard, types=wanted, applies_to=applies_to,
                         matching=matching)
    return wrap


def stack_policy(name: str, *, description: str, severity: Severity, remediation: str, url: str, concern: str,
                 checkov: Sequence[str] = (), cis: Sequence[Cis] = (),
                 hard: bool = False) -> Callable[[Check], StackValidationPolicy]:
    refs = Equivalents(tuple(checkov), tuple(cis))

    def wrap(check: Check) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            ctx = current()
            check(args, ctx.reporter(name, report_violation, None, hard=hard), ctx.settings)
        policy = StackValidationPolicy(
            name=name, description=_describe(description, refs, hard), validate=validate, severity=severity,
            remediation_steps=remediation, url=url, tags=[concern, *refs.tags(), *([HARD_TAG] if hard else [])],
            framework=refs.framework(), enforcement_level=EnforcementLevel.MANDATORY if hard else None)
        return _metadata(policy, concern=concern, refs=refs, hard=hard)
    return wrap
