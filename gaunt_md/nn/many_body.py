"""Many-body (ACE-style) features as pointwise products of the neighbour density on the sphere grid."""

from __future__ import annotations

import torch

from ..so3 import FromGrid, ToGrid, grid_shape
from .linear import DegreeLinear


class ManyBodyProduct(torch.nn.Module):
    """B = Π-expansion of A up to correlation order ν, projected to degree ``lmax_out``.

    With a_k = W_k A (channel mixing per degree, element-dependent channel weights; the ν maps are
    one matmul), the grid function B(s) = a_1(s) (1 + a_2(s) (1 + a_3(s) (...))) = a_1 + a_1 a_2 +
    a_1 a_2 a_3 + ... holds every correlation order up to ν, at ν - 1 pointwise multiplications. The grid integrates the
    degree ν·lmax + lmax_out projection exactly, so B is the exact Gaunt product expansion.

    A: [N, (lmax+1)**2, C], species: [N] (element index) → [N, (lmax_out+1)**2, C].
    """

    def __init__(self, channels: int, lmax: int, lmax_out: int, correlation: int, num_elements: int) -> None:
        super().__init__()
        self.channels, self.lmax_out, self.correlation = channels, lmax_out, correlation
        self.linear = DegreeLinear(channels, correlation * channels, lmax)
        self.element_weights = torch.nn.Parameter(torch.ones(num_elements, correlation * channels))
        n_beta, n_alpha = grid_shape(correlation * lmax + lmax_out, lmax)
        self.to_grid = ToGrid(lmax, n_beta, n_alpha)
        self.from_grid = FromGrid(lmax_out, n_beta, n_alpha)

    def forward(self, a: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        n, f, c = a.shape
        a = self.linear(a) * self.element_weights.index_select(0, species)[:, None, :]  # [N, f, ν C]
        # one grid transform per factor: their gradients then need no stacking on the (large) grid
        factors = [
            self.to_grid.columns(ak.reshape(f, -1)) for ak in a.transpose(0, 1).split(c, dim=2)
        ]  # [n_alpha, n_beta, N C]
        product = factors[-1]
        for fk in reversed(factors[:-1]):
            product = torch.addcmul(fk, fk, product)  # fk (1 + product) in one pass
        return self.from_grid.columns(product).view(-1, n, c).transpose(0, 1)
