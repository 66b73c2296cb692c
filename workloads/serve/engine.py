"""The model behind the server: one batched forward for many requests, optionally int8-quantized on CPU."""
from __future__ import annotations

import contextlib
import logging
import warnings
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from workloads.data import corpus_text
from workloads.model import CharTransformer, Vocab
from workloads.storage import load_model

log = logging.getLogger("workloads.serve")


@dataclass(frozen=True)
class Prediction:
    next: str
    top: list[tuple[str, float]]


def quantize_int8(model: CharTransformer) -> torch.nn.Module:
    """Dynamic int8 quantization of every Linear (weights int8, activations quantized per batch).

    The activation scale is per tensor, i.e. per batch: a request's int8 output depends slightly (about 1e-4 in
    probability on the bundled model) on what it was batched with; the float path is batch-invariant.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates the quantized-tensor API in favour of torchao
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class Engine:
    def __init__(self, model: CharTransformer, meta: dict, device: torch.device, quantize: str = "none"):
        self.cfg, self.meta, self.device = model.cfg, meta, device
        self.vocab = Vocab(model.cfg.vocab)
        self.reference = model
        self.quantized = quantize == "int8"
        if self.quantized and device.type != "cpu":
            raise ValueError("--quantize int8 is CPU-only (dynamic quantization has no CUDA kernels)")
        self.model = quantize_int8(model) if self.quantized else model
        self.accuracy: dict[str, float] = {}

    @classmethod
    def load(cls, uri: str, quantize: str = "none") -> "Engine":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model, meta = load_model(uri, device)
        return cls(model, meta, device, quantize)

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16) if self.device.type == "cuda" \
            else contextlib.nullcontext()

    def encode_batch(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ids of each text's last ``block_size`` characters, and each row's length."""
        rows = [self.vocab.encode(t)[-self.cfg.block_size:] for t in texts]
        lengths = torch.tensor([len(r) for r in rows])
        ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        return ids, lengths

    @torch.inference_mode()
    def next_probs(self, texts: list[str], model: torch.nn.Module | None = None) -> torch.Tensor:
        """``[len(texts), vocab]`` next-character probabilities; causal attention ignores the right padding."""
        ids, lengths = self.encode_batch(texts)
        with self._autocast():
            logits = (model or self.model)(ids.to(self.device))
        last = logits[torch.arange(len(texts)), lengths.to(self.device) - 1].float()
        return F.softmax(last, dim=-1).cpu()

    def predict(self, texts: list[str], top_k: int = 5) -> list[Prediction]:
        probs = self.next_probs(texts)
        k = min(top_k, probs.shape[1])
        values, index = probs.topk(k, dim=-1)
        out = []
        for v, i in zip(values.tolist(), index.tolist()):
            top = [(self.vocab.chars[j], p) for j, p in zip(i, v)]
            out.append(Prediction(next=top[0][0], top=top))
        return out

    def warm_up(self, batch_size: int) -> None:
        for n in sorted({1, batch_size}):
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
        result = {}
        for name, m in (("float", self.reference), ("served", self.model)):
            p = self.next_probs(contexts, m)
            result[f"{name}_accuracy"] = float((p.argmax(-1) == target).float().mean())
            result[f"{name}_nll"] = float(-torch.log(p[torch.arange(len(target)), target] + 1e-12).mean())
        result["accuracy_delta"] = result["served_accuracy"] - result["float_accuracy"]
        result["samples"] = float(len(target))
        self.accuracy = result
        return result
