"""Shared helpers: a tiny model size for every run, torchrun on loopback, JSON-line readers, a trained artifact."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.moto_server import free_port

REPO = Path(__file__).resolve().parents[2]
TINY = ["--d-model", "32", "--n-layer", "1", "--n-head", "4", "--block-size", "32"]
RUN_TIMEOUT_S = 180


def train_args(ckpt: str, model: str, steps: int, interval: int, *extra: str) -> list[str]:
    return ["--batch-size", "4", "--steps", str(steps), "--checkpoint-interval", str(interval),
            "--checkpoint-uri", ckpt, "--model-uri", model, "--metrics-port", "0",
            "--emergency-checkpoint-budget-s", "20", *TINY, *extra]


def env(**extra: str) -> dict[str, str]:
    e = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **extra}
    return e


_RUNS: list["Run"] = []  # every subprocess started, so none outlives the test that failed around it


class Run:
    """A subprocess whose stdout JSON lines are collected by a thread; ``wait_for`` blocks on an event."""

    def __init__(self, cmd: list[str], environ: dict[str, str] | None = None):
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=environ or env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        _RUNS.append(self)
        self.events: list[dict] = []
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line)
                if line.startswith("{"):
                    try:
                        self.events.append(json.loads(line))
                    except ValueError:
                        pass
                self.cond.notify_all()

    def wait_for(self, pred, timeout: float = RUN_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for ev in self.events:
                    if pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError("event not seen; output tail:\n" + "".join(self.lines[-40:]))
                self.cond.wait(min(left, 0.5))

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the whole session (launcher, ranks, loader workers) and reap it."""
        self.signal_group(signal.SIGKILL)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            pass

    def finish(self, timeout: float = RUN_TIMEOUT_S) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            raise
        self.reader.join(10)
        return rc

    def named(self, name: str) -> list[dict]:
        return [e for e in self.events if e.get("event") == name]

    @property
    def output(self) -> str:
        return "".join(self.lines)


def torchrun(args: list[str], nproc: int = 2, environ: dict[str, str] | None = None) -> Run:
    """The training image's launcher (``workloads.train.launch`` is its ``torchrun``), standalone on loopback."""
    return Run([sys.executable, "-m", "workloads.train.launch", f"--nproc-per-node={nproc}", "--standalone",
                "--monitor-interval=0.1", "-m", "workloads.train", *args], environ)


@pytest.fixture(autouse=True)
def _reap_runs():
    """Kill whatever a test started and left running (a failed assertion skips its own clean-up)."""
    before = len(_RUNS)
    yield
    for run in _RUNS[before:]:
        if run.proc.poll() is None:
            run.kill()


@pytest.fixture(scope="session", autouse=True)
def _reap_all_runs():
    yield
    for run in _RUNS:
        if run.proc.poll() is None:
            run.kill()


@pytest.fixture(scope="session")
def artifact(tmp_path_factory) -> str:
    """A briefly trained tiny model exported by the real trainer (single process)."""
    root = tmp_path_factory.mktemp("artifact")
    run = Run([sys.executable, "-m", "workloads.train",
               *train_args(str(root / "ckpt"), str(root / "model"), 40, 40, "--num-workers", "0")])
    assert run.finish() == 0, run.output
    return str(root / "model")


__all__ = ["Run", "torchrun", "train_args", "env", "free_port", "REPO", "TINY"]
