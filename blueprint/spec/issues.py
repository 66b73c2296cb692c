"""One problem in a stack's config: its key path under ``aiplatform:platform`` and, where closed, the allowed values."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecIssue:
    path: str
    message: str
    allowed: tuple[str, ...] = ()
