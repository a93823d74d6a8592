"""Processes of a fit under ``torchrun``: joining the group, agreeing on decisions, leaving cleanly."""

from __future__ import annotations

import gc
import os

import torch
import torch.distributed as dist

from ..runtime import resolve_device


def start_processes(device: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the process group (NCCL on GPUs, gloo on CPU) when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    resolved = resolve_device(device, index=int(os.environ.get("LOCAL_RANK", "0")))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo")
    return rank, world, resolved


def all_agree(flag: bool, world: int) -> bool:
    """True on every rank when it is true on any (time-based decisions must not split the ranks)."""
    if world == 1:
        return flag
    t = torch.tensor([float(flag)])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def sum_over_ranks(values: list[float], world: int) -> list[float]:
    if world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


def stop_processes(run) -> None:
    """Leave the process group. The DDP reducer holds the group: freed last from there, the group's
    destructor joins gloo's threads while holding the GIL, which a thread freeing a finished work
    needs (a deadlock seen in CI: ~Reducer → ~ProcessGroupGloo → thread join; a worker in ~AsyncWork
    waiting for the GIL). Freed first, the group goes in destroy_process_group, which drops the GIL."""
    if run.world == 1:
        return
    run.trainer = None
    gc.collect()
    dist.barrier()
    dist.destroy_process_group()
