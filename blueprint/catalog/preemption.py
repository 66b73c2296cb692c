"""How long a GPU pod has between a cloud's stop notice and the kill: the ONE table workloads derive timings from.
Notes: docs/architecture.md, "Spec and catalog"."""
from __future__ import annotations

from dataclasses import dataclass

# cloud -> (notice before the node goes away, seconds of it the pod cannot use)
_WINDOWS: dict[str, tuple[int, int]] = {
    "aws": (120, 20),  # margin: node-termination handler / kubelet latency before SIGTERM reaches the pod
    "gcp": (30, 15),   # margin: the share GKE reserves for system-critical pods
}
_EXIT_SLACK_S = 3  # torchrun's own exit after its workers stopped; the trainer's save must end before that


@dataclass(frozen=True)
class ShutdownBudget:
    """Nested deadlines, each inside the one before: window > grace > torchrun shutdown > emergency checkpoint."""

    window_s: int
    grace_s: int             # terminationGracePeriodSeconds
    launcher_timeout_s: int  # torchrun --shutdown-timeout (SIGTERM to workers, SIGKILL after)
    checkpoint_s: int        # the trainer's --emergency-checkpoint-budget-s

    @property
    def serving_prestop_s(self) -> int:
        """Time for endpoints to drop the pod before the server stops accepting (a third of grace, 2-10 s)."""
        return max(2, min(10, self.grace_s // 3))

    @property
    def serving_drain_s(self) -> int:
        """What is left of grace after preStop for in-flight requests to finish."""
        return self.grace_s - self.serving_prestop_s - _EXIT_SLACK_S


def preemption_window_s(cloud: str) -> int:
    return _WINDOWS[cloud][0]


def shutdown_budget(cloud: str) -> ShutdownBudget:
    window, margin = _WINDOWS[cloud]
    grace = window - margin
    launcher = grace - _EXIT_SLACK_S
    return ShutdownBudget(window_s=window, grace_s=grace, launcher_timeout_s=launcher,
                          checkpoint_s=launcher - _EXIT_SLACK_S)
