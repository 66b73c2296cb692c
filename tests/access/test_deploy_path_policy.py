"""The `k8s-api-deploy-path` stack policy: a privately reached cluster keeps a private way in for the deployer."""
from __future__ import annotations

import copy

import pytest

from blueprint.plan import run_plan
from tests.access.test_deploy_path import _variant
from tests.conftest import shipped_plan
from tests.policies.helpers import evaluate

NAME = "k8s-api-deploy-path"
SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EXPORT = "gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig"
_plans: dict = {}


def _plan(name: str):
    if name not in _plans:
        stack, cfg = _variant(name)
        _plans[name] = shipped_plan(stack) if cfg is None else run_plan(stack, platform=cfg)
    return _plans[name]


@pytest.mark.parametrize("name", ["dev", "staging", "prod", "staging-public", "prod-gkeprivate"])
def test_the_documented_modes_pass(name):
    report = evaluate(_plan(name), names=[NAME])
    assert report.violations == [] and report.unknown == []


def _without_deployer_rules(plan, region):
    plan.resources = [r for r in plan.resources if not (r.type == SG_RULE and "DeployerPath$" in r.urn
                                                         and r.name.startswith(f"aws-{region}-"))]


def _gke_dns_closed(plan):
    (gke,) = plan.of_type("gcp:container/cluster:Cluster")
    gke.inputs["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] = False


def _without_route_export(plan):
    plan.resources = [r for r in plan.resources if r.type != EXPORT]


@pytest.mark.parametrize("name, mutate, cluster, words", [
    ("staging", lambda p: _without_deployer_rules(p, "us-west-2"), "aws-us-west-2-eks", "admits TCP 443"),
    ("prod", lambda p: _without_deployer_rules(p, "us-east-1"), "aws-us-east-1-eks", "admits TCP 443"),
    ("prod", _gke_dns_closed, "gcp-us-central1-gke", "gets no custom routes"),
    ("prod-gkeprivate", _without_route_export, "gcp-us-central1-gke", "gets no custom routes"),
])
def test_a_private_only_cluster_without_its_way_in_fails(name, mutate, cluster, words):
    plan = copy.deepcopy(_plan(name))
    mutate(plan)
    report = evaluate(plan, names=[NAME])
    (violation,) = report.violations
    assert violation.resource.endswith(f"::{cluster}") and words in violation.message
    assert violation.blocking == (name != "dev")
