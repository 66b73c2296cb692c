"""The refresh script on recorded files shaped like the real price lists and on a moto EC2 (never the network), its
one clear message without a network, and the shipped catalog: every entry a dated reading or a derivation."""
from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from blueprint import catalog
from blueprint.cost import load_prices
from blueprint.catalog.prices import PRICES_FILE, PriceBook
from blueprint.cost.refresh import (
    aws_instance_types, fetch_spot_price_history, main, parse_aws_ec2_offer, parse_capacity_block_offerings,
    parse_gcp_skus, parse_spot_feed, parse_spot_price_history, rebuild,
)

FIXTURES = Path(__file__).with_name("fixtures")


def test_aws_offer_file_gives_linux_shared_on_demand_prices_of_wanted_types_only():
    doc = json.loads((FIXTURES / "aws_ec2_offer_small.json").read_text())
    assert parse_aws_ec2_offer(doc, "us-east-1", aws_instance_types()) == {"g6.2xlarge": 0.9776, "p5.48xlarge": 55.04}
    assert parse_aws_ec2_offer(doc, "us-west-2", aws_instance_types()) == {}


def test_gcp_machine_price_is_the_sum_of_its_vcpu_ram_gpu_and_bundled_local_ssd_skus():
    skus = json.loads((FIXTURES / "gcp_compute_skus_small.json").read_text())["skus"]
    out = parse_gcp_skus(skus, "us-central1", ["g2-standard-8", "n2-standard-4", "a3-highgpu-8g"])
    a3 = 208 * 0.033174 + 1872 * 0.002961 + 8 * 9.8 + 6000 * 0.08 / 730  # 6,000 GiB local SSD come with it
    a3_spot = 208 * 0.0102 + 1872 * 0.000888 + 8 * 5.8632 + 6000 * 0.0428 / 730
    assert out["compute-on-demand"] == {"g2-standard-8": round(8 * 0.024988 + 32 * 0.002928 + 0.56, 6),
                                        "n2-standard-4": round(4 * 0.031611 + 16 * 0.004237, 6),
                                        "a3-highgpu-8g": round(a3, 6)}
    assert out["compute-spot"] == {"a3-highgpu-8g": round(a3_spot, 6)}  # no spot G2 or N2 SKUs in the file
    # a region whose file has the L4 GPU but no G2 core/RAM: the machine is left unpriced, never priced partly
    assert parse_gcp_skus(skus, "europe-west3", ["g2-standard-8"])["compute-on-demand"] == {}


def test_aws_spot_feed_gives_the_linux_price_of_wanted_types_in_the_region():
    doc = json.loads((FIXTURES / "aws_spot_feed_small.json").read_text())
    wanted = catalog.instance_types("aws")
    assert parse_spot_feed(doc, "us-east-1", wanted) == {"g5.48xlarge": 0.9, "g6.xlarge": 0.3546}  # N/A* skipped
    assert parse_spot_feed(doc, "us-west-2", wanted) == {"g6.xlarge": 0.3102}


def test_spot_price_history_keeps_the_newest_linux_price_per_zone():
    history = [
        {"InstanceType": "p5.48xlarge", "AvailabilityZone": "us-west-2a", "ProductDescription": "Linux/UNIX",
         "SpotPrice": "30.1", "Timestamp": "2026-12-01T10:00:00+00:00"},
        {"InstanceType": "p5.48xlarge", "AvailabilityZone": "us-west-2a", "ProductDescription": "Linux/UNIX",
         "SpotPrice": "31.5", "Timestamp": "2026-12-01T12:00:00+00:00"},
        {"InstanceType": "p5.48xlarge", "AvailabilityZone": "us-west-2b", "ProductDescription": "Linux/UNIX",
         "SpotPrice": "44.0", "Timestamp": "2026-12-01T11:00:00+00:00"},
        {"InstanceType": "p5.48xlarge", "AvailabilityZone": "us-west-2b", "ProductDescription": "Windows",
         "SpotPrice": "99.0", "Timestamp": "2026-12-01T13:00:00+00:00"},
    ]
    assert parse_spot_price_history(history) == {"p5.48xlarge": {"us-west-2a": 31.5, "us-west-2b": 44.0}}


