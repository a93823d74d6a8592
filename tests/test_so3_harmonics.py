"""Our angle-form spherical harmonics and Gaunt coefficients against e3nn and direct quadrature."""

import numpy as np
import pytest
import torch
from e3nn import o3

from gaunt_md.so3 import gaunt_tensor
from gaunt_md.so3._gaunt_coefficients import gaunt_block, path_constant, wigner_3j_symbol
from gaunt_md.so3._harmonics import spherical_harmonics_alpha_beta


def test_harmonics_match_e3nn_up_to_its_maximum_degree():
    lmax = 11  # the highest degree e3nn.o3.spherical_harmonics implements
    alpha = torch.rand(200, dtype=torch.float64) * 2 * np.pi
    beta = torch.rand(200, dtype=torch.float64) * np.pi
    ref = o3.spherical_harmonics(list(range(lmax + 1)), o3.angles_to_xyz(alpha, beta), True, "integral")
    ours = spherical_harmonics_alpha_beta(lmax, alpha.numpy(), beta.numpy())
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-12)


def _quadrature_points(degree):
    """Gauss-Legendre × uniform points and weights exact for polynomials of the given degree."""
    z, w = np.polynomial.legendre.leggauss(degree // 2 + 1)
    n_alpha = degree + 1
    alpha = 2 * np.pi * np.arange(n_alpha) / n_alpha
    beta, alpha = np.meshgrid(np.arccos(z), alpha, indexing="ij")
    weights = np.repeat(w, n_alpha) * 2 * np.pi / n_alpha
    xyz = o3.angles_to_xyz(torch.from_numpy(alpha.reshape(-1)), torch.from_numpy(beta.reshape(-1)))
    return xyz, torch.from_numpy(weights)


def test_gaunt_tensor_equals_quadrature_of_three_e3nn_harmonics():
    l1, l2, l3 = 4, 3, 7
    xyz, w = _quadrature_points(l1 + l2 + l3)
    y = o3.spherical_harmonics(list(range(l3 + 1)), xyz, True, "integral")
    ref = torch.einsum("p,pa,pb,pc->abc", w, y[:, : (l1 + 1) ** 2], y[:, : (l2 + 1) ** 2], y)
    torch.testing.assert_close(gaunt_tensor(l1, l2, l3), ref, atol=1e-14, rtol=0)


def test_gaunt_selection_rule_and_known_values():
    assert path_constant(1, 1, 1) == 0.0 and gaunt_block(2, 1, 2).abs().max() == 0.0
    assert wigner_3j_symbol(1, 1, 2, 0, 0, 0) == pytest.approx(np.sqrt(2 / 15), abs=1e-15)
    # ∫ Y00 Y00 Y00 = 1 / sqrt(4π)
    assert gaunt_block(0, 0, 0).item() == pytest.approx(1 / np.sqrt(4 * np.pi), abs=1e-15)
    # ∫ Y00 Y1m Y1m' = δ_mm' / sqrt(4π)
    torch.testing.assert_close(gaunt_block(0, 1, 1)[0], torch.eye(3, dtype=torch.float64) / np.sqrt(4 * np.pi))


def test_gaunt_tensor_is_cached():
    assert gaunt_tensor(3, 3, 6) is gaunt_tensor(3, 3, 6)
