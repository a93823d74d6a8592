r"""Real spherical harmonics in e3nn's convention, evaluated in angles, for any degree.

Convention (identical to ``e3nn.o3.spherical_harmonics(l, r, normalize=True,
normalization="integral")``, checked in the tests up to the degree e3nn implements):
the polar axis is y, a unit vector is s = (sin β sin α, cos β, sin β cos α), and

    Y_lm(α, β) = A_m(α) · P̄_l^|m|(cos β),
    A_m(α) = √2 sin(|m| α) (m < 0),  1 (m = 0),  √2 cos(m α) (m > 0),

with P̄_l^m the associated Legendre functions without Condon-Shortley phase, normalised so that
∫ P̄_l^m(z)^2 dz = 1 / (2π). The Y_lm are orthonormal on the sphere; m runs -l..l and the flat
index of (l, m) is l² + l + m.

Everything here is float64 set-up code run once per transform, never in a hot path.
"""

from __future__ import annotations

import math

import numpy as np


def num_coefficients(lmax: int) -> int:
    """Length (lmax+1)**2 of a coefficient vector of degree ≤ lmax."""
    return (lmax + 1) ** 2


def legendre(lmax: int, cos_beta: np.ndarray, sin_beta: np.ndarray | None = None) -> np.ndarray:
    """Normalised associated Legendre functions P̄_l^m for 0 ≤ m ≤ l ≤ lmax.

    ``cos_beta``: [n]. ``sin_beta`` defaults to sqrt(1 - cos²); passing a signed sin β continues the
    functions analytically to β in (π, 2π), which the 2D Fourier transform needs.
    Returns [lmax+1 (l), lmax+1 (m), n], zero where m > l.
    """
    return _recurrence(lmax, cos_beta, sin_beta, derivative=False)[0]


def legendre_dz(lmax: int, cos_beta: np.ndarray) -> np.ndarray:
    """d/dz of ``legendre(lmax, z)`` for z = cos β in (-1, 1): [lmax+1 (l), lmax+1 (m), n].

    The differentiated recurrence adds no cancellation; only the seeds P̄_m^m ∝ (1-z²)^(m/2)
    divide by 1 - z², which the Gauss-Legendre nodes keep away from zero.
    """
    return _recurrence(lmax, cos_beta, None, derivative=True)[1]


def _recurrence(
    lmax: int, cos_beta: np.ndarray, sin_beta: np.ndarray | None, derivative: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """P̄_l^m and, with ``derivative``, dP̄_l^m/dz, from the one three-term recurrence in l."""
    z = np.asarray(cos_beta, dtype=np.float64)
    s = np.sqrt(np.clip(1.0 - z * z, 0.0, None)) if sin_beta is None else np.asarray(sin_beta, np.float64)
    p = np.zeros((lmax + 1, lmax + 1) + z.shape)
    d = np.zeros_like(p) if derivative else None
    p[0, 0] = math.sqrt(1.0 / (4.0 * math.pi))
    for m in range(1, lmax + 1):
        p[m, m] = math.sqrt((2 * m + 1) / (2 * m)) * s * p[m - 1, m - 1]
        if derivative:
            d[m, m] = -m * z * p[m, m] / (1.0 - z * z)
    for m in range(lmax):
        c = math.sqrt(2 * m + 3)
        p[m + 1, m] = c * z * p[m, m]
        if derivative:
            d[m + 1, m] = c * (p[m, m] + z * d[m, m])
    for m in range(lmax + 1):
        for l in range(m + 2, lmax + 1):
            a = math.sqrt((4 * l * l - 1) / (l * l - m * m))
            b = math.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1))
            p[l, m] = a * (z * p[l - 1, m] - b * p[l - 2, m])
            if derivative:
                d[l, m] = a * (p[l - 1, m] + z * d[l - 1, m] - b * d[l - 2, m])
    return p, d


def azimuthal(lmax: int, alpha: np.ndarray) -> np.ndarray:
    """A_m(α) for m = -lmax..lmax: [2*lmax+1, n]."""
    alpha = np.asarray(alpha, dtype=np.float64)
    out = np.empty((2 * lmax + 1,) + alpha.shape)
    for m in range(-lmax, lmax + 1):
        if m < 0:
            out[m + lmax] = math.sqrt(2.0) * np.sin(-m * alpha)
        elif m == 0:
            out[m + lmax] = 1.0
        else:
            out[m + lmax] = math.sqrt(2.0) * np.cos(m * alpha)
    return out


def spherical_harmonics_alpha_beta(
    lmax: int, alpha: np.ndarray, beta: np.ndarray, signed_sin: bool = False
) -> np.ndarray:
    """Y_lm(α, β) for all l ≤ lmax: [..., (lmax+1)**2] for α, β of shape [...] (broadcast).

    With ``signed_sin`` the functions are the trig polynomials continued to β in (π, 2π).
    """
    alpha, beta = np.broadcast_arrays(np.asarray(alpha, np.float64), np.asarray(beta, np.float64))
    p = legendre(lmax, np.cos(beta), np.sin(beta) if signed_sin else None)
    a = azimuthal(lmax, alpha)
    out = np.empty(alpha.shape + (num_coefficients(lmax),))
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            out[..., l * l + l + m] = a[m + lmax] * p[l, abs(m)]
    return out
