"""Exemptions are not blank cheques, and system components are exempted by a reviewed list in the spec, matched by
where their code comes from, never by a name in policy code."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from blueprint.plan.engine import run_program
from blueprint.spec import SpecError, load_spec
from blueprint.spec.model import REVIEWED_SYSTEM_COMPONENTS
from tests.conftest import platform_config
from tests.policies import programs as P
from tests.policies.helpers import TODAY, evaluate, spec_for

POD_POLICIES = ["k8s-no-privileged", "k8s-no-host-path", "k8s-non-root", "k8s-read-only-root-fs",
                "k8s-seccomp-profile", "k8s-resources-set", "k8s-capabilities-restricted", "k8s-no-host-namespaces"]


def exemption(**kw) -> dict:
    return {"policy": "k8s-image-pinned", "resource": "aws-us-east-1-vendor-exporter",
            "reason": "vendor image without version tags, PLAT-123", "owner": "ml-platform",
            "approvedBy": "security@example.com", "expires": str(TODAY + dt.timedelta(days=60)), **kw}


def problems(**policy) -> str:
    cfg = platform_config("prod")
    cfg["policy"] = policy
    with pytest.raises(SpecError) as err:
        load_spec(cfg, stack="prod")
    return str(err.value)


def test_the_blank_cheque_from_the_issue_is_refused_before_anything_is_declared():
    text = problems(exemptions=[{"policy": "*", "resource": "*", "reason": "everything, forever",
                                 "owner": "nobody", "approvedBy": "nobody", "expires": "2099-12-31"}])
    assert text.startswith("stack 'prod': invalid platform config (3 problems)")
    assert "aiplatform:platform.policy.exemptions[0].policy: '*' is a wildcard; name exactly one policy" in text
    assert "aiplatform:platform.policy.exemptions[0].resource: '*' is a wildcard" in text
    latest = TODAY + dt.timedelta(days=90)
    assert (f"aiplatform:platform.policy.exemptions[0].expires: 2099-12-31 is more than 90 days out; at most "
            f"{latest.isoformat()}") in text


@pytest.mark.parametrize("change,message", [
    ({"resource": "*::aws-us-east-1-vendor-*"}, "is a wildcard"),
    ({"policy": "k8s-image-pinned?"}, "is a wildcard"),
    ({"policy": "K8s Image Pinned"}, "is not a policy name"),
    ({"resource": "urn:pulumi:dev::aiplatform::kubernetes:apps/v1:Deployment::x"}, "is not a URN of stack 'prod'"),
    ({"expires": str(TODAY - dt.timedelta(days=1))}, "expired on"),
    ({"expires": str(TODAY + dt.timedelta(days=91))}, "more than 90 days out"),
    ({"owner": ""}, "owner"),
    ({"reason": "because"}, "reason"),
])
def test_malformed_or_expired_exemptions_fail_with_the_key_named(change, message):
    text = problems(exemptions=[exemption(**change)])
    assert "aiplatform:platform.policy.exemptions[0]" in text and message in text, text


def test_missing_owner_and_duplicates_are_refused():
    entry = exemption()
    del entry["owner"]
    assert "policy.exemptions[0].owner: required but missing" in problems(exemptions=[entry])
    assert "a second exemption of k8s-image-pinned" in problems(exemptions=[exemption(), exemption()])


def test_a_well_formed_exemption_loads_and_exempts_only_its_resource():
    spec = spec_for(exemptions=[exemption(resource="app")])
    assert spec.policy.exemptions[0].owner == "ml-platform"
    report = evaluate(run_program(P.workload(container={"image": "ghcr.io/a/serve:latest"})), spec,
                      ["k8s-image-pinned"])
    assert report.violations == [] and [n.resource.rsplit("::", 1)[-1] for n in report.exempted] == ["app"]


def test_a_hard_limit_cannot_be_exempted():
    spec = spec_for(exemptions=[exemption(policy="network-no-public-admin-ports", resource="sg")])
    report = evaluate(run_program(P.sg(22)), spec, ["network-no-public-admin-ports", "policy-exemptions-valid"])
    assert report.exempted == []
    assert {v.policy for v in report.blocking} == {"network-no-public-admin-ports", "policy-exemptions-valid"}


# ---- reviewed system components ----------------------------------------------------------------------------

def test_policy_code_names_no_component():
    """The old pack skipped the privileged and non-root checks for a DaemonSet *called* nvidia-device-plugin."""
    code = "".join(p.read_text() for p in (Path(__file__).parents[2] / "policies").glob("*.py"))
    for c in REVIEWED_SYSTEM_COMPONENTS:
        assert c.name not in code, c.name


def test_the_real_device_plugin_is_exempted_for_what_its_entry_lists_and_nothing_else():
    report = evaluate(run_program(P.device_plugin()), spec_for(), POD_POLICIES)
    exempted = {n.policy for n in report.exempted}
    assert {"k8s-no-host-path", "k8s-non-root"} <= exempted
    assert all("reviewed system component DaemonSet kube-system/nvidia-device-plugin" in n.message
               for n in report.exempted)
    assert report.violations == []
    extra = evaluate(run_program(P.device_plugin(privileged=True)), spec_for(), POD_POLICIES)
    assert [v.policy for v in extra.violations] == ["k8s-no-privileged"]


@pytest.mark.parametrize("program", [P.device_plugin(image="docker.io/evil/miner:1"),
                                     P.device_plugin(namespace="default"),
                                     P.device_plugin(name="nvidia-device-plugin-daemonset")],
                         ids=["other-image", "other-namespace", "other-name"])
def test_a_look_alike_gets_nothing(program):
    report = evaluate(run_program(program), spec_for(), POD_POLICIES)
    assert report.exempted == []
    assert {"k8s-no-host-path", "k8s-non-root"} <= {v.policy for v in report.violations}


def test_a_stack_can_replace_the_reviewed_list_and_an_empty_list_exempts_nothing():
    report = evaluate(run_program(P.device_plugin()), spec_for(systemComponents=[]), POD_POLICIES)
    assert report.exempted == [] and "k8s-no-host-path" in {v.policy for v in report.violations}
    release = {"kind": "Release", "namespace": "tools", "name": "rel", "chart": "https://charts.example.com/agent",
               "policies": ["k8s-no-host-namespaces"], "reason": "node agent on the host network, PLAT-9",
               "reviewedBy": "security@example.com"}
    program = run_program(P.helm_release({"hostNetwork": True}, chart="agent"))
    ok = evaluate(program, spec_for(systemComponents=[release]), ["k8s-no-host-namespaces"])
    assert ok.violations == [] and [n.policy for n in ok.exempted] == ["k8s-no-host-namespaces"]
    other_chart = run_program(P.helm_release({"hostNetwork": True}, chart="agent", repo="https://evil.example"))
    assert evaluate(other_chart, spec_for(systemComponents=[release]), ["k8s-no-host-namespaces"]).violations


def test_system_component_entries_are_checked_too():
    entry = {"kind": "DaemonSet", "namespace": "kube-system", "name": "agent*", "images": ["nvcr.io/x:1.0"],
             "policies": ["*"], "reason": "too broad by far", "reviewedBy": "me"}
    text = problems(systemComponents=[entry])
    assert "policy.systemComponents[0].name: 'agent*' is a wildcard" in text
    assert "policy.systemComponents[0].images[0]: 'nvcr.io/x:1.0' must be an image repository" in text
    assert "policy.systemComponents[0].policies[0]: '*' is a wildcard" in text
    hard = {**entry, "name": "agent", "images": ["nvcr.io/x"], "policies": ["gpu-max-per-pool", "k8s-no-privleged"]}
    report = evaluate(run_program(P.sg(443)), spec_for(systemComponents=[hard]), ["policy-exemptions-valid"])
    assert sorted(v.message for v in report.violations) == [
        "system component DaemonSet kube-system/agent may not break hard limit 'gpu-max-per-pool'",
        "system component DaemonSet kube-system/agent names unknown policy 'k8s-no-privleged'"]
