"""Policy results for people and machines: a terminal table, markdown for a PR comment, SARIF 2.1.0 for GitHub
code scanning, and JSON."""
from __future__ import annotations

import json
from typing import Any

from blueprint.spec import FULL_KEY
from blueprint.spec.load import REPO
from cli.policy_run.evaluate import Report

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_SARIF_LEVEL = {"mandatory": "error", "advisory": "warning"}
_SECURITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def _short(urn: str) -> str:
    parts = urn.split("::")
    return f"{parts[-2].rsplit('$', 1)[-1]}::{parts[-1]}" if len(parts) >= 4 else urn


def summary(report: Report) -> dict[str, int]:
    return {"mandatory": len(report.blocking), "advisory": len(report.violations) - len(report.blocking),
            "exempted": len(report.exempted), "unknown": len(report.unknown)}


def render_table(report: Report) -> str:
    s = summary(report)
    lines = [f"policy check of stack '{report.stack}': {report.resources} resources, {len(report.policies)} policies; "
             f"{s['mandatory']} mandatory, {s['advisory']} advisory, {s['exempted']} exempted, "
             f"{s['unknown']} not checkable during preview"]
    if report.violations or report.exempted or report.unknown:
        width = max([len(v.policy) for v in report.violations + report.exempted + report.unknown] + [6])
        lines.append(f"{'LEVEL':<10} {'POLICY':<{width}} {'RESOURCE':<60} MESSAGE")
        for v in sorted(report.violations, key=lambda v: (not v.blocking, v.policy, v.resource)):
            lines.append(f"{v.enforcement.upper():<10} {v.policy:<{width}} {_short(v.resource):<60} {v.message}")
        for n in report.exempted + report.unknown:
            lines.append(f"{n.kind.upper():<10} {n.policy:<{width}} {_short(n.resource):<60} {n.message}")
    else:
        lines.append("no violations")
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    s = summary(report)
    icon = ":x:" if report.failed else ":white_check_mark:"
    lines = [f"### {icon} Policy check: `{report.stack}`", "",
             f"{s['mandatory']} mandatory, {s['advisory']} advisory, {s['exempted']} exempted, "
             f"{s['unknown']} not checkable during preview ({report.resources} resources, "
             f"{len(report.policies)} policies).", ""]
    if report.violations:
        lines += ["| level | policy | resource | message |", "| --- | --- | --- | --- |"]
        for v in sorted(report.violations, key=lambda v: (not v.blocking, v.policy, v.resource)):
            level = "**mandatory**" if v.blocking else "advisory"
            message = v.message.replace("|", "\\|")
            lines.append(f"| {level} | `{v.policy}` | `{_short(v.resource)}` | {message} |")
        lines.append("")
    for title, notes in (("Exempted", report.exempted), ("Not checkable during preview", report.unknown)):
        if notes:
            lines += [f"<details><summary>{title} ({len(notes)})</summary>", ""]
            lines += [f"- `{n.policy}` `{_short(n.resource)}`: {n.message}" for n in notes]
            lines += ["", "</details>", ""]
    return "\n".join(lines)


def to_json(report: Report) -> dict[str, Any]:
    return {"stack": report.stack, "failed": report.failed, "summary": summary(report),
            "enforcement": report.enforcement,
            "violations": [{"policy": v.policy, "resource": v.resource, "message": v.message,
                            "enforcement": v.enforcement, "severity": v.severity, "blocking": v.blocking}
                           for v in report.violations],
            "exempted": [vars(n) for n in report.exempted], "unknown": [vars(n) for n in report.unknown],
            "notApplicable": [vars(n) for n in report.not_applicable]}


def _platform_line(artifact: str) -> int:
    """The stack file's ``aiplatform:platform`` line: GitHub code scanning places results only with a region."""
    try:
        lines = (REPO / artifact).read_text().splitlines()
    except OSError:
        return 1
    return next((i for i, line in enumerate(lines, 1) if line.strip().startswith(f"{FULL_KEY}:")), 1)


def _sarif_rule(p, enforcement: str) -> dict[str, Any]:
    """A rule reviewers who know Checkov and CIS recognise: the equivalents are in its tags, properties and help."""
    sev = p.severity.value if p.severity else "medium"
    refs = getattr(p, "equivalents", None)
    checkov = list(refs.checkov) if refs else []
    cis = [str(c) for c in refs.cis] if refs else []
    same_as = refs.text() if refs else "no Checkov or CIS equivalent"
    help_md = f"{p.remediation_steps or p.description}\n\nEquivalent checks: {same_as}."
    if checkov:
        help_md += f" Checkov's descriptions: [policy index]({refs.checkov_index})."
    return {
        "id": p.name, "name": p.name, "shortDescription": {"text": p.description.rsplit(" [", 1)[0]},
        "fullDescription": {"text": p.description}, "helpUri": p.url or "",
        "help": {"text": f"{p.remediation_steps or p.description} Equivalent checks: {same_as}.",
                 "markdown": help_md},
        "defaultConfiguration": {"level": _SARIF_LEVEL.get(enforcement, "warning")},
        "properties": {"tags": list(p.tags or []), "security-severity": _SECURITY.get(sev, "5.5"),
                       "equivalents": {"checkov": checkov, "cis": cis}, "hardLimit": bool(getattr(p, "hard", False))}}


def to_sarif(report: Report, artifact: str | None = None) -> dict[str, Any]:
    """One SARIF run; results point at the stack file (``artifact``) and name the resource URN."""
    artifact = artifact or f"stacks/Pulumi.{report.stack}.yaml"
    physical = {"artifactLocation": {"uri": artifact}, "region": {"startLine": _platform_line(artifact)}}
    rules, index = [], {}
    for p in report.policies:
        index[p.name] = len(rules)
        rules.append(_sarif_rule(p, report.enforcement.get(p.name, "")))
    results = []
    for v in report.violations:
        results.append({
            "ruleId": v.policy, **({"ruleIndex": index[v.policy]} if v.policy in index else {}),
            "level": _SARIF_LEVEL.get(v.enforcement, "warning"),
            "message": {"text": f"{_short(v.resource)}: {v.message}"},
            "locations": [{"physicalLocation": physical,
                           "logicalLocations": [{"fullyQualifiedName": v.resource, "kind": "resource"}]}],
            "partialFingerprints": {"policyResource/v1": f"{v.policy}|{v.resource}"}})
    for n in report.exempted:
        # Still a failure (kind "fail"; SARIF allows level "none" only for other kinds), suppressed by the
        # reviewed exemption; the fingerprint is the one the unexempted violation has.
        results.append({
            "ruleId": n.policy, **({"ruleIndex": index[n.policy]} if n.policy in index else {}),
            "kind": "fail", "level": "note", "message": {"text": f"{_short(n.resource)}: {n.message}"},
            "suppressions": [{"kind": "external", "status": "accepted", "justification": n.message}],
            "locations": [{"physicalLocation": physical,
                           "logicalLocations": [{"fullyQualifiedName": n.resource, "kind": "resource"}]}],
            "partialFingerprints": {"policyResource/v1": f"{n.policy}|{n.resource}"}})
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "aiplatform-guardrails", "informationUri": rules[0]["helpUri"] if rules else
                            "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/", "version": "0.1.0",
                            "rules": rules}},
        "automationDetails": {"id": f"blueprint-policy/{report.stack}/"},
        "results": results}]}


def render(report: Report, fmt: str) -> str:
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "sarif":
        return json.dumps(to_sarif(report), indent=2)
    if fmt == "json":
        return json.dumps(to_json(report), indent=2, default=str)
    return render_table(report)
