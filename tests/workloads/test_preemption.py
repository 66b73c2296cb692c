"""Two-process torchrun on CPU (gloo): SIGTERM and SIGKILL mid-run, resume, and bitwise-identical final weights."""
from __future__ import annotations

import os
import signal
import time
import urllib.request

import pytest
import torch

from components.k8s import training
from tests.support.processes import alive
from tests.workloads.conftest import free_port, torchrun, train_args
from workloads.storage import load_model
from workloads.train.checkpoint import complete_checkpoints
from workloads.contract import BUG_EXIT_CODES, PREEMPTED_EXIT_CODE

STEPS, INTERVAL = 160, 20


def is_step(n: int):
    return lambda e: e.get("event") == "step" and e["step"] >= n


def weights(uri: str) -> dict[str, torch.Tensor]:
    model, meta = load_model(uri)
    assert meta["step"] == STEPS
    return model.state_dict()


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs from the uninterrupted run"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, torch.Tensor]:
    root = tmp_path_factory.mktemp("reference")
    run = torchrun(train_args(str(root / "ckpt"), str(root / "model"), STEPS, INTERVAL, "--num-workers", "0"))
    assert run.finish() == 0, run.output
    assert run.named("start")[0]["world"] == 2
    return weights(str(root / "model"))


def test_preemption_exit_code_is_the_one_the_job_retries():
    assert PREEMPTED_EXIT_CODE not in BUG_EXIT_CODES
    rules = training.pod_failure_policy()["rules"]
    first = next(r for r in rules if PREEMPTED_EXIT_CODE in r.get("onExitCodes", {}).get("values", []))
    assert first["action"] == "Count"


def test_sigterm_checkpoints_exits_143_and_resume_matches_uninterrupted_run(tmp_path, reference):
    ckpt, model = str(tmp_path / "ckpt"), str(tmp_path / "model")
    port = free_port()
    # data-loader workers on: SIGTERM goes to the whole process group, so they must ignore it
    args = train_args(ckpt, model, STEPS, INTERVAL, "--num-workers", "1")
    args[args.index("--metrics-port") + 1] = str(port)
    run = torchrun(args)
    run.wait_for(is_step(INTERVAL + 7))  # between checkpoints: the emergency one has something to add
    scraped = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    assert "train_step " in scraped and "train_checkpoint_stall_seconds_count" in scraped
    assert "train_tokens_per_second" in scraped
    run.signal_group(signal.SIGTERM)
    assert run.finish() == PREEMPTED_EXIT_CODE, run.output
    [pre] = run.named("preempted")
    # nothing lost: the emergency save covers the steps since the last interval save (none needed if the
    # signal landed exactly on one, which a loaded machine can make happen)
    assert pre["committed_step"] == pre["step"]
    assert pre["emergency_checkpoint"] is (pre["step"] % INTERVAL != 0)
    assert pre["step"] < STEPS and not run.named("exported")
    assert complete_checkpoints(ckpt)[0].step == pre["step"]

    resumed = torchrun(train_args(ckpt, model, STEPS, INTERVAL, "--num-workers", "1"))
    assert resumed.finish() == 0, resumed.output
    [r] = resumed.named("resumed")
    assert r["step"] == pre["step"] and r["skipped_keys"] == []
    first = [e for e in resumed.named("step")][0]
    assert first["step"] == pre["step"] + 1
    assert_identical(weights(model), reference)