def test_describe_spot_price_history_through_a_moto_ec2(monkeypatch):
    """The boto3 path end to end (pagination, request shape, response fields) against moto's EC2, in process."""
    from moto import mock_aws
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        items = fetch_spot_price_history("us-east-1", ["m6i.large", "g5.xlarge"])
    zones = parse_spot_price_history(items)
    assert set(zones) == {"m6i.large", "g5.xlarge"}
    for per_zone in zones.values():
        assert per_zone and all(z.startswith("us-east-1") for z in per_zone)
        assert all(price > 0 for price in per_zone.values())  # moto answers a token price, not a real one


def test_capacity_block_offerings_give_the_effective_rate_per_instance_hour_per_zone():
    doc = json.loads((FIXTURES / "aws_capacity_block_offerings_small.json").read_text())
    assert parse_capacity_block_offerings(doc["CapacityBlockOfferings"]) == {
        "p5.48xlarge": {"us-east-2a": 33.0, "us-east-2b": 30.0}}  # the dearer of two offerings in 2a


def test_rebuild_writes_dated_readings_with_zones_and_replaces_derived_entries():
    doc = yaml.safe_load(PRICES_FILE.read_text())
    derived = doc["services"]["aws/ec2-on-demand"]["regions"]["us-west-2"]["m6i.large"]
    assert "derived" in derived
    new, changes = rebuild(doc, [
        ("aws/ec2-on-demand", "us-west-2", "m6i.large", 0.096, "aws-price-list-api", None),
        ("aws/ec2-spot", "us-west-2", "p5.48xlarge", 44.0, "aws-spot-price-history",
         {"us-west-2b": 44.0, "us-west-2a": 31.5})], today="2027-01-02")
    assert ("aws/ec2-spot", "us-west-2", "p5.48xlarge", None, 44.0) in changes
    spot = new["services"]["aws/ec2-spot"]["regions"]["us-west-2"]["p5.48xlarge"]
    assert spot == {"usd": 44.0, "source": "aws-spot-price-history", "read": "2027-01-02",
                    "zones": {"us-west-2a": 31.5, "us-west-2b": 44.0}}
    book = PriceBook(new)
    assert book.get("aws", "ec2-on-demand", "us-west-2", "m6i.large").kind == "reading"
    assert book.get("aws", "ec2-spot", "us-west-2", "p5.48xlarge").zone("us-west-2a") == 31.5
    assert book.problems() == []  # the refreshed catalog is still all readings and valid derivations
    assert doc["services"]["aws/ec2-on-demand"]["regions"]["us-west-2"]["m6i.large"] == derived  # input untouched


def test_refresh_command_writes_a_catalog_the_estimator_reads(tmp_path, capsys, monkeypatch):
    from blueprint.cost import refresh

    def no_network(url: str):
        raise AssertionError(f"the refresh command fetched {url} although files were given")

    monkeypatch.setattr(refresh, "_fetch_json", no_network)
    target = tmp_path / "prices.yaml"
    target.write_text(PRICES_FILE.read_text())
    rc = main(["--aws-region", "us-east-1", "--aws-offer-file", str(FIXTURES / "aws_ec2_offer_small.json"),
               "--aws-spot-file", str(FIXTURES / "aws_spot_feed_small.json"),
               "--gcp-region", "us-central1", "--gcp-skus-file", str(FIXTURES / "gcp_compute_skus_small.json"),
               "--catalog", str(target), "--write"])
    assert rc == 0 and "prices changed" in capsys.readouterr().out
    book = load_prices(target)
    assert book.get("aws", "ec2-on-demand", "us-east-1", "p5.48xlarge").source == "aws-price-list-api"
    assert book.get("aws", "ec2-spot", "us-east-1", "g6.xlarge").usd == 0.3546
    assert book.get("gcp", "compute-on-demand", "us-central1", "n2-standard-4").usd == \
        round(4 * 0.031611 + 16 * 0.004237, 6)
    assert target.read_text().startswith("# Price catalog") and book.problems() == []


