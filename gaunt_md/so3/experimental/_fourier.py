r"""Spherical harmonics as 2D Fourier series in (β, α), the basis of the Gaunt tensor product paper.

Continued to β in [0, 2π) (with a signed sin β, see ``so3/_harmonics.py``), every Y_lm is a
finite 2D Fourier series Σ_uv Ŷ_lm[u, v] e^{i(uβ + vα)} with |u| ≤ l and v = ±m only. A real
function's series is Hermitian, so only v ≥ 0 is stored: ``F: [..., N, K]`` holds u at index
u mod N and v = 0..K-1, the layout of ``torch.fft.rfft2`` over an N × N uniform grid (N odd).

Products of two functions are 2D convolutions of their series, done with FFTs (the samples of the
series on the uniform grid are multiplied pointwise). The projection back onto Y_lm integrates
over β in [0, π] with the sin β weight in closed form, so every step is exact.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._checks import lmax_of
from .._harmonics import spherical_harmonics_alpha_beta


def _sh_fourier(lmax: int, n: int) -> np.ndarray:
    """Ŷ[lm, u mod n, v mod n] for all l ≤ lmax: [(lmax+1)**2, n, n] complex (n ≥ 2*lmax+1)."""
    t = 2.0 * math.pi * np.arange(n) / n
    beta, alpha = np.meshgrid(t, t, indexing="ij")
    y = spherical_harmonics_alpha_beta(lmax, alpha, beta, signed_sin=True)  # [n, n, lm]
    return np.fft.fft2(np.moveaxis(y, -1, 0)) / (n * n)


def _sin_moment(k: np.ndarray) -> np.ndarray:
    """J(k) = ∫_0^π e^{ikβ} sin β dβ for integer k."""
    k = np.asarray(k)
    out = np.zeros(k.shape, dtype=np.complex128)
    one = np.abs(k) == 1
    out[one] = 0.5j * math.pi * np.sign(k[one])
    even = (k % 2) == 0
    out[even] = 2.0 / (1.0 - k[even].astype(np.float64) ** 2)
    return out


def _rows_per_v(lmax: int) -> np.ndarray:
    """Coefficient index of (l, ±v) for v = 0..lmax: [lmax+1, 2(lmax+1)], (lmax+1)**2 marks padding."""
    pad = (lmax + 1) ** 2
    rows = np.full((lmax + 1, 2 * (lmax + 1)), pad, dtype=np.int64)
    for v in range(lmax + 1):
        for l in range(v, lmax + 1):
            rows[v, l] = l * l + l + v
            if v > 0:
                rows[v, lmax + 1 + l] = l * l + l - v
    return rows


def _check_size(lmax: int, n: int) -> None:
    if n < 2 * lmax + 1 or n % 2 == 0:
        raise ValueError(f"the Fourier size must be odd and ≥ {2 * lmax + 1}, got {n}")


class ToFourier(torch.nn.Module):
    """Coefficients ``[..., (lmax+1)**2]`` → half 2D Fourier series ``[..., n, n//2+1]`` (complex)."""

    def __init__(self, lmax: int, n: int) -> None:
        super().__init__()
        _check_size(lmax, n)
        self.lmax, self.n = lmax, n
        yhat = _sh_fourier(lmax, n)
        rows = _rows_per_v(lmax)
        table = np.zeros((lmax + 1, rows.shape[1], n), dtype=np.complex128)  # [v, rows, u]
        for v in range(lmax + 1):
            for r, lm in enumerate(rows[v]):
                if lm < yhat.shape[0]:
                    table[v, r] = yhat[lm, :, v]
        self.register_buffer("table", torch.view_as_real(torch.from_numpy(table)).contiguous(), persistent=False)
        self.register_buffer("rows", torch.from_numpy(rows.reshape(-1)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lmax = self.lmax
        if lmax_of(x, "x") != lmax:
            raise ValueError(f"ToFourier expects degree {lmax}, got {x.shape[-1]} coefficients")
        lead = x.shape[:-1]
        x = torch.nn.functional.pad(x.reshape(-1, x.shape[-1]), (0, 1))
        xv = x[:, self.rows].view(-1, lmax + 1, 2 * (lmax + 1)).transpose(0, 1)  # [V, B, rows]
        table = torch.view_as_complex(self.table)
        series = torch.bmm(xv.to(table.dtype), table)  # [V, B, n]
        series = series.permute(1, 2, 0)  # [B, n(u), V]
        series = torch.nn.functional.pad(series, (0, self.n // 2 + 1 - (lmax + 1)))
        return series.reshape(*lead, self.n, self.n // 2 + 1)


class FromFourier(torch.nn.Module):
    """Half 2D Fourier series ``[..., n, n//2+1]`` → coefficients ``[..., (lmax+1)**2]``, exactly."""

    def __init__(self, lmax: int, n: int) -> None:
        super().__init__()
        _check_size(lmax, n)
        self.lmax, self.n = lmax, n
        # W[lm, u, v] = 2π Σ_u' Ŷ_lm[u', -v] J(u + u'); the v < 0 half enters as the conjugate, hence 2 Re.
        m_size = 4 * lmax + 1 + n  # room for u + u' without wrap-around
        yhat = _sh_fourier(lmax, m_size)
        freqs = np.fft.fftfreq(m_size, 1.0 / m_size).astype(np.int64)
        u_out = np.fft.fftfreq(n, 1.0 / n).astype(np.int64)
        jmat = _sin_moment(u_out[:, None] + freqs[None, :])  # [n(u), m_size(u')]
        rows = _rows_per_v(lmax)
        table = np.zeros((lmax + 1, n, rows.shape[1]), dtype=np.complex128)  # [v, u, rows]
        for v in range(lmax + 1):
            for r, lm in enumerate(rows[v]):
                if lm < yhat.shape[0]:
                    weight = 2.0 * math.pi * (2.0 if v > 0 else 1.0)
                    table[v, :, r] = weight * jmat @ yhat[lm, :, (-v) % m_size]
        self.register_buffer("table", torch.view_as_real(torch.from_numpy(table)).contiguous(), persistent=False)
        valid = rows.reshape(-1)
        self.register_buffer(
            "index", torch.from_numpy(np.argsort(valid, kind="stable")[: (lmax + 1) ** 2]), persistent=False
        )

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        lmax = self.lmax
        lead = series.shape[:-2]
        s = series.reshape(-1, self.n, self.n // 2 + 1)[..., : lmax + 1].permute(2, 0, 1)  # [V, B, n]
        c = torch.bmm(s, torch.view_as_complex(self.table)).real  # [V, B, rows]
        c = c.transpose(0, 1).reshape(c.shape[1], -1)[:, self.index]
        return c.reshape(*lead, (lmax + 1) ** 2)


def fourier_size(degree: int) -> int:
    """Smallest odd uniform-grid size on which series of total degree ``degree`` multiply exactly."""
    return 2 * degree + 1
