"""The DDP training loop: resume, train, checkpoint (async), stop on preemption, export the artifact."""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import time

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
from torch.nn.parallel import DistributedDataParallel as DDP

from workloads.contract import PREEMPTED_EXIT_CODE
from workloads.data import corpus_text
from workloads.model import CharTransformer, ModelConfig, Vocab
from workloads.storage import export_model, open_text
from workloads.train.checkpoint import CheckpointManager, newest_agreed, rng_state, set_rng_state
from workloads.train.data import CharWindows, Position, ResumableBatchSampler, loader
from workloads.train.metrics import StallMeter, TrainMetrics
from workloads.train.preemption import StopFlag, agree_to_stop, emergency_fits

WARMUP_FRACTION = 0.05


def default_num_workers(device: torch.device) -> int:
    """Loader processes when ``--num-workers`` is not given: none on CPU, where windows of a bundled text are
    cheaper to cut in the rank than to ship from a worker that competes with it for the cores (two workers cost
    a single process 3-4% of its tokens/s here, two DDP ranks about 7%), two with CUDA, where the host work
    overlaps the GPU's."""
    return 2 if device.type == "cuda" else 0


def lr_at(step: int, total: int, peak: float) -> float:
    """Linear warm-up then cosine decay: a pure function of the step, so resume needs no scheduler state."""
    warm = max(1, int(total * WARMUP_FRACTION))
    if step < warm:
        return peak * (step + 1) / warm
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def setup() -> tuple[int, int, int, torch.device]:
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    local = int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    if world > 1 or "MASTER_ADDR" in os.environ:
        # gloo stays available next to nccl: CPU collectives (object broadcast, checkpoint planning)
        dist.init_process_group(backend="cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo")
    return rank, world, local, device


