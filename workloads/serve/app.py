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
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from workloads.serve.engine import Engine, Sequence
from workloads.serve.metrics import ServeMetrics
from workloads.serve.scheduler import QueueFull, Scheduler

log = logging.getLogger("workloads.serve")


@dataclass
class Settings:
    model_uri: str
    max_batch_size: int = 64
    max_batch_tokens: int = 2048
    max_wait_ms: float = 5.0
    queue_size: int = 256
    drain_timeout_s: float = 30.0
    request_timeout_s: float = 30.0
    quantize: str = "auto"


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


async def _disconnected(request: Request) -> None:
    """Returns once the client has gone (the body is read: the next ASGI message can only be a disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
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
                                     metrics=metrics)
            st.scheduler.start()
            st.ready = True
            metrics.ready.set(1)
            _event("ready", model_uri=settings.model_uri, device=str(eng.device), quantized=eng.quantized,
                   torch_threads=torch.get_num_threads())
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

    @app.get("/livez")
    async def livez():
        if st.load_error or (st.ready and st.scheduler is not None and not st.scheduler.alive):
            return JSONResponse({"alive": False, "error": st.load_error or "decode loop stopped"}, status_code=503)
        return {"alive": True}

    @app.get("/readyz")
    async def readyz():
        if st.ready and not st.draining:
            return {"ready": True}
        reason = "draining" if st.draining else (st.load_error or "warming up")
        return JSONResponse({"ready": False, "reason": reason}, status_code=503)

    @app.get("/metrics")
    async def prometheus():
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def models():
        if st.engine is None:
            return JSONResponse({"error": "not ready"}, status_code=503)
        e = st.engine
        return {"model_uri": settings.model_uri, "config": e.cfg.to_dict(), "trained": e.meta,
                "quantized": e.quantized, "quantization": e.accuracy, "device": str(e.device),
                "torch_threads": torch.get_num_threads(), "max_batch_size": settings.max_batch_size,
                "max_batch_tokens": settings.max_batch_tokens}

    def refuse(endpoint: str, reason: str, code: int) -> JSONResponse:
        metrics.rejections.labels(reason).inc()
        metrics.requests.labels(endpoint, str(code)).inc()
        headers = {"Retry-After": "1"} if code in (429, 503) else None
        return JSONResponse({"error": reason}, status_code=code, headers=headers)

    async def run(endpoint: str, request: Request, ctx: list[int], max_new: int, top_k: int, answer):
        """Admit a sequence, wait for its end, its deadline or its client's departure, and answer."""
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
        gone = asyncio.ensure_future(_disconnected(request))
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
                return body
            seq.cancelled = True  # the decode loop drops it at its next step and frees its cache row
            if gone in done:
                st.cancelled += 1
                metrics.cancelled.labels("disconnect").inc()
                return Response(status_code=499)  # nobody reads it: the client has gone
            st.timed_out += 1
            metrics.cancelled.labels("timeout").inc()
            return refuse(endpoint, "timeout", 504)
        finally:
            gone.cancel()
            st.inflight -= 1
            metrics.inflight.dec()
            if st.inflight == 0:
                st.idle.set()

    @app.post("/v1/predict")
    async def predict(req: PredictIn, request: Request):
        def answer(top: list[tuple[str, float]]) -> JSONResponse:
            return JSONResponse({"next": top[0][0], "top": [{"token": c, "prob": p} for c, p in top]})
        return await run("predict", request, st.engine.encode(req.text) if st.engine else [], 0, req.top_k, answer)

    @app.post("/v1/generate")
    async def generate(req: GenerateIn, request: Request):
        def answer(ids: list[int]) -> JSONResponse:
            return JSONResponse({"prompt": req.prompt, "completion": st.engine.vocab.decode(ids)})
        return await run("generate", request, st.engine.encode(req.prompt) if st.engine else [], req.max_new_tokens,
                         1, answer)

    return app


async def drain(app: FastAPI) -> dict:
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
