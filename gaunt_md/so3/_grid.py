r"""Sampling spherical functions on a Gauss-Legendre × uniform grid, and projecting back.

Basis and grid (see ``_harmonics``): the polar axis is y; rings are the Gauss-Legendre nodes
z_i = cos β_i (i < n_beta), each ring has n_alpha equally spaced points α_j = 2πj / n_alpha.
A grid function is ``f: [..., n_beta, n_alpha]`` with f[..., i, j] = f(α_j, β_i).

Both transforms are separable: associated-Legendre functions between degrees and rings, per m,
and a real DFT along each ring, written as one matmul with an [n_alpha, 2L+1] table rather than
an FFT (the rings are short: n_alpha = 41 for two degree-10 inputs into degree 20). The column
methods do the Legendre step as one dense matrix that also selects each m's coefficients ([(2L+1)
n_beta, (L+1)**2]): more multiply-adds than a batched matmul per m, but one operator instead of a
row gather and a batched matmul: fewer operators for small systems, fewer passes over memory for
large ones. Where it costs no more multiply-adds (rings not much longer than 2L+1, as at L ≤ 3),
the column methods multiply by the two tables multiplied out instead ([n_alpha n_beta, (L+1)**2]):
one matrix product per transform and no intermediate ring amplitudes. (The force field's many-body
product used these grids until 2026-12-06; it now samples on a Lebedev rule, ``_lebedev``, with
fewer points for the same exactness.) ``from_grid`` is the quadrature
c_lm = Σ_ij w_i (2π / n_alpha) f_ij Y_lm(α_j, β_i); it inverts ``to_grid`` and is exact for
integrands of degree ≤ 2 n_beta - 1 in cos β and < n_alpha in α.

The work is done in a column layout, one vector per column (``[(L+1)**2, B]`` and
``[n_alpha, n_beta, B]``), so every step is a contiguous matrix product; the ``[..., (L+1)**2]``
methods transpose in and out. Callers that chain transforms use the column methods directly.
``ToGrid.sample_rows`` and ``FromGrid.project_rows`` take and give row-layout blocks
(``[B, (L+1)**2]``) without autograd bookkeeping, for autograd Functions that write out their
own backward (the fused product of ``_grid_product``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..blocking import blocked
from ._checks import lmax_of
from ._harmonics import azimuthal, legendre, legendre_dz


def grid_shape(degree: int, lmax: int = 0) -> tuple[int, int]:
    """Smallest (n_beta, n_alpha) whose quadrature integrates every degree-``degree`` polynomial
    and whose rings resolve inputs of degree ``lmax`` (n_alpha ≥ 2 lmax + 1)."""
    return degree // 2 + 1, max(degree + 1, 2 * lmax + 1)


def _legendre_per_m(lmax: int, n_beta: int) -> tuple[np.ndarray, np.ndarray]:
    """P̄_l^|m|(z_i) as [2*lmax+1 (m), lmax+1 (l), n_beta] (zero where l < |m|), and GL weights [n_beta]."""
    z, w = np.polynomial.legendre.leggauss(n_beta)
    p = legendre(lmax, z)  # [l, m, i]
    return np.stack([p[:, abs(m)] for m in range(-lmax, lmax + 1)]), w


def _azimuthal_dalpha(lmax: int, alpha: np.ndarray) -> np.ndarray:
    """dA_m/dα for m = -lmax..lmax: [2*lmax+1, n]; A_m' = m A_-m."""
    m = np.arange(-lmax, lmax + 1)[:, None]
    return math.sqrt(2.0) * np.where(m < 0, -m * np.cos(-m * alpha), -m * np.sin(m * alpha))


def _rows_by_m(lmax: int) -> np.ndarray:
    """Flat index l² + l + m of every (m, l) pair, [(2L+1)*(L+1)]; pairs with l < |m| get
    (L+1)**2, a zero row."""
    idx = np.full((2 * lmax + 1, lmax + 1), (lmax + 1) ** 2, dtype=np.int64)
    for m in range(-lmax, lmax + 1):
        for l in range(abs(m), lmax + 1):
            idx[m + lmax, l] = l * l + l + m
    return idx.reshape(-1)


def _legendre_dense(p: np.ndarray, lmax: int) -> np.ndarray:
    """``p: [M, l, n_beta]`` (per-m Legendre values) → ``[M * n_beta, (lmax+1)**2]``, the map from
    coefficients to per-m ring amplitudes with the coefficient selection folded in: row (m, i) holds
    p[m, l, i] in column l² + l + m. One matrix product instead of a row gather and a batched one."""
    n_beta = p.shape[2]
    dense = np.zeros((2 * lmax + 1, n_beta, (lmax + 1) ** 2))
    for m in range(-lmax, lmax + 1):
        for l in range(abs(m), lmax + 1):
            dense[m + lmax, :, l * l + l + m] = p[m + lmax, l]
    return dense.reshape(-1, (lmax + 1) ** 2)


