"""Checks of the serving domain and its Route 53 zone (``model.ServingDns``); like validate.py, they return issues."""
from __future__ import annotations

import re

from blueprint.spec.issues import SpecIssue
from blueprint.spec.model import Cloud, PlatformSpec

HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def dns_issues(spec: PlatformSpec) -> list[SpecIssue]:
    """The serving domain is a lower-case DNS name; its zone is an existing one holding it, or a new one delegated
    from an existing parent, or a new one delegated by hand (model.ServingDns)."""
    serve = spec.workloads.serving
    assert serve is not None
    dns, at = serve.dns, "workloads.serving.dns"
    out: list[SpecIssue] = []
    if serve.domain is None:
        if dns.model_fields_set:
            out.append(SpecIssue(at, "a DNS zone needs workloads.serving.domain; set the domain or remove the key"))
        return out
    if not HOSTNAME.match(serve.domain):
        return [SpecIssue("workloads.serving.domain", f"'{serve.domain}' is not a lower-case DNS name "
                                                       "(labels of a-z, 0-9 and '-', no trailing dot)")]
    labels = serve.domain.split(".")
    parents = tuple(".".join(labels[i:]) for i in range(1, len(labels) - 1))
    if dns.model_fields_set and not any(r.cloud is Cloud.aws for r in spec.regions):
        out.append(SpecIssue(at, "the serving zone is a Route 53 zone in the first AWS region's account, and the "
                                 "stack has no AWS region; remove the key and keep the names in your own DNS"))
    if dns.existing_zone is not None and dns.parent_zone is not None:
        out.append(SpecIssue(f"{at}.parentZone", "give existingZone (records go into that zone) or parentZone (a "
                                                 "new zone for the domain is delegated from it), not both"))
    if dns.existing_zone is not None and dns.existing_zone not in (serve.domain, *parents):
        out.append(SpecIssue(f"{at}.existingZone", f"'{dns.existing_zone}' does not hold '{serve.domain}'; give the "
                                                   "domain itself or one of its parents", (serve.domain, *parents)))
    if dns.parent_zone is not None and dns.parent_zone not in parents:
        out.append(SpecIssue(f"{at}.parentZone", f"'{dns.parent_zone}' is not a parent of '{serve.domain}'",
                             parents))
    if "delegated" in dns.model_fields_set and (dns.existing_zone or dns.parent_zone):
        out.append(SpecIssue(f"{at}.delegated", "delegated is for a zone you delegate by hand; with existingZone "
                                                "or parentZone the program knows the zone resolves; remove the key"))
    return out
