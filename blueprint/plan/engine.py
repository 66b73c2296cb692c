"""The offline plan engine: the real Pulumi program run under Pulumi's mock runtime, as a ``pulumi preview`` of a
new stack would see it (docs/architecture.md, "Offline tooling")."""
from __future__ import annotations

import asyncio
import logging
import runpy
import sys
from pathlib import Path
from typing import Any, Callable

from pulumi.runtime import mocks as runtime_mocks, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from blueprint.plan.mocks import PreviewMocks, RecordingMonitor
from blueprint.plan.model import Plan
from blueprint.spec import PlatformSpec
from blueprint.spec.load import REPO, load_stack
from blueprint.spec.names import PROJECT


class PlanError(RuntimeError):
    """The program failed under the engine (a ``SpecError`` message, or a bug with its traceback)."""


def _event_loop() -> asyncio.AbstractEventLoop:
    """One loop for all runs in this thread: the SDK keeps references to it, so replacing it leaks warnings."""
    try:
        loop = asyncio.get_event_loop()
        if not loop.is_closed():
            return loop
    except RuntimeError:
        pass
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


def _describe(failure: BaseException) -> str:
    """The program's own message: a RunError as is, else the innermost cause the SDK wrapped (which resource)."""
    if type(failure).__name__ == "RunError":
        return str(failure)
    chain: list[BaseException] = []
    current: BaseException | None = failure
    while current is not None and all(current is not e for e in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return f"{type(chain[-1]).__name__}: {chain[-1]}" + "".join(
        f"\n  (while: {str(e).splitlines()[0]})" for e in reversed(chain[1:-1]))


def run_plan(stack: str, *, platform: dict | None = None, root: Path = REPO, preview: bool = True,
             mocks: Any = None) -> Plan:
    """Plan one stack offline. ``platform`` replaces the stack file's ``aiplatform:platform`` object (tests use it);
    ``mocks`` replaces the preview mocks (tests answer as an already deployed stack, with known endpoints).

    ``preview=False`` runs the program as ``pulumi up``'s update would (``is_dry_run()`` false), still against
    the mocks: tests use it for what the program refuses to deploy.
    """
    config, secret_keys, spec = load_stack(stack, platform, root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return run_program(lambda: runpy.run_path(str(root / "__main__.py"), run_name="__main__"),
                       stack=stack, config=config, secret_keys=secret_keys, preview=preview, mocks=mocks, spec=spec)


class _Diagnostics(logging.Handler):
    """The program's ``pulumi.log`` messages, kept for the plan (a real preview prints them as diagnostics)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({"severity": record.levelname.lower(), "message": record.getMessage()})


def _program_logger() -> tuple[logging.Logger, _Diagnostics]:
    logger = logging.getLogger("blueprint.plan.program")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for old in [h for h in logger.handlers if isinstance(h, _Diagnostics)]:
        logger.removeHandler(old)
    handler = _Diagnostics()
    logger.addHandler(handler)
    return logger, handler


def run_program(program: Callable[[], None], *, stack: str = "test", config: dict[str, str] | None = None,
                secret_keys: list[str] | None = None, preview: bool = True, mocks: Any = None,
                spec: PlatformSpec | None = None) -> Plan:
    """Run any Pulumi program function under the mock runtime and return what it declared.

    ``run_plan`` uses it for the real program; tests use it for small programs that declare one good or bad
    resource with the real provider SDK classes. ``mocks``: a ``pulumi.runtime.Mocks``; default ``PreviewMocks``.
    ``spec``: the spec ``config`` was validated into (``run_plan``); without it the plan loads its config's own.
    """
    _event_loop()
    settings.ROOT.set(None)  # a fresh root Stack per run, so several stacks plan in one process
    monitor = RecordingMonitor(mocks if mocks is not None else PreviewMocks())
    logger, diagnostics = _program_logger()
    runtime_mocks.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor,
                            logger=logger)
    set_all_config(config or {}, secret_keys or [])
    failure: BaseException | None = None
    try:
        _sync_await(run_pulumi_func(program))
    except Exception as exc:  # noqa: BLE001 - reported as a PlanError with the program's own message
        failure = exc
    finally:
        settings.ROOT.set(None)
    if failure is not None:
        raise PlanError(_describe(failure)) from failure
    plan = Plan(stack=stack, project=PROJECT, resources=list(monitor.recorded.values()), config=config or {},
                diagnostics=diagnostics.records)
    if spec is not None:
        plan.spec = spec  # else the plan loads its config's spec when first asked
    return plan


__all__ = ["PROJECT", "REPO", "Plan", "PlanError", "run_plan", "run_program"]
