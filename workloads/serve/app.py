"""FastAPI app: probes, metrics and the ``/v1/`` inference routes over the scheduler, plus the drain on SIGTERM."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from dataclasses import dataclass, field

import torch
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, ValidationError

from workloads.contract import LIVEZ_PATH, METRICS_PATH, READYZ_PATH
from workloads.serve.engine import Engine, Sequence
from workloads.serve.metrics import ServeMetrics
from workloads.serve.scheduler import QueueFull, Scheduler

log = logging.getLogger("workloads.serve")


@dataclass
class Settings:
    model_uri: str
    max_batch_size: int = 64
    max_batch_tokens: int = 2048
    max_wait_ms: float = 0.0
    queue_size: int = 256
    drain_timeout_s: float = 30.0
    request_timeout_s: float = 30.0
    quantize: str = "auto"
    decode_threads: int = 1


@dataclass
class State:
    settings: Settings
    metrics: ServeMetrics
    engine: Engine | None = None
    scheduler: Scheduler | None = None
    ready: bool = False
    draining: bool = False
    load_error: str | None = None
    accepted: int = 0
    completed: int = 0
    timed_out: int = 0
    cancelled: int = 0
    failed: int = 0
    inflight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)


class PredictIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    top_k: int = Field(default=5, ge=1, le=256)


class GenerateIn(BaseModel):
    prompt: str = Field(min_length=1, max_length=10_000)
    max_new_tokens: int = Field(default=32, ge=1, le=512)


def _event(name: str, **fields) -> None:
    print(json.dumps({"event": name, "time": round(time.time(), 3), **fields}), flush=True)


def create_app(settings: Settings, engine: Engine | None = None) -> "InferenceFront":
    """``engine`` given: use it as is (tests, benchmarks); else load ``settings.model_uri`` after startup."""
    metrics = ServeMetrics(settings.max_batch_size)
    st = State(settings, metrics)
    st.idle.set()

    async def load() -> None:
        try:
            eng = engine or await asyncio.to_thread(Engine.load, settings.model_uri, settings.quantize)
            await asyncio.to_thread(eng.warm_up, settings.max_batch_size)
            if eng.quantized and not eng.accuracy:
                await asyncio.to_thread(eng.measure_quantization)
            if eng.accuracy:
                _event("quantization", quantized=eng.quantized, **eng.accuracy)
            if eng.quantized:
                metrics.quant_delta.set(eng.accuracy["accuracy_delta"])
            st.engine = eng
            # Everything loaded so far (torch, FastAPI, the model) lives as long as the process: move it out of
            # the collector's reach, so a full collection walks only per-request garbage instead of stalling
            # the event loop and the decode thread (the GIL) for tens of milliseconds at the p99.
            gc.collect()
            gc.freeze()
            st.scheduler = Scheduler(eng, max_batch=settings.max_batch_size, max_tokens=settings.max_batch_tokens,
                                     max_wait_s=settings.max_wait_ms / 1000, queue_size=settings.queue_size,
                                     metrics=metrics, threads=settings.decode_threads)
            st.scheduler.start()
            st.ready = True
            metrics.ready.set(1)
            _event("ready", model_uri=settings.model_uri, device=str(eng.device), quantized=eng.quantized,
                   torch_threads=torch.get_num_threads(), decode_threads=len(st.scheduler.batches))
        except Exception as e:  # keeps /readyz failing with the reason; liveness fails too, so the pod restarts
            st.load_error = f"{type(e).__name__}: {e}"
            log.exception("model load failed")

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        loader = asyncio.create_task(load())
        yield
        loader.cancel()
        if st.scheduler is not None:
            await st.scheduler.close()

    app = FastAPI(title="workloads.serve", lifespan=lifespan)
    app.state.serve = st

    @app.get(LIVEZ_PATH)
    async def livez():
        if st.load_error or (st.ready and st.scheduler is not None and not st.scheduler.alive):
            return JSONResponse({"alive": False, "error": st.load_error or "decode loop stopped"}, status_code=503)
        return {"alive": True}

    @app.get(READYZ_PATH)
    async def readyz():
        if st.ready and not st.draining:
            return {"ready": True}
        reason = "draining" if st.draining else (st.load_error or "warming up")
        return JSONResponse({"ready": False, "reason": reason}, status_code=503)

    @app.get(METRICS_PATH)
    async def prometheus():
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def models():
        if st.engine is None:
            return JSONResponse({"error": "not ready"}, status_code=503)
        e = st.engine
        return {"model_uri": settings.model_uri, "config": e.cfg.to_dict(), "trained": e.meta,
                "quantized": e.quantized, "quantization": e.accuracy, "device": str(e.device),
                "torch_threads": torch.get_num_threads(), "decode_threads": len(st.scheduler.batches),
                "max_batch_size": settings.max_batch_size,
                "max_batch_tokens": settings.max_batch_tokens}

    def refuse(endpoint: str, reason: str, code: int) -> tuple[int, dict, list]:
        metrics.rejections.labels(reason).inc()
        metrics.requests.labels(endpoint, str(code)).inc()
        return code, {"error": reason}, RETRY_AFTER if code in (429, 503) else []

    async def run(endpoint: str, receive, ctx: list[int], max_new: int, top_k: int, answer):
        """Admit a sequence, wait for its end, its deadline or its client's departure: (status, body, headers)."""
        if st.draining:
            return refuse(endpoint, "draining", 503)
        if not st.ready or st.scheduler is None:
            return refuse(endpoint, "not_ready", 503)
        t0 = time.perf_counter()
        fut = asyncio.get_running_loop().create_future()
        seq = Sequence(ctx, max_new, top_k, deadline=time.monotonic() + settings.request_timeout_s, future=fut)
        try:
            st.scheduler.submit(seq)
        except QueueFull:
            return refuse(endpoint, "queue_full", 429)
        st.accepted += 1
        st.inflight += 1
        st.idle.clear()
        metrics.inflight.inc()
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            done, _ = await asyncio.wait((fut, gone), timeout=settings.request_timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
            if fut in done:
                try:
                    body = answer(fut.result())
                except Exception:  # the decode step failed (logged there): this request fails, not the server
                    st.failed += 1
                    return refuse(endpoint, "error", 500)
                st.completed += 1
                metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)
                metrics.requests.labels(endpoint, "200").inc()
                return 200, body, []
            seq.cancelled = True  # the decode loop drops it at its next step and frees its cache row
            if gone in done:
                st.cancelled += 1
                metrics.cancelled.labels("disconnect").inc()
                return 499, {"error": "client closed request"}, []  # nobody reads it: the client has gone
            st.timed_out += 1
            metrics.cancelled.labels("timeout").inc()
            return refuse(endpoint, "timeout", 504)
        finally:
            gone.cancel()
            st.inflight -= 1
            metrics.inflight.dec()
            if st.inflight == 0:
                st.idle.set()

    async def predict(req: PredictIn, receive):
        def answer(top: list[tuple[str, float]]) -> dict:
            return {"next": top[0][0], "top": [{"token": c, "prob": p} for c, p in top]}
        return await run("predict", receive, st.engine.encode(req.text) if st.engine else [], 0, req.top_k, answer)

    async def generate(req: GenerateIn, receive):
        def answer(ids: list[int]) -> dict:
            return {"prompt": req.prompt, "completion": st.engine.vocab.decode(ids)}
        return await run("generate", receive, st.engine.encode(req.prompt) if st.engine else [], req.max_new_tokens,
                         1, answer)

    # the two routes' OpenAPI entries; InferenceFront answers them before FastAPI's routing is reached
    @app.post("/v1/predict", summary="Next-character probabilities of a text (top k)")
    async def predict_schema(body: PredictIn):  # noqa: ARG001
        raise AssertionError("served by InferenceFront")

    @app.post("/v1/generate", summary="Greedy completion of a prompt")
    async def generate_schema(body: GenerateIn):  # noqa: ARG001
        raise AssertionError("served by InferenceFront")

    return InferenceFront(app, {"/v1/predict": (PredictIn, predict), "/v1/generate": (GenerateIn, generate)})


