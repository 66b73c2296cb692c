"""What the AWS APIs refuse although the mock runtime and moto accept it: character sets of descriptions and tags,
checked on every shipped stack and on the variants the creation-order check plans (first-up review, round 1)."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from blueprint.plan import Plan, PlannedResource
from tests.conftest import STACKS, shipped_plan
from tests.test_creation_order import variant

VARIANTS = ("global-accelerator", "gcp-global-lb", "dedicated", "peer")

# EC2 security groups and their rules: "Valid descriptions are strings less than 256 characters from the following
# set: a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*" (AuthorizeSecurityGroupIngress/Egress InvalidParameterValue; the same set
# for CreateSecurityGroup's GroupDescription, EC2 API reference). hashicorp/terraform-provider-aws#18874 quotes the
# regex AWS validates with; an apostrophe ("Envoy's NodePort") failed every stack's bootstrap pass.
EC2_DESCRIPTION = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}$")
SG_TYPES = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
            "aws:ec2/securityGroupRule:SecurityGroupRule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")

# Tags: the strictest set the program's tagged AWS services document ("Unicode letters, digits, white space, and
# _ . : / = + - @", 128 / 256 characters for key / value; IAM, KMS (TagResource), EKS, FSx, S3 and Route 53 share
# it; EC2 allows more). A comma, as in the KMS key's former purpose tag "cluster secrets, logs, volumes", is not
# in it (AWS::KMS::Key Tag: "Unicode letters, digits, whitespace, _, ., /, =, +, and -").
TAG_CHARS = re.compile(r"^[\w\s.:/=+\-@]*$")


def _plans() -> Iterator[tuple[str, Plan]]:
    yield from ((s, shipped_plan(s)) for s in STACKS)
    yield from ((v, variant(v)) for v in VARIANTS)


def _descriptions(r: PlannedResource) -> Iterator[str]:
    if isinstance(r.inputs.get("description"), str):
        yield r.inputs["description"]
    for direction in ("ingress", "egress"):
        for rule in r.inputs.get(direction) or []:
            if isinstance(rule, dict) and isinstance(rule.get("description"), str):
                yield rule["description"]


def _tags(r: PlannedResource) -> Iterator[tuple[str, str]]:
    for key in ("tags", "tagsAll"):
        if isinstance(r.inputs.get(key), dict):
            yield from r.inputs[key].items()
    for spec in r.inputs.get("tagSpecifications") or []:
        if isinstance(spec, dict) and isinstance(spec.get("tags"), dict):
            yield from spec["tags"].items()
    if r.type == "aws:autoscaling/tag:Tag":
        tag = r.inputs["tag"]
        yield tag["key"], tag["value"]


def test_every_security_group_and_rule_description_is_in_ec2s_character_set():
    bad = [(name, r.name, d) for name, plan in _plans() for r in plan if r.type in SG_TYPES
           for d in _descriptions(r) if not EC2_DESCRIPTION.match(d)]
    assert bad == []


def test_every_aws_tag_is_in_the_strictest_tag_character_set_and_length():
    bad = [(name, r.name, k, v) for name, plan in _plans() for r in plan if r.type.startswith("aws:")
           for k, v in _tags(r) if isinstance(v, str)
           and not (TAG_CHARS.match(k) and TAG_CHARS.match(v) and len(k) <= 128 and len(v) <= 256)]
    assert bad == []


@pytest.mark.parametrize("text, ok", [("traffic and health checks to the Envoy NodePort", True),
                                      ("serving NLB to Envoy's NodePort", False), ("a;b{c}!$*", True),
                                      ("ünïcode", False), ("x" * 256, False)])
def test_the_description_check_is_the_documented_set(text, ok):
    assert bool(EC2_DESCRIPTION.match(text)) is ok


@pytest.mark.parametrize("text, ok", [("cluster-secrets logs volumes", True), ("cluster secrets, logs", False),
                                      ("k8s.io/cluster-autoscaler/node-template/taint/x", True),
                                      ("present:NoSchedule", True), ("a&b", False)])
def test_the_tag_check_is_the_documented_set(text, ok):
    assert bool(TAG_CHARS.match(text)) is ok
