"""Validation of coefficient vectors: degree from length, dtype and device agreement."""

from __future__ import annotations

import math

import torch


def lmax_of(x: torch.Tensor, name: str) -> int:
    """The degree L of ``x: [..., (L+1)**2]``; a clear ValueError when the length is not a square."""
    if x.dim() == 0:
        raise ValueError(f"{name} must have a last dimension of length (L+1)**2, got a scalar")
    n = x.shape[-1]
    root = math.isqrt(n)
    if n == 0 or root * root != n:
        raise ValueError(
            f"{name} has last dimension {n}, which is not (L+1)**2 for any degree L "
            "(expected 1, 4, 9, 16, ...)"
        )
    return root - 1


def check_same_kind(*tensors: tuple[str, torch.Tensor]) -> None:
    """Raise if the named tensors differ in dtype or device, or are not floating point."""
    (name0, t0), *rest = tensors
    for name, t in tensors:
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {t.dtype}")
    for name, t in rest:
        if t.dtype != t0.dtype:
            raise TypeError(f"{name0} is {t0.dtype} but {name} is {t.dtype}; cast them to one dtype")
        if t.device != t0.device:
            raise ValueError(f"{name0} is on {t0.device} but {name} is on {t.device}; move them to one device")
