"""Incremental decoding over the KV cache gives the logits of the full (uncached) forward, position by position."""
from __future__ import annotations

import pytest
import torch

from workloads.data import corpus_text
from workloads.model import CharTransformer, KVCache, ModelConfig, Vocab
from workloads.serve.engine import Engine
from workloads.storage import load_model

# Float reductions of a one-row matmul and of a many-row one are ordered differently (MKL picks other kernels),
# so cached and uncached logits agree to rounding, not bit for bit: a few 1e-7 on these models.
ATOL = 1e-5


@pytest.fixture(scope="module", params=["trained", "serving-size", "torchscript"])
def model(request, artifact):
    """(model, its config)."""
    if request.param == "trained":
        m = load_model(artifact)[0]
        return m, m.cfg
    if request.param == "torchscript":  # what the server runs on CPU
        e = Engine(*load_model(artifact), torch.device("cpu"), quantize="none")
        return e.model, e.cfg
    torch.manual_seed(0)  # the default serving size (bench/serving.py), untrained
    m = CharTransformer(ModelConfig(vocab=Vocab.from_text(corpus_text()).chars)).eval()
    return m, m.cfg


@torch.inference_mode()
def test_cached_decoding_gives_the_uncached_logits_at_every_position(model):
    model, cfg = model
    block = cfg.block_size
    torch.manual_seed(1)
    ids = torch.randint(0, cfg.vocab_size, (3, block))
    full = model(ids)  # [3, block, vocab], no cache
    cache = KVCache(cfg, 3)
    prefix = 5
    got = [model(ids[:, :prefix], cache.kv)]  # prefill: also the cached path's first logits
    for p in range(prefix, block):
        got.append(model.step(ids[:, p], torch.full((3,), p), cache.kv)[:, None])
    got = torch.cat(got, 1)
    assert got.shape == full.shape
    torch.testing.assert_close(got, full, rtol=0, atol=ATOL)
    assert torch.equal(got.argmax(-1), full.argmax(-1))


@torch.inference_mode()
def test_ragged_rows_at_different_positions_decode_like_each_alone(model):
    model, cfg = model
    """Continuous batching: rows sit at different positions of their own cache rows; padding and the other rows'
    longer histories never leak into a row's attention."""
    torch.manual_seed(2)
    lengths = [1, 7, cfg.block_size - 1]
    rows = [torch.randint(0, cfg.vocab_size, (n + 1,)) for n in lengths]
    cache = KVCache(cfg, 4)  # one spare row: a step must only touch rows 0 .. n-1
    cache.kv[:, :, 3] = 1e4  # garbage in the unused row
    padded = torch.zeros(3, max(lengths), dtype=torch.long)
    for i, (r, n) in enumerate(zip(rows, lengths)):
        padded[i, :n] = r[:n]
    model(padded, cache.kv)  # right-padded prefill of every row's first n tokens
    last = torch.stack([r[-1] for r in rows])
    got = model.step(last, torch.tensor(lengths), cache.kv)
    for i, r in enumerate(rows):
        want = model(r[None])[0, -1]
        torch.testing.assert_close(got[i], want, rtol=0, atol=ATOL)
    assert torch.equal(cache.kv[:, :, 3], torch.full_like(cache.kv[:, :, 3], 1e4))


@torch.inference_mode()
def test_moving_a_cache_row_moves_the_sequence(model):
    model, cfg = model
    torch.manual_seed(3)
    ids = torch.randint(0, cfg.vocab_size, (2, 9))
    cache = KVCache(cfg, 2)
    model(ids[:, :8], cache.kv)
    cache.move(1, 0)  # row 1's sequence now lives in row 0
    got = model.step(ids[1:, 8], torch.tensor([8]), cache.kv)[0]
    torch.testing.assert_close(got, model(ids[1:])[0, -1], rtol=0, atol=ATOL)


def test_a_step_past_the_block_size_is_refused(model):
    model, cfg = model
    cache = KVCache(cfg, 1)
    with pytest.raises((ValueError, torch.jit.Error), match="outside block_size"):
        model.step(torch.tensor([0]), torch.tensor([cfg.block_size]), cache.kv)
