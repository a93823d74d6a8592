"""Grid and 2D Fourier transforms against e3nn's harmonics evaluated pointwise."""

import numpy as np
import pytest
import torch
from e3nn import o3

from gaunt_md.so3 import FromGrid, ToGrid, grid_shape
from gaunt_md.so3.experimental import FromFourier, ToFourier, fourier_size


def test_to_grid_samples_the_function():
    lmax = 5
    nb, na = grid_shape(2 * lmax)
    x = torch.randn(3, 2, (lmax + 1) ** 2, dtype=torch.float64)
    f = ToGrid(lmax, nb, na)(x)
    assert f.shape == (3, 2, nb, na)
    z, _ = np.polynomial.legendre.leggauss(nb)
    b, a = np.meshgrid(np.arccos(z), 2 * np.pi * np.arange(na) / na, indexing="ij")
    y = o3.spherical_harmonics(
        list(range(lmax + 1)), o3.angles_to_xyz(torch.from_numpy(a), torch.from_numpy(b)), True, "integral"
    )
    torch.testing.assert_close(f, torch.einsum("ijn,...n->...ij", y, x), atol=1e-13, rtol=0)


@pytest.mark.parametrize("lmax", [0, 1, 4, 7])
def test_from_grid_inverts_to_grid(lmax):
    nb, na = grid_shape(2 * lmax)
    x = torch.randn(5, (lmax + 1) ** 2, dtype=torch.float64)
    torch.testing.assert_close(FromGrid(lmax, nb, na)(ToGrid(lmax, nb, na)(x)), x, atol=1e-13, rtol=0)


@pytest.mark.parametrize("lmax", [0, 2, 5])
def test_fourier_round_trip_and_samples(lmax):
    n = fourier_size(lmax)
    x = torch.randn(4, (lmax + 1) ** 2, dtype=torch.float64)
    series = ToFourier(lmax, n)(x)
    torch.testing.assert_close(FromFourier(lmax, n)(series), x, atol=1e-13, rtol=0)
    # the series evaluated on the uniform (β, α) grid equals the function (β ≤ π part)
    samples = torch.fft.irfft2(series, s=(n, n), norm="forward")  # [4, β, α]
    t = 2 * np.pi * np.arange(n) / n
    keep = t <= np.pi
    b, a = np.meshgrid(t[keep], t, indexing="ij")
    y = o3.spherical_harmonics(
        list(range(lmax + 1)), o3.angles_to_xyz(torch.from_numpy(a), torch.from_numpy(b)), True, "integral"
    )
    torch.testing.assert_close(samples[:, keep], torch.einsum("ijn,bn->bij", y, x), atol=1e-13, rtol=0)


def test_grid_rejects_rings_too_short_for_the_degree():
    with pytest.raises(ValueError, match="n_alpha=5 cannot resolve degree 3"):
        ToGrid(3, 4, 5)
    with pytest.raises(ValueError, match=r"expects \[\.\.\., 4, 9\]"):
        FromGrid(3, 4, 9)(torch.randn(2, 4, 8))


def test_ring_matmul_in_blocks_equals_one_product(monkeypatch):
    """The ring DFT over column blocks, and its derivatives to second order, equal one matmul."""
    from gaunt_md.so3 import _grid

    monkeypatch.setattr(_grid, "RING_BLOCK_COLUMNS", 4)
    ring = torch.randn(5, 3, dtype=torch.float64)
    x = torch.randn(3, 10, dtype=torch.float64, requires_grad=True)  # blocks of 4, 4 and 2 columns
    v = torch.randn(5, 10, dtype=torch.float64)

    def derivatives(fn):
        out = fn(ring, x)
        (first,) = torch.autograd.grad((out * v).sum(), x, create_graph=True)
        (second,) = torch.autograd.grad((first * first.sin()).sum() + (out**3).sum(), x)
        return out, first, second

    for got, ref in zip(derivatives(_grid.ring_matmul), derivatives(torch.mm)):
        torch.testing.assert_close(got, ref, rtol=1e-13, atol=1e-13)
    assert torch.autograd.gradgradcheck(lambda y: _grid.ring_matmul(ring, y), (x,))


@pytest.mark.parametrize("lmax, degree, chosen", [(3, 11, True), (3, 9, True), (2, 7, True), (10, 40, False)])
def test_one_matrix_transforms_equal_the_two_tables(lmax, degree, chosen):
    """Where it costs no more multiply-adds, the column transforms multiply by the tables' product
    (the model's small degrees); the result equals the ring and Legendre products taken in turn."""
    nb, na = grid_shape(degree, lmax)
    to_grid, from_grid = ToGrid(lmax, nb, na), FromGrid(lmax, nb, na)
    assert (to_grid.whole is not None) == (from_grid.whole is not None) == chosen
    x = torch.randn((lmax + 1) ** 2, 7, dtype=torch.float64)
    f = torch.randn(na, nb, 7, dtype=torch.float64)
    one = to_grid.columns(x), from_grid.columns(f)
    if not chosen:
        return
    to_grid.whole = from_grid.whole = None
    torch.testing.assert_close(one[0], to_grid.columns(x), atol=1e-13, rtol=0)
    torch.testing.assert_close(one[1], from_grid.columns(f), atol=1e-13, rtol=0)
