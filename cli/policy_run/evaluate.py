"""Run the policy pack's own policy objects on an offline plan, as ``pulumi preview --policy-pack`` would: the
analyzer's arguments, unknown values and enforcement levels (docs/architecture.md, "Offline tooling")."""
from __future__ import annotations

import asyncio
import copy
import datetime as dt
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import Any, Mapping

from pulumi_policy import (
    EnforcementLevel, PolicyCustomTimeouts, PolicyProviderResource, PolicyResource, PolicyResourceOptions,
    ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from blueprint.plan.model import Plan, PlannedResource
from blueprint.spec import PlatformSpec, SpecError, SpecIssue
from policies import ALL_POLICIES
from policies._framework import Context, activated


@dataclass
class Violation:
    policy: str
    resource: str  # URN; the stack's URN for stack-wide findings
    message: str
    enforcement: str  # advisory | mandatory
    severity: str
    description: str = ""

    @property
    def blocking(self) -> bool:
        return self.enforcement == EnforcementLevel.MANDATORY.value


@dataclass
class Note:
    """Not a violation: an exempted finding, or a policy that could not run on a preview-unknown value."""

    policy: str
    resource: str
    message: str
    kind: str  # exempted | unknown | not-applicable


@dataclass
class Report:
    stack: str
    violations: list[Violation] = field(default_factory=list)
    exempted: list[Note] = field(default_factory=list)
    unknown: list[Note] = field(default_factory=list)
    not_applicable: list[Note] = field(default_factory=list)
    policies: list[Any] = field(default_factory=list)
    enforcement: dict[str, str] = field(default_factory=dict)
    resources: int = 0

    @property
    def blocking(self) -> list[Violation]:
        return [v for v in self.violations if v.blocking]

    @property
    def failed(self) -> bool:
        return bool(self.blocking)

    def by_policy(self) -> dict[str, list[Violation]]:
        out: dict[str, list[Violation]] = {}
        for v in self.violations:
            out.setdefault(v.policy, []).append(v)
        return out


def _level(value: Any) -> EnforcementLevel | None:
    if isinstance(value, EnforcementLevel):
        return value
    if isinstance(value, str):
        return EnforcementLevel(value)
    if isinstance(value, Mapping) and "enforcementLevel" in value:
        return EnforcementLevel(value["enforcementLevel"])
    return None


def resolve_enforcement(policy, pack_level: EnforcementLevel, pack_config: Mapping[str, Any]) -> EnforcementLevel:
    """The CLI's order: the policy's config entry, then ``all``, then the policy's own level, then the pack's."""
    return (_level(pack_config.get(policy.name)) or _level(pack_config.get("all"))
            or policy.enforcement_level or pack_level)


def _policy_properties(policy, pack_config: Mapping[str, Any]) -> dict[str, Any]:
    entry = pack_config.get(policy.name)
    return {k: v for k, v in entry.items() if k != "enforcementLevel"} if isinstance(entry, Mapping) else {}


def _opts(r: PlannedResource) -> PolicyResourceOptions:
    o = r.options or {}
    return PolicyResourceOptions(bool(o.get("protect")), list(o.get("ignoreChanges", [])), None, [],
                                 PolicyCustomTimeouts(0, 0, 0), list(o.get("additionalSecretOutputs", [])),
                                 r.parent)


def _props(r: PlannedResource) -> Any:
    return unknown_checking_proxy(copy.deepcopy(r.inputs))


def _run(result: Any) -> None:
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(result)
        finally:
            loop.close()


def stack_urn(plan: Plan) -> str:
    return f"urn:pulumi:{plan.stack}::{plan.project}::pulumi:pulumi:Stack::{plan.project}-{plan.stack}"


def spec_of(plan: Plan) -> PlatformSpec:
    """The spec the policies judge ``plan`` by: the plan's own."""
    if plan.spec is None:
        raise SpecError(plan.stack, [SpecIssue("", "the plan holds no platform spec to evaluate the policies by")])
    return plan.spec


def evaluate_plan(plan: Plan, spec: PlatformSpec | None = None, *, policies: list | None = None,
                  pack_config: Mapping[str, Any] | None = None, today: dt.date | None = None) -> Report:
    """Evaluate ``policies`` (default: the whole pack) on ``plan`` with the settings of ``spec`` (default: the
    plan's own)."""
    spec = spec if spec is not None else spec_of(plan)
    policies = list(ALL_POLICIES if policies is None else policies)
    pack_config = dict(pack_config or {})
    ctx = Context.of(spec, today=today or dt.date.today())
    report = Report(stack=plan.stack, policies=policies, resources=len(plan))
    providers = {r.urn: r for r in plan if r.is_provider}
    resources = [r for r in plan if r.type != "pulumi:pulumi:Stack"]

    def provider_of(r: PlannedResource) -> PolicyProviderResource | None:
        p = providers.get(r.provider_urn or "")
        return PolicyProviderResource(p.type, _props(p), p.urn, p.name) if p else None

    with activated(ctx):
        for policy in policies:
            level = resolve_enforcement(policy, ctx.settings.enforcement, pack_config)
            report.enforcement[policy.name] = level.value
            if level is EnforcementLevel.DISABLED:
                continue
            if level is EnforcementLevel.REMEDIATE:
                level = EnforcementLevel.MANDATORY  # as the analyzer does for a violation that remains
            config = _policy_properties(policy, pack_config)

            def sink(default_urn: str | None):
                def report_violation(message: str, urn: str | None = None) -> None:
                    report.violations.append(Violation(
                        policy.name, default_urn or urn or stack_urn(plan), message, level.value,
                        policy.severity.value if policy.severity else "", policy.description))
                return report_violation

            def attempt(fn, urn: str) -> None:
                try:
                    _run(fn())
                except UnknownValueError as e:
                    report.unknown.append(Note(policy.name, urn, f"can't run policy '{policy.name}' during "
                                                                 f"preview: {e.message}", "unknown"))
                except _NotApplicableError as e:
                    report.not_applicable.append(Note(policy.name, urn, e.reason or "", "not-applicable"))

            if isinstance(policy, ResourceValidationPolicy):
                applies = getattr(policy, "applies_to", None)
                for r in resources:
                    if applies is not None and not applies(r.type):
                        continue
                    args = ResourceValidationArgs(r.type, _props(r), r.urn, r.name, _opts(r), provider_of(r),
                                                  config, {})
                    attempt(lambda: policy.validate(args, sink(r.urn)), r.urn)
            elif isinstance(policy, StackValidationPolicy):
                linked = _policy_resources(plan, provider_of)
                args = StackValidationArgs(linked, config, {})
                attempt(lambda: policy.validate(args, sink(None)), stack_urn(plan))
    report.exempted = [Note(n.policy, n.resource or stack_urn(plan), f"{n.message} [{n.justification}]", "exempted")
                       for n in ctx.exempted]
    return report


def _policy_resources(plan: Plan, provider_of) -> list[PolicyResource]:
    """``PolicyResource`` objects with parent and dependencies linked, as the analyzer's ``AnalyzeStack`` builds."""
    made = {r.urn: PolicyResource(r.type, _props(r), r.urn, r.name, _opts(r), provider_of(r), None, [], {})
            for r in plan}
    for r in plan:
        res = made[r.urn]
        res.parent = made.get(r.parent or "")
        res.dependencies = [made[d] for d in r.dependencies if d in made]
        res.property_dependencies = {k: [made[d] for d in v if d in made] for k, v in r.property_dependencies.items()}
    return list(made.values())
