"""Re-read machine and spot prices from the providers into ``prices.yaml``, each written as a dated reading.
Notes: docs/architecture.md, "Cost"."""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterable

import yaml

from blueprint import catalog
from blueprint.catalog.prices import PRICES_FILE

try:  # optional (the test extra installs it): only the EC2 API path needs it, and says so when it is missing
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    AWS_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
except ImportError:  # pragma: no cover - the test environment has boto3
    boto3 = None
    AWS_ERRORS = ()

AWS_OFFER_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/{region}/index.json"
AWS_SPOT_FEED_URL = "https://website.spot.ec2.aws.a2z.com/spot.json"
GCP_SKUS_URL = "https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus"
HOURS = 730
GPU_NAMES = {  # billing catalog description prefix (before " GPU") -> GKE accelerator type
    "Nvidia L4": "nvidia-l4", "Nvidia Tesla A100": "nvidia-tesla-a100", "Nvidia A100 80GB": "nvidia-a100-80gb",
    "Nvidia H100 80GB": "nvidia-h100-80gb", "Nvidia H100 80GB Mega": "nvidia-h100-mega-80gb",
    "Nvidia H200 141GB": "nvidia-h200-141gb"}
_CORE_RAM = re.compile(r"^(?:Spot Preemptible )?(?P<family>[A-Z0-9]+)(?: AMD)? Instance (?P<kind>Core|Ram) running in")
_LOCAL_SSD = re.compile(r"^SSD backed Local Storage")
SOURCES = {
    "aws-price-list-api": {"url": AWS_OFFER_URL.replace("{region}", "<region>"),
                           "title": "AWS Price List bulk API, EC2 offer file (on-demand, Linux, shared tenancy)"},
    "aws-spot-price-history": {
        "url": "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSpotPriceHistory.html",
        "title": "EC2 DescribeSpotPriceHistory, Linux/UNIX, current price per Availability Zone"},
    "aws-spot-feed": {"url": AWS_SPOT_FEED_URL,
                      "title": "The feed behind aws.amazon.com/ec2/spot/pricing (lowest price in the region)"},
    "aws-capacity-block-offerings": {"url": "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/"
                                            "API_DescribeCapacityBlockOfferings.html",
                                     "title": "EC2 DescribeCapacityBlockOfferings: upfront fee / reserved hours"},
    "gcp-billing-catalog": {"url": GCP_SKUS_URL, "title": "Cloud Billing Catalog API, Compute Engine SKUs"},
}


class Unreachable(Exception):
    """A price source could not be reached (no network, no credentials): nothing is written."""


class BadFile(Exception):
    """A downloaded price file given on the command line that is not what its flag takes: nothing is written."""


