"""The serving zone (``workloads.serving.dns``): an existing zone looked up, a new zone delegated from an existing
Route 53 parent, or a new zone delegated by hand, and a first ``up`` that never waits on a name nobody resolves.

``aws.acm.CertificateValidation`` waits for ACM to issue the certificate, 75 minutes by default
(terraform-provider-aws internal/service/acm/certificate_validation.go), and ACM can only validate records the
internet resolves: in a zone nobody has delegated the wait ends the ``up`` with an error. An ELB TLS listener
takes only an issued certificate, so it comes with the validation.
"""
from __future__ import annotations

import pytest

from blueprint.spec import SpecError
from tests.conftest import platform_config
from tests.k8s.conftest import spec_of, workload_plan

ZONE, RECORD = "aws:route53/zone:Zone", "aws:route53/record:Record"
CERT, VALIDATION = "aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation"
LISTENER, LB = "aws:lb/listener:Listener", "aws:lb/loadBalancer:LoadBalancer"
SERVING_ZONE = "aiplatform:workloads:ServingZone"


def serving_zones(plan):
    """Public zones (the interconnect's private zones are associated with VPCs)."""
    return [z for z in plan.of_type(ZONE) if not z.get("vpcs")]


def serving_records(plan):
    """Records the serving components write (not the interconnect's private DNS)."""
    return [r for r in plan.of_type(RECORD) if "ServingZone" in r.urn]


def with_dns(dns: dict | None, domain: str | None = None) -> dict:
    platform = platform_config("prod")
    serve = platform["workloads"]["serving"]
    serve.pop("dns", None)
    if dns is not None:
        serve["dns"] = dns
    if domain is not None:
        serve["domain"] = domain
    return platform


def test_an_existing_zone_is_looked_up_and_never_created():
    spec, plan = spec_of("staging"), workload_plan("staging")
    assert spec.workloads.serving.dns.existing_zone == "aiplatform.example.com"
    assert not serving_zones(plan), "an existing zone's lifecycle is not this stack's"
    records = serving_records(plan)
    assert records and all(r.get("zoneId") == "ZOFFLINE-aiplatform.example.com" for r in records)
    # names there resolve: the certificate is waited for and the NLBs listen with TLS
    assert len(plan.of_type(VALIDATION)) == len(plan.of_type(LB)) == 2
    assert {(lst.get("protocol"), lst.get("port")) for lst in plan.of_type(LISTENER)} == {("TLS", 443)}


def test_a_subzone_is_delegated_from_its_route53_parent_before_validation_waits():
    spec, plan = spec_of("prod"), workload_plan("prod")
    serve = spec.workloads.serving
    assert serve.dns.parent_zone == "aiplatform.example.com"
    zone = plan.one(ZONE, f"{serve.name}-zone")
    assert zone.get("name") == serve.domain
    (ns,) = [r for r in serving_records(plan) if r.get("type") == "NS"]
    assert ns.get("name") == serve.domain and ns.get("zoneId") == "ZOFFLINE-aiplatform.example.com"
    assert ns.property_dependencies["records"] == [zone.urn], "the parent names the new zone's name servers"
    validations = plan.of_type(VALIDATION)
    assert validations and all(ns.urn in v.dependencies for v in validations)
    summary = plan.one(SERVING_ZONE).outputs
    assert summary["name"] == serve.domain and "delegated from aiplatform.example.com" in summary["delegation"]


def test_an_undelegated_zone_does_not_hang_the_up_and_exports_its_name_servers():
    """The shipped default before this change: a new public zone nobody delegated, and a 75-minute wait."""
    platform = with_dns(None)
    spec, plan = spec_of("prod", platform), workload_plan("prod", platform)
    serve = spec.workloads.serving
    assert not serve.dns.resolvable
    zone = plan.one(ZONE, f"{serve.name}-zone")
    assert not plan.of_type(VALIDATION), "nothing waits for a certificate ACM cannot validate yet"
    # no TLS listener without an issued certificate, and no plaintext one in its place
    assert len(plan.of_type(LB)) == 2 and not plan.of_type(LISTENER)
    # the certificates and their validation records exist, so ACM issues them as soon as the zone is delegated
    assert len(plan.of_type(CERT)) == 2
    validation_records = [r for r in plan.of_type(RECORD) if r.name.endswith("-acm-validation")]
    assert validation_records and all(r.property_dependencies["zoneId"] == [zone.urn] for r in validation_records)
    summary = plan.one(SERVING_ZONE).outputs
    assert summary["name"] == serve.domain and "nameServers" in summary
    assert summary["delegation"].startswith("NOT DELEGATED") and "delegated: true" in summary["delegation"]


def test_once_delegated_by_hand_the_next_up_validates_and_listens_with_tls():
    platform = with_dns({"delegated": True})
    plan = workload_plan("prod", platform)
    assert len(plan.of_type(VALIDATION)) == 2
    listeners = plan.of_type(LISTENER)
    assert len(listeners) == 2 and {(lst.get("protocol"), lst.get("port")) for lst in listeners} == {("TLS", 443)}
    assert not [r for r in serving_records(plan) if r.get("type") == "NS"], "no parent zone to write to"


@pytest.mark.parametrize("dns, domain, key, fragment", [
    ({"existingZone": "other.org"}, None, "dns.existingZone", "does not hold"),
    ({"parentZone": "serve.aiplatform.example.com"}, None, "dns.parentZone", "not a parent"),
    ({"existingZone": "aiplatform.example.com", "parentZone": "example.com"}, None, "dns.parentZone", "not both"),
    ({"parentZone": "aiplatform.example.com", "delegated": True}, None, "dns.delegated", "remove the key"),
    (None, "Serve.Example.com", "workloads.serving.domain", "lower-case DNS name"),
])
def test_zone_settings_are_checked_before_anything_is_declared(dns, domain, key, fragment):
    with pytest.raises(SpecError) as err:
        spec_of("prod", with_dns(dns, domain))
    assert key in str(err.value) and fragment in str(err.value)
    assert "stack 'prod'" in str(err.value)


def test_a_zone_needs_a_domain_and_an_aws_account():
    platform = with_dns({"existingZone": "aiplatform.example.com"})
    del platform["workloads"]["serving"]["domain"]
    platform["workloads"]["serving"]["globalRouting"] = "none"
    with pytest.raises(SpecError, match=r"workloads\.serving\.dns: a DNS zone needs workloads\.serving\.domain"):
        spec_of("prod", platform)
