"""The server over real HTTP on loopback: outputs, batching, 429 back-pressure, probes, and a lossless SIGTERM drain."""
from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import boto3
import httpx
import pytest
import torch
from torch.nn import functional as F

from tests.support.moto_server import moto_server
from tests.workloads.conftest import Run, env, free_port
from workloads.model import Vocab
from workloads.storage import load_model

PROMPTS = ["Shall I compare thee", "To be, or not", "When in disgrace with fortune", "O", "The quality of mercy",
           "Now is the winter of our discontent made glorious summer by this sun of York; and all the clouds"]


class Server:
    def __init__(self, artifact: str, *flags: str, environ: dict[str, str] | None = None, until: str = "/readyz"):
        """Start the server and wait until ``until`` answers 200 (``/livez``: listening, maybe still loading)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.run = Run([sys.executable, "-m", "workloads.serve", "--model-uri", artifact, "--host", "127.0.0.1",
                        "--port", str(self.port), *flags], environ)
        self.wait_for(until)

    def wait_for(self, path: str) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}{path}", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.run.proc.poll() is None and time.monotonic() < deadline, self.run.output
            time.sleep(0.1)

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))

    def stop(self) -> None:
        if self.run.proc.poll() is None:
            self.run.proc.send_signal(signal.SIGTERM)
            try:
                self.run.finish(60)
            except Exception:
                self.run.kill()


@pytest.fixture(scope="module")
def reference_model(artifact):
    model, _ = load_model(artifact)
    return model, Vocab(model.cfg.vocab)


def direct(reference_model, text: str) -> torch.Tensor:
    model, vocab = reference_model
    ids = torch.tensor([vocab.encode(text)[-model.cfg.block_size:]])
    with torch.inference_mode():
        return F.softmax(model(ids)[0, -1].float(), dim=-1)


def greedy(reference_model, prompt: str, n: int) -> str:
    _, vocab = reference_model
    text = prompt
    for _ in range(n):
        text += vocab.chars[int(direct(reference_model, text).argmax())]
    return text[len(prompt):]


@pytest.fixture(scope="module")
def server(artifact):
    s = Server(artifact, "--max-batch-size", "8", "--max-wait-ms", "20", "--queue-size", "256", "--quantize", "none")
    yield s
    s.stop()


def test_probes_and_model_info(server, artifact):
    assert httpx.get(f"{server.url}/livez").json() == {"alive": True}
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    info = httpx.get(f"{server.url}/v1/models").json()
    assert info["model_uri"] == artifact and info["quantized"] is False and info["trained"]["step"] == 40
    assert server.metric("serve_ready") == 1


def test_outputs_match_a_direct_forward_pass_even_when_batched(server, reference_model):
    with ThreadPoolExecutor(len(PROMPTS)) as pool:  # concurrent, so different lengths share padded batches
        got = list(pool.map(lambda t: httpx.post(f"{server.url}/v1/predict", json={"text": t, "top_k": 5},
                                                 timeout=30).json(), PROMPTS * 3))
    for text, out in zip(PROMPTS * 3, got):
        probs = direct(reference_model, text)
        values, index = probs.topk(5)
        vocab = reference_model[1]
        assert [t["token"] for t in out["top"]] == [vocab.chars[i] for i in index.tolist()]
        assert [t["prob"] for t in out["top"]] == pytest.approx(values.tolist(), abs=1e-5)
        assert out["next"] == vocab.chars[int(index[0])]
    r = httpx.post(f"{server.url}/v1/generate", json={"prompt": "Shall I ", "max_new_tokens": 12}, timeout=30)
    assert r.json()["completion"] == greedy(reference_model, "Shall I ", 12)


def test_concurrent_load_forms_real_batches(server):
    batches0, items0 = server.metric("serve_batch_size_count"), server.metric("serve_batch_size_sum")
    singles0 = server.metric('serve_batch_size_bucket{le="1.0"}')
    with ThreadPoolExecutor(32) as pool:
        codes = list(pool.map(lambda i: httpx.post(f"{server.url}/v1/predict", json={"text": PROMPTS[i % 6]},
                                                   timeout=30).status_code, range(96)))
    assert codes == [200] * 96
    batches = server.metric("serve_batch_size_count") - batches0
    items = server.metric("serve_batch_size_sum") - items0
    singles = server.metric('serve_batch_size_bucket{le="1.0"}') - singles0
    assert items == 96
    assert batches < items and singles < batches, "every request ran alone: batching never formed a batch"
    assert server.metric('serve_request_latency_seconds_count{endpoint="predict"}') >= 96
    assert server.metric("serve_inflight_requests") == 0 and server.metric("serve_queue_depth") == 0


def test_generation_metrics_count_tokens_first_tokens_and_batches(server, reference_model):
    before = {m: server.metric(m) for m in ("serve_generated_tokens_total", "serve_time_to_first_token_seconds_count",
                                            "serve_batch_size_count", "serve_batch_size_sum")}
    lengths = [5, 9, 17, 30] * 4
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda i: httpx.post(f"{server.url}/v1/generate", json={
            "prompt": PROMPTS[i % 6], "max_new_tokens": lengths[i]}, timeout=60).json(), range(16)))
    # the rate first: it covers the last 10 whole seconds, which the reference completions below can outlast
    deadline = time.monotonic() + 15
    while (rate := server.metric("serve_tokens_per_second")) == 0:  # the current second counts once it is over
        assert time.monotonic() < deadline, "serve_tokens_per_second never rose"
        time.sleep(0.2)
    assert 0 < rate <= sum(lengths)
    for i, body in enumerate(got):
        assert body["completion"] == greedy(reference_model, PROMPTS[i % 6], lengths[i])
    assert server.metric("serve_generated_tokens_total") - before["serve_generated_tokens_total"] == sum(lengths)
    assert server.metric("serve_time_to_first_token_seconds_count") \
        - before["serve_time_to_first_token_seconds_count"] == 16
    steps = server.metric("serve_batch_size_count") - before["serve_batch_size_count"]
    rows = server.metric("serve_batch_size_sum") - before["serve_batch_size_sum"]
    assert rows == sum(lengths)  # every token came out of exactly one row of one step
    assert steps < rows, "no step ever ran two sequences together"
    assert server.metric("serve_batch_occupancy") == 0 and server.metric("serve_inflight_requests") == 0


def test_a_client_that_disconnects_is_dropped_before_it_costs_a_token(artifact):
    """The worker holds a lone request up to --max-wait-ms for company; the client leaves meanwhile. Its
    sequence must never run (no tokens), and the departure is counted, not answered as a success."""
    s = Server(artifact, "--quantize", "none", "--max-batch-size", "64", "--max-wait-ms", "3000")
    try:
        body = b'{"prompt": "Shall I compare thee", "max_new_tokens": 512}'
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(b"POST /v1/generate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            deadline = time.monotonic() + 30
            while s.metric("serve_inflight_requests") == 0:
                assert time.monotonic() < deadline
                time.sleep(0.01)
        deadline = time.monotonic() + 30
        while s.metric('serve_cancelled_total{reason="disconnect"}') == 0 or s.metric("serve_queue_depth"):
            assert time.monotonic() < deadline, "the disconnect was never noticed"
            time.sleep(0.05)
        assert s.metric("serve_inflight_requests") == 0
        # the next request runs in the steps right after: had the dropped one been admitted, it would have
        # generated beside it
        r = httpx.post(f"{s.url}/v1/generate", json={"prompt": "O", "max_new_tokens": 3}, timeout=30)
        assert r.status_code == 200 and s.metric("serve_generated_tokens_total") == 3
        assert s.metric('serve_requests_total{code="200",endpoint="generate"}') == 1
    finally:
        s.stop()


def test_threads_follow_the_flags(artifact):
    s = Server(artifact, "--quantize", "none", "--torch-threads", "3", "--decode-threads", "2")
    try:
        info = httpx.get(f"{s.url}/v1/models", timeout=5).json()
        assert (info["torch_threads"], info["decode_threads"]) == (3, 2)
        [ready] = s.run.named("ready")
        assert (ready["torch_threads"], ready["decode_threads"]) == (3, 2)
    finally:
        s.stop()


def test_full_queue_answers_429(artifact):
    s = Server(artifact, "--max-batch-size", "1", "--max-wait-ms", "0", "--queue-size", "1")
    try:
        with ThreadPoolExecutor(64) as pool:
            rs = list(pool.map(lambda i: httpx.post(f"{s.url}/v1/predict", json={"text": PROMPTS[5] * 2},
                                                    timeout=30), range(256)))
        codes = [r.status_code for r in rs]
        assert set(codes) <= {200, 429} and codes.count(429) > 0 and codes.count(200) > 0
        assert all(r.headers.get("retry-after") == "1" for r in rs if r.status_code == 429)
        assert s.metric('serve_rejections_total{reason="queue_full"}') == codes.count(429)
    finally:
        s.stop()


def test_sigterm_under_load_loses_no_accepted_request(artifact, reference_model):
    """Short requests in a loop (the load) and long ones (256 tokens: hundreds of steps, a sliding window) that are
    certainly in flight when SIGTERM lands, however starved for CPU the clients are: every accepted one answered."""
    s = Server(artifact, "--max-batch-size", "8", "--max-wait-ms", "5", "--queue-size", "256",
               "--drain-timeout-s", "60", "--quantize", "none")
    expected = {(p, n): greedy(reference_model, p, n) for p in PROMPTS[:3] for n in (16, LONG)}
    outcomes: list[tuple[str, object]] = []
    lock, told_to_leave, ok_count, long_pending = threading.Lock(), threading.Event(), [0], [0]

    def client(i: int, n: int) -> None:
        # fresh connection per request, like traffic through a load balancer; stop once told to go away
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=60) as c:
            while not told_to_leave.is_set():
                prompt = PROMPTS[i % 3]
                with lock:
                    long_pending[0] += n == LONG
                try:
                    r = c.post(f"{s.url}/v1/generate", json={"prompt": prompt, "max_new_tokens": n})
                    result: object = (r.status_code, r.json(), (prompt, n))
                except httpx.ConnectError:
                    result = "refused"  # listener closed: never accepted
                except httpx.TransportError as e:
                    result = f"lost: {type(e).__name__}"
                with lock:
                    long_pending[0] -= n == LONG
                    outcomes.append(("r", result))
                    if isinstance(result, tuple) and result[0] == 200:
                        ok_count[0] += 1
                if result == "refused" or (isinstance(result, tuple) and result[0] == 503):
                    told_to_leave.set()

    threads = [threading.Thread(target=client, args=(i, 16)) for i in range(12)]
    threads += [threading.Thread(target=client, args=(i, LONG)) for i in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    # load is flowing and both long requests are accepted (polled; bounded, and fails if the server died)
    while ok_count[0] < 24 or long_pending[0] < 2 or s.metric("serve_inflight_requests") < 2:
        assert s.run.proc.poll() is None and time.monotonic() < deadline, s.run.output
        time.sleep(0.02)
    s.run.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a client is still waiting two minutes after SIGTERM"
    assert s.run.finish(60) == 0, s.run.output
    [draining] = s.run.named("draining")
    [drained] = s.run.named("drained")
    assert draining["inflight"] > 0, "SIGTERM arrived with nothing in flight: the test proved nothing"
    results = [r for _, r in outcomes]
    lost = [r for r in results if isinstance(r, str) and r.startswith("lost")]
    assert not lost
    ok = [r for r in results if isinstance(r, tuple) and r[0] == 200]
    assert all(r[0] in (200, 503) for r in results if isinstance(r, tuple))
    assert any(key[1] == LONG for _, _, key in ok), "no long request was answered"
    assert drained["clean"] and drained["inflight_left"] == 0
    assert drained["completed"] == drained["accepted"] == len(ok)
    for _, body, key in ok:
        assert body["completion"] == expected[key]


LONG = 256  # tokens: far longer than the tiny model's 32-position window, so every step re-prefills the row


class HeldStorage:
    """A TCP relay to object storage that holds every connection until ``release()``: a model download that is
    still in progress, for as long as the test needs to look at the server."""

    def __init__(self, upstream_port: int):
        self.upstream, self.released = upstream_port, threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self.sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        self.released.wait()
        up = socket.create_connection(("127.0.0.1", self.upstream))
        for src, dst in ((conn, up), (up, conn)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def test_readyz_is_503_while_the_model_loads_from_s3_then_serves_it(artifact, reference_model, monkeypatch):
    """The pod's path: --model-uri s3://... (s3fs, AWS_ENDPOINT_URL); not ready until loaded and warmed up."""
    with moto_server(monkeypatch) as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="models")
        for f in Path(artifact).iterdir():
            s3.upload_file(str(f), "models", f"charlm/{f.name}")
        held = HeldStorage(int(endpoint.rsplit(":", 1)[1]))
        uri = "s3://models/charlm/"
        s = Server(uri, "--max-batch-size", "4", "--quantize", "none", environ=env(AWS_ENDPOINT_URL=held.endpoint),
                   until="/livez")
        try:
            r = httpx.get(f"{s.url}/readyz", timeout=5)  # listening, the download held: not ready
            assert r.status_code == 503 and r.json() == {"ready": False, "reason": "warming up"}
            assert httpx.post(f"{s.url}/v1/predict", json={"text": "O"}, timeout=5).status_code == 503
            assert s.metric("serve_ready") == 0
            held.release()
            s.wait_for("/readyz")
            assert httpx.get(f"{s.url}/v1/models", timeout=5).json()["model_uri"] == uri
            out = httpx.post(f"{s.url}/v1/predict", json={"text": PROMPTS[0], "top_k": 1}, timeout=30).json()
            assert out["next"] == reference_model[1].chars[int(direct(reference_model, PROMPTS[0]).argmax())]
        finally:
            held.close()  # let a held download finish so the server can stop at once
            s.stop()


def test_int8_server_reports_its_accuracy_delta_and_times_out_requests_with_504(artifact, reference_model):
    """--quantize int8 over HTTP: /v1/models and /metrics carry the measured accuracy delta; a request that cannot
    be answered within --request-timeout-s gets 504 (a lone request waits up to --max-wait-ms for its batch to
    fill, here far longer than its timeout)."""
    s = Server(artifact, "--quantize", "int8", "--max-batch-size", "64", "--max-wait-ms", "2000",
               "--request-timeout-s", "0.2")
    try:
        info = httpx.get(f"{s.url}/v1/models", timeout=5).json()
        assert info["quantized"] is True
        delta = info["quantization"]["accuracy_delta"]
        assert isinstance(delta, float) and abs(delta) < 0.05
        assert s.metric("serve_quantization_accuracy_delta") == pytest.approx(delta)
        r = httpx.post(f"{s.url}/v1/predict", json={"text": PROMPTS[0], "top_k": 1}, timeout=30)
        assert r.status_code == 504 and r.json() == {"error": "timeout"}
        assert s.metric('serve_rejections_total{reason="timeout"}') == 1
        assert s.metric('serve_requests_total{code="504",endpoint="predict"}') == 1  # labels print sorted
    finally:
        s.stop()