RETRY_AFTER = [(b"retry-after", b"1")]
MAX_BODY = 64 * 1024  # a 10,000-character prompt, JSON-escaped, fits several times over


def _json(obj) -> bytes:
    """Starlette's JSONResponse encoding, byte for byte."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


async def _disconnected(receive) -> None:
    """Returns once the client has gone (the body is read: the next ASGI message can only be a disconnect)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class InferenceFront:
    """The ASGI app: ``POST /v1/predict`` and ``/v1/generate`` straight over ASGI, everything else (probes,
    metrics, ``/v1/models``, the OpenAPI page) through FastAPI.

    A FastAPI route costs the event loop about 70 us a request (dependency solving, middleware, response
    classes) against about 5 us here; at thousands of requests a second on a small CPU that is the difference
    between the event loop keeping up with the decode thread or not. Same validation (the same pydantic
    models), same JSON, same status codes.
    """

    def __init__(self, app: FastAPI, routes: dict[str, tuple[type[BaseModel], object]]):
        self.app, self.routes, self.state = app, routes, app.state

    async def __call__(self, scope, receive, send) -> None:
        route = self.routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        status, body, headers = await self._handle(route, receive)
        payload = _json(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()), *headers]})
        await send({"type": "http.response.body", "body": payload})

    @staticmethod
    async def _handle(route, receive) -> tuple[int, dict, list]:
        model, handler = route
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return 499, {"error": "client closed request"}, []
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BODY:
                return 413, {"error": f"body over {MAX_BODY} bytes"}, []
            if not message.get("more_body"):
                break
        try:
            req = model.model_validate_json(b"".join(chunks))
        except ValidationError as e:  # FastAPI's 422 shape
            return 422, {"detail": [{"type": d["type"], "loc": ["body", *d["loc"]], "msg": d["msg"]}
                                    for d in e.errors(include_url=False)]}, []
        return await handler(req, receive)


async def drain(app: "InferenceFront") -> dict:
    """Not ready, refuse new work, wait for every accepted request (bounded by the drain timeout)."""
    st: State = app.state.serve
    st.draining = True
    st.metrics.ready.set(0)
    t0 = time.monotonic()
    _event("draining", inflight=st.inflight, queued=st.scheduler.pending if st.scheduler else 0)
    try:
        await asyncio.wait_for(st.idle.wait(), st.settings.drain_timeout_s)
        clean = True
    except asyncio.TimeoutError:
        clean = False
    summary = {"accepted": st.accepted, "completed": st.completed, "timed_out": st.timed_out,
               "cancelled": st.cancelled, "failed": st.failed, "inflight_left": st.inflight,
               "clean": clean, "drain_s": round(time.monotonic() - t0, 3)}
    _event("drained", **summary)
    return summary
