"""gaunt_bracket: grid against the odd-path reference, a brute-force quadrature of s·(∇f×∇g), symmetry."""

import math

import numpy as np
import pytest
import torch
from e3nn import o3

from gaunt_md.so3 import FromGrid, ToGrid, gaunt_product, grid_shape
from gaunt_md.so3._gaunt_coefficients import wigner_3j_symbol
from gaunt_md.so3.experimental import GauntBracket, bracket_constant, gaunt_bracket, gaunt_product_and_bracket
from gaunt_md.so3.experimental._bracket import bracket_tensor

DEGREES = [(1, 1, 1), (2, 3, 4), (3, 3, 5), (4, 1, 4), (1, 2, 2), (5, 4, 8), (4, 5, 3)]


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def sphere_quadrature(n):
    """An independent n × 2n Gauss-Legendre × uniform grid: points [P, 3] (e3nn frame) and weights [P]."""
    z, w = np.polynomial.legendre.leggauss(n)
    alpha = 2 * np.pi * np.arange(2 * n) / (2 * n)
    b, a = np.meshgrid(np.arccos(z), alpha, indexing="ij")
    xyz = o3.angles_to_xyz(torch.from_numpy(a.ravel()), torch.from_numpy(b.ravel()))
    return xyz, torch.from_numpy(np.repeat(w, 2 * n) * 2 * np.pi / (2 * n))


def harmonics_and_gradients(lmax, xyz):
    """e3nn's Y_lm(x/|x|) at points on the sphere [P, (L+1)**2] and their Cartesian (= surface)
    gradients by autograd [(L+1)**2, P, 3]."""
    xyz = xyz.clone().requires_grad_()
    y = o3.spherical_harmonics(list(range(lmax + 1)), xyz, normalize=True, normalization="integral")
    grads = [torch.autograd.grad(y[:, i].sum(), xyz, retain_graph=True)[0] for i in range(y.shape[1])]
    return y.detach(), torch.stack(grads)


def parity(lmax, shift=0):
    return torch.cat([torch.full((2 * l + 1,), (-1.0) ** (l + shift), dtype=torch.float64) for l in range(lmax + 1)])


