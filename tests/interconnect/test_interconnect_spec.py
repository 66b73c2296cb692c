"""Interconnect settings that are wrong fail before any resource, naming the stack, the key and what to write."""
from __future__ import annotations

import pytest

from blueprint.spec import SpecError, load_spec
from blueprint.spec.topology import HA_VPN, SHARED_VPC, TGW_PEERING, links
from tests.conftest import platform_config


def _error(cfg) -> str:
    with pytest.raises(SpecError) as err:
        load_spec(cfg, stack="prod")
    return str(err.value)


def test_hub_must_be_a_configured_region():
    cfg = platform_config("prod")
    cfg["network"].update(topology="hub-and-spoke", hub="aws/eu-west-1")
    text = _error(cfg)
    assert "aiplatform:platform.network.hub" in text
    assert "allowed values: aws/us-east-1, aws/us-west-2, gcp/us-central1" in text


def test_interconnect_attachments_need_the_far_side_asn():
    cfg = platform_config("prod")
    cfg["network"]["dedicated"] = {"interconnectAttachmentUrls": ["projects/p/global/interconnects/ic-a"]}
    assert "aiplatform:platform.network.dedicated.peerAsn: Cloud Interconnect attachments need" in _error(cfg)
    cfg["network"]["dedicated"]["peerAsn"] = 65515
    assert "65515 is already the AWS or GCP ASN" in _error(cfg)


def test_direct_connect_needs_an_aws_region():
    cfg = platform_config("prod")
    cfg["regions"] = [r for r in cfg["regions"] if r["cloud"] == "gcp"]
    cfg["workloads"] = {}
    cfg["network"]["dedicated"] = {"directConnectGatewayId": "5f2a3b4c-1d2e-4f50-8a9b-0c1d2e3f4a5b"}
    assert "network.dedicated.directConnectGatewayId: Direct Connect needs an AWS region" in _error(cfg)


def test_link_kinds_and_hub_and_spoke_pairs():
    cfg = platform_config("prod")
    cfg["regions"].append({"cloud": "gcp", "region": "us-east4", "systemPool": {"instanceType": "n2-standard-4"}})
    cfg["network"].update(topology="hub-and-spoke", hub="aws/us-west-2")
    spec = load_spec(cfg, stack="prod")
    got = {(l.a, l.b, l.kind) for l in links(spec)}
    assert got == {("aws/us-east-1", "aws/us-west-2", TGW_PEERING), ("aws/us-west-2", "gcp/us-central1", HA_VPN),
                   ("aws/us-west-2", "gcp/us-east4", HA_VPN), ("gcp/us-central1", "gcp/us-east4", SHARED_VPC)}


def test_interconnect_region_must_be_a_gcp_region_of_the_stack():
    cfg = platform_config("prod")
    cfg["network"]["dedicated"] = {"interconnectAttachmentUrls": ["projects/p/global/interconnects/ic-a"],
                                   "peerAsn": 65010, "interconnectRegion": "us-east4"}
    text = _error(cfg)
    assert "aiplatform:platform.network.dedicated.interconnectRegion: 'us-east4' is not a GCP region" in text
    assert "allowed values: us-central1" in text