def _json_file(path: Path, flag: str, key: str) -> dict[str, Any]:
    """A downloaded file: a JSON object with ``key`` (the shape its source publishes)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadFile(f"{flag} {path}: not a JSON file ({exc})") from None
    if not isinstance(doc, dict) or key not in doc:
        raise BadFile(f"{flag} {path}: expected a JSON object with \"{key}\", as its source publishes it")
    return doc


# ---------------------------------------------------------------- AWS

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


def parse_spot_price_history(history: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """DescribeSpotPriceHistory items -> {instance type: {zone: USD}}, the newest price per zone (Linux/UNIX; the
    API also answers "Linux/UNIX (Amazon VPC)" for the same product)."""
    newest: dict[tuple[str, str], tuple[Any, float]] = {}
    for item in history:
        if item.get("ProductDescription", "Linux/UNIX") not in ("Linux/UNIX", "Linux/UNIX (Amazon VPC)"):
            continue
        key = (item["InstanceType"], item["AvailabilityZone"])
        stamp = item.get("Timestamp") or ""
        if key not in newest or str(stamp) >= str(newest[key][0]):
            newest[key] = (stamp, float(item["SpotPrice"]))
    out: dict[str, dict[str, float]] = {}
    for (instance_type, zone), (_, usd) in sorted(newest.items()):
        out.setdefault(instance_type, {})[zone] = usd
    return out


def _ec2(region: str, client):
    """An EC2 client (boto3 is optional: the test extra installs it)."""
    if client is not None:
        return client
    if boto3 is None:
        raise Unreachable("the EC2 API: boto3 is not installed (pip install boto3), or use --aws-spot-feed")
    return boto3.client("ec2", region_name=region)


def fetch_spot_price_history(region: str, instance_types: list[str], client=None) -> list[dict[str, Any]]:
    """The current spot price of each type in each zone of ``region`` (StartTime now: the price in effect)."""
    client = _ec2(region, client)
    try:
        pages = client.get_paginator("describe_spot_price_history").paginate(
            InstanceTypes=instance_types, ProductDescriptions=["Linux/UNIX"],
            StartTime=dt.datetime.now(dt.timezone.utc))
        return [item for page in pages for item in page.get("SpotPriceHistory", [])]
    except AWS_ERRORS as exc:
        raise Unreachable(f"EC2 DescribeSpotPriceHistory in {region}: {exc}") from None


def parse_spot_feed(doc: dict[str, Any], region: str, wanted: Iterable[str]) -> dict[str, float]:
    """The Spot pricing page's feed (``spot.json``) -> {instance type: Linux USD} for ``region``."""
    wanted, out = set(wanted), {}
    for r in doc.get("config", {}).get("regions", []):
        if r.get("region") != region:
            continue
        for group in r.get("instanceTypes", []):
            for size in group.get("sizes", []):
                if size.get("size") not in wanted:
                    continue
                for column in size.get("valueColumns", []):
                    price = column.get("prices", {}).get("USD", "")
                    if column.get("name") == "linux" and re.fullmatch(r"[0-9.]+(E-?[0-9]+)?", str(price)):
                        out[size["size"]] = float(price)
    return dict(sorted(out.items()))