@pytest.mark.parametrize("dtype,tolerance", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("l1,l2,lout", DEGREES)
def test_grid_equals_dense(l1, l2, lout, dtype, tolerance):
    x1 = torch.randn(6, (l1 + 1) ** 2, dtype=torch.float64)
    x2 = torch.randn(6, (l2 + 1) ** 2, dtype=torch.float64)
    ref = gaunt_bracket(x1, x2, lout, backend="dense")
    out = gaunt_bracket(x1.to(dtype), x2.to(dtype), lout)
    assert out.dtype == dtype and out.shape == (6, (lout + 1) ** 2)
    assert rel_err(out.double(), ref) < tolerance


@pytest.mark.parametrize("backend", ["grid", "dense"])
def test_equals_brute_force_quadrature_of_the_cross_product(backend):
    """b_lm = ∫ s·(∇f1 × ∇f2) Y_lm dΩ with f1, f2, Y from e3nn and gradients by autograd in R^3."""
    l1, l2, lout = 3, 4, 6
    x1 = torch.randn(3, (l1 + 1) ** 2, dtype=torch.float64)
    x2 = torch.randn(3, (l2 + 1) ** 2, dtype=torch.float64)
    xyz, weights = sphere_quadrature(16)  # the integrand has degree 12; 16 nodes are plenty
    y, grad = harmonics_and_gradients(lout, xyz)
    g1 = torch.einsum("bi,ipk->bpk", x1, grad[: (l1 + 1) ** 2])
    g2 = torch.einsum("bi,ipk->bpk", x2, grad[: (l2 + 1) ** 2])
    field = (xyz * torch.linalg.cross(g1, g2, dim=-1)).sum(-1)  # [3, P]
    ref = (field * weights) @ y
    assert rel_err(gaunt_bracket(x1, x2, lout, backend=backend), ref) < 1e-10


def test_path_constants_kappa_times_wigner_3j_against_quadrature():
    """Every path with l1, l2 ≤ 4: the block is κ(l1, l2, l3) · wigner_3j(l1, l2, l3), κ ≥ 0 as stated."""
    lmax = 4
    xyz, weights = sphere_quadrature(14)
    y, grad = harmonics_and_gradients(2 * lmax - 1, xyz)
    n = (lmax + 1) ** 2
    cross = torch.linalg.cross(grad[:n, None], grad[None, :n], dim=-1)  # [n, n, P, 3]
    brute = torch.einsum("ijpk,pk,p,pc->ijc", cross, xyz, weights, y)
    torch.testing.assert_close(bracket_tensor(lmax, lmax, 2 * lmax - 1), brute, atol=1e-12, rtol=0)
    for l1 in range(lmax + 1):
        for l2 in range(lmax + 1):
            for l3 in range(2 * lmax):
                block = brute[l1 * l1 : (l1 + 1) ** 2, l2 * l2 : (l2 + 1) ** 2, l3 * l3 : (l3 + 1) ** 2]
                kappa = bracket_constant(l1, l2, l3)
                if kappa == 0.0:
                    assert block.abs().max() < 1e-12, (l1, l2, l3)
                else:
                    w3j = o3.wigner_3j(l1, l2, l3, dtype=torch.float64)
                    assert kappa > 0 and abs((block * w3j).sum().item() - kappa) < 1e-11 * kappa, (l1, l2, l3)
    # closed forms: κ(1, 1, 1) = 3 / sqrt(2π) ({s_a, s_b} = ε_abc s_c); Racah's formula on known symbols
    assert bracket_constant(1, 1, 1) == pytest.approx(3 / math.sqrt(2 * math.pi), rel=1e-15)
    assert wigner_3j_symbol(1, 1, 1, 1, -1, 0) == pytest.approx(1 / math.sqrt(6), rel=1e-15)
    assert wigner_3j_symbol(2, 1, 2, 1, -1, 0) == pytest.approx(-1 / math.sqrt(10), rel=1e-15)
    assert wigner_3j_symbol(2, 2, 2, 0, 0, 0) == pytest.approx(-math.sqrt(2 / 35), rel=1e-15)


@pytest.mark.parametrize("backend", ["grid", "dense"])
def test_two_vectors_give_their_cross_product(backend):
    """{a·s, b·s} = (a × b)·s, with the l = 1 basis taken from e3nn (Y_1 = sqrt(3/4π) (x, y, z))."""
    basis = o3.spherical_harmonics(1, torch.eye(3, dtype=torch.float64), True, "integral").T  # Y_1(s) = basis @ s
    torch.testing.assert_close(
        basis, math.sqrt(3 / (4 * math.pi)) * torch.eye(3, dtype=torch.float64), atol=1e-15, rtol=0
    )
    a, b = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    to_coefficients = lambda v: torch.linalg.solve(basis.T, v.T).T  # c with c · Y_1(s) = v · s  # noqa: E731
    zero = torch.zeros(5, 1, dtype=torch.float64)
    out = gaunt_bracket(
        torch.cat([zero, to_coefficients(a)], -1), torch.cat([zero, to_coefficients(b)], -1), 1, backend=backend
    )
    torch.testing.assert_close(out[:, 1:], to_coefficients(torch.linalg.cross(a, b)), atol=1e-14, rtol=0)
    assert out[:, 0].abs().max() < 1e-15


@pytest.mark.parametrize("backend", ["grid", "dense"])
def test_antisymmetric_and_zero_on_itself(backend):
    x1, x2 = torch.randn(5, 16, dtype=torch.float64), torch.randn(5, 16, dtype=torch.float64)
    out = gaunt_bracket(x1, x2, 5, backend=backend)
    assert out.abs().max() > 1.0
    torch.testing.assert_close(gaunt_bracket(x2, x1, 5, backend=backend), -out, atol=1e-13, rtol=0)
    assert gaunt_bracket(x1, x1, 5, backend=backend).abs().max() < 1e-13
    x3 = torch.randn(5, 9, dtype=torch.float64)
    torch.testing.assert_close(
        gaunt_bracket(x3, x1, 4, backend=backend), -gaunt_bracket(x1, x3, 4, backend=backend), atol=1e-13, rtol=0
    )
    # a constant has no gradient
    assert gaunt_bracket(torch.randn(5, 1, dtype=torch.float64), x1, 2, backend=backend).abs().max() < 1e-14


@pytest.mark.parametrize("backend", ["grid", "dense"])
def test_selection_rule_only_odd_paths(backend):
    lmax = 3
    for l1 in range(lmax + 1):
        for l2 in range(lmax + 1):
            x1 = torch.zeros(2, (lmax + 1) ** 2, dtype=torch.float64)
            x2 = torch.zeros(2, (lmax + 1) ** 2, dtype=torch.float64)
            x1[:, l1 * l1 : (l1 + 1) ** 2] = torch.randn(2, 2 * l1 + 1, dtype=torch.float64)
            x2[:, l2 * l2 : (l2 + 1) ** 2] = torch.randn(2, 2 * l2 + 1, dtype=torch.float64)
            out = gaunt_bracket(x1, x2, 2 * lmax - 1, backend=backend)
            for l3 in range(2 * lmax):
                block = out[:, l3 * l3 : (l3 + 1) ** 2].abs().max().item()
                allowed = abs(l1 - l2) <= l3 <= l1 + l2 and (l1 + l2 + l3) % 2 == 1
                assert (block > 1e-8) if allowed else (block < 1e-13), (l1, l2, l3, block)


@pytest.mark.parametrize("backend", ["grid", "dense"])
def test_equivariant_under_rotations(backend):
    l1, l2, lout = 2, 3, 4
    x1 = torch.randn(4, (l1 + 1) ** 2, dtype=torch.float64)
    x2 = torch.randn(4, (l2 + 1) ** 2, dtype=torch.float64)
    out = gaunt_bracket(x1, x2, lout, backend=backend)
    for _ in range(3):
        r = o3.rand_matrix(dtype=torch.float64)
        d1, d2, dout = (o3.Irreps.spherical_harmonics(l).D_from_matrix(r) for l in (l1, l2, lout))
        rotated = gaunt_bracket(x1 @ d1.T, x2 @ d2.T, lout, backend=backend)
        # D_from_matrix is only ~1e-7 accurate in float64, which bounds this check
        torch.testing.assert_close(rotated, out @ dout.T, atol=2e-5, rtol=0)


@pytest.mark.parametrize("backend", ["grid", "dense"])
def test_inversion_gives_pseudo_tensors(backend):
    """Inputs of parity (-1)^l; the output of degree l picks up (-1)^(l+1) (a pseudo-scalar field)."""
    x1, x2 = torch.randn(3, 9, dtype=torch.float64), torch.randn(3, 16, dtype=torch.float64)
    out = gaunt_bracket(x1, x2, 4, backend=backend)
    inverted = gaunt_bracket(x1 * parity(2), x2 * parity(3), 4, backend=backend)
    torch.testing.assert_close(inverted, out * parity(4, shift=1), atol=1e-13, rtol=0)
    # an improper rotation: rotation part from D_from_matrix, inversion part exact as above
    r = o3.rand_matrix(dtype=torch.float64)
    d1, d2, dout = (o3.Irreps.spherical_harmonics(l).D_from_matrix(-r) for l in (2, 3, 4))
    rotated = gaunt_bracket(x1 @ d1.T, x2 @ d2.T, 4, backend=backend)
    torch.testing.assert_close(rotated, -(out @ dout.T), atol=2e-5, rtol=0)


@pytest.mark.parametrize("backend", ["grid", "dense"])
def test_gradcheck_and_double_backward(backend):
    x1 = torch.randn(3, 9, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    fn = lambda a, b: gaunt_bracket(a, b, 2, backend=backend)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x1, x2))
    assert torch.autograd.gradgradcheck(fn, (x1, x2))
    both = lambda a, b: gaunt_product_and_bracket(a, b, 3, 2, backend=backend)  # noqa: E731
    assert torch.autograd.gradcheck(both, (x1, x2))
    assert torch.autograd.gradgradcheck(both, (x1, x2))


