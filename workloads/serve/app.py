"""FastAPI app: probes, metrics and the ``/v1/`` inference routes over the batcher, plus the drain on SIGTERM."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from workloads.serve.batcher import Batcher, QueueFull, Ticket
from workloads.serve.engine import Engine
from workloads.serve.metrics import ServeMetrics

log = logging.getLogger("workloads.serve")


@dataclass
class Settings:
    model_uri: str
    max_batch_size: int = 16
    max_wait_ms: float = 5.0
    queue_size: int = 256
    drain_timeout_s: float = 30.0
    request_timeout_s: float = 30.0
    quantize: str = "none"


@dataclass
class State:
    settings: Settings
    metrics: ServeMetrics
    engine: Engine | None = None
    batcher: Batcher | None = None
    ready: bool = False
    draining: bool = False
    load_error: str | None = None
    accepted: int = 0
    completed: int = 0
    timed_out: int = 0
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


def predict_batch(engine: Engine, items: list[tuple[str, int]]):
    """One forward for the batch; only the largest top-k anyone asked for is materialised."""
    return engine.predict([text for text, _ in items], top_k=max(k for _, k in items))


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """``engine`` given: use it as is (tests, benchmarks); else load ``settings.model_uri`` after startup."""
    metrics = ServeMetrics(settings.max_batch_size)
    st = State(settings, metrics)
    st.idle.set()

    async def load() -> None:
        try:
            eng = engine or await asyncio.to_thread(Engine.load, settings.model_uri, settings.quantize)
            await asyncio.to_thread(eng.warm_up, settings.max_batch_size)
            if eng.quantized:
                acc = await asyncio.to_thread(eng.measure_quantization)
                metrics.quant_delta.set(acc["accuracy_delta"])
                _event("quantization", **acc)
            st.engine = eng
            # Everything loaded so far (torch, FastAPI, the model) lives as long as the process: move it out of
            # the collector's reach, so a full collection walks only per-request garbage instead of stalling
            # the event loop and the forward thread (the GIL) for tens of milliseconds at the p99.
            gc.collect()
            gc.freeze()
            st.batcher = Batcher(lambda items: predict_batch(eng, items), max_batch=settings.max_batch_size,
                                 max_wait_s=settings.max_wait_ms / 1000, queue_size=settings.queue_size,
                                 metrics=metrics)
            st.batcher.start()
            st.ready = True
            metrics.ready.set(1)
            _event("ready", model_uri=settings.model_uri, device=str(eng.device), quantized=eng.quantized)
        except Exception as e:  # keeps /readyz failing with the reason; liveness fails too, so the pod restarts
            st.load_error = f"{type(e).__name__}: {e}"
            log.exception("model load failed")

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        loader = asyncio.create_task(load())
        yield
        loader.cancel()
        if st.batcher is not None:
            await st.batcher.close()

    app = FastAPI(title="workloads.serve", lifespan=lifespan)
    app.state.serve = st

    @app.get("/livez")
    async def livez():
        if st.load_error or (st.ready and st.batcher is not None and not st.batcher.alive):
            return JSONResponse({"alive": False, "error": st.load_error or "batcher stopped"}, status_code=503)
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
                "quantized": e.quantized, "quantization": e.accuracy, "device": str(e.device)}

    def refuse(endpoint: str, reason: str, code: int) -> JSONResponse:
        metrics.rejections.labels(reason).inc()
        metrics.requests.labels(endpoint, str(code)).inc()
        headers = {"Retry-After": "1"} if code in (429, 503) else None
        return JSONResponse({"error": reason}, status_code=code, headers=headers)

    async def admitted(endpoint: str, work):
        """Admission, in-flight accounting and error mapping shared by every inference route."""
        if st.draining:
            return refuse(endpoint, "draining", 503)
        if not st.ready or st.batcher is None:
            return refuse(endpoint, "not_ready", 503)
        t0 = time.perf_counter()
        ticket = Ticket()
        st.inflight += 1
        st.idle.clear()
        metrics.inflight.inc()
        try:
            body = await work(st.batcher, ticket)
            st.completed += 1
            metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)
            metrics.requests.labels(endpoint, "200").inc()
            return body
        except QueueFull:
            return refuse(endpoint, "queue_full", 429)
        except asyncio.TimeoutError:
            st.timed_out += 1
            return refuse(endpoint, "timeout", 504)
        finally:
            st.accepted += ticket.accepted
            st.inflight -= 1
            metrics.inflight.dec()
            if st.inflight == 0:
                st.idle.set()

    @app.post("/v1/predict")
    async def predict(req: PredictIn):
        async def work(b: Batcher, ticket: Ticket):
            p = await b.submit((req.text, req.top_k), settings.request_timeout_s, ticket)
            return JSONResponse({"next": p.next, "top": [{"token": c, "prob": v} for c, v in p.top[:req.top_k]]})
        return await admitted("predict", work)

    @app.post("/v1/generate")
    async def generate(req: GenerateIn):
        async def work(b: Batcher, ticket: Ticket):
            deadline = time.monotonic() + settings.request_timeout_s
            text = req.prompt
            for _ in range(req.max_new_tokens):  # greedy; each token joins whatever batch is forming
                # once accepted, later tokens wait for queue room instead of failing half-way with a 429
                p = await b.submit((text, 1), max(0.001, deadline - time.monotonic()), ticket)
                text += p.next
            return JSONResponse({"prompt": req.prompt, "completion": text[len(req.prompt):]})
        return await admitted("generate", work)

    return app


async def drain(app: FastAPI) -> dict:
    """Not ready, refuse new work, wait for every accepted request (bounded by the drain timeout)."""
    st: State = app.state.serve
    st.draining = True
    st.metrics.ready.set(0)
    t0 = time.monotonic()
    _event("draining", inflight=st.inflight, queued=st.batcher.pending if st.batcher else 0)
    try:
        await asyncio.wait_for(st.idle.wait(), st.settings.drain_timeout_s)
        clean = True
    except asyncio.TimeoutError:
        clean = False
    summary = {"accepted": st.accepted, "completed": st.completed, "timed_out": st.timed_out,
               "inflight_left": st.inflight,
               "clean": clean, "drain_s": round(time.monotonic() - t0, 3)}
    _event("drained", **summary)
    return summary
