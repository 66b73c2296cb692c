"""Shipped stacks, a broken stack config, enforcement per environment, unknown values, reports and the pack."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import runpy
from pathlib import Path

import jsonschema
import pytest
import yaml

from blueprint.plan import run_plan
from blueprint.spec.load import REPO, stack_config
from cli.main import main
from cli.policy_run.report import render, to_sarif
from policies import ALL_POLICIES
from tests.conftest import STACKS, plan_commands_with, platform_config, shipped_plan
from tests.policies.helpers import evaluate, spec_for

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_have_no_violation(stack):
    report = evaluate(shipped_plan(stack), spec_for(stack))
    assert not report.blocking, [(v.policy, v.resource, v.message) for v in report.blocking]
    assert report.violations == [] and report.unknown == []


# Guards against resources the platform never declares (its images live in GHCR; no principal has a key): their
# passing cases are the fixed twins in test_hardening_policies.py.
GUARDS = {"container-registry-hardened", "iam-no-long-lived-keys"}


def test_every_policy_sees_something_in_the_shipped_stacks():
    """A pass only means something if the policy met resources it checks (its 'good' case is the real program)."""
    types = set().union(*(shipped_plan(s).counts_by_type() for s in STACKS))
    blind = {p.name for p in ALL_POLICIES if p.applies_to is not None and not any(p.applies_to(t) for t in types)}
    assert blind == GUARDS


def broken_prod() -> dict:
    cfg = platform_config("prod")
    cfg["regions"].append({"cloud": "aws", "region": "eu-west-1", "systemPool": {"instanceType": "m7i.xlarge"},
                           "gpuPools": [{"name": "train-a100", "accelerator": "a100-40gb",
                                         "instanceType": "p4d.24xlarge", "capacityType": "on-demand",
                                         "purpose": "training", "scaling": {"min": 0, "desired": 0, "max": 8}}]})
    cfg["budget"]["monthlyUsd"] = 1000
    cfg["policy"] = {"allowedInstanceTypes": ["p5.48xlarge", "g6.2xlarge", "a3-highgpu-8g", "g2-standard-8"],
                     "maxGpusPerPool": 32, "maxGpusPerStack": 64,
                     # a hard limit takes no exemption: policy-exemptions-valid refuses it, the pool still fails
                     "exemptions": [exemption("gpu-max-per-pool", "aws-eu-west-1-train-a100")]}
    return cfg


def exemption(policy: str, resource: str, days: int = 30) -> dict:
    return {"policy": policy, "resource": resource, "reason": "temporary EU experiment, PLAT-7", "owner": "ml-platform",
            "approvedBy": "cto@example.com", "expires": str(dt.date.today() + dt.timedelta(days=days))}


def test_broken_stack_fails_with_the_expected_policies():
    cfg = broken_prod()
    plan = run_plan("prod", platform=cfg)
    report = evaluate(plan, None)
    names = {v.policy for v in report.blocking}
    assert {"data-residency", "gpu-instance-allowlist", "gpu-max-per-pool", "gpu-max-per-stack",
            "stack-within-budget", "policy-exemptions-valid"} <= names, names
    residency = [v for v in report.violations if v.policy == "data-residency"]
    assert residency and all("eu-west-1" in v.message for v in residency)
    refused = [v.message for v in report.violations if v.policy == "policy-exemptions-valid"]
    assert refused == ["exemption of hard limit 'gpu-max-per-pool' for aws-eu-west-1-train-a100 is refused: hard "
                       "limits take no exemptions"]
    assert any(v.resource.endswith("::aws-eu-west-1-train-a100") for v in report.violations
               if v.policy == "gpu-max-per-pool") and not report.exempted


def test_enforcement_is_advisory_in_dev_and_mandatory_in_prod():
    cfg = platform_config("dev")
    cfg["policy"] = {"allowedInstanceTypes": ["g6.xlarge"]}
    dev = evaluate(run_plan("dev", platform=cfg), None, ["gpu-instance-allowlist"])
    assert dev.violations and not dev.blocking and {v.enforcement for v in dev.violations} == {"advisory"}
    cfg["policy"]["enforcement"] = "mandatory"
    assert evaluate(run_plan("dev", platform=cfg), None, ["gpu-instance-allowlist"]).blocking
    # a --policy-pack-config file overrides the pack level, as in the CLI
    forced = evaluate(run_plan("dev", platform=cfg), None, ["gpu-instance-allowlist"],
                      pack_config={"gpu-instance-allowlist": {"enforcementLevel": "advisory"}})
    assert forced.violations and not forced.blocking


def test_unknown_values_are_reported_like_the_cli_not_passed_or_failed():
    import pulumi_aws as aws
    from blueprint.plan.engine import run_program

    def program():
        key = aws.kms.Key("k")  # its arn is unknown during preview
        aws.s3.BucketAcl("acl", bucket="b", acl=key.arn)
    report = evaluate(run_program(program), None, ["storage-no-public-access"])
    assert report.violations == []
    assert [n.message for n in report.unknown] == [
        "can't run policy 'storage-no-public-access' during preview: string value at .acl can't be known during preview"]


def test_sarif_validates_and_names_rules_and_resources():
    report = evaluate(run_plan("prod", platform=broken_prod()), None)
    doc = to_sarif(report)
    jsonschema.validate(doc, SCHEMA)
    results = doc["runs"][0]["results"]
    rules = [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]]
    assert {r["ruleId"] for r in results if r["level"] == "error"} >= {"data-residency", "stack-within-budget"}
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in results if "ruleIndex" in r)
    jsonschema.validate(to_sarif(evaluate(shipped_plan("dev"), spec_for("dev"))), SCHEMA)


def test_sarif_results_have_a_line_and_exempted_ones_are_suppressed_failures():
    """GitHub places a result only with region.startLine; an exempted finding is a suppressed 'fail' (SARIF
    §3.27.10: level other than 'none' needs kind 'fail') with the fingerprint the violation would have."""
    cfg = broken_prod()
    cfg["policy"]["exemptions"] = [exemption("data-residency", "aws-eu-west-1-checkpoints")]  # one resource only
    report = evaluate(run_plan("prod", platform=cfg), None)
    assert [(n.policy, n.resource.rsplit("::", 1)[-1]) for n in report.exempted] == [
        ("data-residency", "aws-eu-west-1-checkpoints")]
    assert "aws-eu-west-1-checkpoints" not in {v.resource.rsplit("::", 1)[-1] for v in report.violations
                                               if v.policy == "data-residency"}
    doc = to_sarif(report)
    jsonschema.validate(doc, SCHEMA)
    lines = (REPO / "stacks" / "Pulumi.prod.yaml").read_text().splitlines()
    results = doc["runs"][0]["results"]
    for r in results:
        line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
        assert lines[line - 1].strip().startswith("aiplatform:platform:")
        assert r.get("kind", "fail") == "fail" or r["level"] == "none"
    suppressed = [r for r in results if r.get("suppressions")]
    assert suppressed and {r["ruleId"] for r in suppressed} == {"data-residency"}
    assert all(r["partialFingerprints"]["policyResource/v1"].startswith("data-residency|") for r in suppressed)


def test_cli_formats_and_exit_code(tmp_path, capsys, monkeypatch):
    assert main(["policy", "--stack", "dev"]) == 0
    assert "0 mandatory" in capsys.readouterr().out
    assert main(["policy", "--stack", "dev", "--format", "markdown"]) == 0
    assert "Policy check: `dev`" in capsys.readouterr().out
    out = tmp_path / "r.sarif"
    assert main(["policy", "--stack", "dev", "--format", "sarif", "--out", str(out)]) == 0
    jsonschema.validate(json.loads(out.read_text()), SCHEMA)
    # a mandatory failure exits 1: stacks/ holds the real environments, so point the CLI at a broken copy
    import cli.commands.policy as cmd
    plan_commands_with(monkeypatch, lambda stack: run_plan(stack, platform=broken_prod()))
    assert main(["policy", "--stack", "prod", "--format", "json"]) == 1
    (doc,) = json.loads(capsys.readouterr().out)  # always a list, one object per stack
    assert doc["failed"] and any(v["policy"] == "data-residency" and v["blocking"] for v in doc["violations"])
    assert cmd.HELP


def test_table_and_markdown_list_each_violation():
    report = evaluate(run_plan("prod", platform=broken_prod()), None)
    table, md = render(report, "table"), render(report, "markdown")
    for v in report.violations:
        assert v.policy in table and v.policy in md


def test_pack_reads_its_settings_from_the_stack_config_the_cli_passes(monkeypatch):
    """Inside `pulumi preview` the pack gets the stack config in PULUMI_CONFIG; without it, the stack file."""
    from policies import _framework
    config, secret_keys = stack_config("dev")
    monkeypatch.setenv("PULUMI_STACK", "dev")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(secret_keys))
    expected = _framework.PolicySettings.from_spec(spec_for("dev"))
    assert _framework.context_from_environment().settings == expected
    assert _framework.pack_enforcement_level().value == "advisory"
    monkeypatch.delenv("PULUMI_CONFIG")
    assert _framework.context_from_environment().settings == expected
    monkeypatch.setenv("PULUMI_STACK", "prod")
    assert _framework.pack_enforcement_level().value == "mandatory"
    monkeypatch.delenv("PULUMI_STACK")
    assert _framework.context_from_environment().settings.enforcement.value == "mandatory"  # strict without a stack


def test_policy_pack_main_only_builds_the_pack(monkeypatch):
    import pulumi_policy
    built = {}

    class Capture:
        def __init__(self, **kw):
            built.update(kw)
    monkeypatch.setattr(pulumi_policy, "PolicyPack", Capture)
    monkeypatch.setenv("PULUMI_STACK", "prod")
    runpy.run_path(str(REPO / "policies" / "__main__.py"), run_name="__main__")
    assert built["name"] == "aiplatform-guardrails" and built["policies"] == ALL_POLICIES
    assert built["enforcement_level"].value == "mandatory"
    meta = yaml.safe_load((REPO / "policies" / "PulumiPolicy.yaml").read_text())
    assert meta["runtime"]["name"] == "python" and meta["name"] == built["name"]
    for p in ALL_POLICIES:
        assert p.description and p.severity and p.remediation_steps and p.url, p.name
    assert os.path.exists(REPO / "policies" / "README.md")


# Where the reasons live: the clouds', Kubernetes', FinOps Foundation's and Pulumi's own documentation.
REFERENCE_HOSTS = {"docs.aws.amazon.com", "cloud.google.com", "kubernetes.io", "www.finops.org", "www.pulumi.com"}


def test_every_policy_links_to_the_reason_and_the_readme_lists_it():
    """A link to the reason (issue 7): an authoritative https page, not this repo's README under a made-up URL."""
    from urllib.parse import urlparse
    readme = (REPO / "policies" / "README.md").read_text()
    for p in ALL_POLICIES:
        url = urlparse(p.url)
        assert url.scheme == "https" and url.netloc in REFERENCE_HOSTS, (p.name, p.url)
        assert url.path not in ("", "/") and "README" not in url.path and "example" not in p.url, (p.name, p.url)
        section = readme.split(f"### {p.name}\n", 1)[1].split("\n### ", 1)[0]
        assert f"<{p.url}>" in section, p.name


