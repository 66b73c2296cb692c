"""Rebuild the instance, machine and GPU prices of ``prices.yaml`` from the providers' public price lists.

AWS: the Price List bulk API offer file for EC2 per region
(``https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/<region>/index.json``), on-demand
Linux shared-tenancy prices of the instance types the catalog allows. GCP: the Cloud Billing Catalog API SKUs of
Compute Engine (service ``6F81-5844-456A``; needs an API key in ``GOOGLE_API_KEY``): per-GPU on-demand and spot
prices, and machine prices (vCPU x core SKU + GiB x RAM SKU of the family). Other services (storage, NAT, ...)
keep their hand-read, dated entries. Usage::

    python -m blueprint.cost.refresh --aws-region us-east-1 --gcp-region us-central1 --write
    python -m blueprint.cost.refresh --aws-offer-file index.json --aws-region us-east-1   # a downloaded file

Parsing is pure (tested on small fixtures shaped like the real files); only ``main`` touches the network.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any, Iterable

import yaml

from blueprint import catalog
from blueprint.cost.prices import PRICES_FILE

AWS_OFFER_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/{region}/index.json"
GCP_SKUS_URL = "https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus"
GPU_NAMES = {  # billing catalog description prefix -> accelerator type
    "Nvidia L4": "nvidia-l4", "Nvidia Tesla A100": "nvidia-tesla-a100", "Nvidia A100 80GB": "nvidia-a100-80gb",
    "Nvidia H100 80GB": "nvidia-h100-80gb", "Nvidia H200 141GB": "nvidia-h200-141gb"}
_GCP_REGION_GROUP = {"us": "Americas", "northamerica": "Americas", "southamerica": "Americas", "europe": "EMEA",
                     "asia": "APAC", "australia": "APAC", "me": "EMEA", "africa": "EMEA"}
_CORE_RAM = re.compile(r"^(?:Spot Preemptible )?(?P<family>[A-Z0-9]+)(?: AMD)? Instance (?P<kind>Core|Ram) running in")


def aws_instance_types() -> list[str]:
    return catalog.instance_types("aws") + catalog.system_instance_types("aws")


def parse_aws_ec2_offer(doc: dict[str, Any], region: str, wanted: Iterable[str]) -> dict[str, float]:
    """On-demand hourly USD per instance type: Linux, shared tenancy, no pre-installed software, used capacity."""
    wanted = set(wanted)
    skus = {}
    for sku, product in doc.get("products", {}).items():
        a = product.get("attributes", {})
        if (product.get("productFamily") == "Compute Instance" and a.get("instanceType") in wanted
                and a.get("regionCode", region) == region and a.get("operatingSystem") == "Linux"
                and a.get("tenancy") == "Shared" and a.get("preInstalledSw") == "NA"
                and a.get("capacitystatus") == "Used" and a.get("licenseModel", "No License required")
                == "No License required"):
            skus[sku] = a["instanceType"]
    out: dict[str, float] = {}
    for sku, instance_type in skus.items():
        for term in doc.get("terms", {}).get("OnDemand", {}).get(sku, {}).values():
            for dim in term.get("priceDimensions", {}).values():
                if dim.get("unit") in ("Hrs", "Hours"):
                    out[instance_type] = float(dim["pricePerUnit"]["USD"])
    return dict(sorted(out.items()))


def _unit_price(sku: dict[str, Any]) -> float:
    rates = sku["pricingInfo"][0]["pricingExpression"]["tieredRates"]
    rate = rates[-1]["unitPrice"]
    return int(rate.get("units") or 0) + int(rate.get("nanos") or 0) / 1e9


def _machine_shape(name: str) -> tuple[int, float] | None:
    facts = catalog.instance("gcp", name)
    if facts is not None:
        return facts.vcpus, facts.memory_gib
    m = re.match(r"^(e2|n2|n2d)-standard-(\d+)$", name)
    return (int(m.group(2)), 4.0 * int(m.group(2))) if m else None


def parse_gcp_skus(skus: list[dict[str, Any]], region: str, machine_types: Iterable[str]) -> dict[str, dict[str, float]]:
    """{"gpu-on-demand", "gpu-spot", "compute-on-demand", "compute-spot"} -> {sku: hourly USD} for `region`."""
    out: dict[str, dict[str, float]] = {k: {} for k in ("gpu-on-demand", "gpu-spot", "compute-on-demand",
                                                        "compute-spot")}
    core_ram: dict[tuple[str, str, str], float] = {}
    for sku in skus:
        if region not in sku.get("serviceRegions", []):
            continue
        usage = sku.get("category", {}).get("usageType")
        if usage not in ("OnDemand", "Preemptible"):
            continue
        kind = "on-demand" if usage == "OnDemand" else "spot"
        description = sku.get("description", "")
        bare = description.removeprefix("Spot Preemptible ")
        for prefix, gpu in GPU_NAMES.items():
            if bare.startswith(prefix + " GPU"):
                out[f"gpu-{kind}"][gpu] = _unit_price(sku)
        m = _CORE_RAM.match(description)
        if m and sku.get("category", {}).get("resourceGroup") not in ("Commit1Yr", "Commit3Yr"):
            core_ram[(m.group("family").lower(), m.group("kind"), kind)] = _unit_price(sku)
    for name in machine_types:
        shape = _machine_shape(name)
        family = name.split("-")[0]
        for kind in ("on-demand", "spot"):
            core, ram = core_ram.get((family, "Core", kind)), core_ram.get((family, "Ram", kind))
            if shape and core is not None and ram is not None:
                out[f"compute-{kind}"][name] = round(shape[0] * core + shape[1] * ram, 6)
    return out


def rebuild(doc: dict[str, Any], aws: dict[str, dict[str, float]] | None = None,
            gcp: dict[str, dict[str, dict[str, float]]] | None = None, today: str | None = None) -> tuple[dict, list]:
    """A new catalog with the fetched prices written in (each marked with its API source and today's date), and
    the list of (service, region, sku, old, new) that changed."""
    today = today or dt.date.today().isoformat()
    new = copy.deepcopy(doc)
    new.setdefault("sources", {})["aws-price-list-api"] = {
        "url": AWS_OFFER_URL.replace("{region}", "<region>"), "title": "AWS Price List bulk API, EC2 offer file"}
    new["sources"].setdefault("gcp-billing-catalog", {"url": GCP_SKUS_URL, "title": "Cloud Billing Catalog API"})
    changes = []

    def put(service: str, region: str, sku: str, usd: float, source: str) -> None:
        block = new["services"].setdefault(service, {"unit": "hour", "source": source, "read": today, "regions": {}})
        skus = dict(block["regions"].get(region) or {})  # copy: YAML anchors share one dict between regions
        old = skus.get(sku)
        old_usd = old.get("usd") if isinstance(old, dict) else old
        if old_usd != usd:
            changes.append((service, region, sku, old_usd, usd))
        skus[sku] = {"usd": usd, "source": source, "read": today}
        block["regions"][region] = skus

    for region, prices in (aws or {}).items():
        for sku, usd in prices.items():
            put("aws/ec2-on-demand", region, sku, usd, "aws-price-list-api")
    for region, services in (gcp or {}).items():
        for service, prices in services.items():
            for sku, usd in prices.items():
                put(f"gcp/{service}", region, sku, usd, "gcp-billing-catalog")
    new["as_of"] = today
    return new, changes


def _fetch_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=600) as response:  # noqa: S310 - fixed https URLs
        return json.load(response)


def fetch_gcp_skus(api_key: str) -> list[dict[str, Any]]:
    skus, token = [], ""
    while True:
        page = _fetch_json(f"{GCP_SKUS_URL}?key={api_key}&pageSize=5000" + (f"&pageToken={token}" if token else ""))
        skus += page.get("skus", [])
        token = page.get("nextPageToken", "")
        if not token:
            return skus


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m blueprint.cost.refresh", description=__doc__.split("\n")[0])
    p.add_argument("--aws-region", action="append", default=[], help="AWS region to refresh (repeatable)")
    p.add_argument("--aws-offer-file", type=Path, help="a downloaded EC2 offer file for the one --aws-region")
    p.add_argument("--gcp-region", action="append", default=[], help="GCP region to refresh (repeatable)")
    p.add_argument("--gcp-skus-file", type=Path, help="downloaded Compute Engine SKUs ({'skus': [...]})")
    p.add_argument("--catalog", type=Path, default=PRICES_FILE)
    p.add_argument("--write", action="store_true", help="write the catalog back (default: show the changes)")
    args = p.parse_args(argv)
    doc = yaml.safe_load(args.catalog.read_text())
    aws = {}
    for region in args.aws_region:
        offer = json.loads(args.aws_offer_file.read_text()) if args.aws_offer_file else \
            _fetch_json(AWS_OFFER_URL.format(region=region))
        aws[region] = parse_aws_ec2_offer(offer, region, aws_instance_types())
    gcp = {}
    if args.gcp_region:
        if args.gcp_skus_file:
            skus = json.loads(args.gcp_skus_file.read_text())["skus"]
        elif os.environ.get("GOOGLE_API_KEY"):
            skus = fetch_gcp_skus(os.environ["GOOGLE_API_KEY"])
        else:
            print("error: --gcp-region needs GOOGLE_API_KEY or --gcp-skus-file", file=sys.stderr)
            return 2
        machines = catalog.instance_types("gcp") + catalog.system_instance_types("gcp")
        gcp = {region: parse_gcp_skus(skus, region, machines) for region in args.gcp_region}
    new, changes = rebuild(doc, aws, gcp)
    for service, region, sku, old, usd in changes:
        print(f"{service} {region} {sku}: {old} -> {usd}")
    if args.write:
        lines = args.catalog.read_text().splitlines(True)
        header = "".join(lines[:next(i for i, line in enumerate(lines) if not line.startswith("#"))])
        args.catalog.write_text(header + yaml.safe_dump(new, sort_keys=False, width=120))
    print(f"{len(changes)} prices changed" + ("" if args.write else " (not written; pass --write)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
