"""fsspec helpers shared by the trainer and the server: one code path for local paths, s3:// and gs://.

Credentials and endpoints come from the environment the platform gives the pod (IRSA / Workload Identity,
``AWS_ENDPOINT_URL`` for S3-compatible stores), never from flags.
"""
from __future__ import annotations

import contextlib
import io
import json
import os

import fsspec
import torch
from fsspec.core import url_to_fs

from workloads.model import CharTransformer, ModelConfig

WEIGHTS, CONFIG = "model.pt", "config.json"

# Errors that mean "the store is unreachable or throttling right now", by class name so that neither botocore nor
# the Google client has to be imported: botocore's connection errors, google-api-core's 429/5xx, the builtins.
_TRANSIENT = {"ConnectionError", "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
              "HTTPClientError", "TimeoutError", "ServiceUnavailable", "TooManyRequests", "InternalServerError",
              "GatewayTimeout", "BadGateway", "RetryError"}
# OSErrors a retry cannot fix: the URI or the pod's identity is wrong.
_PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError)


class StorageUnavailable(Exception):
    """A storage operation (checkpoint, artifact, data) failed in a way a later attempt may not meet: the store
    was unreachable, timed out or throttled. The trainer exits 75 on it; on nothing else."""


def is_transient_storage_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps: its causes, DCP's per-rank failures) looks like a passing outage.

    Only meaningful for an error raised by a storage call (``storage_call``): an ``OSError`` from anything else,
    a ``BrokenPipeError`` between ranks for one, says nothing about the store."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and not isinstance(e, _PERMANENT):
            return True
        if _TRANSIENT & {c.__name__ for c in type(e).__mro__}:
            return True
        todo += [e.__cause__, e.__context__]
        todo += [pair[0] for pair in getattr(e, "failures", {}).values() if isinstance(pair, tuple)]  # DCP
    return False


@contextlib.contextmanager
def storage_call(what: str):
    """Run a call on a store: a transient failure inside becomes ``StorageUnavailable`` (naming ``what``);
    anything else, a bug or a permanent error such as a missing bucket, propagates unchanged."""
    try:
        yield
    except (StorageUnavailable, KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as e:  # noqa: BLE001 - DCP's CheckpointException is a BaseException
        if not is_transient_storage_error(e):
            raise
        raise StorageUnavailable(f"{what}: {e!r}"[:500]) from e


def is_storage_outage(exc: BaseException) -> bool:
    """True when ``exc`` is, or was raised while handling, a ``StorageUnavailable``."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, StorageUnavailable):
            return True
        todo += [e.__cause__, e.__context__]
        todo += [pair[0] for pair in getattr(e, "failures", {}).values() if isinstance(pair, tuple)]  # DCP
    return False


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *parts])


def filesystem(uri: str):
    """(fs, path-without-protocol) for ``uri``; local paths are made absolute."""
    if "://" not in uri:
        uri = os.path.abspath(uri)
    return url_to_fs(uri)


def write_bytes(uri: str, data: bytes) -> None:
    fs, path = filesystem(uri)
    parent = path.rsplit("/", 1)[0]
    if parent:
        fs.makedirs(parent, exist_ok=True)
    with fs.open(path, "wb") as f:
        f.write(data)


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    with fs.open(path, "rb") as f:
        return f.read()


def export_model(model: CharTransformer, uri: str, extra: dict | None = None) -> None:
    """Weights first, config last: a reader that finds ``config.json`` finds complete weights beside it."""
    buf = io.BytesIO()
    state = {k: v.detach().to("cpu") for k, v in model.state_dict().items()}
    torch.save(state, buf)
    meta = {"model": model.cfg.to_dict(), **(extra or {})}
    with storage_call(f"exporting the model to {uri}"):
        write_bytes(join(uri, WEIGHTS), buf.getvalue())
        write_bytes(join(uri, CONFIG), json.dumps(meta, indent=2, sort_keys=True).encode())


def load_model(uri: str, device: str | torch.device = "cpu") -> tuple[CharTransformer, dict]:
    with storage_call(f"loading the model from {uri}"):
        meta = json.loads(read_bytes(join(uri, CONFIG)))
        weights = read_bytes(join(uri, WEIGHTS))
    model = CharTransformer(ModelConfig.from_dict(meta["model"]))
    state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.to(device).eval(), meta


def open_text(uri: str) -> str:
    with storage_call(f"reading {uri}"), \
            fsspec.open(uri if "://" in uri else os.path.abspath(uri), "r", encoding="utf-8") as f:
        return f.read()