def test_without_a_network_refresh_says_so_once_and_changes_nothing(tmp_path, capsys, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    target = tmp_path / "prices.yaml"
    target.write_text(PRICES_FILE.read_text())
    assert main(["--aws-region", "us-east-1", "--aws-spot-feed", "--catalog", str(target), "--write"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("refresh: cannot read prices from https://pricing.us-east-1.amazonaws.com/") and \
        "Temporary failure in name resolution" in err and "nothing was changed" in err
    assert target.read_text() == PRICES_FILE.read_text()


def test_without_aws_credentials_the_spot_api_path_says_so(tmp_path, capsys, monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup off this machine
    target = tmp_path / "prices.yaml"
    target.write_text(PRICES_FILE.read_text())
    rc = main(["--aws-region", "us-west-2", "--aws-offer-file", str(FIXTURES / "aws_ec2_offer_small.json"),
               "--catalog", str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and "EC2 DescribeSpotPriceHistory in us-west-2" in err and "Traceback" not in err


# ---------------------------------------------------------------- the shipped catalog

def test_every_catalog_entry_is_a_dated_reading_or_a_derivation_that_computes_its_price():
    book = load_prices()
    entries = list(book.entries())
    assert len(entries) > 900
    assert book.problems() == []
    kinds = {p.kind for *_, p in entries}
    assert kinds == {"reading", "derived"}
    cited = {p.source for *_, p in entries if p.kind == "reading"}
    assert set(book.sources) == cited  # no source listed that no price was read from


@pytest.mark.parametrize("breakage,expected", [
    (lambda e: e.update(usd=e["usd"] * 1.5), "gives"),
    (lambda e: e["derived"].update(formula="base * 1.1"), "gives"),
    (lambda e: e["derived"]["inputs"].update(base="aws/ec2-on-demand:us-east-1:no-such-type"), "not a catalog entry"),
    (lambda e: e["derived"].update(formula="__import__('os')"), "only numbers"),
])
def test_the_distinction_check_catches_a_derivation_dressed_as_a_reading(breakage, expected):
    doc = copy.deepcopy(yaml.safe_load(PRICES_FILE.read_text()))
    breakage(doc["services"]["aws/ec2-on-demand"]["regions"]["eu-west-1"]["m6i.large"])
    problems = PriceBook(doc).problems()
    assert any(expected in p for p in problems), problems


def test_a_reading_needs_a_known_source_and_an_iso_date():
    doc = copy.deepcopy(yaml.safe_load(PRICES_FILE.read_text()))
    doc["services"]["aws/eks"]["regions"]["us-east-1"]["cluster-standard"] = {"usd": 0.1, "read": "last week"}
    doc["services"]["aws/eks"]["regions"]["us-east-1"]["cluster-extended"] = {"usd": 0.6, "source": "a-blog"}
    problems = PriceBook(doc).problems()
    assert any("cluster-standard: a reading needs its ISO read date, got 'last week'" in p for p in problems)
    assert any("cluster-extended: a reading needs a source" in p for p in problems)


def test_no_aws_spot_price_is_shipped_without_a_reading():
    """Issue 19: fixed fractions of on-demand copied across regions were shipped as readings. AWS spot entries
    now exist only as readings from the EC2 API or the Spot pricing feed (`refresh`), none ships today."""
    book = load_prices()
    spot = [(r, s, p) for key, r, s, p in book.entries() if key == "aws/ec2-spot"]
    assert all(p.kind == "reading" and p.source in ("aws-spot-price-history", "aws-spot-feed") for *_, p in spot)


def test_capacity_block_prices_only_where_the_page_listed_them():
    book = load_prices()
    offered = {(r, s) for key, r, s, _ in book.entries() if key == "aws/ec2-capacity-block"}
    assert offered == {("us-east-1", "p5.48xlarge"), ("us-east-2", "p5.48xlarge"), ("us-east-2", "p5e.48xlarge"),
                       ("us-east-2", "p4d.24xlarge"), ("us-west-2", "p4d.24xlarge")}


def test_corrected_entries():
    book = load_prices()
    assert book.get("gcp", "gcs", "dual-region/us", "STANDARD").usd == 0.044
    assert book.get("gcp", "cloud-nat", "us-central1", "gateway-hour-cap").usd == 0.0448
    assert book.get("aws", "route53", "global", "health-check-non-aws").usd == 0.75
    assert book.get("aws", "fsx-lustre", "us-east-1", "PERSISTENT_2-500") is None
    assert book.get("aws", "fsx-lustre", "us-east-1", "PERSISTENT_2-1000") is None
    # A3 Ultra is not in the billing catalog compilation: derived from its parts, bundled local SSD included
    ultra = book.get("gcp", "compute-on-demand", "us-central1", "a3-ultragpu-8g")
    assert ultra.derived and dict(ultra.inputs)["local_ssd"] == "gcp/disks:us-central1:local-ssd"
    assert ultra.usd == pytest.approx(9.092 + 8 * 9.30 + 12000 * 0.08 / 730)
    assert catalog.instance("gcp", "a3-highgpu-8g").local_ssd_gib == 6000
