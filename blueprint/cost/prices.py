"""The price catalog (``prices.yaml``) with types: every price knows its unit, source page and the date read."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PRICES_FILE = Path(__file__).with_name("prices.yaml")


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str  # key into PriceBook.sources
    read: str  # date the price was read, ISO
    note: str = ""


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
        return Price(usd=float(entry["usd"]), unit=str(entry.get("unit", block.get("unit", ""))),
                     source=str(entry.get("source", block.get("source", ""))),
                     read=str(entry.get("read", block.get("read", self.as_of))),
                     note=str(entry.get("note", block.get("note", ""))))

    def regions(self, cloud: str, service: str) -> list[str]:
        return list(self._services.get(f"{cloud}/{service}", {}).get("regions", {}))

    def source_url(self, key: str) -> str:
        return self.sources.get(key, {}).get("url", key)

    def entries(self):
        """Every (cloud/service, region, sku, Price), for checks that each entry is sourced and dated."""
        for key, block in self._services.items():
            cloud, service = key.split("/", 1)
            for region, skus in block.get("regions", {}).items():
                for sku in skus:
                    yield key, region, sku, self.get(cloud, service, region, sku)


@lru_cache(maxsize=4)
def _load(path: str) -> PriceBook:
    with open(path) as f:
        return PriceBook(yaml.safe_load(f))


def load_prices(path: Path | None = None) -> PriceBook:
    return _load(str(path or PRICES_FILE))