def test_grid_blocks_and_written_out_derivatives_equal_dense(monkeypatch):
    """Product and bracket from one blocked pass, derivatives written as products and brackets
    (K is totally antisymmetric): across block edges, with either output unused, to third order,
    they equal the dense ones."""
    from gaunt_md.so3 import _grid_product

    module = GauntBracket(2, 3, 3, backend="grid", product_lmax_out=4).double()
    monkeypatch.setattr(_grid_product, "BLOCK_BYTES", 3 * module.grid.n_beta * module.grid.n_alpha * 8)
    assert module.grid.block(torch.empty(1, dtype=torch.float64)) == 3
    dense = GauntBracket(2, 3, 3, backend="dense", product_lmax_out=4).double()
    x1, x2 = torch.randn(10, 9, dtype=torch.float64), torch.randn(10, 16, dtype=torch.float64)
    v, w = torch.randn(10, 25, dtype=torch.float64), torch.randn(10, 16, dtype=torch.float64)

    def derivatives(m, weights):
        inputs = [x.clone().requires_grad_() for x in (x1, x2)]
        product, bracket = m(*inputs)
        scalar = sum((out * u).sum() for out, u, k in zip((product, bracket), (v, w), weights) if k)
        first = torch.autograd.grad(scalar, inputs, create_graph=True)
        square = (bracket * bracket).sum() + (product * product).sum()
        second = torch.autograd.grad(sum((g * g).sum() for g in first) + square, inputs, create_graph=True)
        third = torch.autograd.grad(sum((g * g.sin()).sum() for g in second), inputs)
        return [product, bracket, *first, *second, *third]

    for weights in ((1, 1), (1, 0), (0, 1)):
        for got, ref in zip(derivatives(module, weights), derivatives(dense, weights), strict=True):
            assert rel_err(got, ref) < 1e-12


