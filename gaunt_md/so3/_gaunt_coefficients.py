r"""Gaunt coefficients G(l1 m1, l2 m2, l3 m3) = ∫ Y_l1m1 Y_l2m2 Y_l3m3 dΩ in e3nn's real basis.

G is e3nn's ``wigner_3j`` (unit Frobenius norm per path) times the path constant

    c(l1, l2, l3) = sqrt((2l1+1)(2l2+1)(2l3+1) / 4π) · |(l1 l2 l3; 0 0 0)|,

where the Wigner 3j symbol with zero m's is evaluated exactly in integer arithmetic. G vanishes
unless l1+l2+l3 is even and the triangle inequality holds. Tensors are float64 and cached, so each
is computed once per process.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import torch
from e3nn import o3


def wigner_3j_zero_m(l1: int, l2: int, l3: int) -> float:
    """(l1 l2 l3; 0 0 0), exact up to the final rounding to float64."""
    big_j = l1 + l2 + l3
    if big_j % 2 or l3 > l1 + l2 or l3 < abs(l1 - l2):
        return 0.0
    g = big_j // 2
    f = math.factorial
    square = Fraction(f(big_j - 2 * l1) * f(big_j - 2 * l2) * f(big_j - 2 * l3), f(big_j + 1))
    ratio = Fraction(f(g), f(g - l1) * f(g - l2) * f(g - l3))
    sign = -1.0 if g % 2 else 1.0
    return sign * math.sqrt(square * ratio * ratio)


def path_constant(l1: int, l2: int, l3: int) -> float:
    """c(l1, l2, l3) such that the Gaunt block of the path equals c · e3nn ``wigner_3j``."""
    norm = math.sqrt((2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1) / (4.0 * math.pi))
    return norm * abs(wigner_3j_zero_m(l1, l2, l3))


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


@functools.lru_cache(maxsize=None)
def gaunt_block(l1: int, l2: int, l3: int) -> torch.Tensor:
    """G for one path: [2l1+1, 2l2+1, 2l3+1], float64 (zeros for forbidden paths)."""
    return scaled_wigner_3j(path_constant(l1, l2, l3), l1, l2, l3)


@functools.lru_cache(maxsize=None)
def gaunt_tensor(lmax1: int, lmax2: int, lmax3: int) -> torch.Tensor:
    """All Gaunt coefficients up to the given degrees: [(L1+1)**2, (L2+1)**2, (L3+1)**2], float64."""
    return assemble_paths(gaunt_block, lmax1, lmax2, lmax3, odd=False)
