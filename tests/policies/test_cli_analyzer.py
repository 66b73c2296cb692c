"""The pack started exactly as ``pulumi preview --policy-pack policies`` starts it, spoken to over its gRPC API.

The CLI's Python policy shim (``pulumi-analyzer-policy-python``) runs in the pack folder with the
``PulumiPolicy.yaml`` runtime options as ``-key=value`` arguments: it resolves ``-virtualenv=../.venv`` against
that folder and runs ``<venv>/bin/python -u -m pulumi.policy <engine> .``. The engine passes the stack's config
in ``PULUMI_CONFIG`` and then calls ``Analyze`` per resource and ``AnalyzeStack`` once. This test does the same
with a plan of the real program, and checks the diagnostics equal what ``blueprint policy`` reports offline.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from blueprint.plan import run_plan
from blueprint.spec.load import REPO, stack_config
from cli.policy_run import evaluate_plan
from blueprint.spec import load_spec
from tests.policies.test_pack_and_reports import broken_prod

PACK = REPO / "policies"
LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory"}


def test_pack_runtime_options_resolve_as_the_cli_resolves_them():
    """``virtualenv`` is relative to the pack folder (the shim's working directory) and must hold a python."""
    options = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())["runtime"]["options"]
    venv = (PACK / options["virtualenv"]).resolve()
    assert (venv / "bin" / "python").is_file(), venv
    assert Path(sys.prefix).resolve() == venv  # the venv the tests (and so the policies) run in


def _struct(value: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


def _provider(plan, r):
    p = next((x for x in plan if x.urn == r.provider_urn), None)
    if p is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(type=p.type, name=p.name, urn=p.urn, properties=_struct(p.inputs))


def _options(r):
    return analyzer_pb2.AnalyzerResourceOptions(parent=r.parent or "")


@pytest.fixture(scope="module")
def pack():
    """The pack process, started as the shim starts it, with prod's (broken) config in PULUMI_CONFIG."""
    cfg = broken_prod()
    config, secret_keys = stack_config("prod", cfg)
    env = {**os.environ, "PULUMI_CONFIG": json.dumps(config), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(secret_keys),
           "PULUMI_STACK": "prod", "PULUMI_PROJECT": "aiplatform", "PULUMI_DRY_RUN": "true",
           "PULUMI_ORGANIZATION": "organization"}
    env.pop("PYTHONPATH", None)  # the pack must find the repository by itself
    venv = (PACK / yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())["runtime"]["options"]["virtualenv"])
    proc = subprocess.Popen([str(venv / "bin" / "python"), "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
                            cwd=PACK, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = proc.stdout.readline().decode().strip()
        assert port.isdigit(), proc.stderr.read().decode() if proc.poll() is not None else port
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel), cfg
        channel.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_pack_started_by_the_cli_reports_what_blueprint_policy_reports(pack):
    stub, cfg = pack
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    from policies import POLICY_NAMES
    assert info.name == "aiplatform-guardrails" and {p.name for p in info.policies} == POLICY_NAMES
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}  # prod: mandatory

    plan = run_plan("prod", platform=cfg)
    got = set()
    for r in plan:
        resp = stub.Analyze(analyzer_pb2.AnalyzeRequest(
            type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name, options=_options(r),
            provider=_provider(plan, r)))
        got |= {(d.policyName, d.urn or r.urn, LEVELS[d.enforcementLevel]) for d in resp.diagnostics}
    stack = stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[analyzer_pb2.AnalyzerResource(
        type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name, options=_options(r),
        provider=_provider(plan, r), parent=r.parent or "", dependencies=r.dependencies,
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                              for k, v in r.property_dependencies.items() if v}) for r in plan]))
    stack_urn = next(r.urn for r in plan if r.type == "pulumi:pulumi:Stack")
    got |= {(d.policyName, d.urn or stack_urn, LEVELS[d.enforcementLevel]) for d in stack.diagnostics}

    offline = evaluate_plan(plan, load_spec(cfg, stack="prod"), today=dt.date.today())
    assert offline.unknown == []
    want = {(v.policy, v.resource, v.enforcement) for v in offline.violations}
    assert {"data-residency", "gpu-max-per-stack", "stack-within-budget"} <= {p for p, _, _ in want}
    assert got == want, (len(got), len(want))
    assert len(want) > 5