def ranks_of(run) -> list[int]:
    """The trainer processes under the launcher (each torchrun rank runs in a session of its own)."""
    deadline = time.monotonic() + 60
    while len(pids := [p for p in run.tree()[1:] if "workloads.train" in _cmdline(p)]) < 2:
        assert time.monotonic() < deadline, f"ranks not found under the launcher: {run.tree()}"
        time.sleep(0.1)
    return pids


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_dead(pids: list[int], timeout: float = 60) -> list[int]:
    """The pids still alive after ``timeout`` (polled; returns as soon as none is)."""
    deadline = time.monotonic() + timeout
    while (left := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_sigkill_resumes_from_last_complete_checkpoint_and_matches(tmp_path, reference):
    ckpt, model = str(tmp_path / "ckpt"), str(tmp_path / "model")
    run = torchrun(train_args(ckpt, model, STEPS, INTERVAL, "--num-workers", "0"))
    run.wait_for(lambda e: e.get("event") == "checkpoint_committed" and e["step"] >= 3 * INTERVAL)
    run.wait_for(is_step(3 * INTERVAL + 5))
    # the node vanished: every process at once, launcher and ranks; no handler runs, a save may be half-written
    pids = run.signal_tree(signal.SIGKILL)
    assert len(pids) >= 3 and run.finish() == -signal.SIGKILL
    assert not wait_dead(pids), "a rank survived SIGKILL"
    last = max(e["step"] for e in run.named("checkpoint_committed"))
    found = complete_checkpoints(ckpt)
    assert found and found[0].step >= last  # a commit can land after the line we read; never an older one
    assert found[0].step < STEPS and not (tmp_path / "model").exists(), "the killed run still finished"

    resumed = torchrun(train_args(ckpt, model, STEPS, INTERVAL, "--num-workers", "0"))
    assert resumed.finish() == 0, resumed.output
    [r] = resumed.named("resumed")
    assert r["step"] == found[0].step
    assert [e["step"] for e in resumed.named("step")] == list(range(r["step"] + 1, STEPS + 1))
    assert_identical(weights(model), reference)


def test_ranks_die_with_a_launcher_killed_outright(tmp_path):
    """SIGKILL to the launcher alone (the OOM killer, a crashed agent): its ranks must not train on unseen, or a
    replacement pod would share the checkpoint directory with them."""
    ckpt, model = str(tmp_path / "ckpt"), str(tmp_path / "model")
    run = torchrun(train_args(ckpt, model, 10 * STEPS, INTERVAL, "--num-workers", "0"))
    run.wait_for(lambda e: e.get("event") == "checkpoint_committed" and e["step"] >= INTERVAL)
    ranks = ranks_of(run)
    try:
        os.kill(run.proc.pid, signal.SIGKILL)
        assert run.finish() == -signal.SIGKILL
        left = wait_dead(ranks)
        assert not left, f"ranks {left} outlived their launcher"
        newest = complete_checkpoints(ckpt)[0].step
        steps = [e["step"] for e in run.named("step")]
        # orphans fast enough to finish within wait_dead's bound leave no survivor but their work: a full run
        assert newest < 10 * STEPS and max(steps) < 10 * STEPS and not (tmp_path / "model").exists(), (
            f"ranks trained on after their launcher died: checkpoint step {newest}, last step {max(steps)}, "
            f"artifact exported: {(tmp_path / 'model').exists()}")
    finally:
        for pid in ranks:  # a failed assertion above leaves orphans: do not let them outlive the test
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_partial_checkpoint_without_marker_is_skipped(tmp_path):
    ckpt, model = str(tmp_path / "ckpt"), str(tmp_path / "model")
    run = torchrun(train_args(ckpt, model, 40, 10, "--num-workers", "0", "--keep-checkpoints", "5"))
    assert run.finish() == 0, run.output
    newest = complete_checkpoints(ckpt)[0]
    assert newest.step == 40
    (tmp_path / "ckpt" / "step-000000040" / "_COMMITTED").unlink()  # as if killed before the commit
    assert complete_checkpoints(ckpt)[0].step == 30
    resumed = torchrun(train_args(ckpt, model, 40, 10, "--num-workers", "0"))
    assert resumed.finish() == 0, resumed.output
    assert resumed.named("resumed")[0]["step"] == 30
    assert [e["step"] for e in resumed.named("step")] == list(range(31, 41))
