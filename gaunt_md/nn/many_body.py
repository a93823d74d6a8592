"""Many-body (ACE-style) features as pointwise products of the neighbour density on the sphere grid."""

from __future__ import annotations

import torch

from ..so3._grid_product import PRODUCT, GridBilinear, fused
from .linear import DegreeLinear


class ManyBodyProduct(torch.nn.Module):
    """B = Π-expansion of A up to correlation order ν, projected to degree ``lmax_out``.

    With a_k = W_k A (channel mixing per degree, element-dependent channel weights; the ν maps are
    one matmul), the grid function B(s) = a_1 + a_1 a_2 + a_1 a_2 a_3 + ... holds every correlation
    order up to ν. The grid integrates the degree ν·lmax + lmax_out projection exactly, so B is the
    exact Gaunt product expansion. It is one fused, blocked grid pass whose derivatives (forces, and
    theirs in training) are grid products again (``gaunt_md.so3._grid_product``).

    A: [N, (lmax+1)**2, C], species: [N] (element index) → [N, (lmax_out+1)**2, C].
    """

    def __init__(self, channels: int, lmax: int, lmax_out: int, correlation: int, num_elements: int) -> None:
        super().__init__()
        self.channels, self.lmax_out, self.correlation = channels, lmax_out, correlation
        self.linear = DegreeLinear(channels, correlation * channels, lmax)
        self.element_weights = torch.nn.Parameter(torch.ones(num_elements, correlation * channels))
        self.grid = GridBilinear({lmax, lmax_out}, correlation * lmax + lmax_out)
        terms = tuple((PRODUCT, *range(k)) for k in range(1, correlation + 1))  # a_1, a_1 a_2, ...
        self.spec = ((lmax,) * correlation, ((lmax_out, terms),))

    def forward(self, a: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        n, f, c = a.shape
        a = self.linear(a) * self.element_weights.index_select(0, species)[:, None, :]  # [N, f, ν C]
        factors = a.view(n, f, self.correlation, c).permute(2, 0, 3, 1).reshape(self.correlation, n * c, f)
        (b,) = fused(self.spec, self.grid, *factors.unbind(0))  # [N C, (lmax_out+1)**2]
        return b.view(n, c, -1).transpose(1, 2)
