"""Estimates and diffs as text: a terminal table, a pull-request comment (markdown), and JSON for machines."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from blueprint.catalog.prices import Price
from blueprint.cost.diff import CostDiff
from blueprint.cost.model import OVER, UNKNOWN, BudgetVerdict, Classified, CostComponent, CostEstimate, LineItem, Range

MARKER = "<!-- blueprint-cost -->"
DIFF_MARKER = "<!-- blueprint-cost-diff -->"
W = 96  # width of the label column in tables


def money(x: float, sign: bool = False) -> str:
    text = f"${abs(x):,.0f}" if abs(x) >= 100 or x == 0 else f"${abs(x):,.2f}"
    if sign:
        return ("+" if x >= 0 else "-") + text
    return ("-" if x < 0 else "") + text


DERIVED = "[derived]"  # marks a unit price that is derived, not read (the formulas are listed below the estimate)


def _unit_price(p: Price, mark: bool = True) -> str:
    return f"${p.usd:,.6g}" + (f" {DERIVED}" if p.derived and mark else "")


def _qty(c: CostComponent, mark: bool = True) -> str:
    """Quantity x unit price; ``mark``: tag derived prices here (the table tags the whole line instead)."""
    q = c.quantity
    if q is None:
        return c.describe_unknown() + (f" {DERIVED}" if c.price.derived and mark else "")
    amount = f"{q.expected:,.0f}" if q.min == q.max else f"{q.expected:,.0f} ({q.min:,.0f}-{q.max:,.0f})"
    top = f"; max at {_unit_price(c.max_price, mark)}" if c.max_price is not None else ""
    return f"{amount} {c.unit} x {_unit_price(c.price, mark)}{top}"


def _derived_lines(est: CostEstimate) -> list[str]:
    return [f"  {p.ref}: ${p.usd:,.6g} per {p.unit} = {p.describe()}" for p in est.derived_prices()]


def _unpriced_line(u: Classified) -> str:
    return f"  {'GPU ' if u.gpu else ''}{u.type}  {u.name}: {u.reason}" + (
        f" (reference ${u.reference_usd:,.0f}/month at other regions' rates)" if u.reference_usd is not None else "")


def _row(label: str, r: Range, indent: int = 0) -> str:
    label = (" " * indent + label)
    if len(label) > W:
        label = label[:W - 1] + "~"
    return f"{label:<{W}} {money(r.min):>12} {money(r.expected):>12} {money(r.max):>12}"


def _budget_line(v: BudgetVerdict) -> str:
    if v.budget is None:
        return "no budget in the spec"
    head = {OVER: "OVER BUDGET", UNKNOWN: "BUDGET VERDICT UNKNOWN"}.get(v.state, "within budget")
    gate = (" - fails the budget gate" if v.blocks else " - a warning in development") if v.state == UNKNOWN else ""
    return f"budget {money(v.budget)}: {head}{gate}: {v.reason()}"


def _grouped(est: CostEstimate) -> dict[str, dict[str, list[LineItem]]]:
    out: dict[str, dict[str, list[LineItem]]] = defaultdict(lambda: defaultdict(list))
    for item in est.items:
        out[item.region][item.component].append(item)
    return {r: dict(sorted(c.items())) for r, c in sorted(out.items())}


def _usage_names(est: CostEstimate) -> str:
    return ", ".join(Path(f).name if "/stacks/" not in f else f"stacks/{Path(f).name}" for f in est.usage_files)


DEPTHS = {1: "regions", 2: "components", 3: "resources", 4: "cost components"}  # `cost --depth`: how far down


def render_table(est: CostEstimate, depth: int = 4) -> str:
    """The breakdown down to ``depth`` (``DEPTHS``); totals, budget and unpriced resources always."""
    lines = [f"Cost estimate for stack {est.stack} (USD per month; prices as of {est.prices_as_of}; "
             f"usage: {_usage_names(est)})", "",
             f"{'region / component / resource':<{W}} {'min':>12} {'expected':>12} {'max':>12}"]
    by_region, by_component = est.by_region(), est.by_component()
    for region, components in _grouped(est).items():
        lines += ["", _row(region, by_region[region])]
        for component, items in components.items() if depth >= 2 else ():
            lines.append(_row(component, by_component[(region, component)], 2))
            for item in sorted(items, key=lambda i: (-i.monthly.expected, i.name)) if depth >= 3 else ():
                lines.append(_row(f"{item.name}  ({item.type})", item.monthly, 4))
                for c in item.components if depth >= 4 else ():
                    mark = f"{DERIVED} " if c.derived else ""  # first, so a truncated label keeps it
                    if c.usage_unknown:
                        lines.append(" " * 6 + f"{mark}{c.name}: {c.describe_unknown()}")
                    else:
                        lines.append(_row(f"{mark}{c.name}: {_qty(c, mark=False)}", c.monthly, 6))
    lines += ["", _row("TOTAL", est.total), _budget_line(est.verdict())]
    lines += ["", f"{len(est.free)} resources carry no charge of their own ({len(est.free_types())} types); "
              f"{len(est.usage_unknown())} cost components have unknown usage"
              f"{' (listed above)' if depth >= 4 else ' (--depth 4 lists them)'}."]
    lines += _unpriced_block(est.unpriced)
    derived = _derived_lines(est)
    if derived:
        lines += [f"Derived prices ({len(derived)}, marked {DERIVED} above; every other price is a dated reading, "
                  "see blueprint/catalog/prices.yaml):", *derived]
    return "\n".join(lines)


def _unpriced_block(unpriced: list[Classified]) -> list[str]:
    if not unpriced:
        return ["Every resource is priced or classified free."]
    return [f"UNPRICED: {len(unpriced)} resources are not in the estimate:", *(_unpriced_line(u) for u in unpriced)]


def _md_range(r: Range, sign: bool = False) -> str:
    return f"{money(r.min, sign)} | {money(r.expected, sign)} | {money(r.max, sign)}"


def render_markdown(est: CostEstimate) -> str:
    total, verdict = est.total, est.verdict()
    budget = f" · {_md_verdict(verdict)}" if verdict.budget is not None else ""
    lines = [MARKER, f"### Cost estimate: `{est.stack}`", "",
             f"**{money(total.expected)} / month expected** (min {money(total.min)}, max {money(total.max)})"
             f"{budget}", "", "| Region | Min | Expected | Max |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {region} | {_md_range(r)} |" for region, r in est.by_region().items()]
    lines += [f"| **Total** | {_md_range(total)} |", "", "<details><summary>By component</summary>", "",
              "| Region | Component | Min | Expected | Max |", "| --- | --- | ---: | ---: | ---: |"]
    lines += [f"| {reg} | {comp} | {_md_range(r)} |" for (reg, comp), r in est.by_component().items()]
    lines += ["", "</details>", "", f"<details><summary>By resource ({len(est.items)})</summary>", "",
              "| Resource | Cost component | Quantity | Expected |", "| --- | --- | --- | ---: |"]
    for item in sorted(est.items, key=lambda i: (i.region, i.component, -i.monthly.expected, i.name)):
        for c in item.components:
            amount = "usage unknown" if c.usage_unknown else money(c.monthly.expected)
            lines.append(f"| `{item.name}` | {c.name} | {_qty(c)} | {amount} |")
    derived = est.derived_prices()
    if derived:
        lines += ["", "</details>", "", f"<details><summary>Derived prices ({len(derived)}, marked {DERIVED})"
                  "</summary>", "", "| Price | USD | Unit | Derived as |", "| --- | ---: | --- | --- |"]
        lines += [f"| `{p.ref}` | {p.usd:,.6g} | {p.unit} | {p.describe()} |" for p in derived]
    lines += ["", "</details>", ""]
    unknown = est.usage_unknown()
    if unknown:
        lines += [f"<details><summary>Usage unknown ({len(unknown)}): add it to "
                  f"<code>stacks/usage.{est.stack}.yaml</code></summary>", ""]
        lines += [f"- `{i.name}` {c.name}: {c.describe_unknown()}" for i, c in unknown]
        lines += ["", "</details>", ""]
    if est.unpriced:
        lines += unpriced_markdown(est.unpriced)
    else:
        lines.append("Every resource is priced or classified free of charge "
                     f"({len(est.free)} free resources of {len(est.free_types())} types).")
    lines += ["", f"<sub>List prices as of {est.prices_as_of} (blueprint/catalog/prices.yaml: each a dated reading "
              f"or a derivation, marked {DERIVED}); "
              f"usage from {_usage_names(est)}.</sub>"]
    return "\n".join(lines) + "\n"


def _md_verdict(v: BudgetVerdict) -> str:
    if v.state == UNKNOWN:
        gate = "fails the budget gate" if v.blocks else "a warning in development"
        return f"budget {money(v.budget or 0)}: **budget verdict unknown** ({gate}): {v.reason()}"
    return f"budget {money(v.budget or 0)}: " + ("**over budget**" if v.state == OVER else "within budget")


def unpriced_markdown(unpriced: list[Classified]) -> list[str]:
    rows = [f"| {'GPU pool' if u.gpu else 'resource'} | `{u.type}` | `{u.name}` | {u.reason} | "
            f"{'n/a (unbounded)' if u.reference_usd is None else money(u.reference_usd)} |" for u in unpriced]
    return [f"**Unpriced ({len(unpriced)}), not in the totals:**", "",
            "| Kind | Type | Resource | Why | Reference /month |", "| --- | --- | --- | --- | ---: |", *rows]


def render_diff_table(diff: CostDiff, base: str) -> str:
    lines = [f"Cost change for stack {diff.stack} against {base} (USD per month)", "",
             f"{'':<{W}} {'min':>12} {'expected':>12} {'max':>12}",
             _row("before", diff.before), _row("after", diff.after),
             f"{'change':<{W}} {money(diff.delta.min, True):>12} {money(diff.delta.expected, True):>12} "
             f"{money(diff.delta.max, True):>12}", ""]
    changed = diff.changed()
    if not changed:
        lines.append("No resource changes cost.")
    for c in changed:
        lines.append(f"{c.op:<8} {c.name} ({c.type}, {c.region}): {money(c.before.expected)} -> "
                     f"{money(c.after.expected)} ({money(c.delta.expected, True)})")
    after = diff.after_estimate
    if after is not None:
        lines += ["", _budget_line(after.verdict()), *_unpriced_block(after.unpriced)]
        derived = _derived_lines(after)
        if derived:
            lines += [f"Derived prices in the new state ({len(derived)}):", *derived]
    return "\n".join(lines)


def render_diff_markdown(diff: CostDiff, base: str, *, marker: bool = True, level: int = 3) -> str:
    """``marker``: the hidden line the cost workflow finds its comment by; ``level``: the heading's depth (review
    nests the section under its own per-stack heading, with its own marker)."""
    delta = diff.delta
    lines = [DIFF_MARKER] if marker else []
    lines += [f"{'#' * level} Cost change: `{diff.stack}` against `{base}`", "",
             f"**{money(delta.expected, True)} / month expected** "
             f"({money(diff.before.expected)} → {money(diff.after.expected)})", "",
             "| | Min | Expected | Max |", "| --- | ---: | ---: | ---: |",
             f"| Before | {_md_range(diff.before)} |", f"| After | {_md_range(diff.after)} |",
             f"| **Change** | {_md_range(delta, True)} |", ""]
    changed = diff.changed()
    if changed:
        lines += ["| Change | Resource | Type | Region | Before | After | Delta |",
                  "| --- | --- | --- | --- | ---: | ---: | ---: |"]
        lines += [f"| {c.op} | `{c.name}` | `{c.type}` | {c.region} | {money(c.before.expected)} | "
                  f"{money(c.after.expected)} | {money(c.delta.expected, True)} |" for c in changed]
    else:
        lines.append("No resource changes cost.")
    after = diff.after_estimate
    if after is not None:
        verdict = after.verdict()
        if verdict.budget is not None:
            lines += ["", _md_verdict(verdict)]
        if after.unpriced:
            lines += ["", *unpriced_markdown(after.unpriced)]
        derived = after.derived_prices()
        if derived:
            lines += ["", f"{len(derived)} derived prices in the new state: "
                      + ", ".join(f"`{p.ref}` ({p.describe()})" for p in derived)]
    return "\n".join(lines) + "\n"


def render_json(obj: CostEstimate | CostDiff) -> str:
    return json.dumps(obj.as_dict(), indent=2)
