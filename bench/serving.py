"""Serving benchmark: ``POST /v1/generate`` on workloads.serve vs LitServe, same model, weights and greedy outputs.

LitServe serves the same engine the usual way: its worker runs the whole decode loop (KV cache, finished rows
leaving the batch) over each batch it collects, with its batch size and timeout swept per concurrency (its best
setting is kept; swept at one torch thread, used at both), its worker at one torch thread and at torch's default. Fixed (32 tokens) and mixed (4-48)
completion lengths at each concurrency; servers one at a time, the order alternating between repetitions.
Every response is compared with the uncached greedy completion computed here first: a server that returns a
different completion is reported and no ratio is printed for it.

    .venv/bin/python bench/serving.py [--concurrency 8 32 128] [--reps 3] [--seconds 6] [--model-uri DIR]

Needs the ``bench`` extra (litserve). Shares the machine's cores with the load generator (a raw asyncio HTTP/1.1
keep-alive client, about a tenth of httpx's CPU per request) and with whatever else runs: the load average is
printed with every measurement.
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
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PROMPTS = ["Shall I compare ", "To be, or not to", "When in disgrace", "O Romeo, Romeo!",
           "Now is the winte", "The quality of m", "All the world's ", "Friends, Romans,"]
FIXED_TOKENS, MIXED_TOKENS = 32, range(4, 49)  # prompt + completion <= 64 = block_size: every token decodes cached
LIT_BATCH_TIMEOUTS_S = (0.002, 0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def make_artifact(root: str, steps: int) -> str:
    """The default serving size, briefly trained by the real trainer (an untrained model's near-ties would make
    greedy outputs hinge on float rounding)."""
    uri = os.path.join(root, "model")
    subprocess.run([sys.executable, "-m", "workloads.train", "--batch-size", "16", "--steps", str(steps),
                    "--checkpoint-interval", str(steps), "--checkpoint-uri", os.path.join(root, "ckpt"),
                    "--model-uri", uri, "--num-workers", "0"], cwd=REPO, env=server_env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return uri


def references(artifact: str) -> dict[str, str]:
    """Each prompt's uncached greedy completion of the longest length (shorter ones are its prefixes)."""
    import torch

    from workloads.serve.engine import Engine
    from workloads.storage import load_model

    # one intra-op thread, like the servers compared: on a busy machine a two-thread team waits at every barrier
    # for a descheduled sibling (minutes for these few hundred forwards at a load of 15)
    torch.set_num_threads(1)
    model, meta = load_model(artifact)
    engine = Engine(model, meta, torch.device("cpu"), quantize="none")
    out = {}
    for p in PROMPTS:
        text = p
        for _ in range(max(FIXED_TOKENS, max(MIXED_TOKENS))):
            text += engine.vocab.chars[int(engine.next_probs([text])[0].argmax())]
        out[p] = text[len(p):]
    return out


