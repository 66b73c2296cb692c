"""What the trainer reports: throughput over wall time, and what each checkpoint costs the loop (StallMeter)."""
from __future__ import annotations

import sys

import pytest
import torch

from tests.workloads.conftest import TINY, Run, train_args
from workloads.train.__main__ import parse
from workloads.train.metrics import StallMeter
from workloads.train.trainer import default_num_workers


def test_a_sync_save_stalls_the_loop_for_its_blocking_time():
    m = StallMeter()
    for _ in range(4):
        assert m.observe(0.10, overlapped=False) == []
    [s] = m.observe(0.35, overlapped=False, blocking_s=0.25, saved_step=10, pending_step=None)
    assert s == {"step": 10, "blocking_s": 0.25, "slowdown_s": 0.0, "steps": 0, "stall_s": 0.25}


def test_an_async_save_also_costs_the_slowdown_of_the_steps_it_overlaps():
    m = StallMeter()
    for wall in (0.10, 0.12, 0.08, 0.10, 0.11):  # median 0.10
        m.observe(wall, overlapped=False)
    assert m.observe(0.13, overlapped=False, blocking_s=0.03, saved_step=20, pending_step=20) == []
    assert m.observe(0.16, overlapped=True, pending_step=20) == []  # the writer competes: +0.06
    [s] = m.observe(0.14, overlapped=True, pending_step=None)  # committed during this step: +0.04
    assert s["step"] == 20 and s["steps"] == 2 and s["blocking_s"] == 0.03
    assert s["slowdown_s"] == pytest.approx(0.10) and s["stall_s"] == pytest.approx(0.13)
    assert m.observe(0.10, overlapped=False) == [] and m.open is None


def test_a_save_forced_to_finish_by_the_next_one_and_one_left_at_the_end():
    m = StallMeter()
    for _ in range(3):
        m.observe(0.10, overlapped=False)
    m.observe(0.12, overlapped=False, blocking_s=0.02, saved_step=1, pending_step=1)
    # the next save first waits for step 1's upload: that wait is its own blocking, the old save keeps the rest
    [first] = m.observe(0.40, overlapped=True, blocking_s=0.25, saved_step=2, pending_step=2)
    assert first["step"] == 1 and first["slowdown_s"] == pytest.approx(0.05) and first["steps"] == 1
    [second] = m.flush(0.07)  # the run ended with step 2 still uploading
    assert second["step"] == 2 and second["blocking_s"] == pytest.approx(0.32) and second["stall_s"] >= 0.32
    assert m.flush(0.5) == []


def test_steps_cover_the_wall_time_and_every_save_is_accounted(tmp_path):
    run = Run([sys.executable, "-m", "workloads.train",
               *train_args(str(tmp_path / "ckpt"), str(tmp_path / "model"), 30, 10, "--keep-checkpoints", "5")])
    assert run.finish() == 0, run.output
    [start] = run.named("start")
    assert start["num_workers"] == 0  # the CPU default
    steps = run.named("step")
    assert [e["step"] for e in steps] == list(range(1, 31))
    tokens = 4 * 1 * int(TINY[TINY.index("--block-size") + 1])  # batch x world x block
    for e in steps:
        assert e["wall_s"] >= e["step_s"] and e["wall_s"] >= e["checkpoint_blocking_s"]
        assert e["tokens_per_s"] == pytest.approx(tokens / e["wall_s"], rel=1e-3, abs=0.1)
    # nothing between two steps is left out: the walls add up to the loop's elapsed time
    assert sum(e["wall_s"] for e in steps) == pytest.approx(steps[-1]["elapsed_s"], abs=1e-4)
    saves = {e["step"]: e for e in run.named("checkpoint_stall")}
    assert set(saves) == {10, 20}  # 30, the last, is the final save, after the loop
    assert saves[10]["steps"] == 0 and saves[10]["stall_s"] == saves[10]["blocking_s"] > 0  # the first: sync
    assert saves[20]["steps"] >= 1 and saves[20]["stall_s"] >= saves[20]["blocking_s"]  # async: overlapped steps
    assert steps[9]["checkpoint_blocking_s"] == saves[10]["blocking_s"]
    [exported] = run.named("exported")
    assert 0 < exported["tokens_per_s"] <= tokens * 30 / steps[-1]["elapsed_s"]


def test_num_workers_default_is_resolved_by_device():
    base = ["--batch-size", "1", "--steps", "1", "--checkpoint-interval", "1", "--checkpoint-uri", "c",
            "--model-uri", "m"]
    assert parse(base).num_workers is None and parse([*base, "--num-workers", "3"]).num_workers == 3
    assert default_num_workers(torch.device("cpu")) == 0 and default_num_workers(torch.device("cuda", 0)) == 2
    with pytest.raises(SystemExit):
        parse([*base, "--num-workers", "-1"])
