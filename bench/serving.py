"""Serving benchmark: workloads.serve vs a naive one-request-one-forward server vs LitServe (batching), one run.

Same model (the default serving size of the char transformer), same request, same fixed concurrency, loopback.
Servers run one at a time so they do not compete for the cores; the load generator is the same for all three.

    .venv/bin/python bench/serving.py [--concurrency 32] [--seconds 10] [--max-batch-size 16] [--max-wait-ms 5]

Needs the ``bench`` extra (litserve).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TEXT = "Shall I compare thee to a summer's day? Thou art more lovely and more temperate:"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_artifact(root: str) -> str:
    import torch

    from workloads.data import corpus_text
    from workloads.model import CharTransformer, ModelConfig, Vocab
    from workloads.storage import export_model

    torch.manual_seed(0)
    model = CharTransformer(ModelConfig(vocab=Vocab.from_text(corpus_text()).chars))  # default serving size
    uri = os.path.join(root, "model")
    export_model(model, uri, {"step": 0})
    return uri


# ---- the two comparison servers (run as `python bench/serving.py _naive|_litserve PORT ARTIFACT MB WAIT_MS`)

def serve_naive(port: int, artifact: str) -> None:
    import uvicorn
    from fastapi import Body, FastAPI

    from workloads.serve.engine import Engine

    engine = Engine.load(artifact)
    app = FastAPI()

    @app.get("/readyz")
    def ready():
        return {"ready": True}

    @app.post("/v1/predict")
    def predict(body: dict = Body(...)):  # FastAPI's thread pool: one forward per request, no batching
        p = engine.predict([body["text"]], int(body.get("top_k", 5)))[0]
        return {"next": p.next, "top": [{"token": c, "prob": v} for c, v in p.top]}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


try:  # module level: LitServe pickles the API into its worker process (spawn)
    import litserve as ls

    class LitApi(ls.LitAPI):
        def setup(self, device):
            from workloads.serve.engine import Engine

            self.engine = Engine.load(os.environ["BENCH_ARTIFACT"])

        def decode_request(self, request):
            return request["text"]

        def batch(self, inputs):
            return list(inputs)

        def predict(self, texts):
            return self.engine.predict(texts, 5)

        def unbatch(self, output):
            return list(output)

        def encode_response(self, p):
            return {"next": p.next, "top": [{"token": c, "prob": v} for c, v in p.top]}
except ImportError:  # pragma: no cover - the bench extra is missing
    ls = None


def serve_litserve(port: int, artifact: str, max_batch: int, wait_ms: float) -> None:
    if ls is None:
        raise SystemExit("pip install -e '.[bench]' (litserve) first")
    os.environ["BENCH_ARTIFACT"] = artifact
    api = LitApi(max_batch_size=max_batch, batch_timeout=wait_ms / 1000, api_path="/v1/predict")
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1, fast_queue=True, healthcheck_path="/readyz")
    server.run(host="127.0.0.1", port=port, num_api_servers=1, log_level="warning", generate_client_file=False)


# ---- load generator
# A minimal HTTP/1.1 keep-alive client on raw asyncio streams: about a tenth of httpx's CPU per request. On a
# 2-core machine the load generator shares the cores with the server, and httpx alone took one core (4.7 ms a
# request), capping every server at the client's speed; this one leaves the cores to the servers under test.

async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def load(url: str, concurrency: int, seconds: float, warmup_s: float) -> dict:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    body = json.dumps({"text": TEXT}).encode()
    request = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    lat: list[float] = []
    errors = 0
    start = time.perf_counter()
    measure_from, stop_at = start + warmup_s, start + warmup_s + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                try:
                    status = await _post(reader, writer, request)
                except (asyncio.IncompleteReadError, ConnectionError):  # the server closed it: count, reconnect
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                    continue
                t1 = time.perf_counter()
                if status != 200:
                    errors += 1
                elif t0 >= measure_from:
                    lat.append(t1 - t0)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    lat.sort()
    if len(lat) < 2:
        raise RuntimeError(f"{url}: only {len(lat)} successful requests ({errors} errors)")
    q = statistics.quantiles(lat, n=100)
    return {"requests": len(lat), "rps": len(lat) / seconds, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "errors": errors}


def start(cmd: list[str], port: int) -> subprocess.Popen:
    import httpx

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server {cmd} died: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    raise RuntimeError(f"server {cmd} not ready")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_naive":
        return serve_naive(int(sys.argv[2]), sys.argv[3])
    if len(sys.argv) > 1 and sys.argv[1] == "_litserve":
        return serve_litserve(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--warmup-s", type=float, default=2)
    p.add_argument("--max-batch-size", type=int, default=16)
    p.add_argument("--max-wait-ms", type=float, default=5)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as root:
        artifact = make_artifact(root)
        me = [sys.executable, str(Path(__file__).resolve())]
        servers = {
            "workloads.serve": lambda port: [sys.executable, "-m", "workloads.serve", "--model-uri", artifact,
                                             "--port", str(port), "--max-batch-size", str(a.max_batch_size),
                                             "--max-wait-ms", str(a.max_wait_ms), "--queue-size", "4096"],
            "naive (1 req = 1 forward)": lambda port: [*me, "_naive", str(port), artifact],
            "litserve (batching)": lambda port: [*me, "_litserve", str(port), artifact, str(a.max_batch_size),
                                                 str(a.max_wait_ms)],
        }
        results = {}
        for name, cmd in servers.items():
            port = free_port()
            proc = start(cmd(port), port)
            try:
                results[name] = asyncio.run(load(f"http://127.0.0.1:{port}/v1/predict", a.concurrency, a.seconds,
                                                 a.warmup_s))
            finally:
                stop(proc)
    print(f"serving benchmark: concurrency {a.concurrency}, {a.seconds:.0f}s measured after {a.warmup_s:.0f}s warm-up, "
          f"max batch {a.max_batch_size}, max wait {a.max_wait_ms} ms, {os.cpu_count()} CPUs, loopback")
    print(f"{'server':28s} {'requests':>9s} {'rps':>9s} {'p50 ms':>9s} {'p99 ms':>9s} {'errors':>7s}")
    for name, r in results.items():
        print(f"{name:28s} {r['requests']:9d} {r['rps']:9.1f} {r['p50_ms']:9.2f} {r['p99_ms']:9.2f} {r['errors']:7d}")
    ours, naive, lit = (results[k] for k in servers)
    print(f"throughput ratio vs litserve: {ours['rps'] / lit['rps']:.2f}x (target >= 1.5x); "
          f"p99 ratio (ours/litserve): {ours['p99_ms'] / lit['p99_ms']:.2f} (target <= 1.0)")
    print(f"throughput ratio vs naive:    {ours['rps'] / naive['rps']:.2f}x; "
          f"p99 ratio (ours/naive): {ours['p99_ms'] / naive['p99_ms']:.2f}")


if __name__ == "__main__":
    main()
