"""Where a command's output goes: stdout, or ``--out`` written whole (a temporary file renamed into place), and the
progress lines a terminal sees on stderr. Notes: docs/commands.md, "Conventions"."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path


class UserError(Exception):
    """A mistake in what the user gave (a flag, a file): one message, exit code 1 (2 for ``usage``)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


RENDER_MARKER = ".blueprint-render"  # in every folder `blueprint render` writes: it may replace that folder whole


def check_writable(path: Path | None, flag: str = "--out", folder: bool = False) -> None:
    """Fail before the long work, not after it: the folder that will hold ``path`` exists and is writable."""
    if path is None:
        return
    if not folder and path.is_dir():
        raise UserError(f"{flag} {path}: is a directory; give a file path")
    if folder and path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path}: is a file; give a folder")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise UserError(f"{flag} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: the folder {parent} is not writable")


def write_file(path: Path, text: str, flag: str = "--out") -> None:
    """Write ``text`` to ``path`` all at once: a temporary file in the same folder, then renamed over ``path``."""
    check_writable(path, flag)
    text = text if text.endswith("\n") else text + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.resolve().parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot write: {exc.strerror or exc}") from None


def emit(text: str, out: Path | None) -> None:
    """The one meaning of ``--out`` in every command: the output goes to FILE instead of stdout."""
    if out is None:
        print(text)
    else:
        write_file(out, text)


def check_render_target(out: Path) -> None:
    """``render --out DIR`` replaces DIR whole: only a new folder, an empty one, or one render wrote before."""
    check_writable(out, folder=True)
    if out.is_dir() and any(out.iterdir()) and not (out / RENDER_MARKER).exists():
        raise UserError(f"--out {out}: the folder exists and was not written by `blueprint render` (no "
                        f"{RENDER_MARKER}); give a new or empty folder, it is replaced whole")


def fresh_folder(out: Path) -> Path:
    """A new empty folder beside ``out`` to render into; ``replace_folder`` moves it into place."""
    out.resolve().parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.resolve().parent))
    (tmp / RENDER_MARKER).write_text("written by `blueprint render`; the folder is replaced whole on each render\n")
    return tmp


def replace_folder(tmp: Path, out: Path) -> None:
    """Swap the fully written ``tmp`` in for ``out``: no manifest of an earlier render survives, no half render."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def progress(stack: str, phase: str) -> None:
    """``<stack>: <phase>...`` on stderr, only when stderr is a terminal (pipes and CI logs stay clean)."""
    if sys.stderr.isatty():
        print(f"blueprint: {stack}: {phase}...", file=sys.stderr, flush=True)