def test_readme_policy_section_is_generated_from_the_pack():
    """The README's per-policy sections (level, Checkov/CIS equivalents, judged types) come from the policy objects:
    `python -m policies._docs` rewrites them, so they cannot drift."""
    from policies import _docs
    text = (REPO / "policies" / "README.md").read_text()
    assert _docs.updated(text) == text, "stale: run `python -m policies._docs`"
    for p in ALL_POLICIES:
        section = text.split(f"### {p.name}\n", 1)[1].split("\n### ", 1)[0]
        assert all(ref in section for ref in p.equivalents.checkov), p.name
        assert all(str(c) in section for c in p.equivalents.cis), p.name
        assert ("hard limit" in section) == p.hard, p.name


def test_readme_names_the_hard_limits_and_what_is_deliberately_not_covered():
    text = (REPO / "policies" / "README.md").read_text()
    levels = text.split("## Levels", 1)[1].split("\n## ", 1)[0]
    hard_paragraph = levels.split("**Every other policy**", 1)[0]
    assert {p.name for p in ALL_POLICIES if p.hard} == {p.name for p in ALL_POLICIES if f"`{p.name}`" in
                                                         hard_paragraph}
    uncovered = text.split("## Checkov and CIS items this pack deliberately does not cover", 1)[1].split("\n## ")[0]
    areas = {line.split("|")[1].strip() for line in uncovered.splitlines() if line.startswith("| ")} - {"area", "---"}
    assert {"EKS", "GKE", "S3", "GCS", "KMS", "IAM", "VPC", "Pods"} <= areas, areas
    covered = {ref for p in ALL_POLICIES for ref in p.equivalents.checkov}
    listed = set(re.findall(r"CKV2?_[A-Z0-9]+_\d+", uncovered))
    assert not covered & listed, covered & listed  # an item is either covered or explained, never both


