"""In-process pieces: per-request timeouts in the batcher, and int8 quantization with its accuracy delta."""
from __future__ import annotations

import asyncio
import time

import pytest
import torch

from workloads.serve.batcher import Batcher, QueueFull, Ticket
from workloads.serve.engine import Engine
from workloads.serve.metrics import ServeMetrics
from workloads.storage import load_model


def test_timed_out_request_never_reaches_the_model_and_queue_is_bounded():
    seen: list[list[str]] = []

    def slow(items: list[str]) -> list[str]:
        seen.append(items)
        time.sleep(0.3)
        return [i.upper() for i in items]

    async def scenario():
        b = Batcher(slow, max_batch=1, max_wait_s=0, queue_size=1, metrics=ServeMetrics(1))
        b.start()
        first = asyncio.create_task(b.submit("a", 5))
        await asyncio.sleep(0.05)  # "a" is in the forward pass, the queue is empty again
        late = asyncio.create_task(b.submit("b", 0.1))  # queued behind "a", times out before its turn
        await asyncio.sleep(0.01)
        with pytest.raises(QueueFull):
            await b.submit("c", 5)  # the one slot is taken
        accepted = Ticket()
        accepted.accepted = True  # an accepted request's later items wait for room instead
        with pytest.raises(asyncio.TimeoutError):
            await late
        assert await first == "A"
        assert await b.submit("d", 5, accepted) == "D"
        await b.close()

    asyncio.run(scenario())
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
