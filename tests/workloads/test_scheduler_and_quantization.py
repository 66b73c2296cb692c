"""In-process pieces: the continuous-batching scheduler over a real engine, and int8 quantization."""
from __future__ import annotations

import asyncio
import time

import pytest
import torch

from workloads.serve.engine import Batch, Engine, Sequence
from workloads.serve.metrics import ServeMetrics, TokenRate
from workloads.serve.scheduler import MIN_SHARE, QueueFull, Scheduler
from workloads.storage import load_model

PROMPTS = ["Shall I compare thee", "To be, or not", "O", "When in disgrace with fortune and men's eyes, I all alone"]


@pytest.fixture(scope="module")
def engine(artifact) -> Engine:
    model, meta = load_model(artifact)
    return Engine(model, meta, torch.device("cpu"), quantize="none")


def greedy(engine: Engine, prompt: str, n: int) -> str:
    """The uncached reference: the whole window through the model for every token."""
    text = prompt
    for _ in range(n):
        text += engine.vocab.chars[int(engine.next_probs([text])[0].argmax())]
    return text[len(prompt):]


def scheduler(engine: Engine, **kw) -> Scheduler:
    opts = {"max_batch": 8, "max_tokens": 1024, "max_wait_s": 0.0, "queue_size": 64, "threads": 1} | kw
    return Scheduler(engine, metrics=ServeMetrics(opts["max_batch"]), **opts)


def seq(engine: Engine, prompt: str, n: int, **kw) -> Sequence:
    return Sequence(engine.encode(prompt), n, future=asyncio.get_running_loop().create_future(), **kw)


