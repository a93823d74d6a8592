"""Argument checks shared by the products: degrees from lengths, output degrees, dtype and device."""

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
            f"{name} has last dimension {n}, which is not (L+1)**2 for any degree L (expected 1, 4, 9, 16, ...)"
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


def check_backend(backend: str, valid: tuple[str, ...]) -> None:
    if backend not in valid:
        raise ValueError(f"unknown backend {backend!r}; valid backends are {', '.join(valid)}")


def check_input_degrees(lmax1: int, lmax2: int) -> None:
    if min(lmax1, lmax2) < 0:
        raise ValueError(f"input degrees must be ≥ 0, got {lmax1} and {lmax2}")


def check_output_degree(name: str, lmax_out: int, lmax1: int, lmax2: int, odd: bool = False) -> None:
    """``lmax_out`` must lie in [0, L1+L2] (a product) or [0, L1+L2-1] (a bracket, ``odd``)."""
    top, bound = (lmax1 + lmax2 - 1, "L1+L2-1") if odd else (lmax1 + lmax2, "L1+L2")
    if not 0 <= lmax_out <= top:
        raise ValueError(f"{name} must be in [0, {bound}] = [0, {top}], got {lmax_out}")


def operand_degrees(x1: torch.Tensor, x2: torch.Tensor, backend: str, valid: tuple[str, ...]) -> tuple[int, int]:
    """(L1, L2) of the inputs of a functional product, after checking the backend and the inputs."""
    check_backend(backend, valid)
    check_same_kind(("x1", x1), ("x2", x2))
    return lmax_of(x1, "x1"), lmax_of(x2, "x2")


def check_operands(module: torch.nn.Module, x1: torch.Tensor, x2: torch.Tensor, what: str) -> None:
    """The inputs of a product module (``module.lmax1``, ``module.lmax2``) match its degrees, and its
    tables (the first floating-point buffer) match their dtype and device."""
    check_same_kind(("x1", x1), ("x2", x2))
    for name, x, lmax in (("x1", x1, module.lmax1), ("x2", x2, module.lmax2)):
        if lmax_of(x, name) != lmax:
            raise ValueError(f"{name} has degree {lmax_of(x, name)} but this {what} was built for {lmax}")
    table = next(b for b in module.buffers() if b.is_floating_point())
    if table.device != x1.device or table.dtype != x1.dtype:
        raise TypeError(
            f"inputs are {x1.dtype} on {x1.device} but the {what}'s tables are {table.dtype} on "
            f"{table.device}; call .to(device, dtype) on the module"
        )