def workload(mode: str, refs: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """(request body, the exact response body expected) for every request of ``mode``, in sending order."""
    if mode == "fixed":
        pairs = [(p, FIXED_TOKENS) for p in PROMPTS]
    else:  # every (prompt, length) pair once, interleaved so that neighbours differ in length
        pairs = [(p, n) for n in MIXED_TOKENS for p in PROMPTS]
        pairs = [pairs[(i * 97) % len(pairs)] for i in range(len(pairs))]
    return [(json.dumps({"prompt": p, "max_new_tokens": n}).encode(),
             json.dumps({"prompt": p, "completion": refs[p][:n]}, ensure_ascii=False,
                        separators=(",", ":")).encode()) for p, n in pairs]


# ---- LitServe, serving the same engine (run as `python bench/serving.py _litserve PORT ARTIFACT BATCH TIMEOUT T`)

try:  # module level: LitServe pickles the API into its worker process (spawn)
    import litserve as ls

    class LitGenerate(ls.LitAPI):
        def setup(self, device):
            import torch

            from workloads.serve.engine import Engine

            if os.environ.get("BENCH_THREADS"):
                torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
            self.engine = Engine.load(os.environ["BENCH_ARTIFACT"], quantize="none")

        def decode_request(self, request):
            return request["prompt"], int(request.get("max_new_tokens", 32))

        def batch(self, inputs):
            return list(inputs)

        def predict(self, batch):
            return list(zip([p for p, _ in batch], self.engine.generate([p for p, _ in batch],
                                                                        [n for _, n in batch])))

        def unbatch(self, output):
            return list(output)

        def encode_response(self, output):
            prompt, completion = output
            return {"prompt": prompt, "completion": completion}
except ImportError:  # pragma: no cover - the bench extra is missing
    ls = None


def serve_litserve(port: int, artifact: str, max_batch: int, timeout_s: float, threads: int) -> None:
    if ls is None:
        raise SystemExit("pip install -e '.[bench]' (litserve) first")
    os.environ["BENCH_ARTIFACT"] = artifact
    if threads:
        os.environ["BENCH_THREADS"] = str(threads)
    api = LitGenerate(max_batch_size=max_batch, batch_timeout=timeout_s, api_path="/v1/generate")
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1, fast_queue=True, healthcheck_path="/readyz")
    server.run(host="127.0.0.1", port=port, num_api_servers=1, log_level="warning", generate_client_file=False)


# ---- load generator

async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return int(head[9:12]), (await reader.readexactly(length) if length else b"")


async def load(port: int, reqs: list[tuple[bytes, bytes]], concurrency: int, seconds: float,
               warmup_s: float) -> dict:
    """``concurrency`` keep-alive clients, each sending the next request as soon as its last one is answered."""
    wire = [(b"POST /v1/generate HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: "
             + str(len(body)).encode() + b"\r\n\r\n" + body, want) for body, want in reqs]
    lat: list[float] = []
    errors = wrong = answered = 0
    start = time.perf_counter()
    measure_from, stop_at = start + warmup_s, start + warmup_s + seconds

    async def client(i: int) -> None:
        nonlocal errors, wrong, answered
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        k = i * 7
        try:
            while (t0 := time.perf_counter()) < stop_at:
                request, want = wire[k % len(wire)]
                k += 1
                try:
                    status, body = await _post(reader, writer, request)
                except (asyncio.IncompleteReadError, ConnectionError):  # the server closed it: count, reconnect
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                if status != 200:
                    errors += 1
                elif body != want:
                    wrong += 1
                    note_difference(request, want, body)
                else:
                    answered += 1
                    if t0 >= measure_from:
                        lat.append(time.perf_counter() - t0)
        finally:
            writer.close()

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    # a starved server (fewer than two answers in the window) gets no percentiles: reported as such, not dropped
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [float("nan")] * 99
    return {"requests": len(lat), "rps": len(lat) / seconds, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "errors": errors, "wrong": wrong, "answered": answered}


DIFFERING: list[dict] = []  # the first few differing responses (request, expected, got), saved with the run


def note_difference(request: bytes, want: bytes, got: bytes) -> None:
    if len(DIFFERING) < 5:
        DIFFERING.append({"request": request.decode(errors="replace")[-120:], "expected": want.decode(),
                          "got": got.decode(errors="replace")[:300]})


