"""A rendezvous that cannot complete is retried by the Job (exit 75), not read as a trainer bug (exit 1, FailJob)."""
from __future__ import annotations

import sys

from components.k8s import training
from tests.workloads.conftest import Run, free_port
from workloads.contract import TEMPFAIL_EXIT_CODE


def test_the_launchers_retry_code_is_counted_by_the_jobs_failure_policy():
    rules = training.pod_failure_policy()["rules"]
    first = next(r for r in rules if TEMPFAIL_EXIT_CODE in r.get("onExitCodes", {}).get("values", []))
    assert first["action"] == "Count"


def test_launcher_exits_75_when_the_other_nodes_never_join(tmp_path):
    """One of two nodes joins a c10d rendezvous it hosts on loopback; the join times out after 5 s."""
    worker = tmp_path / "never_runs.py"
    worker.write_text("raise SystemExit('the rendezvous should not have completed')\n")
    for launcher, expected in (("workloads.train.launch", TEMPFAIL_EXIT_CODE), ("torch.distributed.run", 1)):
        run = Run([sys.executable, "-m", launcher, "--nnodes=2", "--nproc-per-node=1", "--rdzv-backend=c10d",
                   f"--rdzv-endpoint=127.0.0.1:{free_port()}", "--rdzv-id=lonely", "--rdzv-conf=join_timeout=5",
                   "--max-restarts=0", "--monitor-interval=0.1", str(worker)])
        assert run.finish(120) == expected, run.output
