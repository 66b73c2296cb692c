"""Drift guard: the flags the Kubernetes components render from the spec parse with the workloads' own parsers."""
from __future__ import annotations

import pytest

from blueprint.catalog.preemption import shutdown_budget
from components.k8s import serving, training
from tests.conftest import STACKS
from tests.k8s.conftest import spec_of
from workloads.contract import BUG_EXIT_CODES, SERVE_PORT, TRAIN_METRICS_PORT
from workloads.serve.__main__ import parse as parse_serve
from workloads.train.__main__ import parse as parse_train


@pytest.mark.parametrize("stack", STACKS)
def test_trainer_args_from_the_spec_parse(stack):
    spec = spec_of(stack)
    t = spec.workloads.training
    if t is None:
        pytest.skip(f"stack {stack} declares no training workload")
    budget = shutdown_budget("aws")
    a = parse_train(training.trainer_args(spec, "s3://ckpt/run", "s3://models/run", budget.checkpoint_s))
    assert (a.batch_size, a.steps, a.checkpoint_interval) == (t.batch_size, t.steps, t.checkpoint_interval)
    assert a.checkpoint_uri == "s3://ckpt/run" and a.model_uri == "s3://models/run"
    assert a.metrics_port == TRAIN_METRICS_PORT and a.emergency_checkpoint_budget_s == budget.checkpoint_s
    assert training.torchrun_command("j", "s", 2, 8, 90)[-2:] == ["-m", "workloads.train"]


@pytest.mark.parametrize("stack", STACKS)
def test_server_args_from_the_spec_parse(stack):
    spec = spec_of(stack)
    s = spec.workloads.serving
    if s is None:
        pytest.skip(f"stack {stack} declares no serving workload")
    drain = shutdown_budget("gcp").serving_drain_s
    a = parse_serve(serving.server_args(spec, "gs://models/m", drain))
    assert (a.max_batch_size, a.max_wait_ms, a.queue_size) == (s.max_batch_size, s.max_wait_ms, s.queue_size)
    assert a.port == SERVE_PORT and a.host == "0.0.0.0" and a.drain_timeout_s == drain
    assert a.model_uri == "gs://models/m"
    assert {p["httpGet"]["path"] for p in serving.probes().values()} == {"/readyz", "/livez"}


def test_bad_flags_exit_2_which_the_job_treats_as_a_bug():
    assert 2 in BUG_EXIT_CODES
    with pytest.raises(SystemExit) as e:
        parse_train(["--batch-size", "0", "--steps", "1", "--checkpoint-interval", "1",
                     "--checkpoint-uri", "x", "--model-uri", "y"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        parse_serve(["--model-uri", "x", "--max-batch-size", "0"])
    assert e.value.code == 2
