"""A checkpoint store that is down is a retry (exit 75, counted by the Job), not a bug (exit 1, FailJob)."""
from __future__ import annotations

import sys

import pytest
from botocore.exceptions import EndpointConnectionError
from torch.distributed.checkpoint.api import CheckpointException

from components.k8s import training
from tests.support.moto_server import free_port
from tests.workloads.conftest import Run, env, train_args
from workloads.contract import BUG_EXIT_CODES, TEMPFAIL_EXIT_CODE
from workloads.storage import StorageUnavailable, is_storage_outage, is_transient_storage_error, storage_call
from workloads.train import __main__ as trainer_main
from workloads.train import trainer

ARGS = ["--batch-size", "1", "--steps", "1", "--checkpoint-interval", "1", "--checkpoint-uri", "c", "--model-uri", "m"]


@pytest.mark.parametrize("exc, transient", [
    (ConnectionResetError("reset by peer"), True),
    (BrokenPipeError("the store's socket closed"), True),
    (TimeoutError("timed out"), True),
    (OSError(5, "I/O error"), True),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), True),
    (CheckpointException("save failed", {1: (ConnectionResetError("reset"), None)}), True),
    (PermissionError("AccessDenied"), False),
    (FileNotFoundError("no such bucket"), False),
    (CheckpointException("save failed", {0: (ValueError("shape mismatch"), None)}), False),
    (ValueError("a bug"), False),
])
def test_transient_storage_errors_are_told_from_bugs(exc, transient):
    assert is_transient_storage_error(exc) is transient
    wrapped = RuntimeError("while saving")
    wrapped.__cause__ = exc
    assert is_transient_storage_error(wrapped) is transient


@pytest.mark.parametrize("exc, outage", [
    (ConnectionResetError("reset by peer"), True),
    (BrokenPipeError("broken pipe"), True),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), True),
    (PermissionError("AccessDenied"), False),
    (ValueError("a bug"), False),
])
def test_a_storage_call_turns_only_transient_failures_into_an_outage(exc, outage):
    with pytest.raises(StorageUnavailable if outage else type(exc)) as raised:
        with storage_call("saving checkpoint step 3 to s3://ckpt/run"):
            raise exc
    assert is_storage_outage(raised.value) is outage
    if outage:
        assert "saving checkpoint step 3 to s3://ckpt/run" in str(raised.value) and raised.value.__cause__ is exc


@pytest.mark.parametrize("exc", [BrokenPipeError("a peer rank's socket"), ConnectionResetError("gloo"),
                                 OSError(5, "I/O error")])
def test_an_os_error_outside_storage_is_a_crash_not_a_retry(monkeypatch, exc):
    """A BrokenPipeError between ranks (or from a loader worker) says nothing about the store: exit 1, not 75."""
    def run(_):
        raise exc

    monkeypatch.setattr(trainer, "run", run)
    with pytest.raises(type(exc)):
        trainer_main.main(ARGS)


def test_an_outage_inside_the_trainer_exits_75(monkeypatch, capsys):
    def run(_):
        with storage_call("saving checkpoint step 1 to s3://ckpt/run"):
            raise ConnectionResetError("reset by peer")

    monkeypatch.setattr(trainer, "run", run)
    assert trainer_main.main(ARGS) == TEMPFAIL_EXIT_CODE
    assert '"event": "storage_unavailable"' in capsys.readouterr().out


def test_the_jobs_failure_policy_retries_the_storage_exit_code():
    assert TEMPFAIL_EXIT_CODE not in BUG_EXIT_CODES
    failing = [v for rule in training.pod_failure_policy()["rules"] if rule["action"] == "FailJob"
               for v in rule.get("onExitCodes", {}).get("values", [])]
    assert TEMPFAIL_EXIT_CODE not in failing


def test_trainer_exits_75_when_the_checkpoint_store_is_unreachable(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused, as in an S3 outage
    run = Run([sys.executable, "-m", "workloads.train",
               *train_args("s3://ckpt/run", str(tmp_path / "model"), 4, 2, "--num-workers", "0")],
              env(AWS_ENDPOINT_URL=closed, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                  AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard"))
    assert run.finish(180) == TEMPFAIL_EXIT_CODE, run.output
    assert run.wait_for(lambda e: e.get("event") == "storage_unavailable", timeout=5)["exit_code"] == 75


@pytest.mark.parametrize("code", [TEMPFAIL_EXIT_CODE, 1])
def test_launcher_passes_the_workers_exit_code_through(tmp_path, code):
    worker = tmp_path / "fails.py"
    worker.write_text(f"import sys\nsys.exit({code})\n")
    for launcher, expected in (("workloads.train.launch", code), ("torch.distributed.run", 1)):
        run = Run([sys.executable, "-m", launcher, "--nproc-per-node=1", "--standalone", "--monitor-interval=0.1",
                   "--max-restarts=0", str(worker)])
        assert run.finish(120) == expected, run.output
