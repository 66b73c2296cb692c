"""The bundled training text (public domain) and the helpers that read it; nothing is fetched at run time."""
from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).with_name("corpus.txt")


def corpus_text() -> str:
    return CORPUS.read_text(encoding="utf-8")
