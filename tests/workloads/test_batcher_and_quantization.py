"""In-process pieces: per-request timeouts in the batcher, and int8 quantization with its accuracy delta."""
from __future__ import annotations

import asyncio
import threading

import pytest
import torch

from workloads.serve.batcher import Batcher, QueueFull, Ticket
from workloads.serve.engine import Engine
from workloads.serve.metrics import ServeMetrics
from workloads.storage import load_model


def test_timed_out_request_never_reaches_the_model_and_queue_is_bounded():
    seen: list[list[str]] = []
    in_forward, release = threading.Event(), threading.Event()

    def slow(items: list[str]) -> list[str]:
        seen.append(items)
        if items == ["a"]:
            in_forward.set()
            assert release.wait(60), "the test never released the forward pass"
        return [i.upper() for i in items]

    async def scenario():
        b = Batcher(slow, max_batch=1, max_wait_s=0, queue_size=1, metrics=ServeMetrics(1))
        b.start()
        first = asyncio.create_task(b.submit("a", 60))
        assert await asyncio.to_thread(in_forward.wait, 60)  # "a" is in the forward pass, the queue is empty
        late = asyncio.create_task(b.submit("b", 0.1))  # queued behind "a", times out before its turn
        while b.pending == 0:
            await asyncio.sleep(0)
        with pytest.raises(QueueFull):
            await b.submit("c", 5)  # the one slot is taken
        with pytest.raises(asyncio.TimeoutError):
            await late
        release.set()  # only now may "a" finish; "b" is still queued, cancelled, and must be skipped
        assert await first == "A"
        accepted = Ticket()
        accepted.accepted = True  # an accepted request's later items wait for room instead
        assert await b.submit("d", 60, accepted) == "D"
        await b.close()

    try:
        asyncio.run(scenario())
    finally:
        release.set()
    assert seen == [["a"], ["d"]]


def test_int8_quantization_reports_its_accuracy_delta(artifact):
    model, meta = load_model(artifact)
    q = Engine(model, meta, torch.device("cpu"), quantize="int8")
    linears = [m for m in q.model.modules() if isinstance(m, torch.nn.Linear)]
    dynamic = [m for m in q.model.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert dynamic and not linears, "every Linear should be replaced by its dynamic int8 version"
    assert any(isinstance(m, torch.nn.Linear) for m in q.reference.modules())  # the float model is kept
    acc = q.measure_quantization(samples=128)
    assert acc["samples"] == 128
    assert acc["accuracy_delta"] == pytest.approx(acc["served_accuracy"] - acc["float_accuracy"])
    assert abs(acc["accuracy_delta"]) < 0.1 and abs(acc["served_nll"] - acc["float_nll"]) < 0.1
    f = Engine(model, meta, torch.device("cpu")).next_probs(["To be, or not"])
    assert not torch.equal(f, q.next_probs(["To be, or not"]))  # really a different (quantized) forward
    assert torch.allclose(f, q.next_probs(["To be, or not"]), atol=0.05)


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
