"""The spec's policy section, checked before anything is declared: exemptions that are not blank cheques (one named
policy, one named resource, a reason, an owner, at most 90 days) and a reviewed system-component list without
wildcards. Which policy names exist, and which are hard limits, is the pack's to say (``policy-exemptions-valid``)."""
from __future__ import annotations

import datetime as dt
import re

from blueprint.spec.model import PlatformSpec, SystemComponent

MAX_EXEMPTION_DAYS = 90
POLICY_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
WILDCARDS = set("*?[]{}")
Issue = tuple[str, str]  # (key path under aiplatform:platform, message); validate.py makes them SpecIssues


def today() -> dt.date:
    """The date exemptions are judged on (one place, so tests can fix it)."""
    return dt.date.today()


def _wild(value: str) -> bool:
    return bool(WILDCARDS & set(value))


def _policy_name_issue(at: str, name: str) -> list[Issue]:
    if _wild(name):
        return [(at, f"'{name}' is a wildcard; name exactly one policy (e.g. k8s-image-pinned)")]
    if not POLICY_NAME.match(name):
        return [(at, f"'{name}' is not a policy name (lower-case words joined by '-', e.g. "
                              "k8s-image-pinned)")]
    return []


def _exemption_issues(spec: PlatformSpec, on: dt.date) -> list[Issue]:
    out: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    latest = on + dt.timedelta(days=MAX_EXEMPTION_DAYS)
    for i, ex in enumerate(spec.policy.exemptions):
        at = f"policy.exemptions[{i}]"
        out += _policy_name_issue(f"{at}.policy", ex.policy)
        if _wild(ex.resource):
            out.append((f"{at}.resource", f"'{ex.resource}' is a wildcard; name exactly one resource by its "
                                                   "URN or its name (the URN's last part)"))
        elif ex.resource.startswith("urn:") and not ex.resource.startswith(f"urn:pulumi:{spec.stack}::"):
            out.append((f"{at}.resource", f"'{ex.resource}' is not a URN of stack '{spec.stack}' "
                                                   f"(urn:pulumi:{spec.stack}::...)"))
        if ex.expires < on:
            out.append((f"{at}.expires", f"expired on {ex.expires.isoformat()}: fix {ex.resource}, or renew "
                                                  f"the exemption through review (at most {latest.isoformat()})"))
        elif ex.expires > latest:
            out.append((f"{at}.expires", f"{ex.expires.isoformat()} is more than {MAX_EXEMPTION_DAYS} days "
                                                  f"out; at most {latest.isoformat()}"))
        if (ex.policy, ex.resource) in seen:
            out.append((at, f"a second exemption of {ex.policy} for {ex.resource}"))
        seen.add((ex.policy, ex.resource))
    return out


def _component_issues(c: SystemComponent, at: str) -> list[Issue]:
    out: list[Issue] = []
    for key in ("namespace", "name"):
        if _wild(getattr(c, key)):
            out.append((f"{at}.{key}", f"'{getattr(c, key)}' is a wildcard; name the component exactly"))
    if c.kind == "Release":
        if not c.chart or c.images:
            out.append((at, "a Release is matched by its chart: set chart, not images"))
    elif not c.images or c.chart:
        out.append((at, f"a {c.kind} is matched by its images: set images (repositories), not chart"))
    for j, image in enumerate(c.images):
        last = image.rsplit("/", 1)[-1]
        if _wild(image) or "@" in image or ":" in last:
            out.append((f"{at}.images[{j}]", f"'{image}' must be an image repository without wildcard, tag "
                                                      "or digest (e.g. nvcr.io/nvidia/k8s-device-plugin)"))
    if c.chart and _wild(c.chart):
        out.append((f"{at}.chart", f"'{c.chart}' is a wildcard; name the chart exactly"))
    for j, name in enumerate(c.policies):
        out += _policy_name_issue(f"{at}.policies[{j}]", name)
    return out


def policy_issues(spec: PlatformSpec, on: dt.date | None = None) -> list[Issue]:
    """Every problem of ``policy.exemptions`` and ``policy.systemComponents``."""
    out = _exemption_issues(spec, on or today())
    seen: set[tuple[str, str, str]] = set()
    for i, c in enumerate(spec.policy.system_components or []):
        at = f"policy.systemComponents[{i}]"
        out += _component_issues(c, at)
        if (c.kind, c.namespace, c.name) in seen:
            out.append((at, f"a second entry for {c.kind} {c.namespace}/{c.name}"))
        seen.add((c.kind, c.namespace, c.name))
    return out
