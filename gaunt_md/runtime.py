"""Where and how torch runs: device and dtype names, CPU threads."""

from __future__ import annotations

import torch

from .config import DTYPES as DTYPE_NAMES

DTYPES = {name: getattr(torch, name) for name in DTYPE_NAMES}


def resolve_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; use one of {', '.join(DTYPES)}")
    return DTYPES[name]


def resolve_device(name: str, index: int | None = None) -> torch.device:
    """ "auto" (CUDA when available), "cpu", "cuda" or "cuda:N"; ``index`` picks the GPU of a
    ``torchrun`` process (LOCAL_RANK) for "auto" and "cuda"."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    if name == "cuda" and index is not None:
        return torch.device("cuda", index)
    return torch.device(name)


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)`` for this process; None keeps torch's choice
    (``OMP_NUM_THREADS``, else the number of cores)."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number ≥ 1, got {threads!r}")
    torch.set_num_threads(threads)


def flush_denormals() -> bool:
    """Flush denormal floats to zero on this CPU for the rest of the process (``torch.set_flush_denormal``;
    threads started later inherit it); True where the CPU supports it. A fit needs it: Adam with weight
    decay halves each step the weights that the data leaves without gradient, and on their way to zero
    float32 denormals slow every matrix product they enter by microcode assists: a Ni fit's epochs grew
    from 12 to 34 s over 75 epochs (docs/performance.md)."""
    return torch.set_flush_denormal(True)