def test_sarif_rules_carry_the_checkov_and_cis_equivalents(tmp_path):
    out = tmp_path / "prod.sarif"
    assert main(["policy", "--stack", "prod", "--format", "sarif", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA)
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == {p.name for p in ALL_POLICIES}
    ports = rules["network-no-public-admin-ports"]
    assert {"CKV_AWS_24", "CKV_AWS_25", "CKV_GCP_2", "CIS AWS 5.0.0 5.3", "CIS GCP 4.0.0 3.6", "hard-limit"} <= \
        set(ports["properties"]["tags"])
    assert ports["properties"]["equivalents"]["checkov"][:2] == ["CKV_AWS_24", "CKV_AWS_25"]
    assert ports["properties"]["hardLimit"] is True and ports["helpUri"].startswith("https://docs.aws.amazon.com/")
    assert "CKV_AWS_24" in ports["help"]["markdown"] and "checkov.io" in ports["help"]["markdown"]
    pods = rules["k8s-no-host-namespaces"]["properties"]
    assert {"CKV_K8S_17", "CIS EKS 1.8.0 4.2.2", "CIS Kubernetes 1.12 5.2.4"} <= set(pods["tags"])
    assert rules["gpu-pool-tainted"]["properties"]["equivalents"] == {"checkov": [], "cis": []}