async def identical(port: int, reqs: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """Every distinct request once, 64 at a time (so they share batches): (completions that differ, requests
    that failed)."""
    sem = asyncio.Semaphore(64)

    async def one(body: bytes, want: bytes) -> str:
        async with sem:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                status, got = await _post(reader, writer, b"POST /v1/generate HTTP/1.1\r\nHost: bench\r\n"
                                          b"Content-Type: application/json\r\nContent-Length: "
                                          + str(len(body)).encode() + b"\r\n\r\n" + body)
            finally:
                writer.close()
            if status == 200 and got != want:
                note_difference(body, want, got)
            return "failed" if status != 200 else "same" if got == want else "differs"

    outcomes = await asyncio.gather(*(one(b, w) for b, w in reqs))
    return outcomes.count("differs"), outcomes.count("failed")


# ---- servers

def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and its descendants (user + system), from /proc."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                f = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(d.name)] = f
            children.setdefault(int(f[1]), []).append(int(d.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += (int(stats[p][11]) + int(stats[p][12])) / os.sysconf("SC_CLK_TCK")
        todo += children.get(p, [])
    return total


class Server:
    def __init__(self, name: str, cmd: list[str], port: int):
        import httpx

        self.name, self.port = name, port
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=server_env(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} died: {self.proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready")

    def measure(self, reqs, concurrency: int, seconds: float, warmup_s: float) -> dict:
        before, cpu0 = loadavg(), cpu_seconds(self.proc.pid)
        r = asyncio.run(load(self.port, reqs, concurrency, seconds, warmup_s))
        cpu = cpu_seconds(self.proc.pid) - cpu0
        r["server_cpus"] = cpu / (seconds + warmup_s)
        r["cpu_ms_per_request"] = 1000 * cpu / max(1, r["answered"])
        r["load_before"], r["load_after"] = before, loadavg()
        return r

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


def ours(artifact: str, max_batch: int, extra: list[str]):
    def start() -> Server:
        port = free_port()
        return Server("workloads.serve", [sys.executable, "-m", "workloads.serve", "--model-uri", artifact,
                                          "--port", str(port), "--quantize", "none", "--max-batch-size",
                                          str(max_batch), "--queue-size", "4096", *extra], port)
    return start


def litserve(artifact: str, threads: int, batch: int, timeout_s: float):
    def start() -> Server:
        port = free_port()
        return Server(f"litserve b={batch} t={timeout_s * 1000:g}ms",
                      [sys.executable, str(Path(__file__).resolve()), "_litserve", str(port), artifact, str(batch),
                       str(timeout_s), str(threads)], port)
    return start


# ---- the benchmark

def log(msg: str) -> None:
    print(msg, flush=True)


def sweep(artifact, work, a) -> dict[tuple[int, int], tuple[int, float]]:
    """LitServe's best (batch size, timeout) per concurrency, highest throughput over both modes, swept with its
    worker at the first of ``--lit-threads`` (one thread: the setting whose completions match) and used for every
    thread count (a second sweep would double the benchmark's time)."""
    best = {}
    for threads in a.lit_threads[:1]:
        for c in a.concurrency:
            scores = []
            for b in sorted({max(1, c // 4), c}):
                for t in LIT_BATCH_TIMEOUTS_S:
                    s = litserve(artifact, threads, b, t)()
                    try:
                        rps = [s.measure(work[m], c, a.sweep_seconds, a.warmup_s)["rps"] for m in a.modes]
                    finally:
                        s.stop()
                    scores.append((statistics.geometric_mean(rps), b, t))
                    log(f"  sweep litserve threads={threads or 'default'} c={c} batch={b} timeout={t * 1000:g}ms: "
                        f"{' / '.join(f'{r:.0f}' for r in rps)} rps ({'/'.join(a.modes)})")
            _, b, t = max(scores)
            for other in a.lit_threads:
                best[other, c] = (b, t)
    return best


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_litserve":
        return serve_litserve(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--concurrency", type=int, nargs="+", default=[8, 32, 128])
    p.add_argument("--modes", nargs="+", choices=("fixed", "mixed"), default=["fixed", "mixed"])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--sweep-seconds", type=float, default=3)
    p.add_argument("--warmup-s", type=float, default=1.5)
    p.add_argument("--max-batch-size", type=int, default=128, help="workloads.serve's --max-batch-size")
    p.add_argument("--ours-args", default="", help="more workloads.serve flags (default: its own defaults)")
    p.add_argument("--lit-threads", type=int, nargs="*", default=[1, 0],
                   help="LitServe worker threads; 0: torch's default; none: workloads.serve alone")
    p.add_argument("--lit-setting", nargs=2, type=float, metavar=("BATCH", "TIMEOUT_S"),
                   help="skip the sweep: this LitServe batch size and timeout everywhere")
    p.add_argument("--model-uri", help="a trained artifact (default: train the serving size for --train-steps)")
    p.add_argument("--train-steps", type=int, default=300)
    p.add_argument("--out", help="write every measurement here as JSON (as it goes)")
    p.add_argument("--report", metavar="JSON", help="print the report of an earlier --out file, measure nothing")
    a = p.parse_args()
    if a.report:
        saved = json.loads(Path(a.report).read_text())
        best = {(int(k.split("/")[0]), int(k.split("/")[1])): tuple(v) for k, v in saved["litserve_best"].items()}
        DIFFERING.extend(saved.get("differing_examples", []))
        return report(a, saved["runs"], best, saved["mismatched"], saved.get("load_at_start", float("nan")),
                      saved.get("started", time.time()), saved.get("elapsed_s"), saved.get("load_at_end"))
    started, load0 = time.time(), loadavg()
    with tempfile.TemporaryDirectory() as root:
        artifact = a.model_uri or make_artifact(root, a.train_steps)
        refs = references(artifact)
        work = {m: workload(m, refs) for m in a.modes}
        every = [r for m in a.modes for r in work[m]]
        if a.lit_setting:
            best = {(t, c): (int(a.lit_setting[0]), a.lit_setting[1]) for t in a.lit_threads for c in a.concurrency}
        else:
            log("sweeping LitServe's batch settings")
            best = sweep(artifact, work, a)
        contenders = ["ours"] + [f"lit{t}" for t in a.lit_threads]
        runs: list[dict] = []
        mismatched: dict[str, int] = {}
        for rep in range(a.reps):
            order = contenders if rep % 2 == 0 else contenders[::-1]
            for who in order:
                plans = ([(ours(artifact, a.max_batch_size, a.ours_args.split()), a.concurrency)] if who == "ours" else
                         [(litserve(artifact, int(who[3:]), *best[int(who[3:]), c]), [c]) for c in a.concurrency])
                for start, cs in plans:
                    s = start()
                    if who == "ours" and rep == 0:
                        info = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{s.port}/v1/models").read())
                        log(f"  workloads.serve: {info['decode_threads']} decode thread(s) x {info['torch_threads']}"
                            f" torch thread(s), max batch {info['max_batch_size']}, quantized {info['quantized']}")
                    try:
                        differ, failed = asyncio.run(identical(s.port, every))
                        mismatched[who] = mismatched.get(who, 0) + differ
                        if failed:
                            log(f"  {who}: {failed} of the {len(every)} identity-check requests failed (not 200)")
                        for c in cs:
                            for m in a.modes:
                                r = s.measure(work[m], c, a.seconds, a.warmup_s)
                                runs.append({"who": who, "server": s.name, "rep": rep, "c": c, "mode": m, **r})
                                mismatched[who] += r["wrong"]
                                if a.out:  # as it goes: a crash later keeps what was measured
                                    save(a.out, runs, best, mismatched, load0, started)
                                log(f"  rep {rep} {who:5s} c={c:3d} {m:5s} {r['rps']:7.1f} rps p50 "
                                    f"{r['p50_ms']:7.1f} ms p99 {r['p99_ms']:7.1f} ms, server {r['server_cpus']:.2f}"
                                    f" CPUs {r['cpu_ms_per_request']:.2f} ms/req, load {r['load_before']:.2f}->{r['load_after']:.2f}"
                                    f"{', ERRORS %d' % r['errors'] if r['errors'] else ''}")
                    finally:
                        s.stop()
    if a.out:
        save(a.out, runs, best, mismatched, load0, started)
    report(a, runs, best, mismatched, load0, started)


def save(path: str, runs: list[dict], best, mismatched: dict[str, int], load0: float, started: float) -> None:
    Path(path).write_text(json.dumps({"runs": runs, "litserve_best": {f"{t}/{c}": v for (t, c), v in best.items()},
                                      "mismatched": mismatched, "differing_examples": DIFFERING,
                                      "load_at_start": load0, "started": started, "elapsed_s": time.time() - started,
                                      "load_at_end": loadavg(), "argv": sys.argv[1:]}, indent=1))


def report(a, runs: list[dict], best, mismatched: dict[str, int], load0: float, started: float,
           elapsed: float | None = None, load_end: float | None = None) -> None:
    def cell(who, c, m, key):
        return [r[key] for r in runs if (r["who"], r["c"], r["mode"]) == (who, c, m)]

    def spread(v):
        return f"{statistics.median(v):7.1f} [{min(v):.1f}-{max(v):.1f}]"

    def ratio(x: float, y: float) -> float:
        return x / y if y else float("inf")

    names = {"ours": "workloads.serve", **{f"lit{t}": f"litserve, worker {t or 'default'} thr"
                                           for t in a.lit_threads}}
    loads = [x for r in runs for x in (r["load_before"], r["load_after"])]
    log(f"\n/v1/generate, {a.reps} repetitions x {a.seconds:g}s after {a.warmup_s:g}s warm-up, {os.cpu_count()} CPUs, "
        f"loopback; load average {load0:.2f} at start, {loadavg() if load_end is None else load_end:.2f} at end, median "
        f"{statistics.median(loads):.2f} (min {min(loads):.2f}, max {max(loads):.2f}) around the measurements; "
        f"{time.time() - started if elapsed is None else elapsed:.0f}s in all")
    log("completions differing from the uncached greedy reference: "
        + ", ".join(f"{names[w]} {n}" for w, n in mismatched.items()))
    for d in DIFFERING[:3]:
        log(f"  e.g. {d['request']}\n    expected {d['expected']}\n    got      {d['got']}")
    log("litserve settings (batch, timeout): " + ", ".join(
        f"{t or 'default'} thr c={c}: {b}/{s * 1000:g}ms" for (t, c), (b, s) in sorted(best.items())))
    log(f"{'server':30s} {'c':>4s} {'mode':5s} {'rps median [min-max]':>24s} {'p99 ms median [min-max]':>26s}")
    for c in a.concurrency:
        for m in a.modes:
            for who in names:
                rps, p99 = cell(who, c, m, "rps"), cell(who, c, m, "p99_ms")
                if rps:
                    log(f"{names[who]:30s} {c:4d} {m:5s} {spread(rps):>24s} {spread(p99):>26s}")
    log("ratios, workloads.serve / litserve (median; per-repetition min-max):")
    for who in names:
        if who == "ours":
            continue
        if mismatched.get(who) or mismatched.get("ours"):
            log(f"  {names[who]}: not compared, completions differ")
            continue
        for c in a.concurrency:
            for m in a.modes:
                ours_r, lit_r = cell("ours", c, m, "rps"), cell(who, c, m, "rps")
                ours_p, lit_p = cell("ours", c, m, "p99_ms"), cell(who, c, m, "p99_ms")
                if not ours_r or not lit_r:
                    continue
                tr = [ratio(x, y) for x, y in zip(ours_r, lit_r)]
                pr = [ratio(x, y) for x, y in zip(ours_p, lit_p)]
                starved = any(p != p for p in ours_p + lit_p)  # nan: a run with under two answers
                log(f"  vs {names[who]:28s} c={c:3d} {m:5s} throughput "
                    f"{ratio(statistics.median(ours_r), statistics.median(lit_r)):5.2f}x [{min(tr):.2f}-{max(tr):.2f}]"
                    f"   p99 {ratio(statistics.median(ours_p), statistics.median(lit_p)):5.2f} "
                    f"[{min(pr):.2f}-{max(pr):.2f}]{'  (a starved run: no percentiles)' if starved else ''}")


if __name__ == "__main__":
    main()
