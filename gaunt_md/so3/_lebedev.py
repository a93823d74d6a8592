r"""Lebedev quadrature: the sphere grid with the fewest points for an exact projection.

A Lebedev rule of degree D (points s_k on the unit sphere, weights w_k with Σ w_k = 4π) integrates
every polynomial of degree ≤ D exactly: ∫ f dΩ = Σ_k w_k f(s_k). A pointwise product of functions of
degree L_1, ..., L_ν, projected to degree L_out, needs D ≥ L_1 + ... + L_ν + L_out; the rule of degree
11 has 50 points where the Gauss-Legendre × uniform grid of ``_grid`` has 6 × 12 = 72, degree 9 has 38
against 50, degree 13 has 74 against 91. The points have no ring structure, so sampling and
projection are one dense matrix each, as ``_grid`` also uses them at these small degrees.

Rules from SciPy (``scipy.integrate.lebedev_rule``), harmonics from e3nn in this package's
convention (``normalization="integral"``: orthonormal on the sphere, m = -l..l, flat index l² + l + m).
Set-up code, float64, run once per layer.
"""

from __future__ import annotations

import torch
from e3nn import o3
from scipy.integrate import lebedev_rule


def lebedev_rule_of_degree(degree: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Points [P, 3] (unit vectors) and weights [P] (sum 4π) of the smallest Lebedev rule that
    SciPy has with degree ≥ ``degree``."""
    for order in range(max(degree, 3) | 1, 132, 2):  # SciPy's rules: odd degrees 3-131, with gaps above 31
        try:
            points, weights = lebedev_rule(order)
        except ValueError:
            continue
        return torch.from_numpy(points.T.copy()), torch.from_numpy(weights.copy())
    raise ValueError(f"no Lebedev rule of degree {degree} or more (SciPy's go to 131)")


def lebedev_tables(lmax_in: int, lmax_out: int, degree: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The two matrices of a product on the Lebedev rule of degree ≥ ``degree`` (float64):

    - ``sample`` [P, (lmax_in+1)**2]: Y_lm(s_k); ``sample @ c`` holds the function with
      coefficients c at the points;
    - ``project`` [(lmax_out+1)**2, P]: w_k Y_lm(s_k); ``project @ f`` holds the coefficients of
      samples f up to degree lmax_out, exact where f Y_lm has degree ≤ ``degree``.
    """
    points, weights = lebedev_rule_of_degree(degree)
    lmax = max(lmax_in, lmax_out)
    y = o3.spherical_harmonics(list(range(lmax + 1)), points, normalize=True, normalization="integral")
    return y[:, : (lmax_in + 1) ** 2].contiguous(), (y[:, : (lmax_out + 1) ** 2] * weights[:, None]).t().contiguous()
