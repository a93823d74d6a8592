"""Many-body (ACE-style) features as pointwise products of the neighbour density on the sphere grid."""

from __future__ import annotations

import torch

from ..so3 import FromGrid, ToGrid, ToGridWithGradient, grid_shape
from .linear import DegreeLinear


class ManyBodyProduct(torch.nn.Module):
    """B = Π-expansion of A up to correlation order ν, projected to degree ``lmax_out``.

    With a_k = W_k A (channel mixing per degree, element-dependent channel weights; the ν maps are
    one matmul and the ν grid transforms one transform of ν·C channels), the grid
    function B(s) = a_1(s) (1 + a_2(s) (1 + a_3(s) (...))) = a_1 + a_1 a_2 + a_1 a_2 a_3 + ... holds
    every correlation order up to ν, at ν - 1 pointwise multiplications. The grid integrates the
    degree ν·lmax + lmax_out projection exactly, so B is the exact Gaunt product expansion.

    With ``pseudo`` (ν ≥ 2), the density has a pseudo-tensor part Ap as well, and the product is
    taken in the algebra of natural ⊕ pseudo fields (natural·natural and pseudo·pseudo are natural,
    mixed products pseudo), plus the Gaunt bracket {a_1, a_2} (odd paths, parity flipped). In the
    basis p = a + ap, q = a - ap that algebra is diagonal: B_p = Π(p) + {p_1, p_2},
    B_q = Π(q) - {q_1, q_2}, and B = (B_p + B_q)/2, Bp = (B_p - B_q)/2 (the bracket of two natural
    or two pseudo fields is pseudo, of mixed ones natural).

    A: [N, (lmax+1)**2, C], species: [N] (element index), Ap like A or None (zero) →
    B: [N, (lmax_out+1)**2, C], and with ``pseudo`` (B, Bp), Bp None unless ``pseudo_out``.
    """

    def __init__(self, channels: int, lmax: int, lmax_out: int, correlation: int, num_elements: int,
                 pseudo: bool = False, pseudo_out: bool = True) -> None:
        super().__init__()
        if pseudo and correlation < 2:
            raise ValueError("pseudo-tensor channels need correlation ≥ 2 (the bracket couples two densities)")
        self.channels, self.lmax_out, self.correlation, self.pseudo = channels, lmax_out, correlation, pseudo
        self.pseudo_out = pseudo and pseudo_out
        self.linear = DegreeLinear(channels, correlation * channels, lmax)
        self.element_weights = torch.nn.Parameter(torch.ones(num_elements, correlation * channels))
        n_beta, n_alpha = grid_shape(correlation * lmax + lmax_out, lmax)
        self.to_grid = ToGrid(lmax, n_beta, n_alpha)
        self.from_grid = FromGrid(lmax_out, n_beta, n_alpha)
        if pseudo:
            self.linear_pseudo = DegreeLinear(channels, correlation * channels, lmax)
            self.element_weights_pseudo = torch.nn.Parameter(torch.ones(num_elements, correlation * channels))
            self.to_grid_gradient = ToGridWithGradient(lmax, n_beta, n_alpha)

    def forward(self, a: torch.Tensor, species: torch.Tensor, ap: torch.Tensor | None = None):
        n, f, c = a.shape
        a = self.linear(a) * self.element_weights.index_select(0, species)[:, None, :]  # [N, f, ν C]
        if not self.pseudo:
            grids = self.to_grid.columns(a.transpose(0, 1).reshape(f, -1))  # [n_alpha, n_beta, N ν C]
            factors = grids.view(grids.shape[0], grids.shape[1], n, self.correlation, c).unbind(3)
            return self._project(self._product(factors), n, c)
        parts = [a]
        if ap is not None:
            parts.append(self.linear_pseudo(ap) * self.element_weights_pseudo.index_select(0, species)[:, None, :])
        x = torch.stack(parts, dim=2).view(n, f, len(parts), self.correlation, c)  # [N, f, P, ν, C]
        first = x[:, :, :, :2].transpose(0, 1).reshape(f, -1)
        value, d_alpha, d_z = self.to_grid_gradient.gradient_columns(first)  # [na, nb, N P 2 C]
        grid = value.shape[:2]
        value, d_alpha, d_z = (t.view(*grid, n, len(parts), 2, c) for t in (value, d_alpha, d_z))
        factors = list(value.unbind(4))
        if self.correlation > 2:
            rest = self.to_grid.columns(x[:, :, :, 2:].transpose(0, 1).reshape(f, -1))
            factors += rest.view(*grid, n, len(parts), self.correlation - 2, c).unbind(4)
        if ap is None:  # p = q = a: B = Π(a) and Bp = {a_1, a_2}
            natural = self._product([t[:, :, :, 0] for t in factors])
            pseudo = self._bracket_of(d_alpha, d_z, 0.0)
        else:
            product_p = self._product([t[:, :, :, 0] + t[:, :, :, 1] for t in factors]) + self._bracket_of(d_alpha, d_z, 1.0)
            product_q = self._product([t[:, :, :, 0] - t[:, :, :, 1] for t in factors]) - self._bracket_of(d_alpha, d_z, -1.0)
            natural, pseudo = 0.5 * (product_p + product_q), 0.5 * (product_p - product_q)
        if not self.pseudo_out:
            return self._project(natural, n, c), None
        both = self._project(torch.cat([natural, pseudo], dim=2), 2 * n, c)
        return both[:n], both[n:]

    @staticmethod
    def _bracket_of(d_alpha: torch.Tensor, d_z: torch.Tensor, sign: float) -> torch.Tensor:
        """{u1 + sign·v1, u2 + sign·v2} = ∂_α(·1) ∂_z(·2) - ∂_z(·1) ∂_α(·2) (z = cos β, see ``so3._bracket``),
        from the grid gradients [n_alpha, n_beta, N, P, 2, C] of the natural (P=0) and pseudo (P=1)
        factors 1, 2; ``sign`` 0 uses the natural ones alone."""
        def field(d, k):
            return d[..., 0, k, :] if sign == 0.0 else d[..., 0, k, :] + sign * d[..., 1, k, :]

        return field(d_alpha, 0) * field(d_z, 1) - field(d_z, 0) * field(d_alpha, 1)

    def _product(self, factors) -> torch.Tensor:
        product = factors[-1]
        for fk in reversed(factors[:-1]):
            product = fk * (1.0 + product)
        return product

    def _project(self, field: torch.Tensor, rows: int, c: int) -> torch.Tensor:
        """[n_alpha, n_beta, rows, C] grid values → [rows, (lmax_out+1)**2, C]."""
        return self.from_grid.columns(field.reshape(field.shape[0], field.shape[1], rows * c)).view(-1, rows, c).transpose(0, 1)
