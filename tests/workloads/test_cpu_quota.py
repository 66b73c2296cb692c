"""The server's default torch threads come from the container's CPU quota (cgroup v2 ``cpu.max``, or v1)."""
from __future__ import annotations

import os

import pytest

from workloads.serve.__main__ import cpu_limit, default_threads

CPUS = len(os.sched_getaffinity(0))


@pytest.mark.parametrize("cpu_max, expected", [
    ("max 100000\n", CPUS),  # no quota: the CPUs the process may run on
    ("150000 100000\n", 1),  # 1.5 CPUs: a second thread would only be throttled
    ("100000 100000\n", 1),
    ("50000 100000\n", 1),  # below one CPU: still one thread
    (f"{(CPUS + 3) * 100000} 100000\n", CPUS),  # a quota above the CPUs available is capped by them
])
def test_cgroup_v2_cpu_max(tmp_path, cpu_max, expected):
    (tmp_path / "cpu.max").write_text(cpu_max)
    assert cpu_limit(tmp_path) == expected


def test_cgroup_v2_quota_of_two_cpus(tmp_path):
    (tmp_path / "cpu.max").write_text("200000 100000\n")
    assert cpu_limit(tmp_path) == min(2, CPUS)


def test_cgroup_v1_and_no_cgroup(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cpu_limit(tmp_path) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")  # v1's "no quota"
    assert cpu_limit(tmp_path) == CPUS
    assert cpu_limit(tmp_path / "missing") == CPUS


def test_default_threads_one_decode_thread_per_cpu_or_one_for_the_gpu():
    assert [default_threads(n, cuda=False) for n in (1, 2, 8)] == [(1, 1), (2, 1), (8, 1)]
    assert [default_threads(n, cuda=True) for n in (1, 8)] == [(1, 1), (1, 8)]
    assert default_threads(8, cuda=False, decode=2) == (2, 4)  # the quota's CPUs shared among decode threads
    assert default_threads(8, cuda=False, decode=2, torch_threads=1) == (2, 1)
