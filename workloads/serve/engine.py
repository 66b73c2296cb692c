"""The model behind the server: token-id sequences decoded together over a KV cache, optionally int8 on CPU."""
from __future__ import annotations

import contextlib
import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.nn import functional as F

from workloads.data import corpus_text
from workloads.model import CharTransformer, KVCache, Vocab
from workloads.storage import load_model

log = logging.getLogger("workloads.serve")
QUANTIZE_CHOICES = ("auto", "none", "int8")


@dataclass(frozen=True)
class Prediction:
    next: str
    top: list[tuple[str, float]]


@dataclass(eq=False)
class Sequence:
    """One request. ``max_new == 0``: next-token prediction, answered with its ``top_k`` most likely tokens."""

    ctx: list[int]  # the model's window: the prompt's last block_size token ids, then the generated ones
    max_new: int
    top_k: int = 1
    deadline: float = float("inf")  # time.monotonic()
    future: Any = None  # the event loop's asyncio.Future (None outside the server)
    arrived: float = field(default_factory=time.monotonic)
    generated: list[int] = field(default_factory=list)
    cached: int = 0  # leading positions of ctx whose keys/values are in the sequence's cache row; 0: prefill
    cancelled: bool = False  # set by the event loop: the client went away or the deadline passed


def quantize_int8(model: CharTransformer) -> torch.nn.Module:
    """Dynamic int8 quantization of every Linear (weights int8, activations quantized per batch).

    The activation scale is per tensor, i.e. per batch: a request's int8 output depends slightly (about 1e-4 in
    probability on the bundled model) on what it was batched with; the float path is batch-invariant.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates the quantized-tensor API in favour of torchao
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class Engine:
    """``quantize``: ``none``; ``int8`` (CPU only); ``auto``: int8 on CPU when it measures lossless on held-out
    bundled text (next-character accuracy not below the float model's), else float."""

    def __init__(self, model: CharTransformer, meta: dict, device: torch.device, quantize: str = "none",
                 amp: torch.dtype | None | str = "auto"):
        """``amp``: the autocast dtype, also the KV cache's; ``auto``: bfloat16 on CUDA, none (float32) on CPU."""
        if quantize not in QUANTIZE_CHOICES:
            raise ValueError(f"quantize must be one of {QUANTIZE_CHOICES}, got {quantize!r}")
        if quantize == "int8" and device.type != "cpu":
            raise ValueError("--quantize int8 is CPU-only (dynamic quantization has no CUDA kernels)")
        self.cfg, self.meta, self.device = model.cfg, meta, device
        self.amp = (torch.bfloat16 if device.type == "cuda" else None) if amp == "auto" else amp
        self.cache_dtype = self.amp or torch.float32
        self.vocab = Vocab(model.cfg.vocab)
        self.reference = model  # the float model, eager: the yardstick for int8
        self.eager: torch.nn.Module = model  # what is served, before TorchScript
        self.model, self.quantized = self._served(model), False
        self.accuracy: dict[str, float] = {}
        if quantize == "int8" or (quantize == "auto" and device.type == "cpu"):
            self.eager, self.quantized = quantize_int8(model), True
            self.model = self._served(self.eager)
            if quantize == "auto":
                acc = self.measure_quantization()
                if acc["accuracy_delta"] < 0:
                    self.eager, self.quantized = model, False
                    self.model = self._served(model)
                    log.warning("int8 loses %.4f next-character accuracy on held-out text: serving float",
                                -acc["accuracy_delta"])

    def _served(self, model: torch.nn.Module) -> torch.nn.Module:
        """On CPU, the model compiled to TorchScript: a decoding step then runs in C++ (about half the CPU time
        of eager at small batches) and without holding the GIL the event loop needs; same kernels, same numbers.
        TorchScript is deprecated in favour of torch.compile/torch.export, which need a C++ toolchain in the image
        and minutes of compilation per shape range on a small CPU; torch is pinned, so this keeps working.
        Under autocast (bf16 on CUDA) the model stays eager: TorchScript does not follow autocast."""
        if self.device.type != "cpu" or self.amp is not None:
            return model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.script(model)

    @classmethod
    def load(cls, uri: str, quantize: str = "auto") -> "Engine":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model, meta = load_model(uri, device)
        return cls(model, meta, device, quantize)

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp) if self.amp is not None else contextlib.nullcontext()

    def encode(self, text: str) -> list[int]:
        """The ids the model sees of ``text``: its last ``block_size`` characters."""
        return self.vocab.encode(text[-self.cfg.block_size:])

    # ---- the two forwards of continuous batching

    @torch.inference_mode()
    def prefill(self, ctxs: list[list[int]], rows: list[int], cache: KVCache) -> torch.Tensor:
        """Run each context whole (right-padded), store its keys/values in cache row ``rows[i]``; returns the
        ``[len(ctxs), vocab]`` float logits of each context's last position."""
        lengths = [len(c) for c in ctxs]
        ids = torch.zeros(len(ctxs), max(lengths), dtype=torch.long)
        for i, c in enumerate(ctxs):
            ids[i, :len(c)] = torch.tensor(c, dtype=torch.long)
        with self._autocast():
            logits = self.model(ids.to(self.device), cache.kv, torch.tensor(rows, device=self.device))
        last = torch.tensor(lengths, device=self.device) - 1
        return logits[torch.arange(len(ctxs), device=self.device), last].float()

    @torch.inference_mode()
    def step(self, tokens: list[int], pos: list[int], cache: KVCache, span: int) -> torch.Tensor:
        """One token per sequence of cache rows ``0 .. len(tokens)-1``; ``[len(tokens), vocab]`` float logits."""
        with self._autocast():
            return self.model.step(torch.tensor(tokens, device=self.device), torch.tensor(pos, device=self.device),
                                   cache.kv, span).float()

    def top(self, logits: torch.Tensor, k: int) -> list[tuple[str, float]]:
        values, index = F.softmax(logits.float(), dim=-1).topk(min(k, logits.shape[-1]))
        return [(self.vocab.chars[i], p) for i, p in zip(index.tolist(), values.tolist())]

    # ---- whole-request helpers (uncached reference, static batches)

    @torch.inference_mode()
    def next_probs(self, texts: list[str], model: torch.nn.Module | None = None) -> torch.Tensor:
        """``[len(texts), vocab]`` next-character probabilities, one uncached forward (no KV cache)."""
        rows = [self.encode(t) for t in texts]
        lengths = torch.tensor([len(r) for r in rows])
        ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        with self._autocast():
            logits = (model or self.model)(ids.to(self.device))
        last = logits[torch.arange(len(texts)), lengths.to(self.device) - 1].float()
        return F.softmax(last, dim=-1).cpu()

    def predict(self, texts: list[str], top_k: int = 5) -> list[Prediction]:
        probs = self.next_probs(texts)
        values, index = probs.topk(min(top_k, probs.shape[1]), dim=-1)
        out = []
        for v, i in zip(values.tolist(), index.tolist()):
            top = [(self.vocab.chars[j], p) for j, p in zip(i, v)]
            out.append(Prediction(next=top[0][0], top=top))
        return out

    def generate(self, prompts: list[str], max_new_tokens: list[int]) -> list[str]:
        """Greedy completions of a static batch: every prompt prefilled together, then decoded a token per step
        over the KV cache, finished rows leaving the batch (what a batch-at-a-time server runs per batch)."""
        batch = Batch(self, len(prompts))
        seqs = [Sequence(self.encode(p), n) for p, n in zip(prompts, max_new_tokens)]
        new = seqs
        while new or batch.active:
            batch.step(new)
            new = []
        return [self.vocab.decode(s.generated) for s in seqs]

    def warm_up(self, max_batch: int) -> None:
        """Every code path once, at the largest batch too (allocations, kernels), before the server is ready."""
        for n in sorted({1, max_batch}):
            self.generate(["warm up " * 8] * n, [3] * n)
            self.next_probs(["warm up " * 8] * n)

    def measure_quantization(self, samples: int = 256) -> dict[str, float]:
        """Next-character accuracy of the float model vs the served (int8) one on held-out bundled text."""
        text = corpus_text()
        tail = text[-(len(text) // 10):]  # the last tenth: the same slice each time
        stride = max(1, (len(tail) - self.cfg.block_size - 1) // samples)
        contexts, targets = [], []
        for s in range(0, len(tail) - self.cfg.block_size - 1, stride)[:samples]:
            contexts.append(tail[s:s + self.cfg.block_size])
            targets.append(self.vocab.index.get(tail[s + self.cfg.block_size], 0))
        target = torch.tensor(targets)
        result, argmax = {}, {}
        for name, m in (("float", self.reference), ("served", self.model)):
            p = self.next_probs(contexts, m)
            argmax[name] = p.argmax(-1)
            result[f"{name}_accuracy"] = float((argmax[name] == target).float().mean())
            result[f"{name}_nll"] = float(-torch.log(p[torch.arange(len(target)), target] + 1e-12).mean())
        result["accuracy_delta"] = result["served_accuracy"] - result["float_accuracy"]
        result["argmax_agreement"] = float((argmax["float"] == argmax["served"]).float().mean())
        result["samples"] = float(len(target))
        self.accuracy = result
        return result


class Batch:
    """The live sequences of one KV cache, advanced together one token per ``step``.

    ``active[i]`` owns cache row ``i``; a finished sequence's row is refilled by moving the last one down, so the
    decoding rows are always ``0 .. n-1`` (one contiguous cache slice, no gather).
    """

    def __init__(self, engine: Engine, rows: int):
        self.engine, self.rows, self.block = engine, rows, engine.cfg.block_size
        self.cache = KVCache(engine.cfg, rows, engine.device, engine.cache_dtype)
        self.active: list[Sequence] = []

    def remove(self, rows: list[int]) -> None:
        for i in sorted(rows, reverse=True):
            last = len(self.active) - 1
            if i != last:
                self.cache.move(last, i)
                self.active[i] = self.active[last]
            self.active.pop()

    def work(self) -> int:
        """Tokens the live sequences need next step: one each, a whole window for a row due for a prefill."""
        return sum(1 if s.cached else len(s.ctx) for s in self.active)

    def step(self, new: list[Sequence]) -> tuple[dict[Sequence, object], int, int]:
        """Decode one token for every live sequence, prefill ``new`` (and any row whose window slid); returns
        the sequences that finished (with their token ids or top-k), how many rows ran and tokens generated."""
        if len(self.active) + len(new) > self.rows:
            raise ValueError(f"{len(self.active) + len(new)} sequences exceed the batch's {self.rows} rows")
        n_old = len(self.active)
        decode = [i for i in range(n_old) if self.active[i].cached]
        ran: list[tuple[Sequence, list[int], torch.Tensor, int]] = []  # (sequence, argmax, logits, row)
        if decode:  # rows 0 .. n_old-1 together; a row due for a prefill runs a dummy position 0, overwritten below
            tokens = [s.ctx[-1] if s.cached else 0 for s in self.active]
            pos = [s.cached for s in self.active]
            logits = self.engine.step(tokens, pos, self.cache, max(pos) + 1)
            best = logits.argmax(-1).tolist()
            for i in decode:
                self.active[i].cached += 1
                ran.append((self.active[i], best, logits, i))
        self.active.extend(new)
        prefill = [i for i in range(len(self.active)) if not self.active[i].cached]
        if prefill:
            seqs = [self.active[i] for i in prefill]
            logits = self.engine.prefill([s.ctx for s in seqs], prefill, self.cache)
            best = logits.argmax(-1).tolist()
            for j, s in enumerate(seqs):
                s.cached = len(s.ctx)
                ran.append((s, best, logits, j))
        done: dict[Sequence, object] = {}
        tokens = 0
        for seq, best, logits, row in ran:
            if seq.max_new == 0:
                done[seq] = self.engine.top(logits[row], seq.top_k)
                continue
            seq.generated.append(best[row])
            tokens += 1
            if len(seq.generated) >= seq.max_new:
                done[seq] = seq.generated
                continue
            seq.ctx.append(best[row])
            if len(seq.ctx) > self.block:  # the window slides: every position shifts, so prefill the row again
                del seq.ctx[0]
                seq.cached = 0
        if done:
            self.remove([i for i, s in enumerate(self.active) if s in done])
        return done, len(decode) + len(prefill), tokens
