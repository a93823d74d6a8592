"""Many-body (ACE-style) features as pointwise products of the neighbour density on the sphere grid."""

from __future__ import annotations

import torch

from ..so3 import lebedev_tables
from .linear import DegreeLinear


class ManyBodyProduct(torch.nn.Module):
    """B = Π-expansion of A up to correlation order ν, channel by channel, projected to ``lmax_out``.

    The factors a_k = w_k[z] ⊙ A weight each (degree, channel) of the density by element-dependent
    weights (as MACE's symmetric contraction weights each path per element and channel); channels
    are mixed by the linear maps around the product, not inside it. The grid function
    B(s) = a_1(s) (1 + a_2(s) (1 + a_3(s) (...))) = a_1 + a_1 a_2 + a_1 a_2 a_3 + ... holds every
    correlation order up to ν, at ν - 1 pointwise multiplications; the (Lebedev) grid integrates the
    degree ν·lmax + lmax_out projection exactly, so B is the exact Gaunt product expansion.

    Within a channel, the weight of a path (l_1, ..., l_ν) is the product w_1,l_1 ··· w_ν,l_ν: one
    product has rank-1 path weights. With ``rank`` R > 1 each channel gets R products with their own
    weights, returned side by side (R blocks of C channels) for the next linear map to mix per output
    degree, so the path weights are a rank-R sum that also depends on the output degree.

    A: [N, (lmax+1)**2, C], species: [N] (element index) → [N, (lmax_out+1)**2, R C].
    """

    def __init__(
        self, channels: int, lmax: int, lmax_out: int, correlation: int, num_elements: int, rank: int = 1
    ) -> None:
        super().__init__()
        self.correlation = correlation
        self.rank = rank
        self.weights = torch.nn.Parameter(torch.randn(num_elements, correlation, lmax + 1, rank * channels))
        degree = torch.tensor([l for l in range(lmax + 1) for _ in range(2 * l + 1)])
        self.register_buffer("degree", degree, persistent=False)  # degree of each coefficient lm
        self.grid = _GridProduct(lmax, lmax_out, correlation)

    def forward(self, a: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        w = self.weights.index_select(0, species).index_select(2, self.degree)  # [N, ν, f, R C]
        if self.rank > 1:
            a = a.repeat(1, 1, self.rank)
        return self.grid([a * w[:, k] for k in range(self.correlation)])


class MixedManyBodyProduct(torch.nn.Module):
    """The many-body product of model formats 1 and 2, kept so their files load: the factors
    a_k = (W_k A) ⊙ w_k[z] mix channels (one C × ν C matrix per degree) before the product.

    A: [N, (lmax+1)**2, C], species: [N] → [N, (lmax_out+1)**2, C].
    """

    def __init__(self, channels: int, lmax: int, lmax_out: int, correlation: int, num_elements: int) -> None:
        super().__init__()
        self.channels = channels
        self.linear = DegreeLinear(channels, correlation * channels, lmax)
        self.element_weights = torch.nn.Parameter(torch.ones(num_elements, correlation * channels))
        self.grid = _GridProduct(lmax, lmax_out, correlation)

    def forward(self, a: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        a = self.linear(a) * self.element_weights.index_select(0, species)[:, None, :]  # [N, f, ν C]
        return self.grid(list(a.split(self.channels, dim=2)))


class _GridProduct(torch.nn.Module):
    """[a_1, ..., a_ν] (each [N, (lmax+1)**2, C]) → projection of a_1 (1 + a_2 (1 + ...)) to ``lmax_out``,
    on the Lebedev rule of degree ν·lmax + lmax_out (``so3.lebedev_tables``): the fewest points
    that make the projection exact (50 for the degree 11 of lmax 3, ν 3, lmax_out 2)."""

    def __init__(self, lmax: int, lmax_out: int, correlation: int) -> None:
        super().__init__()
        sample, project = lebedev_tables(lmax, lmax_out, correlation * lmax + lmax_out)
        self.register_buffer("sample", sample, persistent=False)  # [P, (lmax+1)**2]
        self.register_buffer("project", project, persistent=False)  # [(lmax_out+1)**2, P]

    def forward(self, factors: list[torch.Tensor]) -> torch.Tensor:
        n, f, c = factors[0].shape
        # one transform per factor: their gradients then need no stacking on the (large) grid
        grids = [self.sample @ ak.transpose(0, 1).reshape(f, -1) for ak in factors]  # [P, N C]
        product = grids[-1]
        for gk in reversed(grids[:-1]):
            product = gk * (product + 1)  # not addcmul: its backward multiplies by its scalar, a pass over the grid
        return (self.project @ product).view(-1, n, c).transpose(0, 1)