def parse_capacity_block_offerings(offerings: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """DescribeCapacityBlockOfferings -> {instance type: {zone: effective USD per instance-hour}}, the dearest
    offering per zone (an offering's price is its upfront fee for all its instances and hours)."""
    out: dict[str, dict[str, float]] = {}
    for o in offerings:
        hours, count = float(o.get("CapacityBlockDurationHours") or 0), float(o.get("InstanceCount") or 0)
        if not hours or not count or o.get("CurrencyCode", "USD") != "USD":
            continue
        rate = round(float(o["UpfrontFee"]) / (hours * count), 4)
        zones = out.setdefault(o["InstanceType"], {})
        zones[o["AvailabilityZone"]] = max(rate, zones.get(o["AvailabilityZone"], 0.0))
    return out


def fetch_capacity_block_offerings(region: str, instance_types: list[str], client=None) -> list[dict[str, Any]]:
    client = _ec2(region, client)
    out = []
    try:
        for instance_type in instance_types:
            response = client.describe_capacity_block_offerings(
                InstanceType=instance_type, InstanceCount=1, CapacityDurationHours=24)
            out += response.get("CapacityBlockOfferings", [])
    except AWS_ERRORS as exc:
        raise Unreachable(f"EC2 DescribeCapacityBlockOfferings in {region}: {exc}") from None
    return out


# ---------------------------------------------------------------- GCP

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
    """{"compute-on-demand", "compute-spot"} -> {machine type: hourly USD} in ``region``: vCPU x core SKU + GiB x RAM
    SKU, plus (GPU machines) GPUs x GPU SKU and bundled local SSD GiB x its SKU / 730 h. A machine missing any of
    its SKUs is left out (unpriced), never priced without its GPUs."""
    parts: dict[tuple[str, str, str], float] = {}  # (what, name, on-demand|spot)
    for sku in skus:
        if region not in sku.get("serviceRegions", []):
            continue
        category = sku.get("category", {})
        usage = category.get("usageType")
        if usage not in ("OnDemand", "Preemptible") or category.get("resourceGroup") in ("Commit1Yr", "Commit3Yr"):
            continue
        kind = "on-demand" if usage == "OnDemand" else "spot"
        description = sku.get("description", "")
        bare = description.removeprefix("Spot Preemptible ")
        for prefix, gpu in GPU_NAMES.items():
            if bare.startswith(prefix + " GPU"):
                parts[("gpu", gpu, kind)] = _unit_price(sku)
        m = _CORE_RAM.match(description)
        if m:
            parts[(m.group("kind").lower(), m.group("family").lower(), kind)] = _unit_price(sku)
        if _LOCAL_SSD.match(description):
            parts[("local-ssd", "", kind)] = _unit_price(sku)
    out: dict[str, dict[str, float]] = {"compute-on-demand": {}, "compute-spot": {}}
    for name in machine_types:
        shape, facts = _machine_shape(name), catalog.instance("gcp", name)
        family = name.split("-")[0]
        for kind in ("on-demand", "spot"):
            core, ram = parts.get(("core", family, kind)), parts.get(("ram", family, kind))
            if shape is None or core is None or ram is None:
                continue
            total = shape[0] * core + shape[1] * ram
            if facts is not None:
                gpu = parts.get(("gpu", facts.gke_accelerator or "", kind))
                ssd = parts.get(("local-ssd", "", kind))
                if gpu is None or (facts.local_ssd_gib and ssd is None):
                    continue
                total += facts.gpus * gpu + (facts.local_ssd_gib * ssd / HOURS if facts.local_ssd_gib else 0.0)
            out[f"compute-{kind}"][name] = round(total, 6)
    return out


def fetch_gcp_skus(api_key: str) -> list[dict[str, Any]]:
    skus, token = [], ""
    while True:
        page = _fetch_json(f"{GCP_SKUS_URL}?key={api_key}&pageSize=5000" + (f"&pageToken={token}" if token else ""))
        skus += page.get("skus", [])
        token = page.get("nextPageToken", "")
        if not token:
            return skus


# ---------------------------------------------------------------- writing

def rebuild(doc: dict[str, Any], updates: list[tuple[str, str, str, float, str, dict[str, float] | None]],
            today: str | None = None) -> tuple[dict, list]:
    """A new catalog with ``updates`` (service, region, sku, usd, source key, zones) written in as readings dated
    today, and the list of (service, region, sku, old, new) that changed. A refreshed entry replaces a derived one."""
    today = today or dt.date.today().isoformat()
    new = copy.deepcopy(doc)
    changes = []
    for service, region, sku, usd, source, zones in updates:
        new.setdefault("sources", {}).setdefault(source, SOURCES[source])
        block = new["services"].setdefault(service, {"unit": "hour", "source": source, "read": today, "regions": {}})
        skus = dict(block["regions"].get(region) or {})  # copy: YAML anchors may share one dict between regions
        old = skus.get(sku)
        old_usd = old.get("usd") if isinstance(old, dict) else old
        if old_usd != usd:
            changes.append((service, region, sku, old_usd, usd))
        entry: dict[str, Any] = {"usd": usd, "source": source, "read": today}
        if zones:
            entry["zones"] = dict(sorted(zones.items()))
        skus[sku] = entry
        block["regions"][region] = skus
    new["as_of"] = today
    return new, changes


def _fetch_json(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=600) as response:  # noqa: S310 - fixed https URLs
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        shown = re.sub(r"key=[^&]+", "key=***", url)
        raise Unreachable(f"{shown}: {getattr(exc, 'reason', exc)}") from None


def _aws_updates(args: argparse.Namespace, region: str) -> list[tuple]:
    wanted = aws_instance_types()
    offer = _json_file(args.aws_offer_file, "--aws-offer-file", "products") if args.aws_offer_file else \
        _fetch_json(AWS_OFFER_URL.format(region=region))
    out: list[tuple] = [("aws/ec2-on-demand", region, t, usd, "aws-price-list-api", None)
                        for t, usd in parse_aws_ec2_offer(offer, region, wanted).items()]
    gpu_types = catalog.instance_types("aws")
    if args.aws_spot_file or args.aws_spot_feed:
        feed = (_json_file(args.aws_spot_file, "--aws-spot-file", "config") if args.aws_spot_file
                else _fetch_json(AWS_SPOT_FEED_URL))
        out += [("aws/ec2-spot", region, t, usd, "aws-spot-feed", None)
                for t, usd in parse_spot_feed(feed, region, gpu_types).items()]
    else:
        zones = parse_spot_price_history(fetch_spot_price_history(region, gpu_types))
        out += [("aws/ec2-spot", region, t, max(z.values()), "aws-spot-price-history", z) for t, z in zones.items()]
    if args.aws_capacity_blocks:
        blocks = parse_capacity_block_offerings(fetch_capacity_block_offerings(region, gpu_types))
        out += [("aws/ec2-capacity-block", region, t, max(z.values()), "aws-capacity-block-offerings", z)
                for t, z in blocks.items()]
    return out


def _gcp_updates(args: argparse.Namespace) -> list[tuple]:
    if args.gcp_skus_file:
        skus = _json_file(args.gcp_skus_file, "--gcp-skus-file", "skus")["skus"]
    elif os.environ.get("GOOGLE_API_KEY"):
        skus = fetch_gcp_skus(os.environ["GOOGLE_API_KEY"])
    else:
        raise Unreachable("the Cloud Billing Catalog API needs an API key in GOOGLE_API_KEY (or pass --gcp-skus-file)")
    machines = catalog.instance_types("gcp") + catalog.system_instance_types("gcp")
    out = []
    for region in args.gcp_region:
        for service, prices in parse_gcp_skus(skus, region, machines).items():
            out += [(f"gcp/{service}", region, m, usd, "gcp-billing-catalog", None) for m, usd in prices.items()]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m blueprint.cost.refresh", description=__doc__.split("\n")[0])
    p.add_argument("--aws-region", action="append", default=[], help="AWS region to refresh (repeatable)")
    p.add_argument("--aws-offer-file", type=Path, help="a downloaded EC2 offer file for the one --aws-region")
    p.add_argument("--aws-spot-feed", action="store_true",
                   help="read spot prices from the public Spot pricing feed (per region) instead of the EC2 API")
    p.add_argument("--aws-spot-file", type=Path, help="a downloaded copy of that feed (spot.json)")
    p.add_argument("--aws-capacity-blocks", action="store_true", help="also read Capacity Block offerings")
    p.add_argument("--gcp-region", action="append", default=[], help="GCP region to refresh (repeatable)")
    p.add_argument("--gcp-skus-file", type=Path, help="downloaded Compute Engine SKUs ({'skus': [...]})")
    p.add_argument("--catalog", type=Path, default=PRICES_FILE)
    p.add_argument("--write", action="store_true", help="write the catalog back (default: show the changes)")
    args = p.parse_args(argv)
    if not args.aws_region and not args.gcp_region:
        p.error("name at least one --aws-region or --gcp-region")
    for given in (args.catalog, args.aws_offer_file, args.aws_spot_file, args.gcp_skus_file):
        if given is not None and not given.is_file():
            p.error(f"no such file: {given}")
    doc = yaml.safe_load(args.catalog.read_text())
    try:
        updates = [u for region in args.aws_region for u in _aws_updates(args, region)]
        updates += _gcp_updates(args) if args.gcp_region else []
    except Unreachable as exc:
        print(f"refresh: cannot read prices from {exc}; nothing was changed. Without a network, pass the files "
              "--aws-offer-file, --aws-spot-file and --gcp-skus-file downloaded elsewhere.", file=sys.stderr)
        return 2
    except BadFile as exc:
        print(f"refresh: {exc}; nothing was changed.", file=sys.stderr)
        return 1
    new, changes = rebuild(doc, updates)
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
