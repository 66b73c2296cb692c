"""Shared helpers: a tiny model size for every run, torchrun on loopback, JSON-line readers, a trained artifact."""
from __future__ import annotations

import sys

import pytest

from tests.support.moto_server import free_port
from tests.support.processes import REPO, RUNS, Run, env, kill_all

TINY = ["--d-model", "32", "--n-layer", "1", "--n-head", "4", "--block-size", "32"]


def train_args(ckpt: str, model: str, steps: int, interval: int, *extra: str) -> list[str]:
    return ["--batch-size", "4", "--steps", str(steps), "--checkpoint-interval", str(interval),
            "--checkpoint-uri", ckpt, "--model-uri", model, "--metrics-port", "0",
            "--emergency-checkpoint-budget-s", "20", *TINY, *extra]


def torchrun(args: list[str], nproc: int = 2, environ: dict[str, str] | None = None) -> Run:
    """The training image's launcher (``workloads.train.launch`` is its ``torchrun``), standalone on loopback."""
    return Run([sys.executable, "-m", "workloads.train.launch", f"--nproc-per-node={nproc}", "--standalone",
                "--monitor-interval=0.1", "-m", "workloads.train", *args], environ)


@pytest.fixture(autouse=True)
def _reap_runs():
    """Kill whatever a test started and left running (a failed assertion skips its own clean-up)."""
    before = len(RUNS)
    yield
    kill_all(before)


@pytest.fixture(scope="session", autouse=True)
def _reap_all_runs():
    yield
    kill_all()


@pytest.fixture(scope="session")
def artifact(tmp_path_factory) -> str:
    """A briefly trained tiny model exported by the real trainer (single process)."""
    root = tmp_path_factory.mktemp("artifact")
    run = Run([sys.executable, "-m", "workloads.train",
               *train_args(str(root / "ckpt"), str(root / "model"), 40, 40, "--num-workers", "0")])
    assert run.finish() == 0, run.output
    return str(root / "model")


__all__ = ["Run", "torchrun", "train_args", "env", "free_port", "REPO", "TINY"]
