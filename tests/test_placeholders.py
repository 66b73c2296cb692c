"""Documentation placeholders: ``pulumi up`` refuses them with one error naming the stack and every key; the offline
commands plan the shipped templates and list the same keys as "must be replaced before deploying"."""
from __future__ import annotations

import pytest

from cli.main import main
from blueprint.plan import run_plan
from blueprint.plan.engine import PlanError, run_program
from blueprint.spec.load import stack_config
from components.platform import load_from_pulumi_config
from blueprint.spec.placeholders import REPLACE_BEFORE_DEPLOYING, find_placeholders
from tests.conftest import platform_config


@pytest.mark.parametrize("value, fragment", [
    ("arn:aws:iam::123456789012:role/platform-admins", "123456789012"),      # docs.aws.amazon.com example account
    ("arn:aws:iam::111122223333:role/x", "111122223333"),
    ("cr-0a1b2c3d4e5f60789", "0a1b2c3d"),                                      # the ODCR id prod shipped with
    ("cr-1234567890abcdef0", "12345678"),                                      # the id AWS's EC2 docs use
    ("vpc-1a2b3c4d", "1a2b3c4d"),
    ("serve.aiplatform.example.com", "example.com"),                            # RFC 2606
    ("api.example.org", "example.org"),
    ("models.internal.test", ".test"),
    ("https://hooks.nowhere.invalid/x", ".invalid"),
    ("203.0.113.0/24", "TEST-NET-3"),                                           # RFC 5737
    ("198.51.100.7/32", "TEST-NET-2"),
    ("192.0.2.0/25", "TEST-NET-1"),
    ("2001:db8:1::/48", "RFC 3849"),
])
def test_each_rule_recognises_a_documentation_value(value, fragment):
    (issue,) = find_placeholders({"k": value})
    assert issue.path == "k" and fragment in issue.message


@pytest.mark.parametrize("value", [
    "arn:aws:iam::481516234200:role/platform-admins", "cr-0f3e9a71c2b84d5e6", "serve.mycorp.com",
    "10.64.0.0/10", "198.51.101.0/24", "aiplat-prod-ml", "ghcr.io/aiplatform/train:0.1.0", "us-east-1a",
    "examples.com", "p5.48xlarge",
])
def test_real_looking_values_are_not_placeholders(value):
    assert find_placeholders({"k": value}) == []


def test_paths_are_the_config_keys_under_the_platform_object():
    found = find_placeholders(platform_config("prod"))
    assert [i.path for i in found] == ["clusterAdminRoleArns[0]", "access.deployer.awsRoleArn",
                                       "regions[0].gpuPools[0].reservationId",
                                       "workloads.serving.domain", "workloads.serving.dns.parentZone"]


def test_pulumi_up_refuses_placeholders_naming_the_stack_and_every_key():
    """`is_dry_run()` is false in `pulumi up`'s update: the program stops before declaring anything."""
    with pytest.raises(PlanError) as err:
        run_plan("staging", preview=False)
    text = str(err.value)
    assert text.startswith(f"stack 'staging': {REPLACE_BEFORE_DEPLOYING}")
    assert "aiplatform:platform.clusterAdminRoleArns[0]" in text and "123456789012" in text
    assert "aiplatform:platform.workloads.serving.domain" in text


def test_pulumi_up_deploys_once_the_placeholders_are_replaced():
    """The same entry point, in the same deployment mode, accepts the stack once its values are real ones."""
    platform = platform_config("staging")
    platform["clusterAdminRoleArns"] = ["arn:aws:iam::481516234200:role/platform-admins"]
    platform["access"]["deployer"]["awsRoleArn"] = "arn:aws:iam::481516234200:role/aiplatform-deployer"
    serve = platform["workloads"]["serving"]
    serve["domain"] = "serve.staging.mycorp.net"
    serve["dns"] = {"existingZone": "mycorp.net"}
    assert find_placeholders(platform) == []
    loaded = []
    config, secret_keys = stack_config("staging", platform)
    plan = run_program(lambda: loaded.append(load_from_pulumi_config()), stack="staging", config=config,
                       secret_keys=secret_keys, preview=False)
    assert loaded[0].workloads.serving.domain == "serve.staging.mycorp.net" and plan.diagnostics == []


def test_the_offline_plan_keeps_templates_plannable_and_says_what_to_replace(capsys):
    assert main(["plan", "--stack", "staging"]) == 0
    err = capsys.readouterr().err
    assert REPLACE_BEFORE_DEPLOYING in err
    assert "aiplatform:platform.clusterAdminRoleArns[0]" in err and "123456789012" in err
    assert "aiplatform:platform.workloads.serving.domain" in err and "example.com" in err
    # the program warns the same in a preview (a real `pulumi preview` prints it as a diagnostic)
    (diag,) = run_plan("staging").diagnostics
    assert diag["severity"] == "warning" and REPLACE_BEFORE_DEPLOYING in diag["message"]
