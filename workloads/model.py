"""A small causal character-level transformer and its vocabulary: the one model training and serving share."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ModelConfig:
    vocab: str  # the characters, in token-id order
    block_size: int = 64
    d_model: int = 128
    n_layer: int = 2
    n_head: int = 4
    dropout: float = 0.1

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Vocab:
    chars: str
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        return cls("".join(sorted(set(text))))

    def encode(self, text: str) -> list[int]:
        """Unknown characters map to id 0 (the space-or-first character) rather than failing a request."""
        return [self.index.get(c, 0) for c in text]

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.fc1 = nn.Linear(cfg.d_model, 4 * cfg.d_model)
        self.fc2 = nn.Linear(4 * cfg.d_model, cfg.d_model)
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.drop = nn.Dropout(cfg.dropout)

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))

    def forward(self, x: torch.Tensor, kv: Optional[torch.Tensor] = None,
                rows: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Causal self-attention over the whole of ``x``; with ``kv`` (this layer's ``[2, rows, n_head,
        block_size, head_dim]`` cache), also store every position's key and value in cache rows ``rows``."""
        b, t, c = x.size(0), x.size(1), x.size(2)
        qkv = self.qkv(self.ln1(x)).view(b, t, 3, self.n_head, c // self.n_head).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each [b, n_head, t, head_dim]
        if kv is not None and rows is not None:
            kv[0, rows, :, :t] = k
            kv[1, rows, :, :t] = v
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self._mlp(x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, c))))

    def step(self, x: torch.Tensor, kv: torch.Tensor, rows: torch.Tensor, pos: torch.Tensor,
             visible: torch.Tensor) -> torch.Tensor:
        """One new position per sequence: ``x`` is ``[b, d_model]``, row ``i`` at position ``pos[i]`` of cache row
        ``rows[i] == i``; it attends to the cached positions ``visible[i]`` marks (``0 .. pos[i]``)."""
        b, c, t = x.size(0), x.size(1), visible.size(-1)
        qkv = self.qkv(self.ln1(x)).view(b, 3, self.n_head, c // self.n_head)
        kv[:, rows, :, pos] = qkv[:, 1:]  # this position's key and value in one write ([b, 2, heads, dim])
        y = F.scaled_dot_product_attention(qkv[:, 0].unsqueeze(2), kv[0, :b, :, :t], kv[1, :b, :, :t],
                                           attn_mask=visible)
        return self._mlp(x + self.proj(y.view(b, c)))


class KVCache:
    """Keys and values of up to ``rows`` sequences, every layer, every position up to ``block_size``.

    One tensor ``[n_layer, 2, rows, n_head, block_size, head_dim]``: a sequence owns a row for its lifetime;
    ``move`` copies a row (all layers) so a server can keep its live sequences in rows ``0 .. n-1``.
    """

    def __init__(self, cfg: ModelConfig, rows: int, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32):
        self.kv = torch.zeros(cfg.n_layer, 2, rows, cfg.n_head, cfg.block_size, cfg.d_model // cfg.n_head,
                              device=device, dtype=dtype)

    @property
    def rows(self) -> int:
        return self.kv.shape[2]

    def move(self, src: int, dst: int) -> None:
        self.kv[:, :, dst] = self.kv[:, :, src]


class CharTransformer(nn.Module):
    """GPT-style decoder: ``forward`` for training and prefill, ``step`` for incremental decoding over a KV cache.

    Both are TorchScript-compatible: a server may ``torch.jit.script`` the model so that a decoding step runs
    without the Python interpreter (and without holding the GIL).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.d_model % cfg.n_head:
            raise ValueError(f"d_model {cfg.d_model} must be a multiple of n_head {cfg.n_head}")
        self.cfg = cfg
        self.block_size: int = cfg.block_size
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.block_size, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, ids: torch.Tensor, kv: Optional[torch.Tensor] = None,
                rows: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits ``[batch, time, vocab]`` of every position. With ``kv`` (a ``KVCache.kv``), the keys and values
        of every position are also stored in cache rows ``rows`` (default ``0 .. batch-1``): the prefill that
        ``step`` continues from. Rows may be right-padded: causal attention keeps padding out of every real
        position."""
        b, t = ids.size(0), ids.size(1)
        if t > self.block_size:
            raise ValueError(f"sequence length {t} exceeds block_size {self.block_size}")
        if kv is not None and rows is None:
            rows = torch.arange(b, device=ids.device)
        x = self.drop(self.tok(ids) + self.pos(torch.arange(t, device=ids.device)))
        i = 0
        for blk in self.blocks:
            x = blk(x, None if kv is None else kv[i], rows)
            i += 1
        return self.head(self.ln_f(x))

    @torch.jit.export
    def step(self, tokens: torch.Tensor, pos: torch.Tensor, kv: torch.Tensor, span: int = 0) -> torch.Tensor:
        """Incremental decoding: logits ``[batch, vocab]`` of one new token per sequence, ``tokens[i]`` at
        position ``pos[i]`` of cache row ``i``, attending to that row's cached positions ``0 .. pos[i] - 1``
        (which ``forward(..., kv)`` or earlier steps stored) and to itself. Costs one position per sequence,
        not the whole context. ``span``: ``max(pos) + 1`` if the caller knows it (saves a device sync)."""
        t = span if span > 0 else int(pos.max()) + 1
        if t > self.block_size:
            raise ValueError(f"position {t - 1} is outside block_size {self.block_size}")
        visible = (torch.arange(t, device=pos.device) <= pos.unsqueeze(1)).view(-1, 1, 1, t)
        rows = torch.arange(tokens.size(0), device=tokens.device)
        x = self.tok(tokens) + self.pos(pos)
        i = 0
        for blk in self.blocks:
            x = blk.step(x, kv[i], rows, pos, visible)
            i += 1
        return self.head(self.ln_f(x))

    def loss(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = self(ids)
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def perplexity(loss: float) -> float:
    return math.exp(min(loss, 50.0))
