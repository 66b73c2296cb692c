"""A ``Plan`` rebuilt from the resources a stack policy sees, so plan-based tools (the cost estimator) run
unchanged inside ``pulumi preview``."""
from __future__ import annotations

from pulumi_policy.deserialize import serialize_properties

from blueprint.plan.model import UNKNOWN, Plan, PlannedResource
from blueprint.spec import PlatformSpec
from blueprint.spec.names import PROJECT


def _custom(resource_type: str) -> bool:
    return resource_type.startswith("pulumi:providers:") or "/" in resource_type.split(":")[1]


def plan_from_resources(resources, spec: PlatformSpec | None) -> Plan:
    """``PolicyResource`` objects (props behind unknown-checking proxies) -> plain ``PlannedResource`` records, in a
    plan of ``spec`` (the spec the pack judges the stack by)."""
    stack, project, out = spec.stack if spec is not None else "", PROJECT, []
    for r in resources:
        if r.urn.split("::")[1:2]:
            project = r.urn.split("::")[1]
        out.append(PlannedResource(
            urn=r.urn, type=r.resource_type, name=r.name,
            custom=r.resource_type != "pulumi:pulumi:Stack" and _custom(r.resource_type),
            parent=r.parent.urn if r.parent is not None else (r.opts.parent if r.opts else None),
            provider=f"{r.provider.urn}::{UNKNOWN}" if r.provider is not None else None,
            dependencies=[d.urn for d in r.dependencies],
            property_dependencies={k: [d.urn for d in v] for k, v in r.property_dependencies.items()},
            inputs=dict(serialize_properties(r.props)), outputs={}))
    plan = Plan(stack=stack, project=project, resources=out)
    plan.spec = spec
    return plan