@pytest.mark.parametrize("backend", ["grid", "dense"])
def test_product_and_bracket_from_one_pass(backend):
    x1, x2 = torch.randn(4, 1, 16, dtype=torch.float64), torch.randn(3, 9, dtype=torch.float64)
    for lp, lb in [(5, 4), (2, 4), (5, 1), (0, 0)]:
        product, bracket = gaunt_product_and_bracket(x1, x2, lp, lb, backend=backend)
        assert product.shape == (4, 3, (lp + 1) ** 2) and bracket.shape == (4, 3, (lb + 1) ** 2)
        torch.testing.assert_close(product, gaunt_product(x1, x2, lp, backend="dense"), atol=1e-12, rtol=0)
        torch.testing.assert_close(bracket, gaunt_bracket(x1, x2, lb, backend="dense"), atol=1e-12, rtol=0)


@pytest.mark.parametrize("backend", ["grid", "dense"])
def test_leading_dimensions_broadcast_and_empty_batch(backend):
    x1 = torch.randn(2, 1, 3, 9, dtype=torch.float64)
    x2 = torch.randn(4, 1, 4, dtype=torch.float64)
    out = gaunt_bracket(x1, x2, backend=backend)  # default lmax_out = L1 + L2 - 1 = 2
    assert out.shape == (2, 4, 3, 9)
    torch.testing.assert_close(
        out[1, 2, 0], gaunt_bracket(x1[1, 0, 0], x2[2, 0], 2, backend="dense"), atol=1e-13, rtol=0
    )
    x = torch.randn(0, 9, dtype=torch.float64, requires_grad=True)
    empty = gaunt_bracket(x, torch.randn(0, 4, dtype=torch.float64), 2, backend=backend)
    assert empty.shape == (0, 9)
    empty.sum().backward()
    assert x.grad.shape == (0, 9)


