"""A subprocess that prints JSON lines (the trainer, the server), read by a thread so a caller can wait on events.

Shared by the workload tests and ``bench/gpu_check.py``; every process started is remembered so none outlives the
test or check that failed around it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 180


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **extra}


RUNS: list["Run"] = []  # every subprocess started, so none outlives the test that failed around it


class Run:
    """A subprocess whose stdout JSON lines are collected by a thread; ``wait_for`` blocks on an event."""

    def __init__(self, cmd: list[str], environ: dict[str, str] | None = None):
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=environ or env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        RUNS.append(self)
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

    def tree(self) -> list[int]:
        """The process and all its live descendants (torchrun's ranks run in sessions of their own, out of reach
        of ``signal_group``)."""
        return [self.proc.pid, *descendants(self.proc.pid)]

    def signal_tree(self, sig: int) -> list[int]:
        """Send ``sig`` to the process and every descendant at once; returns the pids signalled."""
        pids = self.tree()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return pids

    def kill(self) -> None:
        """SIGKILL the whole tree (launcher, ranks, loader workers) and reap it."""
        self.signal_tree(signal.SIGKILL)
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


def _parents() -> dict[int, int]:
    out = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                out[int(d.name)] = int(fields[1])
    return out


def descendants(pid: int) -> list[int]:
    """Live (not zombie) descendants of ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped, does not count)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_all(since: int = 0) -> None:
    """Kill every process started (from index ``since`` on) that is still running."""
    for run in RUNS[since:]:
        if run.proc.poll() is None:
            run.kill()