async def until(cond, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


def test_a_request_joins_the_running_batch_and_is_answered_when_its_own_sequence_ends(engine):
    """Iteration-level batching: B arrives while A is mid-decode, shares A's steps and leaves before A ends."""
    async def scenario():
        s = scheduler(engine)
        s.start()
        a = seq(engine, PROMPTS[0], 400)  # long: the window slides many times
        s.submit(a)
        await until(lambda: len(a.generated) >= 5)
        b = seq(engine, PROMPTS[1], 3)
        s.submit(b)
        got_b = await b.future
        assert not a.future.done() and 5 <= len(a.generated) < 400, "B waited for A's whole sequence"
        got_a = await a.future
        await s.close()
        return engine.vocab.decode(got_a), engine.vocab.decode(got_b)

    got_a, got_b = asyncio.run(scenario())
    assert got_b == greedy(engine, PROMPTS[1], 3)
    assert got_a == greedy(engine, PROMPTS[0], 400)


@pytest.mark.parametrize("threads", [1, 2])
def test_concurrent_mixed_lengths_give_the_uncached_greedy_completions(engine, threads):
    lengths = [1, 4, 17, 40, 2, 33, 9, 64, 5, 12]  # 64 > block_size 32: windows slide mid-batch
    served: set[int] = set()

    async def scenario():
        s = scheduler(engine, max_batch=4, threads=threads)  # fewer rows than requests: later ones queue
        assert [b.rows for b in s.batches] == ([4] if threads == 1 else [2, 2])
        s.start()
        seqs = [seq(engine, PROMPTS[i % 4], n) for i, n in enumerate(lengths)]
        for q in seqs:
            s.submit(q)
        while not all(q.future.done() for q in seqs):
            served.update(i for i, b in enumerate(s.batches) if b.active)
            await asyncio.sleep(0.001)
        assert s.live == 0 and s.pending == 0
        await s.close()
        return [engine.vocab.decode(q.future.result()) for q in seqs]

    got = asyncio.run(scenario())
    assert served == set(range(threads)), "a decode thread never took part"
    assert got == [greedy(engine, PROMPTS[i % 4], n) for i, n in enumerate(lengths)]
    assert engine.generate([PROMPTS[i % 4] for i in range(len(lengths))], lengths) == got


def test_a_small_load_stays_on_one_decode_thread_and_a_large_one_spreads(engine):
    async def scenario():
        s = scheduler(engine, max_batch=64, threads=2)
        s.start()
        first = [seq(engine, PROMPTS[0], 100_000) for _ in range(MIN_SHARE // 2)]
        for q in first:
            s.submit(q)
        await until(lambda: s.live == len(first))
        small = sorted(len(b.active) for b in s.batches)
        more = [seq(engine, PROMPTS[1], 100_000) for _ in range(3 * MIN_SHARE)]
        for q in more:
            s.submit(q)
        await until(lambda: s.live == len(first) + len(more))
        large = sorted(len(b.active) for b in s.batches)
        for q in first + more:
            q.cancelled = True
        await until(lambda: not s.live)
        await s.close()
        return small, large

    small, large = asyncio.run(scenario())
    assert small == [0, MIN_SHARE // 2]
    assert large[0] >= MIN_SHARE and sum(large) == 3.5 * MIN_SHARE


def test_a_backlog_beyond_every_threads_rows_drains_without_new_arrivals(engine):
    """The queue holds more than all rows: each thread that runs dry must take more (or rouse the thread whose
    turn it is), with no submit left to wake anyone."""
    async def scenario():
        s = scheduler(engine, max_batch=8, threads=2)  # 4 rows each
        seqs = [seq(engine, PROMPTS[i % 4], 0, top_k=2) for i in range(60)]  # predictions: done in one step each
        for q in seqs:
            s.submit(q)
        s.start()
        await asyncio.wait_for(asyncio.gather(*(q.future for q in seqs)), 60)
        assert s.pending == 0 and s.live == 0
        await s.close()

    asyncio.run(scenario())


def test_admission_keeps_each_step_within_the_token_budget(engine, monkeypatch):
    work: list[int] = []
    step = Batch.step

    def counting_step(self, new):
        work.append(self.work() + sum(len(q.ctx) for q in new))
        return step(self, new)

    monkeypatch.setattr(Batch, "step", counting_step)
    prompt = "abcdefghij"  # 10 tokens each; a budget of 25 fits two prefills, then one beside the decoders

    async def scenario():
        s = scheduler(engine, max_tokens=25)
        seqs = [seq(engine, prompt, 6) for _ in range(5)]
        for q in seqs:
            s.submit(q)  # all queued before the worker starts: the first step could take them all
        s.start()
        out = await asyncio.gather(*(q.future for q in seqs))
        await s.close()
        return out

    out = asyncio.run(scenario())
    assert max(work) <= 25 and work[0] == 20, work
    assert len({tuple(o) for o in out}) == 1 and len(out[0]) == 6


@pytest.mark.parametrize("threads", [1, 2])
def test_cancelled_and_expired_sequences_leave_the_batch_and_free_their_rows(engine, threads):
    async def scenario():
        s = scheduler(engine, threads=threads)
        s.start()
        a = seq(engine, PROMPTS[0], 100_000)
        s.submit(a)
        await until(lambda: len(a.generated) >= 3)
        a.cancelled = True  # what the event loop does when the client disconnects
        await until(lambda: not s.live)
        stopped_at = len(a.generated)
        expired = seq(engine, PROMPTS[1], 5, deadline=time.monotonic() - 1)
        s.submit(expired)
        late = seq(engine, PROMPTS[2], 100_000, deadline=time.monotonic() + 0.2)
        s.submit(late)
        await until(lambda: s.pending == 0 and not s.live)
        ok = seq(engine, PROMPTS[3], 2)
        s.submit(ok)
        assert len(await ok.future) == 2
        await s.close()
        return a, stopped_at, expired, late

    a, stopped_at, expired, late = asyncio.run(scenario())
    assert len(a.generated) == stopped_at < 100_000 and not a.future.done()
    assert expired.generated == [] and not expired.future.done()  # never reached the model
    assert 0 < len(late.generated) < 100_000 and not late.future.done()  # the event loop answers 504 itself


def test_the_queue_is_bounded_and_a_failing_step_fails_only_its_sequences(engine, monkeypatch):
    async def scenario():
        s = scheduler(engine, queue_size=2)
        s.submit(seq(engine, "a", 1))
        s.submit(seq(engine, "b", 1))
        with pytest.raises(QueueFull):
            s.submit(seq(engine, "c", 1))
        s.waiting.clear()
        boom = RuntimeError("kernel failed")
        original = engine.prefill
        monkeypatch.setattr(engine, "prefill", lambda *a: (_ for _ in ()).throw(boom))
        s.start()
        failing = seq(engine, PROMPTS[0], 4)
        s.submit(failing)
        with pytest.raises(RuntimeError, match="kernel failed"):
            await failing.future
        monkeypatch.setattr(engine, "prefill", original)
        fine = seq(engine, PROMPTS[0], 4)
        s.submit(fine)
        result = await fine.future
        assert s.alive
        await s.close()
        return result

    assert engine.vocab.decode(asyncio.run(scenario())) == greedy(engine, PROMPTS[0], 4)


def test_token_rate_counts_whole_seconds_of_the_window():
    now = [100.5]
    r = TokenRate(window_s=2, clock=lambda: now[0])
    r.add(10)  # second 100
    now[0] = 101.2
    r.add(30)  # second 101
    assert r.rate() == 5.0  # seconds 99 and 100 complete; 101 is still filling
    now[0] = 102.0
    assert r.rate() == 20.0
    now[0] = 104.0
    assert r.rate() == 0.0  # idle: nothing in the last two seconds


def test_int8_quantization_reports_its_accuracy_delta(artifact):
    model, meta = load_model(artifact)
    q = Engine(model, meta, torch.device("cpu"), quantize="int8")
    linears = [m for m in q.eager.modules() if isinstance(m, torch.nn.Linear)]
    dynamic = [m for m in q.eager.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert dynamic and not linears, "every Linear should be replaced by its dynamic int8 version"
    assert any(isinstance(m, torch.nn.Linear) for m in q.reference.modules())  # the float model is kept
    acc = q.measure_quantization(samples=128)
    assert acc["samples"] == 128
    assert acc["accuracy_delta"] == pytest.approx(acc["served_accuracy"] - acc["float_accuracy"])
    assert abs(acc["accuracy_delta"]) < 0.1 and abs(acc["served_nll"] - acc["float_nll"]) < 0.1
    assert 0.5 < acc["argmax_agreement"] <= 1
    f = Engine(model, meta, torch.device("cpu")).next_probs(["To be, or not"])
    assert not torch.equal(f, q.next_probs(["To be, or not"]))  # really a different (quantized) forward
    assert torch.allclose(f, q.next_probs(["To be, or not"]), atol=0.05)
    assert q.generate(["To be"], [5]) != [] and len(q.generate(["To be"], [5])[0]) == 5  # cached int8 decode


@pytest.mark.parametrize("delta, chosen", [(0.0, True), (0.01, True), (-0.004, False)])
def test_auto_serves_int8_on_cpu_only_where_it_measured_lossless(artifact, monkeypatch, delta, chosen):
    model, meta = load_model(artifact)
    measured = []

    def measure(self, samples: int = 256):
        measured.append(self.quantized)  # measured while the int8 model is the served one
        self.accuracy = {"accuracy_delta": delta}
        return self.accuracy

    monkeypatch.setattr(Engine, "measure_quantization", measure)
    e = Engine(model, meta, torch.device("cpu"), quantize="auto")
    assert measured == [True] and e.quantized is chosen
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in e.eager.modules()) is chosen
    assert isinstance(e.model, torch.jit.ScriptModule)  # what runs: the served model compiled to TorchScript
    assert Engine(model, meta, torch.device("cpu"), quantize="none").quantized is False


def test_auto_measures_the_real_int8_model(artifact):
    model, meta = load_model(artifact)
    e = Engine(model, meta, torch.device("cpu"), quantize="auto")
    assert e.accuracy["samples"] == 256
    assert e.quantized is (e.accuracy["accuracy_delta"] >= 0)


@pytest.mark.parametrize("quantize", ["none", "int8"])
def test_padded_batch_equals_one_forward_per_request(artifact, quantize):
    """Right padding under causal attention: a row's last real position never sees the padding, so batching
    changes nothing (float). int8 quantizes activations per batch, so a row's scale depends on its batch-mates:
    equal only up to quantization noise."""
    model, meta = load_model(artifact)
    e = Engine(model, meta, torch.device("cpu"), quantize=quantize)
    texts = ["O", "Shall I compare thee", "To be, or not to be, that is the question: whether 'tis nobler",
             "The quality", "x" * (3 * model.cfg.block_size)]  # lengths 1 .. beyond block_size (truncated)
    batched = e.next_probs(texts)
    single = torch.cat([e.next_probs([t]) for t in texts])
    assert batched.shape == (len(texts), model.cfg.vocab_size)
    assert torch.allclose(batched, single, atol=1e-6 if quantize == "none" else 1e-2)
    assert torch.equal(batched.argmax(-1), single.argmax(-1))
    preds = e.predict(texts, top_k=3)
    assert [p.next for p in preds] == [e.vocab.chars[i] for i in single.argmax(-1).tolist()]


def test_autocast_decoding_keeps_its_kv_cache_in_the_autocast_dtype(artifact):
    """The CUDA path (bf16 autocast, eager model, bf16 KV cache), exercised with CPU autocast: the keys a
    bf16 linear writes must fit the cache, in the prefill and in every step, through the scheduler too."""
    model, meta = load_model(artifact)
    e = Engine(model, meta, torch.device("cpu"), quantize="none", amp=torch.bfloat16)
    assert e.model is model  # eager: TorchScript does not follow autocast
    lengths = [3, 40, 1, 12]  # 40 > block_size: the window slides
    got = e.generate(PROMPTS, lengths)
    assert [len(g) for g in got] == lengths and all(set(g) <= set(e.vocab.chars) for g in got)

    async def scenario():
        s = scheduler(e)
        assert s.batches[0].cache.kv.dtype is torch.bfloat16
        s.start()
        seqs = [seq(e, p, n) for p, n in zip(PROMPTS, lengths)]
        for q in seqs:
            s.submit(q)
        out = await asyncio.gather(*(q.future for q in seqs))
        await s.close()
        return out

    assert [len(ids) for ids in asyncio.run(scenario())] == lengths