def test_grid_is_the_smallest_exact_one():
    """The bracket module uses grid_shape(L1+L2-1+Lout); one ring fewer gives an O(1) error."""
    l1, l2, lout = 3, 4, 6
    module = GauntBracket(l1, l2, lout)
    nb, na = grid_shape(l1 + l2 - 1 + lout, max(l1, l2))
    assert (module.grid.n_beta, module.grid.n_alpha) == (nb, na) == (7, 13)
    x1, x2 = torch.randn(4, 16, dtype=torch.float64), torch.randn(4, 25, dtype=torch.float64)
    ref = gaunt_bracket(x1, x2, lout, backend="dense")
    assert rel_err(module(x1, x2), ref) < 1e-12
    _, a1, z1 = ToGrid(l1, nb - 1, na, gradient=True).sample_rows(x1, values=False, gradient=True)
    _, a2, z2 = ToGrid(l2, nb - 1, na, gradient=True).sample_rows(x2, values=False, gradient=True)
    short = FromGrid(lout, nb - 1, na).project_rows(a1 * z2 - z1 * a2, torch.empty_like(ref))
    assert rel_err(short, ref) > 1e-3


def test_module_form_moves_its_tables():
    module = GauntBracket(2, 2, 3).to(torch.float32)
    assert all(b.dtype == torch.float32 for b in module.buffers() if b.is_floating_point())
    x1, x2 = torch.randn(7, 9), torch.randn(7, 9)
    torch.testing.assert_close(
        module(x1, x2).double(), gaunt_bracket(x1.double(), x2.double(), 3, "dense"), atol=1e-5, rtol=1e-5
    )
    with pytest.raises(TypeError, match="call .to"):
        module(x1.double(), x2.double())
    with pytest.raises(ValueError, match="x2 has degree 1 but this bracket was built for 2"):
        module(x1, torch.randn(7, 4))
    assert "product_lmax_out=4" in repr(GauntBracket(2, 2, 3, product_lmax_out=4))


def test_clear_errors_for_bad_input():
    x = torch.randn(3, 9)
    with pytest.raises(ValueError, match="not \\(L\\+1\\)\\*\\*2"):
        gaunt_bracket(torch.randn(3, 5), x)
    with pytest.raises(ValueError, match="lmax_out must be in \\[0, L1\\+L2-1\\] = \\[0, 3\\], got 4"):
        gaunt_bracket(x, x, 4)
    with pytest.raises(ValueError, match="lmax_out"):
        gaunt_bracket(x, x, -1)
    with pytest.raises(ValueError, match="two degree-0 inputs vanishes identically"):
        gaunt_bracket(torch.randn(3, 1), torch.randn(3, 1))
    with pytest.raises(ValueError, match="valid backends are grid, dense"):
        gaunt_bracket(x, x, 2, backend="fourier")
    with pytest.raises(ValueError, match="lmax_product must be in \\[0, L1\\+L2\\] = \\[0, 4\\], got 5"):
        gaunt_product_and_bracket(x, x, 5, 3)
    with pytest.raises(ValueError, match="product_lmax_out must be in"):
        GauntBracket(2, 2, 3, product_lmax_out=-1)
    with pytest.raises(ValueError, match="input degrees must be ≥ 0"):
        GauntBracket(-1, 2, 0)
    with pytest.raises(TypeError, match="float32 but x2 is torch.float64"):
        gaunt_bracket(x, x.double(), 2)
    with pytest.raises(ValueError, match="on cpu but x2 is on meta"):
        gaunt_bracket(x, torch.empty(3, 9, device="meta"), 2)
    with pytest.raises(TypeError, match="floating-point"):
        gaunt_bracket(x.long(), x.long(), 2)
