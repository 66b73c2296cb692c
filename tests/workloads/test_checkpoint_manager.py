"""CheckpointManager in one process: every commit is reported (also the one a new save forces), async saves
capture the state at save time, and a resume seeds the emergency-save estimate."""
from __future__ import annotations

import torch

from workloads.train.checkpoint import CheckpointManager, complete_checkpoints


def state(value: float) -> dict:
    return {"w": torch.full((64, 64), value), "progress": {"step": int(value)}}


def test_every_commit_is_reported_and_async_saves_stage_a_copy(tmp_path):
    uri = str(tmp_path / "ckpt")
    commits: list[int] = []
    m = CheckpointManager(uri, 0, async_save=True, keep=10, on_commit=commits.append)
    m.save(state(1.0), 1)  # the first save is synchronous and committed at once
    assert commits == [1] and m.pending is None
    live = state(2.0)
    m.save(live, 2)
    assert m.pending is not None
    live["w"].fill_(99.0)  # training mutates the parameters while the upload runs
    m.save(state(3.0), 3)  # must first finish and commit step 2: that commit is reported too
    m.wait()
    assert commits == [1, 2, 3] and m.last_committed == 3
    assert [c.step for c in complete_checkpoints(uri)] == [3, 2, 1]
    back = state(0.0)
    loader = CheckpointManager(uri, 0)
    missing = loader.load(back, complete_checkpoints(uri)[1])
    assert missing == set() and torch.equal(back["w"], torch.full((64, 64), 2.0))  # not the 99s
    assert back["progress"]["step"] == 2


def test_resume_gives_the_emergency_budget_a_save_time_estimate(tmp_path):
    uri = str(tmp_path / "ckpt")
    CheckpointManager(uri, 0).save(state(5.0), 5)
    resumed = CheckpointManager(uri, 0)
    assert resumed.estimate_save_s() == 0.0  # nothing measured: an emergency save is attempted
    resumed.load(state(0.0), complete_checkpoints(uri)[0])
    assert resumed.estimate_save_s() > 0.0  # the load's duration stands in until this run saves
