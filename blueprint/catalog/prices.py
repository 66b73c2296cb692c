"""The price catalog (``prices.yaml``) with types: every price is a reading (source, date) or a derivation (formula)."""
from __future__ import annotations

import ast
import datetime as dt
import operator
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PRICES_FILE = Path(__file__).with_name("prices.yaml")
READING, DERIVED = "reading", "derived"
_REF = re.compile(r"^(aws|gcp)/[a-z0-9-]+:[a-z0-9/-]+:[A-Za-z0-9._-]+$")  # cloud/service:region:sku


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str = ""  # key into PriceBook.sources (readings)
    read: str = ""  # ISO date the reading was taken from its source (readings)
    note: str = ""
    formula: str = ""  # derivations: arithmetic over ``inputs`` names and constants
    inputs: tuple[tuple[str, str], ...] = ()  # derivations: (name, "cloud/service:region:sku") of each input
    zones: tuple[tuple[str, float], ...] = ()  # per-zone readings (spot), the region's value is their highest
    ref: str = ""  # where it is in the catalog, ``cloud/service:region:sku``

    @property
    def kind(self) -> str:
        return DERIVED if self.formula else READING

    @property
    def derived(self) -> bool:
        return bool(self.formula)

    def zone(self, name: str) -> float | None:
        return dict(self.zones).get(name)

    def describe(self) -> str:
        """``derived: <formula>`` or ``read <date>``: the provenance every output format shows."""
        if self.derived:
            names = ", ".join(f"{n} = {ref}" for n, ref in self.inputs)
            return f"derived: {self.formula}" + (f" ({names})" if names else "")
        return f"read {self.read}"


class PriceBook:
    """Lookups by (cloud, service, region, sku); ``None`` when the catalog has no such price."""

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self.as_of: str = str(doc.get("as_of", ""))
        self.hours_per_month: float = float(doc.get("hours_per_month", 730))
        self.sources: dict[str, dict[str, str]] = doc.get("sources", {})
        self._services: dict[str, dict[str, Any]] = doc.get("services", {})

    def get(self, cloud: str, service: str, region: str, sku: str) -> Price | None:
        block = self._services.get(f"{cloud}/{service}")
        if block is None:
            return None
        raw = (block.get("regions", {}).get(region) or {}).get(sku)
        if raw is None:
            return None
        entry = raw if isinstance(raw, dict) else {"usd": raw}
        unit = str(entry.get("unit", block.get("unit", "")))
        note = str(entry.get("note", block.get("note", "")))
        ref = f"{cloud}/{service}:{region}:{sku}"
        if "derived" in entry:  # a derivation never inherits the block's source and read date
            d = entry["derived"] or {}
            return Price(usd=float(entry["usd"]), unit=unit, note=note, formula=str(d.get("formula", "")),
                         inputs=tuple((str(k), str(v)) for k, v in (d.get("inputs") or {}).items()), ref=ref)
        zones = tuple(sorted((str(z), float(v)) for z, v in (entry.get("zones") or {}).items()))
        return Price(usd=float(entry["usd"]), unit=unit, source=str(entry.get("source", block.get("source", ""))),
                     read=str(entry.get("read", block.get("read", ""))), note=note, zones=zones, ref=ref)

    def lookup(self, ref: str) -> Price | None:
        """A price by reference, ``cloud/service:region:sku`` (the form derivations name their inputs in)."""
        key, region, sku = ref.split(":", 2)
        cloud, service = key.split("/", 1)
        return self.get(cloud, service, region, sku)

    def regions(self, cloud: str, service: str) -> list[str]:
        return list(self._services.get(f"{cloud}/{service}", {}).get("regions", {}))

    def regions_with(self, cloud: str, service: str, sku: str) -> list[str]:
        """The regions that price ``sku`` in ``service`` (validation lists them as the allowed values)."""
        return [r for r in self.regions(cloud, service) if self.get(cloud, service, r, sku) is not None]

    def source_url(self, key: str) -> str:
        return self.sources.get(key, {}).get("url", key)

    def entries(self):
        """Every (cloud/service, region, sku, Price), for checks that each entry is a reading or a derivation."""
        for key, block in self._services.items():
            cloud, service = key.split("/", 1)
            for region, skus in block.get("regions", {}).items():
                for sku in skus:
                    yield key, region, sku, self.get(cloud, service, region, sku)

    def problems(self) -> list[str]:
        """Entries that are neither a dated, sourced reading nor a derivation whose formula gives its price."""
        out = []
        for key, region, sku, p in self.entries():
            where = f"{key} {region} {sku}"
            if p.usd < 0 or not p.unit:
                out.append(f"{where}: needs a non-negative usd and a unit")
            if p.derived:
                out += [f"{where}: {msg}" for msg in self._derivation_problems(p)]
                continue
            if p.source not in self.sources or not self.source_url(p.source).startswith("https://"):
                out.append(f"{where}: a reading needs a source from `sources` with an https URL, got {p.source!r}")
            try:
                dt.date.fromisoformat(p.read)
            except ValueError:
                out.append(f"{where}: a reading needs its ISO read date, got {p.read!r}")
        return out

    def _derivation_problems(self, p: Price) -> list[str]:
        values, out = {}, []
        for name, ref in p.inputs:
            found = self.lookup(ref) if _REF.match(ref) else None
            if found is None:
                out.append(f"input {name} = {ref!r} is not a catalog entry (cloud/service:region:sku)")
            else:
                values[name] = found.usd
        if out:
            return out
        try:
            value = evaluate(p.formula, values)
        except ValueError as exc:
            return [f"formula {p.formula!r}: {exc}"]
        if abs(value - p.usd) > max(1e-6, 5e-5 * abs(value)):
            out.append(f"formula {p.formula!r} gives {value:.6g}, not the usd {p.usd:.6g}")
        return out


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def evaluate(formula: str, values: dict[str, float]) -> float:
    """Arithmetic (+ - * / and parentheses) over numbers and the named inputs: nothing else is evaluated."""
    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in values:
            return float(values[node.id])
        raise ValueError(f"only numbers, + - * / and the inputs {sorted(values)} are allowed")
    try:
        return ev(ast.parse(formula, mode="eval"))
    except SyntaxError as exc:
        raise ValueError(str(exc)) from None


@lru_cache(maxsize=4)
def _load(path: str) -> PriceBook:
    with open(path) as f:
        return PriceBook(yaml.safe_load(f))


def load_prices(path: Path | None = None) -> PriceBook:
    return _load(str(path or PRICES_FILE))


__all__ = ["DERIVED", "PRICES_FILE", "Price", "PriceBook", "READING", "evaluate", "load_prices"]
