"""A small causal character-level transformer and its vocabulary: the one model training and serving share."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

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

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        return tuple(z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))

    def _out(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, c)))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))

    def forward(self, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor] | None = None,
                rows: torch.Tensor | None = None) -> torch.Tensor:
        """Causal self-attention over the whole of ``x``; with ``kv``, also store every position's key and value
        in the cache rows ``rows`` (one per sequence of the batch)."""
        q, k, v = self._qkv(x)
        if kv is not None:
            t = x.shape[1]
            kv[0][rows, :, :t] = k
            kv[1][rows, :, :t] = v
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self._out(x, y)

    def step(self, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor], pos: torch.Tensor,
             visible: torch.Tensor) -> torch.Tensor:
        """One new position per sequence: ``x`` is ``[b, 1, d_model]``, row ``i`` at position ``pos[i]`` of cache
        row ``i``; it attends to the cached positions ``visible[i]`` marks (``0 .. pos[i]``)."""
        q, k, v = self._qkv(x)
        b, t = x.shape[0], visible.shape[-1]
        rows = torch.arange(b, device=x.device)
        kv[0][rows, :, pos] = k[:, :, 0]
        kv[1][rows, :, pos] = v[:, :, 0]
        y = F.scaled_dot_product_attention(q, kv[0][:b, :, :t], kv[1][:b, :, :t], attn_mask=visible)
        return self._out(x, y)


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

    def layer(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.kv[i, 0], self.kv[i, 1]

    def move(self, src: int, dst: int) -> None:
        self.kv[:, :, dst] = self.kv[:, :, src]


class CharTransformer(nn.Module):
    """GPT-style decoder: ``forward`` for training and prefill, ``step`` for incremental decoding over a ``KVCache``."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.d_model % cfg.n_head:
            raise ValueError(f"d_model {cfg.d_model} must be a multiple of n_head {cfg.n_head}")
        self.cfg = cfg
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

    def forward(self, ids: torch.Tensor, cache: KVCache | None = None,
                rows: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``[batch, time, vocab]`` of every position. With ``cache``, the keys and values of every
        position are also stored in cache rows ``rows`` (default ``0 .. batch-1``): the prefill that ``step``
        continues from. Rows may be right-padded: causal attention keeps padding out of every real position."""
        b, t = ids.shape
        if t > self.cfg.block_size:
            raise ValueError(f"sequence length {t} exceeds block_size {self.cfg.block_size}")
        if cache is not None and rows is None:
            rows = torch.arange(b, device=ids.device)
        pos = torch.arange(t, device=ids.device)
        x = self.drop(self.tok(ids) + self.pos(pos))
        for i, blk in enumerate(self.blocks):
            x = blk(x, cache.layer(i) if cache is not None else None, rows)
        return self.head(self.ln_f(x))

    def step(self, tokens: torch.Tensor, pos: torch.Tensor, cache: KVCache, span: int | None = None) -> torch.Tensor:
        """Incremental decoding: logits ``[batch, vocab]`` of one new token per sequence, ``tokens[i]`` at
        position ``pos[i]`` of cache row ``i``, attending to that row's cached positions ``0 .. pos[i] - 1``
        (which ``forward(..., cache)`` or earlier steps stored) and to itself. Costs one position per sequence,
        not the whole context. ``span``: ``max(pos) + 1`` if the caller knows it (saves a device sync)."""
        t = int(pos.max()) + 1 if span is None else span
        if t > self.cfg.block_size:
            raise ValueError(f"position {t - 1} is outside block_size {self.cfg.block_size}")
        visible = (torch.arange(t, device=pos.device) <= pos[:, None])[:, None, None, :]  # [b, 1, 1, t]
        x = (self.tok(tokens) + self.pos(pos))[:, None]
        for i, blk in enumerate(self.blocks):
            x = blk.step(x, cache.layer(i), pos, visible)
        return self.head(self.ln_f(x))[:, 0]

    def loss(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = self(ids)
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def perplexity(loss: float) -> float:
    return math.exp(min(loss, 50.0))
