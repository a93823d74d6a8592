"""gaunt_product: every backend against the dense reference, an independent quadrature, symmetry."""

import numpy as np
import pytest
import torch
from e3nn import o3

from gaunt_md.so3 import BACKENDS, GauntProduct, gaunt_product

FAST = ("grid", "fourier")
DEGREES = [(1, 1, 2), (2, 3, 5), (3, 3, 2), (4, 1, 4), (0, 2, 2), (5, 4, 9)]


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize("dtype,tolerance", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("backend", FAST)
@pytest.mark.parametrize("l1,l2,lout", DEGREES)
def test_backends_equal_dense(backend, l1, l2, lout, dtype, tolerance):
    x1 = torch.randn(6, (l1 + 1) ** 2, dtype=torch.float64)
    x2 = torch.randn(6, (l2 + 1) ** 2, dtype=torch.float64)
    ref = gaunt_product(x1, x2, lout, backend="dense")
    out = gaunt_product(x1.to(dtype), x2.to(dtype), lout, backend=backend)
    assert out.dtype == dtype
    assert rel_err(out.double(), ref) < tolerance


@pytest.mark.parametrize("backend", BACKENDS)
def test_equals_brute_force_quadrature_with_e3nn_harmonics(backend):
    """c_lm = ∫ f1 f2 Y_lm dΩ on a fine Gauss-Legendre grid, with f1, f2, Y all from e3nn."""
    l1, l2, lout = 3, 4, 6
    x1 = torch.randn(3, (l1 + 1) ** 2, dtype=torch.float64)
    x2 = torch.randn(3, (l2 + 1) ** 2, dtype=torch.float64)
    n = 20  # far more nodes than the degree 13 integrand needs
    z, w = np.polynomial.legendre.leggauss(n)
    alpha = 2 * np.pi * np.arange(2 * n) / (2 * n)
    b, a = np.meshgrid(np.arccos(z), alpha, indexing="ij")
    xyz = o3.angles_to_xyz(torch.from_numpy(a.ravel()), torch.from_numpy(b.ravel()))
    weights = torch.from_numpy(np.repeat(w, 2 * n) * 2 * np.pi / (2 * n))
    y = o3.spherical_harmonics(list(range(lout + 1)), xyz, True, "integral")  # [P, (lout+1)^2]
    f1 = x1 @ y[:, : (l1 + 1) ** 2].T
    f2 = x2 @ y[:, : (l2 + 1) ** 2].T
    ref = (f1 * f2 * weights) @ y
    assert rel_err(gaunt_product(x1, x2, lout, backend=backend), ref) < 1e-12


@pytest.mark.parametrize("backend", BACKENDS)
def test_equivariant_under_rotations_and_inversion(backend):
    l1, l2, lout = 2, 3, 5
    x1 = torch.randn(4, (l1 + 1) ** 2, dtype=torch.float64)
    x2 = torch.randn(4, (l2 + 1) ** 2, dtype=torch.float64)
    out = gaunt_product(x1, x2, lout, backend=backend)
    for r in [
        o3.rand_matrix(dtype=torch.float64),
        -o3.rand_matrix(dtype=torch.float64),
        -torch.eye(3, dtype=torch.float64),
    ]:
        d1, d2, dout = (o3.Irreps.spherical_harmonics(l).D_from_matrix(r) for l in (l1, l2, lout))
        rotated = gaunt_product(x1 @ d1.T, x2 @ d2.T, lout, backend=backend)
        # e3nn's D_from_matrix is itself only ~1e-6 accurate in float64 (its harmonics of a rotated
        # point differ from D @ Y by 7e-7), which bounds this check; the parity test below is exact.
        torch.testing.assert_close(rotated, out @ dout.T, atol=2e-5, rtol=0)


def test_inversion_gives_parity_of_output_degree():
    x1, x2 = torch.randn(2, 9, dtype=torch.float64), torch.randn(2, 16, dtype=torch.float64)
    parity = lambda lmax: torch.cat(
        [torch.full((2 * l + 1,), (-1.0) ** l, dtype=torch.float64) for l in range(lmax + 1)]
    )
    out = gaunt_product(x1, x2, 5)
    torch.testing.assert_close(gaunt_product(x1 * parity(2), x2 * parity(3), 5), out * parity(5), atol=1e-13, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_selection_rule_odd_paths_vanish(backend):
    lmax = 3
    for l1 in range(lmax + 1):
        for l2 in range(lmax + 1):
            x1 = torch.zeros(2, (lmax + 1) ** 2, dtype=torch.float64)
            x2 = torch.zeros(2, (lmax + 1) ** 2, dtype=torch.float64)
            x1[:, l1 * l1 : (l1 + 1) ** 2] = torch.randn(2, 2 * l1 + 1, dtype=torch.float64)
            x2[:, l2 * l2 : (l2 + 1) ** 2] = torch.randn(2, 2 * l2 + 1, dtype=torch.float64)
            out = gaunt_product(x1, x2, 2 * lmax, backend=backend)
            for l3 in range(2 * lmax + 1):
                block = out[:, l3 * l3 : (l3 + 1) ** 2].abs().max().item()
                allowed = abs(l1 - l2) <= l3 <= l1 + l2 and (l1 + l2 + l3) % 2 == 0
                assert (block > 1e-8) if allowed else (block < 1e-13), (l1, l2, l3, block)


@pytest.mark.parametrize("backend", BACKENDS)
def test_symmetric_in_its_inputs(backend):
    x1, x2 = torch.randn(5, 9, dtype=torch.float64), torch.randn(5, 16, dtype=torch.float64)
    torch.testing.assert_close(
        gaunt_product(x1, x2, 4, backend=backend), gaunt_product(x2, x1, 4, backend=backend), atol=1e-13, rtol=0
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck_and_double_backward(backend):
    x1 = torch.randn(3, 9, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    fn = lambda a, b: gaunt_product(a, b, 3, backend=backend)
    assert torch.autograd.gradcheck(fn, (x1, x2))
    assert torch.autograd.gradgradcheck(fn, (x1, x2))


def test_grid_blocks_and_written_out_derivatives_equal_dense(monkeypatch):
    """The grid product runs in blocks with its derivatives written as Gaunt products: across block
    edges, with either input or both needing gradients, to third order, it equals the dense one."""
    from gaunt_md.so3 import _grid_product

    product = GauntProduct(2, 3, 4, backend="grid").double()
    assert product.grid.block(torch.empty(1, dtype=torch.float64)) > 100
    points = product.grid.n_beta * product.grid.n_alpha
    monkeypatch.setattr(_grid_product, "BLOCK_BYTES", 3 * points * 8)
    assert product.grid.block(torch.empty(1, dtype=torch.float64)) == 3
    dense = GauntProduct(2, 3, 4, backend="dense").double()
    x1, x2 = torch.randn(10, 9, dtype=torch.float64), torch.randn(10, 16, dtype=torch.float64)
    v = torch.randn(10, 25, dtype=torch.float64)

    def derivatives(module, wanted):
        inputs = [x.clone().requires_grad_(w) for x, w in zip((x1, x2), wanted)]
        out = module(*inputs)
        leaves = [x for x in inputs if x.requires_grad]
        first = torch.autograd.grad((out * v).sum(), leaves, create_graph=True)
        second = torch.autograd.grad(sum((g * g).sum() for g in first) + (out * out).sum(), leaves, create_graph=True)
        third = torch.autograd.grad(sum((g * g.sin()).sum() for g in second), leaves)
        return [out, *first, *second, *third]

    for wanted in ((True, True), (True, False), (False, True)):
        for got, ref in zip(derivatives(product, wanted), derivatives(dense, wanted), strict=True):
            assert rel_err(got, ref) < 1e-12
    a = torch.randn(4, 9, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, 16, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(product, (a, b))


@pytest.mark.parametrize("backend", BACKENDS)
def test_leading_dimensions_broadcast_and_empty_batch(backend):
    x1 = torch.randn(2, 1, 3, 9, dtype=torch.float64)
    x2 = torch.randn(4, 1, 4, dtype=torch.float64)
    out = gaunt_product(x1, x2, 3, backend=backend)
    assert out.shape == (2, 4, 3, 16)
    torch.testing.assert_close(
        out[1, 2, 0], gaunt_product(x1[1, 0, 0], x2[2, 0], 3, backend="dense"), atol=1e-13, rtol=0
    )
    empty = gaunt_product(
        torch.randn(0, 9, dtype=torch.float64), torch.randn(0, 4, dtype=torch.float64), 3, backend=backend
    )
    assert empty.shape == (0, 16)


def test_module_form_moves_its_tables():
    module = GauntProduct(2, 2, 4, backend="grid").to(torch.float32)
    assert all(b.dtype == torch.float32 for b in module.buffers() if b.is_floating_point())
    x1, x2 = torch.randn(7, 9), torch.randn(7, 9)
    torch.testing.assert_close(
        module(x1, x2).double(), gaunt_product(x1.double(), x2.double(), 4, "dense"), atol=1e-5, rtol=1e-5
    )
    with pytest.raises(TypeError, match="call .to"):
        module(x1.double(), x2.double())


def test_clear_errors_for_bad_input():
    x = torch.randn(3, 9)
    with pytest.raises(ValueError, match="not \\(L\\+1\\)\\*\\*2"):
        gaunt_product(torch.randn(3, 5), x)
    with pytest.raises(ValueError, match="lmax_out must be in \\[0, L1\\+L2\\] = \\[0, 4\\]"):
        gaunt_product(x, x, 5)
    with pytest.raises(ValueError, match="lmax_out"):
        gaunt_product(x, x, -1)
    with pytest.raises(ValueError, match="valid backends are grid, fourier, dense"):
        gaunt_product(x, x, 2, backend="fft")
    with pytest.raises(TypeError, match="float32 but x2 is torch.float64"):
        gaunt_product(x, x.double(), 2)
    with pytest.raises(ValueError, match="on cpu but x2 is on meta"):
        gaunt_product(x, torch.empty(3, 9, device="meta"), 2)
    with pytest.raises(TypeError, match="floating-point"):
        gaunt_product(x.long(), x.long(), 2)


def test_exactness_needs_the_minimal_grid():
    """One Gauss-Legendre ring fewer than the product needs gives an O(1) error (so ours is minimal)."""
    from gaunt_md.so3 import FromGrid, ToGrid, grid_shape

    l1 = l2 = 3
    lout = 6
    nb, na = grid_shape(l1 + l2 + lout)
    x1, x2 = torch.randn(4, 16, dtype=torch.float64), torch.randn(4, 16, dtype=torch.float64)
    ref = gaunt_product(x1, x2, lout, backend="dense")
    short = FromGrid(lout, nb - 1, na)(ToGrid(l1, nb - 1, na)(x1) * ToGrid(l2, nb - 1, na)(x2))
    assert rel_err(short, ref) > 1e-3
    exact = FromGrid(lout, nb, na)(ToGrid(l1, nb, na)(x1) * ToGrid(l2, nb, na)(x2))
    assert rel_err(exact, ref) < 1e-12
    assert (nb, na) == (7, 13)
