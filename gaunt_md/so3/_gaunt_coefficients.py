r"""Gaunt coefficients G(l1 m1, l2 m2, l3 m3) = ∫ Y_l1m1 Y_l2m2 Y_l3m3 dΩ in e3nn's real basis.

G is e3nn's ``wigner_3j`` (unit Frobenius norm per path) times the path constant

    c(l1, l2, l3) = sqrt((2l1+1)(2l2+1)(2l3+1) / 4π) · |(l1 l2 l3; 0 0 0)|,

where the Wigner 3j symbol is evaluated exactly in rational arithmetic (Racah's formula; the
bracket's constants use it too). G vanishes unless l1+l2+l3 is even and the triangle inequality
holds. Tensors are float64 and cached, so each is computed once per process.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import torch
from e3nn import o3


def wigner_3j_symbol(j1: int, j2: int, j3: int, m1: int, m2: int, m3: int) -> float:
    """The Wigner 3j symbol (j1 j2 j3; m1 m2 m3) by Racah's formula, exact up to the final rounding."""
    if m1 + m2 + m3 or not abs(j1 - j2) <= j3 <= j1 + j2 or abs(m1) > j1 or abs(m2) > j2 or abs(m3) > j3:
        return 0.0
    f = math.factorial
    total = Fraction(0)
    for k in range(max(0, j2 - j3 - m1, j1 - j3 + m2), min(j1 + j2 - j3, j1 - m1, j2 + m2) + 1):
        denominator = (
            f(k) * f(j3 - j2 + k + m1) * f(j3 - j1 + k - m2) * f(j1 + j2 - j3 - k) * f(j1 - k - m1) * f(j2 - k + m2)
        )
        total += Fraction((-1) ** k, denominator)
    square = Fraction(f(j1 + j2 - j3) * f(j1 - j2 + j3) * f(-j1 + j2 + j3), f(j1 + j2 + j3 + 1))
    square *= f(j1 + m1) * f(j1 - m1) * f(j2 + m2) * f(j2 - m2) * f(j3 + m3) * f(j3 - m3)
    sign = (-1) ** (j1 - j2 - m3) * (1 if total >= 0 else -1)
    return sign * math.sqrt(square * total * total)


def path_constant(l1: int, l2: int, l3: int) -> float:
    """c(l1, l2, l3) such that the Gaunt block of the path equals c · e3nn ``wigner_3j``."""
    norm = math.sqrt((2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1) / (4.0 * math.pi))
    return norm * abs(wigner_3j_symbol(l1, l2, l3, 0, 0, 0))


def scaled_wigner_3j(c: float, l1: int, l2: int, l3: int) -> torch.Tensor:
    """c · e3nn ``wigner_3j(l1, l2, l3)``: [2l1+1, 2l2+1, 2l3+1], float64 (zeros when c is 0)."""
    if c == 0.0:
        return torch.zeros(2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1, dtype=torch.float64)
    return c * o3.wigner_3j(l1, l2, l3, dtype=torch.float64)


def assemble_paths(block, lmax1: int, lmax2: int, lmax3: int, odd: bool) -> torch.Tensor:
    """[(L1+1)**2, (L2+1)**2, (L3+1)**2] from ``block(l1, l2, l3)`` on every path with l1+l2+l3 even
    (``odd=False``: the Gaunt product) or odd (``odd=True``: the bracket) inside the triangle."""
    out = torch.zeros((lmax1 + 1) ** 2, (lmax2 + 1) ** 2, (lmax3 + 1) ** 2, dtype=torch.float64)
    for l1 in range(lmax1 + 1):
        for l2 in range(lmax2 + 1):
            for l3 in range(abs(l1 - l2) + odd, min(l1 + l2 - odd, lmax3) + 1, 2):
                out[l1 * l1 : (l1 + 1) ** 2, l2 * l2 : (l2 + 1) ** 2, l3 * l3 : (l3 + 1) ** 2] = block(l1, l2, l3)
    return out


def outer_rows(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """x1 ⊗ x2 flattened, the rows a flattened coefficient tensor ``[P Q, R]`` contracts with:
    ``x1: [..., P]``, ``x2: [..., Q]`` (leading dimensions broadcast) → ``[..., P Q]``."""
    x1, x2 = torch.broadcast_tensors(x1[..., :, None], x2[..., None, :])
    outer = x1 * x2
    return outer.reshape(*outer.shape[:-2], -1)


@functools.cache
def gaunt_block(l1: int, l2: int, l3: int) -> torch.Tensor:
    """G for one path: [2l1+1, 2l2+1, 2l3+1], float64 (zeros for forbidden paths)."""
    return scaled_wigner_3j(path_constant(l1, l2, l3), l1, l2, l3)


@functools.cache
def gaunt_tensor(lmax1: int, lmax2: int, lmax3: int) -> torch.Tensor:
    """All Gaunt coefficients up to the given degrees: [(L1+1)**2, (L2+1)**2, (L3+1)**2], float64."""
    return assemble_paths(gaunt_block, lmax1, lmax2, lmax3, odd=False)
