"""Lebedev tables and the many-body product on them, against Gaunt coefficients and the ring grid."""

import pytest
import torch

from gaunt_md.nn.many_body import ManyBodyProduct
from gaunt_md.so3 import FromGrid, ToGrid, gaunt_tensor, grid_shape, lebedev_tables
from gaunt_md.so3._lebedev import lebedev_rule_of_degree


@pytest.mark.parametrize("degree, points", [(9, 38), (10, 50), (11, 50), (12, 74), (13, 74)])
def test_rule_is_the_smallest_of_at_least_the_degree(degree, points):
    xyz, weights = lebedev_rule_of_degree(degree)
    assert xyz.shape == (points, 3) and weights.shape == (points,)
    torch.testing.assert_close(xyz.norm(dim=1), torch.ones(points, dtype=torch.float64), atol=1e-14, rtol=0)
    torch.testing.assert_close(weights.sum(), torch.tensor(4 * torch.pi, dtype=torch.float64), atol=1e-13, rtol=0)


@pytest.mark.parametrize("lmax_in, lmax_out", [(3, 2), (2, 3), (5, 5)])
def test_tables_project_products_exactly_up_to_their_degree(lmax_in, lmax_out):
    """Sampling then projecting a product of two functions gives its Gaunt coefficients; the same
    product on one degree too few (the next smaller rule) does not."""
    degree = 2 * lmax_in + lmax_out
    x, y = torch.randn(2, 4, (lmax_in + 1) ** 2, dtype=torch.float64)
    expected = torch.einsum("bi,bj,ijk->bk", x, y, gaunt_tensor(lmax_in, lmax_in, lmax_out))
    for d, exact in [(degree, True), (degree - 2, False)]:
        sample, project = lebedev_tables(lmax_in, lmax_out, d)
        got = ((sample @ x.t()) * (sample @ y.t())).t() @ project.t()
        assert torch.allclose(got, expected, atol=1e-12, rtol=0) == exact


def _ring_grid_product(module: ManyBodyProduct, a: torch.Tensor, species: torch.Tensor, lmax_out: int):
    """The same product on the Gauss-Legendre × uniform grid of ``so3._grid`` (the twin it replaced)."""
    lmax = round(a.shape[1] ** 0.5) - 1
    nb, na = grid_shape(module.correlation * lmax + lmax_out, lmax)
    to_grid, from_grid = ToGrid(lmax, nb, na), FromGrid(lmax_out, nb, na)
    w = module.weights.index_select(0, species).index_select(2, module.degree)
    grids = [to_grid((a * w[:, k]).transpose(1, 2)) for k in range(module.correlation)]
    product = grids[-1]
    for g in reversed(grids[:-1]):
        product = g * (1 + product)
    return from_grid(product).transpose(1, 2)


@pytest.mark.parametrize("lmax, lmax_out", [(3, 2), (3, 0), (2, 3)])
def test_many_body_product_equals_the_ring_grid_and_gaunt_coefficients(lmax, lmax_out):
    torch.manual_seed(0)
    module = ManyBodyProduct(channels=4, lmax=lmax, lmax_out=lmax_out, correlation=3, num_elements=2).double()
    a = torch.randn(5, (lmax + 1) ** 2, 4, dtype=torch.float64)
    species = torch.tensor([0, 1, 1, 0, 1])
    got = module(a, species)
    torch.testing.assert_close(got, _ring_grid_product(module, a, species, lmax_out), atol=1e-12, rtol=0)
    # a_1 + a_1 a_2 + a_1 a_2 a_3 from Gaunt coefficients, channel by channel
    w = module.weights.index_select(0, species).index_select(2, module.degree)
    a1, a2, a3 = (a * w[:, k] for k in range(3))
    a12 = torch.einsum("nic,njc,ijk->nkc", a1, a2, gaunt_tensor(lmax, lmax, 2 * lmax))
    a123 = torch.einsum("nic,njc,ijk->nkc", a12, a3, gaunt_tensor(2 * lmax, lmax, lmax_out))
    torch.testing.assert_close(got, _truncated(a1, lmax_out) + _truncated(a12, lmax_out) + a123, atol=1e-12, rtol=0)


def _truncated(x: torch.Tensor, lmax: int) -> torch.Tensor:
    """[N, f, C] coefficients cut or zero-padded to degree ``lmax`` (the projection of the function)."""
    f = (lmax + 1) ** 2
    return torch.nn.functional.pad(x[:, :f], (0, 0, 0, f - min(f, x.shape[1])))