def run(args: argparse.Namespace) -> int:
    flag = StopFlag().install()
    rank, world, local, device = setup()
    metrics = TrainMetrics(rank, local, args.metrics_port)
    text = open_text(args.data) if args.data else corpus_text()
    vocab = Vocab.from_text(text)
    cfg = ModelConfig(vocab=vocab.chars, block_size=args.block_size, d_model=args.d_model, n_layer=args.n_layer,
                      n_head=args.n_head, dropout=args.dropout)
    torch.manual_seed(args.seed)  # same initial weights on every rank
    model = CharTransformer(cfg).to(device)
    ddp = DDP(model, device_ids=[device.index] if device.type == "cuda" else None) if dist.is_initialized() \
        else model
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    ckpt = CheckpointManager(args.checkpoint_uri, rank, async_save=args.async_checkpoint,
                             keep=args.keep_checkpoints, on_commit=lambda s: _committed(metrics, s, ckpt))
    torch.manual_seed(args.seed + 7919 * (rank + 1))  # per-rank dropout stream (restored on resume)

    def state(step: int, pos: Position) -> dict:
        msd, osd = get_state_dict(ddp, optim)
        return {"model": msd, "optim": osd, "progress": {"step": step, **pos.to_dict(), "world": world},
                f"rng_rank{rank}": rng_state()}

    step, pos = 0, Position()
    resumed = newest_agreed(args.checkpoint_uri, rank)
    if resumed is not None:
        st = state(0, pos)
        missing = ckpt.load(st, resumed)
        set_state_dict(ddp, optim, model_state_dict=st["model"], optim_state_dict=st["optim"])
        step, pos = int(st["progress"]["step"]), Position(int(st["progress"]["epoch"]), int(st["progress"]["batch"]))
        if f"rng_rank{rank}" not in missing:
            set_rng_state(st[f"rng_rank{rank}"])
        ckpt.last_committed, ckpt.saves = step, 1  # the next save may be asynchronous
        metrics.emit("resumed", step=step, checkpoint=resumed.uri, epoch=pos.epoch, batch=pos.batch,
                     skipped_keys=sorted(missing))
    workers = args.num_workers if args.num_workers is not None else default_num_workers(device)
    metrics.emit("start", step=step, steps=args.steps, world=world, device=str(device),
                 autocast="bfloat16" if device.type == "cuda" else None, num_workers=workers,
                 params=sum(p.numel() for p in model.parameters()), async_checkpoint=args.async_checkpoint)

    ds = CharWindows(torch.tensor(vocab.encode(text), dtype=torch.long), cfg.block_size)
    sampler = ResumableBatchSampler(len(ds), args.batch_size, rank, world, args.seed, pos)
    batches = iter(loader(ds, sampler, workers, pin=device.type == "cuda"))
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
                else contextlib.nullcontext())
    tokens_per_step = args.batch_size * world * cfg.block_size
    loss_value = float("nan")
    stalls = StallMeter()
    first_step = step
    loop_start = last = time.monotonic()  # throughput is tokens over wall time: every part of the loop counts

    while step < args.steps:
        if agree_to_stop(flag, device):
            return _preempted(args, ckpt, flag, metrics, state, step, pos, device, stalls)
        overlapped = ckpt.pending is not None  # an async save's writer runs beside this step
        t0 = time.monotonic()
        x, y = next(batches)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        for g in optim.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr)
        model.train()
        with autocast:
            logits = ddp(x)
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, cfg.vocab_size), y.reshape(-1))
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        loss_value = loss.item()  # also the step's sync point, so the timing below is real
        step, pos = step + 1, sampler.advance(pos)
        compute = time.monotonic() - t0
        ckpt.poll()
        blocking, saved = 0.0, None
        if step % args.checkpoint_interval == 0 and step < args.steps:
            blocking, saved = ckpt.save(state(step, pos), step), step
        now = time.monotonic()
        wall, last = now - last, now  # since the previous step ended: the stop all-reduce, data, save, metrics
        metrics.step.set(step)
        metrics.step_time.observe(wall)
        metrics.loss.set(loss_value)
        metrics.tokens_per_s.set(tokens_per_step / wall)
        metrics.samples_per_s.set(args.batch_size * world / wall)
        metrics.emit("step", step=step, loss=round(loss_value, 5), step_s=round(compute, 6), wall_s=round(wall, 6),
                     elapsed_s=round(now - loop_start, 6), tokens_per_s=round(tokens_per_step / wall, 1),
                     checkpoint_blocking_s=round(blocking, 6))
        _stalls(metrics, stalls.observe(wall, overlapped=overlapped, blocking_s=blocking, saved_step=saved,
                                        pending_step=ckpt.pending_step))

    # finished: a final (blocking) checkpoint, then the artifact for serving
    t0 = time.monotonic()
    ckpt.wait()
    _stalls(metrics, stalls.flush(time.monotonic() - t0))
    if ckpt.last_committed != step:
        ckpt.save(state(step, pos), step, block=True)
    if rank == 0:
        export_model(model, args.model_uri, {"step": step, "loss": loss_value, "world": world})
        elapsed = time.monotonic() - loop_start
        metrics.emit("exported", step=step, model_uri=args.model_uri, loss=loss_value,
                     tokens_per_s=round(tokens_per_step * (step - first_step) / elapsed, 1))
    _shutdown()
    return 0


def _stalls(metrics: TrainMetrics, saves: list[dict]) -> None:
    for s in saves:
        metrics.stall.observe(s["stall_s"])
        metrics.emit("checkpoint_stall", **s)


def _committed(metrics: TrainMetrics, step: int, ckpt: CheckpointManager) -> None:
    metrics.committed.set(step)
    metrics.emit("checkpoint_committed", step=step, save_s=round(ckpt.last_save_s, 6), uri=ckpt.uri)


def _preempted(args, ckpt: CheckpointManager, flag: StopFlag, metrics: TrainMetrics, state, step: int,
               pos: Position, device: torch.device, stalls: StallMeter) -> int:
    """Finish any in-flight save, add an emergency one if it fits the budget, exit 143 for a retry."""
    metrics.preemptions.inc()
    t0 = time.monotonic()
    ckpt.wait()
    _stalls(metrics, stalls.flush(time.monotonic() - t0))
    emergency = False
    if ckpt.last_committed != step:
        if emergency_fits(flag, args.emergency_checkpoint_budget_s, ckpt.estimate_save_s(), device):
            ckpt.save(state(step, pos), step, block=True)
            emergency = True
    assert flag.at is not None
    metrics.emit("preempted", step=step, committed_step=ckpt.last_committed, emergency_checkpoint=emergency,
                 estimated_save_s=round(ckpt.estimate_save_s(), 6),
                 signal_to_durable_s=round(time.monotonic() - flag.at, 6))
    _shutdown()
    return PREEMPTED_EXIT_CODE


def _shutdown() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
