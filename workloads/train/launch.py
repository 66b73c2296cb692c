"""``torchrun`` with Kubernetes-compatible exit codes; the training image installs it as its ``torchrun``.

Stock torchrun forwards SIGTERM to its workers (the trainer checkpoints and exits 143) but then dies of the
re-raised ``SignalException`` with exit code 1, which the Job's podFailurePolicy reads as a bug (FailJob). This
wrapper runs the very same launcher and exits ``128 + signal`` instead, so a preempted pod is retried. Likewise
when the workers fail (after torchrun's own restarts) stock torchrun exits 1 whatever they returned; this one
exits with the first failed worker's code, so 75 (storage unavailable) is retried and only real bugs fail the Job.
A rendezvous that fails (the other nodes did not join in time, the endpoint pod is gone or was replaced) is an
infrastructure condition, not a bug: it exits 75 as well, so the Job retries it instead of failing at once.
The ranks it starts die with it (``PR_SET_PDEATHSIG``, see ``__main__.die_with_launcher``), even when it is
killed outright. Every argument is torchrun's own; nothing else differs.
"""
from __future__ import annotations

import os
import sys

from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.elastic.rendezvous.api import RendezvousError
from torch.distributed.run import main as torchrun_main

from workloads.contract import TEMPFAIL_EXIT_CODE
from workloads.train.__main__ import LAUNCHER_PID_ENV


def main(argv: list[str] | None = None) -> int:
    os.environ[LAUNCHER_PID_ENV] = str(os.getpid())  # inherited by the ranks torchrun starts from this process
    try:
        torchrun_main(argv)
    except SignalException as e:
        return 128 + int(e.sigval)
    except ChildFailedError as e:
        _, failure = e.get_first_failure()
        return failure.exitcode if failure.exitcode > 0 else 128 - failure.exitcode  # a negative code: killed by -N
    except RendezvousError:  # timeout, closed, connection or state errors (graceful exits never reach here)
        return TEMPFAIL_EXIT_CODE  # the Job counts and retries it
    return 0


if __name__ == "__main__":
    sys.exit(main())