def _check_ring(lmax: int, n_alpha: int) -> None:
    if n_alpha < 2 * lmax + 1:
        raise ValueError(f"n_alpha={n_alpha} cannot resolve degree {lmax}: need at least {2 * lmax + 1}")


RING_BLOCK_COLUMNS = 1 << 15  # on CPU the ring DFT runs over blocks of 2^15 columns (~1.4 MB out)


class _RingMatmul(torch.autograd.Function):
    """``ring [a, b] @ x [b, n]`` for a constant ``ring``; on CPU in blocks of columns, so that each
    block's input and output stay in cache. The backward is the same product with ``ring.T``, so
    derivatives of every order are exact."""

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def forward(ring: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        out = x.new_empty(ring.shape[0], n)
        for i in range(0, n, RING_BLOCK_COLUMNS):  # a copy into the block, not mm(out=): traced graphs compile it
            out[:, i : i + RING_BLOCK_COLUMNS] = torch.mm(ring, x[:, i : i + RING_BLOCK_COLUMNS])
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (ring,) = ctx.saved_tensors
        return None, _RingMatmul.apply(ring.t(), grad) if ctx.needs_input_grad[1] else None


def ring_matmul(ring: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``ring [a, b] @ x [b, n]`` with ``ring`` a constant (no gradient)."""
    if not blocked(x) or x.shape[1] <= RING_BLOCK_COLUMNS:
        return ring @ x  # one block: plain autograd, no Function overhead
    return _RingMatmul.apply(ring, x)


def _if_cheaper(whole: np.ndarray, n_alpha: int, n_beta: int, m: int, f: int) -> torch.Tensor | None:
    """``whole`` (the ring and Legendre tables multiplied out, [n_alpha n_beta, f] or its transpose)
    where one product with it costs no more multiply-adds per column than the two with the tables
    (m = 2L+1 ring amplitudes per ring, f = (L+1)**2 coefficients); None otherwise."""
    separate = m * n_beta * f + n_alpha * m * n_beta
    return torch.from_numpy(np.ascontiguousarray(whole)) if n_alpha * n_beta * f <= separate else None


def _to_columns(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[:-1].numel(), x.shape[-1]).t()


class ToGrid(torch.nn.Module):
    """Coefficients ``[..., (lmax+1)**2]`` → grid samples ``[..., n_beta, n_alpha]``.

    With ``gradient=True`` it also holds the tables that sample ∂f/∂α and ∂f/∂z (z = cos β)
    exactly (∂/∂α spectrally, ∂/∂z from the differentiated Legendre recurrence), for
    :meth:`sample_rows`.
    """

    def __init__(self, lmax: int, n_beta: int, n_alpha: int, gradient: bool = False) -> None:
        super().__init__()
        _check_ring(lmax, n_alpha)
        self.lmax, self.n_beta, self.n_alpha = lmax, n_beta, n_alpha
        p, _ = _legendre_per_m(lmax, n_beta)
        alpha = 2.0 * math.pi * np.arange(n_alpha) / n_alpha
        self.register_buffer("legendre", torch.from_numpy(p.transpose(0, 2, 1).copy()), persistent=False)  # [M, nb, l]
        self.register_buffer("ring", torch.from_numpy(azimuthal(lmax, alpha).T.copy()), persistent=False)  # [na, M]
        dense = _legendre_dense(p, lmax)  # [M nb, f]
        self.register_buffer("legendre_dense", torch.from_numpy(dense), persistent=False)
        m, f = 2 * lmax + 1, (lmax + 1) ** 2
        whole = np.einsum("am,mbf->abf", self.ring.numpy(), dense.reshape(m, n_beta, f)).reshape(-1, f)
        self.register_buffer("whole", _if_cheaper(whole, n_alpha, n_beta, m, f), persistent=False)  # [na nb, f] or None
        rows = torch.from_numpy(_rows_by_m(lmax))
        # padding pairs (l < |m|) read row 0 instead of a zero row: the Legendre table is zero there
        self.register_buffer("rows_in_range", torch.where(rows < (lmax + 1) ** 2, rows, 0), persistent=False)
        if gradient:
            z, _ = np.polynomial.legendre.leggauss(n_beta)
            d = legendre_dz(lmax, z)  # [l, m, i]
            dz = np.stack([d[:, abs(m)].T for m in range(-lmax, lmax + 1)])  # [M, nb, l]
            self.register_buffer("legendre_dz", torch.from_numpy(dz.copy()), persistent=False)
            ring_dalpha = np.ascontiguousarray(_azimuthal_dalpha(lmax, alpha).T)  # [na, M]
            self.register_buffer("ring_dalpha", torch.from_numpy(ring_dalpha), persistent=False)

    def columns(self, x: torch.Tensor) -> torch.Tensor:
        """``x: [(lmax+1)**2, B]`` → ``[n_alpha, n_beta, B]``."""
        b = x.shape[-1]
        if self.whole is not None:
            return (self.whole @ x).view(self.n_alpha, self.n_beta, b)
        rings = self.legendre_dense @ x  # [(M, n_beta), B]
        return ring_matmul(self.ring, rings.view(2 * self.lmax + 1, -1)).view(self.n_alpha, self.n_beta, b)

    def sample_rows(self, x: torch.Tensor, values: bool = True, gradient: bool = False):
        """``x: [B, (lmax+1)**2]`` → (f, ∂f/∂α, ∂f/∂z), each ``[n_alpha, n_beta, B]`` or None where
        not asked for (the derivatives need ``gradient=True`` at construction); no autograd.
        Coefficients must be finite (a padding pair multiplies coefficient 0 by an exact zero)."""
        b, shape = x.shape[0], (self.n_alpha, self.n_beta, x.shape[0])
        xm = x.index_select(1, self.rows_in_range).t().view(2 * self.lmax + 1, self.lmax + 1, b)
        rings = torch.bmm(self.legendre, xm).view(2 * self.lmax + 1, -1)  # [M, n_beta B]
        f = (self.ring @ rings).view(shape) if values else None
        if not gradient:
            return f, None, None
        dz = self.ring @ torch.bmm(self.legendre_dz, xm).view(2 * self.lmax + 1, -1)
        return f, (self.ring_dalpha @ rings).view(shape), dz.view(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if lmax_of(x, "x") != self.lmax:
            raise ValueError(
                f"ToGrid expects degree {self.lmax} ({(self.lmax + 1) ** 2} coefficients), got {x.shape[-1]}"
            )
        f = self.columns(_to_columns(x))  # [na, nb, B]
        return f.permute(2, 1, 0).reshape(*x.shape[:-1], self.n_beta, self.n_alpha)


class FromGrid(torch.nn.Module):
    """Grid samples ``[..., n_beta, n_alpha]`` → coefficients ``[..., (lmax+1)**2]`` by quadrature."""

    def __init__(self, lmax: int, n_beta: int, n_alpha: int) -> None:
        super().__init__()
        _check_ring(lmax, n_alpha)
        self.lmax, self.n_beta, self.n_alpha = lmax, n_beta, n_alpha
        p, w = _legendre_per_m(lmax, n_beta)
        alpha = 2.0 * math.pi * np.arange(n_alpha) / n_alpha
        ring = azimuthal(lmax, alpha) * (2.0 * math.pi / n_alpha)  # [M, na]
        self.register_buffer("ring", torch.from_numpy(ring), persistent=False)
        self.register_buffer("legendre", torch.from_numpy(p * w), persistent=False)  # [M, l, nb]
        dense = _legendre_dense(p * w, lmax).T.copy()  # [f, (M, nb)]
        self.register_buffer("legendre_dense", torch.from_numpy(dense), persistent=False)
        m, f = 2 * lmax + 1, (lmax + 1) ** 2
        whole = np.einsum("fmb,ma->fab", dense.reshape(f, m, n_beta), ring).reshape(f, -1)
        self.register_buffer("whole", _if_cheaper(whole, n_alpha, n_beta, m, f), persistent=False)  # [f, na nb] or None
        order = [(m + lmax) * (lmax + 1) + l for l in range(lmax + 1) for m in range(-l, l + 1)]
        order = torch.tensor(order)  # (m, l) → l² + l + m
        self.register_buffer("order", order, persistent=False)

    def columns(self, f: torch.Tensor) -> torch.Tensor:
        """``f: [n_alpha, n_beta, B]`` → ``[(lmax+1)**2, B]``."""
        b = f.shape[-1]
        if self.whole is not None:
            return self.whole @ f.reshape(-1, b)
        rings = ring_matmul(self.ring, f.reshape(self.n_alpha, -1))  # [M, (n_beta, B)]
        return self.legendre_dense @ rings.view(-1, b)

    def project_rows(self, f: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """``f: [n_alpha, n_beta, B]`` → ``out: [B, (lmax+1)**2]`` (written in place); no autograd."""
        b = f.shape[-1]
        rings = (self.ring @ f.reshape(self.n_alpha, -1)).view(2 * self.lmax + 1, self.n_beta, b)
        c = torch.bmm(self.legendre, rings).view(-1, b)  # [(M, l), B]
        return out.copy_(c.index_select(0, self.order).t())

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        if f.dim() < 2 or tuple(f.shape[-2:]) != (self.n_beta, self.n_alpha):
            raise ValueError(f"FromGrid expects [..., {self.n_beta}, {self.n_alpha}], got {list(f.shape)}")
        lead = f.shape[:-2]
        fc = f.reshape(lead.numel(), self.n_beta, self.n_alpha).permute(2, 1, 0)  # [na, nb, B]
        return self.columns(fc).t().reshape(*lead, (self.lmax + 1) ** 2)
